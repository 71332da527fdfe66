"""The package as a user installs it: ``pip install .`` into a fresh virtualenv, then ``punkml``.

Offline and fast: the fresh venv sees this venv's site-packages through a ``.pth`` line (so the
dependencies are not downloaded again), and pip builds the package without build isolation, with
the setuptools of the dev extra. What is checked is what a real install needs: the wheel builds
from a copy of the sources, its metadata holds version ranges (no pins), the installed dependencies
satisfy them (``pip check``), the package data ships, and the console script runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _fresh_venv(tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    done = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    python = venv / "bin" / "python"
    purelib = _run(
        python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
    )
    # Our dependencies (and pip, setuptools) from this venv; .pth lines are plain paths, so this
    # venv's editable punkml (itself a .pth) is not seen.
    Path(purelib.stdout.strip(), "_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def _source_copy(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(REPO / "src", source / "src", ignore=ignore)
    return source


def test_pip_install_into_a_fresh_venv_gives_a_working_punkml(tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path)
    source = _source_copy(tmp_path)

    install = _run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-index",
        "--no-deps",
        "--no-build-isolation",
        source,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr

    # The installed package is the fresh copy, not this checkout, and ships its data files.
    where = _run(
        python,
        "-c",
        "import json, importlib.metadata as m, importlib.resources as r, punkml; print(json.dumps("
        "{'file': punkml.__file__, 'requires': m.requires('punkml'),"
        " 'index': r.files('punkml.api.static').joinpath('index.html').is_file(),"
        " 'alpha': r.files('punkml.ml').joinpath('data/alpha_acids.csv').is_file()}))",
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    found = json.loads(where.stdout)
    assert Path(found["file"]).is_relative_to(tmp_path / "venv")
    assert found["index"] and found["alpha"]
    requires = found["requires"]
    specifiers = [r.partition(";")[0] for r in requires]  # without the `extra == …` markers
    assert requires and not [s for s in specifiers if "==" in s], requires
    core = [r for r in requires if "extra ==" not in r]
    assert not [r for r in core if r.startswith(("boto3", "botocore"))], "boto3 is an extra"
    assert any(r.startswith("boto3") and 'extra == "aws"' in r for r in requires)

    # The locked versions satisfy the ranges the package declares.
    check = _run(python, "-m", "pip", "check", "--disable-pip-version-check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    cli = _run(tmp_path / "venv" / "bin" / "punkml", "--help", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert "Usage: punkml" in cli.stdout and "--install-completion" in cli.stdout
