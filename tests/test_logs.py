"""Logging as the root command sets it up: levels, JSON lines, no per-request lines by default."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from punkml.logs import LogFormat, LogLevel, setup_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    names = ("punkml", "uvicorn", "httpx", "httpcore", "uvicorn.access", "other.library")
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in names})
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def emit_one_of_each() -> None:
    logging.getLogger("punkml.pipeline.runner").info("collected one beer")
    logging.getLogger("punkml.source.client").debug("GET /v2/beers/random failed; retry")
    logging.getLogger("httpx").info('HTTP Request: GET /v2/beers/random "HTTP/1.1 200 OK"')
    logging.getLogger("other.library").info("defaulting to 2 threads")
    logging.getLogger("other.library").warning("a real problem")


def test_default_level_shows_our_info_but_no_request_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging()
    emit_one_of_each()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "INFO punkml.pipeline.runner: collected one beer",
        "WARNING other.library: a real problem",
    ]


def test_debug_json_shows_everything_one_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging(LogLevel.debug, LogFormat.json)
    emit_one_of_each()
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(e["level"], e["logger"]) for e in entries] == [
        ("info", "punkml.pipeline.runner"),
        ("debug", "punkml.source.client"),
        ("info", "httpx"),
        ("info", "other.library"),
        ("warning", "other.library"),
    ]
    assert entries[0]["message"] == "collected one beer"
    assert entries[0]["time"].endswith("+00:00")


def test_warning_level_hides_our_info(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(LogLevel.warning)
    emit_one_of_each()
    assert [line.split(" ", 2)[2] for line in capsys.readouterr().err.splitlines()] == [
        "WARNING other.library: a real problem"
    ]


@pytest.mark.slow
def test_the_root_command_logs_json_lines_and_keeps_the_error_on_one_line(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUNKML_")}
    command = ["--log-level", "debug", "--log-format", "json", "ingest", "once"]
    done = subprocess.run(
        [sys.executable, "-m", "punkml", *command, "--source", "http://127.0.0.1:9/v2"],
        env=env | {"PUNKML_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    *logged, error = done.stderr.strip().splitlines()
    assert error.startswith("error: GET http://127.0.0.1:9/v2/beers/random")
    retries = [json.loads(line) for line in logged]
    assert [e["logger"] for e in retries if "retry in" in e["message"]] == [
        "punkml.source.client"
    ] * 4
