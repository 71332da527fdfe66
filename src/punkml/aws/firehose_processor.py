"""The Firehose processor Lambda: stream records to raw lines or cleaned rows, record by record.

One function per lake table (``PUNKML_TABLE``): ``raw_beers`` wraps each record in the same raw
line the local raw delivery writes; ``beers``, ``hop_additions`` and ``malts`` validate and clean
each beer with the local cleaned transform and emit its rows as JSON lines, which Firehose converts
to Parquet with the Glue table's schema.

Firehose's record contract: every input ``recordId`` comes back once with ``result`` ``Ok``
(``data`` = base64 output), ``Dropped`` (nothing to write, e.g. a beer without hops for
``hop_additions``) or ``ProcessingFailed`` (``data`` = the original bytes; Firehose keeps it under
the error prefix). A bad record fails alone, never the batch, and its error is logged with its
``recordId``. The response never exceeds Lambda's 6 MB limit: an output that would is failed
instead, and Firehose delivers it to the error prefix for a later replay.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from punkml.errors import ConfigError, SchemaError
from punkml.pipeline.lake_schema import CLEANED_TABLES
from punkml.pipeline.raw import raw_line
from punkml.pipeline.stream import Record
from punkml.pipeline.transform import transform_batch

log = logging.getLogger(__name__)

TABLE_ENV = "PUNKML_TABLE"
RAW_TABLE = "raw_beers"
RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024
"""Lambda's synchronous response limit."""
RESPONSE_BUDGET_BYTES = RESPONSE_LIMIT_BYTES - 256 * 1024
"""What the records may use, keeping room for the JSON envelope and rounding."""
ENTRY_OVERHEAD_BYTES = 96
"""JSON bytes of one response entry besides its recordId and data."""
TIE_BREAKER = 1000
"""``seq`` = arrival milliseconds * this + (Kinesis sequence number mod this)."""

Result = Literal["Ok", "Dropped", "ProcessingFailed"]


@dataclass(frozen=True)
class Outcome:
    """What became of one input record; ``error`` is logged, never returned to Firehose."""

    record_id: str
    result: Result
    data: str
    """Base64 of the output (Ok), of nothing (Dropped) or of the original bytes (failed)."""
    error: str | None = None

    def entry(self) -> dict[str, str]:
        """The response entry Firehose expects."""
        return {"recordId": self.record_id, "result": self.result, "data": self.data}

    def size(self) -> int:
        """Bytes this entry adds to the JSON response (base64 is ASCII)."""
        return len(self.record_id) + len(self.data) + ENTRY_OVERHEAD_BYTES


def firehose_seq(arrived_at_ms: int, sequence_number: str | None) -> int:
    """An int64 ``seq`` for a Kinesis record, increasing with its arrival time.

    Kinesis sequence numbers are up to 128 decimal digits and do not fit the lake's int64 ``seq``;
    the arrival time keeps ``beers_latest`` ordering by arrival, the sequence number breaks ties.
    """
    tie = int(sequence_number) % TIE_BREAKER if sequence_number and sequence_number.isdigit() else 0
    return arrived_at_ms * TIE_BREAKER + tie


def stream_record(entry: Mapping[str, Any]) -> Record:
    """The stream ``Record`` of one Firehose input record (raises ``SchemaError`` if malformed)."""
    metadata = entry.get("kinesisRecordMetadata") or {}
    try:
        data = base64.b64decode(entry["data"], validate=True)
        arrived_at_ms = int(
            metadata.get("approximateArrivalTimestamp") or entry["approximateArrivalTimestamp"]
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise SchemaError(f"malformed Firehose record: {type(exc).__name__}: {exc}") from exc
    return Record(
        seq=firehose_seq(arrived_at_ms, metadata.get("sequenceNumber")),
        partition_key=str(metadata.get("partitionKey") or ""),
        arrived_at_ms=arrived_at_ms,
        data=data,
    )


def json_lines(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """Rows as JSON lines; timestamps as ``...Z`` ISO 8601, which the OpenX JSON SerDe reads."""
    option = orjson.OPT_UTC_Z | orjson.OPT_APPEND_NEWLINE
    return b"".join(orjson.dumps(dict(row), option=option) for row in rows)


def transform(record: Record, table: str) -> bytes:
    """The output bytes of one record for ``table`` (empty: nothing to write).

    Raises ``SchemaError`` when the record is not a valid beer (cleaned tables only).
    """
    if table == RAW_TABLE:
        return raw_line(record)

    batch = transform_batch([record])
    if batch.dead_letters.num_rows:
        raise SchemaError(str(batch.dead_letters.column("error")[0].as_py()))
    return json_lines(batch.tables[table].to_pylist())


def process_one(entry: Mapping[str, Any], table: str) -> Outcome:
    """Transform one input record; any failure becomes a ``ProcessingFailed`` outcome."""
    record_id = str(entry.get("recordId", ""))
    data = entry.get("data")
    original = data if isinstance(data, str) else ""
    try:
        output = transform(stream_record(entry), table)
    except SchemaError as exc:
        return Outcome(record_id, "ProcessingFailed", original, str(exc))
    except Exception as exc:  # a transform bug fails this record only, never the batch
        log.exception("record %s: unexpected error", record_id)
        return Outcome(record_id, "ProcessingFailed", original, f"{type(exc).__name__}: {exc}")
    if not output:
        return Outcome(record_id, "Dropped", "")
    return Outcome(record_id, "Ok", base64.b64encode(output).decode("ascii"))


def process_records(
    records: Sequence[Mapping[str, Any]], table: str, *, budget_bytes: int = RESPONSE_BUDGET_BYTES
) -> list[Outcome]:
    """Outcomes of every record, in order, whose response fits in ``budget_bytes``.

    Room for every record's failed entry (its original data) is reserved up front; a transformed
    output is accepted only if it fits in what is left, otherwise that record is failed.
    """
    if table != RAW_TABLE and table not in _cleaned_tables():
        raise ConfigError(
            f"{TABLE_ENV}={table!r} is not a lake table; use {RAW_TABLE} or one of {_cleaned_tables()}"
        )
    fallback = [_failed(entry, "").size() for entry in records]
    committed = sum(fallback)
    outcomes: list[Outcome] = []
    for entry, reserved in zip(records, fallback, strict=True):
        outcome = process_one(entry, table)
        extra = outcome.size() - reserved
        if outcome.result == "Ok" and committed + extra > budget_bytes:
            outcome = _failed(
                entry,
                "output would exceed the 6 MB Lambda response limit; retry with a smaller BufferSizeInMBs",
            )
            extra = 0
        committed += extra
        outcomes.append(outcome)
    return outcomes


def handler(event: Mapping[str, Any], context: object = None) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point for a Firehose data-transformation event."""
    table = os.environ.get(TABLE_ENV, "")
    records = event.get("records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ConfigError("not a Firehose transformation event: it has no 'records' list")
    outcomes = process_records(records, table)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.result] = counts.get(outcome.result, 0) + 1
        if outcome.error is not None:
            log.warning("record %s failed: %s", outcome.record_id, outcome.error)
    log.info("table %s: %d records %s", table, len(outcomes), counts)
    return {"records": [outcome.entry() for outcome in outcomes]}


def _failed(entry: Mapping[str, Any], error: str) -> Outcome:
    data = entry.get("data")
    return Outcome(
        str(entry.get("recordId", "")),
        "ProcessingFailed",
        data if isinstance(data, str) else "",
        error,
    )


def _cleaned_tables() -> tuple[str, ...]:

    return tuple(table.name for table in CLEANED_TABLES)
