"""The ``punkml`` command line as a user meets it: real subprocesses for help, version, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

import punkml
import punkml.cli

HEAVY_MODULES = {"pyarrow", "duckdb", "sklearn", "xgboost", "pandas", "boto3", "fastapi"}


def command_tree(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, command) of the CLI, the root first."""
    yield path, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from command_tree(sub, (*path, name))


COMMANDS = list(command_tree(typer.main.get_command(punkml.cli.app)))
LEAVES = [(path, command) for path, command in COMMANDS if not getattr(command, "commands", None)]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with a private home and cache, and a wide plain terminal."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PUNKML_")}
    return clean | {
        "PUNKML_HOME": str(tmp_path / "home"),
        "PUNKML_CACHE_DIR": str(tmp_path / "cache"),
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }


def run_punkml(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "punkml", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_root_help_lists_every_command(env: dict[str, str], tmp_path: Path) -> None:
    done = run_punkml("--help", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Usage: punkml" in done.stdout
    for path, _ in COMMANDS:
        if len(path) == 1:
            assert f" {path[0]} " in done.stdout, f"{path[0]} missing from punkml --help"
    for required in ("data", "api"):
        assert f" {required} " in done.stdout
    assert "--debug" in done.stdout and "--version" in done.stdout


def test_every_command_help_works(env: dict[str, str], tmp_path: Path) -> None:
    # All at once: one interpreter start per command, in parallel on the two cores.
    runs = {
        path: subprocess.Popen(
            [sys.executable, "-m", "punkml", *path, "--help"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path, _ in COMMANDS
        if path
    }
    for path, process in runs.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"punkml {' '.join(path)} --help: {stderr}"
        assert f"Usage: punkml {' '.join(path)}" in stdout
        assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(p) or "-" for p, _ in COMMANDS]
)
def test_every_command_and_option_has_help_text(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or command.short_help or "").strip(), f"punkml {' '.join(path)}"
    for param in command.params:
        if param.param_type_name == "option":
            assert (param.help or "").strip(), f"punkml {' '.join(path)} {param.opts[0]}"


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_takes_home(path: tuple[str, ...], command: Any) -> None:
    if path[0] == "aws":
        pytest.skip("the aws commands work on terraform/ and build/lambda/, not on a deployment")
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    assert "--home" in options, f"punkml {' '.join(path)} has no --home"


def test_version(env: dict[str, str], tmp_path: Path) -> None:
    done = run_punkml("--version", env=env, cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout == f"punkml {punkml.__version__}\n"


def test_an_error_is_one_line_without_traceback(env: dict[str, str], tmp_path: Path) -> None:
    done = run_punkml("data", "fetch", "--from", "/nonexistent", env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip() == "error: --from file not found: /nonexistent"
    assert not (tmp_path / "cache").exists()


def test_debug_shows_the_traceback(env: dict[str, str], tmp_path: Path) -> None:
    done = run_punkml("--debug", "data", "fetch", "--from", "/nonexistent", env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback (most recent call last)" in done.stderr
    assert "DatasetError: --from file not found: /nonexistent" in done.stderr


def test_a_usage_error_exits_non_zero(env: dict[str, str], tmp_path: Path) -> None:
    done = run_punkml("data", "fetch", "--no-such-option", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert "--no-such-option" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_does_not_import_heavy_libraries(env: dict[str, str], tmp_path: Path) -> None:
    code = (
        "import sys, punkml.cli; "
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert set(done.stdout.split()) & HEAVY_MODULES == set()
