"""`punkml aws deploy|destroy` (`make deploy`, `make destroy`) explain what is missing before
running Terraform."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from punkml.aws import deploy

FAKE_TERRAFORM = """#!/bin/sh
echo "$@" >> "$TERRAFORM_CALLS"
"""


def run_deploy(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``punkml aws deploy`` (apply) or ``punkml aws destroy``."""
    command = "deploy" if action == "apply" else action
    return subprocess.run(
        [sys.executable, "-m", "punkml", "aws", command],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """An environment without AWS credentials or Terraform variables."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "TF_VAR_"))
    }
    env["AWS_CONFIG_FILE"] = str(tmp_path / "none")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "none")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


@pytest.fixture
def fake_terraform(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "terraform"
    script.write_text(FAKE_TERRAFORM)
    script.chmod(0o755)
    return bin_dir


def test_missing_terraform_is_explained(base_env: dict[str, str], tmp_path: Path) -> None:
    done = run_deploy("apply", {**base_env, "PATH": str(tmp_path)})
    assert done.returncode == 2
    assert "terraform is not on PATH" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_credentials_are_explained(base_env: dict[str, str], fake_terraform: Path) -> None:
    env = {**base_env, "PATH": f"{fake_terraform}:{base_env['PATH']}"}
    done = run_deploy("destroy", env)
    assert done.returncode == 2
    assert "no AWS credentials" in done.stderr and "AWS_PROFILE" in done.stderr


def test_missing_api_url_is_explained(base_env: dict[str, str], fake_terraform: Path) -> None:
    env = {
        **base_env,
        "PATH": f"{fake_terraform}:{base_env['PATH']}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
    }
    done = run_deploy("destroy", env)
    assert done.returncode == 2
    assert "TF_VAR_punk_api_base_url" in done.stderr


def test_destroy_runs_init_then_destroy_in_the_terraform_directory(
    base_env: dict[str, str], fake_terraform: Path, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    env = {
        **base_env,
        "PATH": f"{fake_terraform}:{base_env['PATH']}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "TF_VAR_punk_api_base_url": "https://punk.example.org/v2",
        "TERRAFORM_CALLS": str(calls),
    }
    done = run_deploy("destroy", env)
    assert done.returncode == 0, done.stderr
    lines = calls.read_text().splitlines()
    assert lines == [
        f"-chdir={deploy.TERRAFORM_DIR} init -input=false",
        f"-chdir={deploy.TERRAFORM_DIR} destroy",
    ]


def test_apply_needs_the_lambda_packages(tmp_path: Path) -> None:
    with pytest.raises(deploy.ConfigError, match="make lambda-package"):
        deploy.check_packages(tmp_path)


def test_unknown_action_is_refused(base_env: dict[str, str]) -> None:
    done = run_deploy("plan", base_env)
    assert done.returncode == 2 and "No such command 'plan'" in done.stderr
    with pytest.raises(deploy.ConfigError, match="apply or destroy"):
        deploy.run("plan", base_env)
