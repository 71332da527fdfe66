"""Logging, set up once by the root ``punkml`` command (``--log-level``, ``--log-format``).

Every module logs to ``logging.getLogger(__name__)``; only ``setup_logging`` attaches a handler
(to stderr, so stdout stays the command's output). ``--log-level`` applies to Punk ML's own
records and the API server's (``uvicorn``); other libraries show warnings and errors only, and
per-request lines (``httpx``, ``httpcore``, ``uvicorn.access``, the client's retries) appear only
at ``--log-level debug``.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OWN_LOGGERS = ("punkml", "uvicorn")
PER_REQUEST_LOGGERS = ("httpx", "httpcore", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``
    (and ``exception`` with the traceback when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: LogLevel = LogLevel.info, log_format: LogFormat = LogFormat.text) -> None:
    """Send every log record at ``level`` or above to stderr, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonFormatter() if log_format is LogFormat.json else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    debug = level is LogLevel.debug
    root.setLevel(
        logging.DEBUG if debug else max(logging.WARNING, logging.getLevelName(level.upper()))
    )
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level.upper())
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
