"""Cleaned delivery: validate each stream record, clean it into Arrow tables, or dead-letter it.

The cleaning itself (``punkml.pipeline.cleaned``) and the schema (``punkml.source.schema``) are
declared once elsewhere; this module only applies them to stream records: a record that is too
large, not JSON, or not a Punk API v2 beer goes to ``dead_letters`` with its error and its original
bytes, and the batch goes on. ``ingested_at`` is the record's arrival time on the stream, never the
wall clock, so delivering the same records again produces the same rows and files.
"""

from __future__ import annotations

import base64
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any

from punkml.errors import SchemaError
from punkml.pipeline.lake import CLEANED_DIR, DEAD_LETTERS_DIR, Lake, batch_file_name
from punkml.pipeline.stream import Record

if TYPE_CHECKING:
    import pyarrow as pa

    from punkml.source.schema import Beer

MAX_BEER_BYTES = 256 * 1024
"""Largest record accepted as one beer (bytes); real beers are 1-6 KiB."""
PARQUET_SUFFIX = ".parquet"
MIN_RECORDS_PER_WORKER = 50
"""Smaller batches are cleaned in process: shipping them to workers would cost more."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def dead_letters_schema() -> pa.Schema:
    """Columns of the ``dead_letters`` table."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("seq", pa.int64(), nullable=False),
            pa.field("partition_key", pa.string(), nullable=False),
            pa.field("ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("error", pa.string(), nullable=False),
            pa.field("payload", pa.string()),
            pa.field("payload_base64", pa.string()),
            pa.field("payload_bytes", pa.int64(), nullable=False),
        ]
    )


def arrival_time(record: Record) -> datetime:
    """The record's arrival time on the stream as an aware UTC datetime (millisecond precision)."""
    return _arrival(record.arrived_at_ms)[0]


@lru_cache(maxsize=4096)
def _arrival(arrived_at_ms: int) -> tuple[datetime, str]:
    # Cached: the records of one put share their arrival time.
    moment = _EPOCH + timedelta(milliseconds=arrived_at_ms)
    return moment, moment.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class TransformedBatch:
    """The cleaned tables (by table name) and the dead letters of one group of records."""

    tables: dict[str, pa.Table]
    dead_letters: pa.Table


class _DeadLetters:
    """Dead-letter rows accumulated column by column."""

    def __init__(self) -> None:
        self.columns: dict[str, list[Any]] = {name: [] for name in dead_letters_schema().names}

    def add(self, record: Record, when: datetime, error: str) -> None:
        try:
            text: str | None = record.data.decode("utf-8")
            encoded = None
        except UnicodeDecodeError:
            text, encoded = None, base64.b64encode(record.data).decode("ascii")
        row = {
            "seq": record.seq,
            "partition_key": record.partition_key,
            "ingested_at": when,
            "error": error,
            "payload": text,
            "payload_base64": encoded,
            "payload_bytes": len(record.data),
        }
        for name, column in self.columns.items():
            column.append(row[name])

    def to_table(self) -> pa.Table:
        import pyarrow as pa

        return pa.Table.from_pydict(self.columns, schema=dead_letters_schema())


def validate_record(record: Record) -> Beer:
    """The record's payload as a validated beer; ``SchemaError`` says why it is not one."""
    from punkml.source.schema import validate_beer_json

    if len(record.data) > MAX_BEER_BYTES:
        raise SchemaError(
            f"record is {len(record.data)} bytes, over the {MAX_BEER_BYTES}-byte limit of one beer"
        )
    return validate_beer_json(record.data)


def transform_records(records: Sequence[Record]) -> TransformedBatch:
    """Validate and clean ``records``; every record ends up in the tables or in the dead letters."""
    from punkml.pipeline.cleaned import CleanedBatch

    batch = CleanedBatch()
    dead = _DeadLetters()
    for record in records:
        when = arrival_time(record)
        try:
            beer = validate_record(record)
        except SchemaError as exc:
            dead.add(record, when, str(exc))
            continue
        try:
            batch.add(beer, seq=record.seq, ingested_at=when)
        except Exception as exc:  # a transform bug must not stop the delivery: dead-letter it
            # CleanedBatch.add appends nothing unless the whole beer cleaned, so the batch is whole.
            dead.add(record, when, f"cannot clean beer: {type(exc).__name__}: {exc}")
    return TransformedBatch(tables=batch.to_tables(), dead_letters=dead.to_table())


def transform_batch(records: Sequence[Record]) -> TransformedBatch:
    """``transform_records``'s result, computed column-wise for the records the fast path can
    prove valid (``punkml.pipeline.columnar``) and record by record for the others."""
    import pyarrow as pa

    from punkml.pipeline import columnar

    fast = [
        record
        for record in records
        if len(record.data) <= MAX_BEER_BYTES and columnar.passes_gate(record.data)
    ]
    parsed = columnar.parse_block([record.data for record in fast]) if fast else None
    if parsed is None:
        return transform_records(records)
    tables = columnar.clean_columns(
        parsed, [record.seq for record in fast], [record.arrived_at_ms for record in fast]
    )
    if len(fast) == len(records):
        return TransformedBatch(tables=tables, dead_letters=_DeadLetters().to_table())
    chosen = {record.seq for record in fast}
    rest = transform_records([record for record in records if record.seq not in chosen])
    merged = {}
    for name, table in tables.items():
        both = pa.concat_tables([table, rest.tables[name]])
        order = [("seq", "ascending")] + ([("position", "ascending")] if name != "beers" else [])
        merged[name] = both.sort_by(order)
    return TransformedBatch(tables=merged, dead_letters=rest.dead_letters)


def ingest_date(record: Record) -> str:
    """``YYYY-MM-DD`` (UTC) of the record's arrival: the Hive partition of its rows."""
    return _arrival(record.arrived_at_ms)[1]


class CleanedSink:
    """Writes each batch of the ``cleaned`` consumer as Parquet, Hive-partitioned by ingest date.

    With ``workers`` > 1 the validation and cleaning of a batch is split over that many worker
    processes (CPU-bound Python: threads would not help); the chunks' tables are concatenated in
    stream order, so the rows are the same as with one process.
    """

    consumer = "cleaned"

    def __init__(self, lake: Lake, *, workers: int = 1) -> None:
        self.lake = lake
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def write(self, records: Sequence[Record]) -> int:
        """Write the batch's tables and dead letters (replacing any earlier copy); count files."""
        if not records:
            return 0
        name = batch_file_name(records[0].seq, records[-1].seq, PARQUET_SUFFIX)
        by_date: dict[str, list[Record]] = {}
        for record in records:
            by_date.setdefault(ingest_date(record), []).append(record)
        files = 0
        for date, group in by_date.items():
            out = self._transform(group)
            targets = {
                f"{CLEANED_DIR}/{table}/ingest_date={date}/{name}": rows
                for table, rows in out.tables.items()
            }
            targets[f"{DEAD_LETTERS_DIR}/ingest_date={date}/{name}"] = out.dead_letters
            for relative, table in targets.items():
                if table.num_rows:
                    self.lake.write_parquet(relative, table)
                    files += 1
        return files

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _transform(self, records: list[Record]) -> TransformedBatch:
        if self.workers == 1 or len(records) < self.workers * MIN_RECORDS_PER_WORKER:
            return transform_batch(records)
        if self._pool is None:
            # spawn, not fork: the delivering process has threads and an open SQLite connection.
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        size = -(-len(records) // self.workers)
        chunks = [records[start : start + size] for start in range(0, len(records), size)]
        return concat_batches(list(self._pool.map(transform_batch, chunks)))


def _init_worker(parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent finishes its batch with the workers
    # and stops them itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent killed outright (SIGKILL) cannot stop its workers (they hold both ends of their
    # task pipe, so they never see it close): they watch their parent pid and exit. ``parent`` is
    # passed in, not read here, in case the parent died while this worker was starting.

    def exit_when_orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=exit_when_orphaned, name="orphan-watch", daemon=True).start()


def concat_batches(parts: Sequence[TransformedBatch]) -> TransformedBatch:
    """The batches' tables one after the other (in the given order), each as one chunk."""
    import pyarrow as pa

    tables = {
        name: pa.concat_tables([part.tables[name] for part in parts]).combine_chunks()
        for name in parts[0].tables
    }
    dead = pa.concat_tables([part.dead_letters for part in parts]).combine_chunks()
    return TransformedBatch(tables=tables, dead_letters=dead)
