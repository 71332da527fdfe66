"""The home rule and the locations of a deployment, in process and with real ``punkml`` processes.

``--home``, else ``$PUNKML_HOME``, else the nearest ``.punkml`` in the current folder or its
parents, else ``./.punkml``; only commands that write create it, a read-only command that finds no
deployment says where it looked and creates nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from punkml.config import (
    DeploymentNotFoundError,
    Settings,
    cache_dir,
    find_home,
    resolve_home,
)
from subprocess_cli import run_punkml

READ_ONLY_COMMANDS = (
    ("sql", "SELECT 1"),
    ("status",),
    ("report",),
    ("models", "list"),
    ("predict",),
    ("api", "serve", "--port", "0"),
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no ``.punkml`` above it, as the current folder, with no home in the env."""
    if find_home(tmp_path) is not None:
        pytest.skip(f"a .punkml above {tmp_path} would be found by every test here")
    monkeypatch.delenv("PUNKML_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli_env(**extra: str) -> dict[str, str]:
    """A user's environment: the machine's dataset cache, no home, no backend overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNKML_")}
    return env | {"PUNKML_CACHE_DIR": str(cache_dir()), "NO_COLOR": "1", **extra}


def test_the_nearest_punkml_folder_up_the_tree_is_the_home(project: Path) -> None:
    (project / ".punkml").mkdir()
    deep = project / "notebooks" / "drafts"
    deep.mkdir(parents=True)
    assert find_home(deep) == project / ".punkml"
    os.chdir(deep)
    assert resolve_home() == project / ".punkml"
    (deep / ".punkml").mkdir()  # a nearer one wins, as with git
    assert resolve_home() == deep / ".punkml"


def test_explicit_home_beats_the_environment_which_beats_the_search(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".punkml").mkdir()
    monkeypatch.setenv("PUNKML_HOME", str(project / "from-env"))
    assert resolve_home() == project / "from-env"
    assert resolve_home(project / "given") == project / "given"
    monkeypatch.delenv("PUNKML_HOME")
    assert resolve_home() == project / ".punkml"


def test_without_any_home_the_default_is_dot_punkml_here_and_nothing_is_created(
    project: Path,
) -> None:
    settings = Settings.load()
    assert settings.home == project / ".punkml"
    assert not settings.home.exists()
    with pytest.raises(DeploymentNotFoundError, match=f"no .punkml in {project} or its parents"):
        Settings.for_command(writes=False)
    assert not settings.home.exists()
    assert Settings.for_command(writes=True).home.is_dir()


def test_every_location_derives_from_the_settings(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "home")
    assert settings.stream_uri == f"sqlite://{tmp_path}/home/stream.sqlite"
    assert settings.lake_uri == str(tmp_path / "home" / "lake")
    assert settings.catalog_uri is None
    assert settings.cache_dir == cache_dir(tmp_path / "home")
    inside = [
        settings.stream_path,
        settings.lake_dir,
        settings.catalog_path,
        settings.models_dir,
        settings.report_path,
        settings.collector_state_path,
        settings.catalog_stamp_path,
        settings.kinesis_ledger_path("beers"),
    ]
    assert all(path.is_relative_to(settings.home) for path in inside)
    assert len(set(inside)) == len(inside)
    other = Settings.load(tmp_path / "home", stream="kinesis://beers", lake="s3://b/p")
    assert (other.stream_uri, other.lake_uri) == ("kinesis://beers", "s3://b/p")


@pytest.mark.slow
def test_read_only_commands_without_a_deployment_say_where_they_looked(project: Path) -> None:
    # All at once: one interpreter start per command, in parallel on the two cores.
    running = {
        command: subprocess.Popen(
            [sys.executable, "-m", "punkml", *command],
            cwd=project,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in READ_ONLY_COMMANDS
    }
    for command, process in running.items():
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 2, (command, stdout, stderr)
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, (command, stderr)
        assert f"no .punkml in {project} or its parents" in lines[0], (command, lines[0])
    done = run_punkml("status", "--home", str(project / "elsewhere"), cwd=project, env=cli_env())
    assert done.returncode == 2 and f"--home {project / 'elsewhere'} does not exist" in done.stderr
    assert sorted(project.iterdir()) == []  # nothing created, anywhere


@pytest.mark.slow
def test_commands_in_a_sub_folder_use_the_deployment_above(project: Path, api_server: str) -> None:
    for command in (("ingest", "backfill", "--source", api_server), ("deliver", "--until-idle")):
        done = run_punkml(*command, cwd=project, env=cli_env())
        assert done.returncode == 0, done.stderr
    assert (project / ".punkml" / "stream.sqlite").is_file()
    notebooks = project / "notebooks"
    notebooks.mkdir()

    done = run_punkml(
        "sql",
        "SELECT count(*) AS n FROM beers_latest",
        "--format",
        "csv",
        cwd=notebooks,
        env=cli_env(),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["n", "325"]
    done = run_punkml("status", "--format", "json", cwd=notebooks, env=cli_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stream"]["length"] == 325
    assert not (notebooks / ".punkml").exists()  # no stray home in the sub-folder
