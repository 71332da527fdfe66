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
from subprocess_cli import run_punkml

# What `punkml --help` (and so every command's start) must not load: the stages' libraries, and
# the HTTP client and schema stack (about half of the start-up when it did).
HEAVY_MODULES = {
    *("pyarrow", "duckdb", "sklearn", "xgboost", "pandas", "boto3", "fastapi"),
    *("httpx", "pydantic", "tenacity"),
}


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


# The rule (README "Commands"): every command that works on the local deployment takes --home;
# the aws commands build and deploy the AWS architecture from the checkout's terraform/ and
# build/lambda/, keep no local state, and so take none (an option that changed nothing would
# mislead).
@pytest.mark.parametrize(("path", "command"), LEAVES, ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_takes_home(path: tuple[str, ...], command: Any) -> None:
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    if path[0] == "aws":
        assert "--home" not in options, f"punkml {' '.join(path)} takes a --home it cannot use"
    else:
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


# -- the walk over user errors -------------------------------------------------------------------

BAD_FILES: dict[str, Any] = {
    "missing": None,
    "directory": "<dir>",
    "empty": b"",
    "empty-list": b"[]",
    "empty-object": b"{}",
    "truncated-json": b'[{"id": 1, "name": "Buzz", "hops": [',
    "binary": bytes(range(256)) * 4,
    "not-utf8-json": b'[{"name": "\xff\xfe"}]',
}
FILE_COMMANDS = {
    "data fetch --from": ("data", "fetch", "--from", "{file}"),
    "train --beers": ("train", "--beers", "{file}", "--model-type", "baseline"),
    "evaluate --beers": ("evaluate", "--beers", "{file}"),
    "predict --beers": ("predict", "--beers", "{file}"),
    "predict --model": ("predict", "--beers", "{beers}", "--model", "{file}"),
    "deliver --stream": ("deliver", "--until-idle", "--stream", "sqlite://{file}"),
    "status --stream": ("status", "--stream", "sqlite://{file}"),
    "sql --lake": ("sql", "SELECT count(*) FROM beers", "--lake", "{file}"),
    "report --out": ("report", "--out", "{file}"),
}
# Combinations that are not an error: a missing (or empty) stream file is a new stream, a missing
# lake a new lake, and the report is written over whatever file --out names.
NOT_AN_ERROR = {
    ("deliver --stream", "missing"),
    ("deliver --stream", "empty"),
    ("status --stream", "missing"),
    ("status --stream", "empty"),
    ("sql --lake", "missing"),
    ("sql --lake", "directory"),
    ("report --out", "missing"),
}
# The report is written over whatever file --out names: only a directory or a missing file tell.
CASES = [
    (command, kind)
    for command in FILE_COMMANDS
    for kind in BAD_FILES
    if command != "report --out" or kind in ("directory", "missing")
]


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A home with a promoted baseline model (trained on 60 beers) and a good beers file."""
    import json

    from punkml.config import Settings
    from punkml.ml.train import train_model
    from punkml.source.dataset import load_beers

    root = tmp_path_factory.mktemp("trained")
    beers = root / "beers.json"
    beers.write_text(json.dumps(load_beers()[:60]))
    settings = Settings.load(root / "home").ensure()
    train_model(settings, model_type="baseline", beers_file=beers, promote_model=True)
    return {"home": settings.home, "beers": beers}


def _bad_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"input-{kind}"
    content = BAD_FILES[kind]
    if content == "<dir>":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize(("command", "kind"), CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_a_bad_input_file_is_a_one_line_user_error(
    command: str,
    kind: str,
    trained_home: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _bad_file(tmp_path, kind)
    args = [arg.format(file=path, beers=trained_home["beers"]) for arg in FILE_COMMANDS[command]]
    monkeypatch.setenv("PUNKML_HOME", str(trained_home["home"]))
    monkeypatch.setattr(sys, "argv", ["punkml", *args])
    with pytest.raises(SystemExit) as exited:
        punkml.cli.main()
    out, err = capsys.readouterr()
    assert "unexpected error" not in err and "Traceback" not in err, err
    if (command, kind) in NOT_AN_ERROR:
        return
    assert exited.value.code not in (0, None), err
    if command.startswith("status"):
        assert "UNREADABLE" in out  # the whole status, with what could not be read
    elif "Usage: punkml" in err:
        assert "Invalid value for" in err  # refused by the option's type, with its name
    else:
        # One line; `predict` first names each refused recipe, one line each.
        assert err.strip().splitlines()[-1].startswith("error: "), err
