"""``punkml aws deploy|destroy`` (``make deploy``, ``make destroy``): terraform apply / destroy of
``terraform/``, with clear errors.

Before running Terraform it checks, and explains what to do when missing: the ``terraform`` binary
on PATH, AWS credentials (any source boto3 knows: environment, profile, SSO, instance role), the
Punk API base URL (``TF_VAR_punk_api_base_url`` or ``terraform/terraform.tfvars``) and, for
``apply``, the Lambda packages built by ``make lambda-package``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from punkml.aws.package import PACKAGES, REPO_ROOT
from punkml.errors import ConfigError, PunkmlError

TERRAFORM_DIR = REPO_ROOT / "terraform"
PACKAGE_DIR = REPO_ROOT / "build" / "lambda"
URL_VARIABLE = "punk_api_base_url"


def find_terraform(environ: Mapping[str, str]) -> str:
    """Path of the terraform binary, or ``ConfigError`` saying how to get it."""
    found = shutil.which("terraform", path=environ.get("PATH"))
    if found is None:
        raise ConfigError(
            "terraform is not on PATH: install Terraform >= 1.5 (or OpenTofu, linked as "
            "'terraform') and run this again"
        )
    return found


def check_credentials() -> None:
    """``ConfigError`` unless boto3 finds AWS credentials and a region (nothing is sent)."""
    from punkml.aws.clients import boto3  # one place says what to install when it is missing

    session = boto3.session.Session()
    if session.get_credentials() is None:
        raise ConfigError(
            "no AWS credentials found: run `aws configure` or `aws sso login`, or set AWS_PROFILE "
            "(or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    if not session.region_name and not os.environ.get("TF_VAR_region"):  # noqa: SIM112
        print("note: no AWS region configured; terraform uses its default (var.region, eu-west-1)")


def check_base_url(environ: Mapping[str, str], terraform_dir: Path = TERRAFORM_DIR) -> None:
    """``ConfigError`` unless the collector's Punk API URL is given to Terraform somehow."""
    if environ.get(f"TF_VAR_{URL_VARIABLE}"):
        return
    for name in ("terraform.tfvars", "terraform.tfvars.json"):
        path = terraform_dir / name
        if path.exists() and URL_VARIABLE in path.read_text():
            return
    if any(terraform_dir.glob("*.auto.tfvars*")):
        return
    raise ConfigError(
        f"the collector needs a Punk API v2 base URL reachable from AWS: export "
        f"TF_VAR_{URL_VARIABLE}=https://your-host/v2 (or put {URL_VARIABLE} in "
        "terraform/terraform.tfvars)"
    )


def check_packages(package_dir: Path = PACKAGE_DIR) -> None:
    """``ConfigError`` unless every Lambda zip exists."""
    missing = [name for name in PACKAGES if not (package_dir / f"{name}.zip").exists()]
    if missing:
        raise ConfigError(
            f"Lambda package(s) {', '.join(missing)} missing in {package_dir}: run `make lambda-package`"
        )


def terraform_commands(terraform: str, action: str) -> list[list[str]]:
    """The Terraform commands of ``apply`` or ``destroy`` (interactive approval kept)."""
    chdir = f"-chdir={TERRAFORM_DIR}"
    return [[terraform, chdir, "init", "-input=false"], [terraform, chdir, action]]


def run(action: str, environ: Mapping[str, str] | None = None) -> None:
    """Check the prerequisites of ``action`` (apply or destroy), then run Terraform."""
    environ = os.environ if environ is None else environ
    if action not in ("apply", "destroy"):
        raise ConfigError(f"unknown action {action!r}; use apply or destroy")
    terraform = find_terraform(environ)
    check_credentials()
    check_base_url(environ)
    if action == "apply":
        check_packages()
    for command in terraform_commands(terraform, action):
        print("+", " ".join(command), flush=True)
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            raise PunkmlError(f"`{' '.join(command[2:])}` failed (exit code {done.returncode})")
