"""Fixtures of the pipeline tests: a fresh deployment home, its stream, beers, and the CLI."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from punkml.config import Settings, cache_dir
from punkml.pipeline.stream import SqliteStream
from punkml.source.dataset import load_beers

CLI_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="session")
def beers() -> list[dict[str, Any]]:
    """The 325 beers of the pinned dataset."""
    return load_beers()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A fresh local deployment."""
    return Settings.load(tmp_path / "home").ensure()


@pytest.fixture
def stream(settings: Settings) -> Iterator[SqliteStream]:
    """The deployment's SQLite stream."""
    log = SqliteStream(settings.stream_path)
    yield log
    log.close()


@pytest.fixture
def make_records(beers: list[dict[str, Any]]) -> Callable[[int], list[tuple[str, bytes]]]:
    """``make(n)``: ``n`` stream records in the Punk API shape, ids renumbered 1..n."""

    def make(count: int) -> list[tuple[str, bytes]]:
        records = []
        for index in range(count):
            beer = copy.deepcopy(beers[index % len(beers)])
            beer["id"] = index + 1
            records.append((str(index + 1), orjson.dumps(beer)))
        return records

    return make


@pytest.fixture
def punkml(settings: Settings) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``punkml(*args)``: run the CLI in a subprocess on the test's home; returns the result."""

    def run(*args: str, check: bool = True, env: dict[str, str] | None = None) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "punkml", *args],
            env=cli_env(settings, env),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"punkml {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    return run


def cli_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a CLI subprocess working on ``settings.home``."""
    env = {**os.environ, "PUNKML_HOME": str(settings.home), "PUNKML_CACHE_DIR": str(cache_dir())}
    for name in ("PUNKML_STREAM", "PUNKML_LAKE", "PUNKML_DELIVERY_FAULT"):
        env.pop(name, None)
    env.update(extra or {})
    return env


@pytest.fixture
def punkml_background(settings: Settings) -> Iterator[Callable[..., Any]]:
    """``start(*args)``: the CLI in a background process (killed at the end if still running)."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Any:
        process = punkml_popen(settings, *args, env=env)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def punkml_popen(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Any:
    """Start the CLI in the background (stdout and stderr to a log file under home)."""
    log_path = settings.home / f"cli-{os.urandom(4).hex()}.log"
    handle = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "punkml", *args],
        env=cli_env(settings, env),
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    process.log_path = log_path  # type: ignore[attr-defined]
    return process
