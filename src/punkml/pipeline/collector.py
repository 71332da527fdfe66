"""The collector: fetch beers from a Punk API v2 source and put them on the stream.

``collect_random`` is the original project's Lambda (one random beer per run); ``collect_all``
is the backfill (every beer of every page). Each record's partition key is the beer id and its data
the beer's JSON. A served beer that fails the schema is put on the stream as received all the same
(the raw delivery keeps everything; the cleaned delivery dead-letters it with the reason) and
reported to ``on_invalid``: the rest of the page and of the backfill go on. Records past the stream's retention are trimmed after each collection. The outcome of every collection (last success, errors) is kept in
``<home>/state/collector.json`` for ``punkml status``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from punkml.atomic import atomic_write
from punkml.config import Settings
from punkml.pipeline.stream import Stream

log = logging.getLogger(__name__)

BACKFILL_BATCH = 500
"""Beers put on the stream per transaction during a backfill."""


InvalidBeerHandler = Callable[[str], None]
"""Told why a served beer fails the schema (the message names the beer and the field)."""


class BeerSource(Protocol):
    """What the collector needs from a Punk API client (``punkml.source.PunkClient``)."""

    def get_random_beer(self, *, on_invalid: InvalidBeerHandler | None = None) -> Any: ...

    def iter_beers(
        self, per_page: int = 80, *, on_invalid: InvalidBeerHandler | None = None, **filters: Any
    ) -> Iterator[Any]: ...


def log_invalid(message: str) -> None:
    """The default ``on_invalid``: a warning in the log."""
    log.warning("put on the stream as received, for the dead letters: %s", message)


def beer_record(beer: Any) -> tuple[str, bytes]:
    """The stream record of a beer: (partition key = its id, its JSON bytes)."""
    beer_id = beer.get("id", "unknown") if isinstance(beer, dict) else "unknown"
    return str(beer_id)[:64] or "unknown", orjson.dumps(beer)


def collect_random(
    source: BeerSource, stream: Stream, *, on_invalid: InvalidBeerHandler = log_invalid
) -> int:
    """Fetch one random beer and put it on the stream; return its sequence number."""
    seq = stream.put([beer_record(source.get_random_beer(on_invalid=on_invalid))])[0]
    stream.trim()
    return seq


def collect_all(
    source: BeerSource,
    stream: Stream,
    *,
    batch_size: int = BACKFILL_BATCH,
    on_put: Callable[[int], None] | None = None,
    on_invalid: InvalidBeerHandler = log_invalid,
) -> int:
    """Put every beer of every page on the stream, ``batch_size`` per put; return how many."""
    total = 0
    pending: list[tuple[str, bytes]] = []
    for beer in source.iter_beers(on_invalid=on_invalid):
        pending.append(beer_record(beer))
        if len(pending) >= batch_size:
            total += _put(stream, pending, on_put)
            pending = []
    if pending:
        total += _put(stream, pending, on_put)
    stream.trim()
    return total


def _put(
    stream: Stream, records: list[tuple[str, bytes]], on_put: Callable[[int], None] | None
) -> int:
    stream.put(records)
    if on_put is not None:
        on_put(len(records))
    return len(records)


@dataclass
class CollectorState:
    """What ``punkml status`` reports about the collector (times are ISO 8601 UTC)."""

    last_success_at: str | None = None
    last_attempt_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    consecutive_errors: int = 0
    errors_total: int = 0
    fetches_total: int = 0
    records_put_total: int = 0
    invalid_total: int = 0
    """Beers put although they failed the schema (dead-lettered by the cleaned delivery)."""
    last_invalid: int = 0
    """How many of those the last collection put."""
    last_invalid_error: str | None = None

    @staticmethod
    def path(settings: Settings) -> Path:
        return settings.collector_state_path

    @classmethod
    def load(cls, settings: Settings) -> CollectorState:
        """The saved state, or a fresh one if none (or an unreadable one) exists."""
        try:
            saved = json.loads(cls.path(settings).read_text())
            known = {key: saved[key] for key in cls.__dataclass_fields__ if key in saved}
            return cls(**known)
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, settings: Settings) -> None:
        """Write atomically (temporary file + rename)."""
        atomic_write(self.path(settings), json.dumps(asdict(self), indent=2))

    def succeeded(self, records: int) -> None:
        now = _now_iso()
        self.last_attempt_at = self.last_success_at = now
        self.consecutive_errors = 0
        self.fetches_total += 1
        self.records_put_total += records

    def failed(self, error: BaseException) -> None:
        now = _now_iso()
        self.last_attempt_at = self.last_error_at = now
        self.last_error = f"{type(error).__name__}: {error}"[:500]
        self.consecutive_errors += 1
        self.errors_total += 1
        self.fetches_total += 1


def record_outcome(
    settings: Settings,
    *,
    records: int = 0,
    error: BaseException | None = None,
    invalid: list[str] | None = None,
) -> None:
    """Update the saved collector state with one collection's outcome (``invalid``: why each
    beer put although it failed the schema was invalid)."""
    state = CollectorState.load(settings)
    state.last_invalid = len(invalid or [])
    state.invalid_total += state.last_invalid
    if invalid:
        state.last_invalid_error = invalid[-1][:500]
    if error is None:
        state.succeeded(records)
    else:
        state.failed(error)
        state.records_put_total += records  # a backfill may fail after putting some pages
    state.save(settings)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
