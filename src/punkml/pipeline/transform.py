"""Cleaned delivery: clean each batch of stream records into Parquet, or dead-letter them.

The validation and the cleaning (``punkml.pipeline.cleaned``) and the tables
(``punkml.pipeline.lake_schema``) are declared once elsewhere; this module applies them to stream
records: a record that is too large, not JSON, not a Punk API v2 beer, or out of the schema's
plausible ranges goes to ``dead_letters`` with its error and its original bytes, in stream order,
and the batch goes on. ``ingested_at`` is the record's arrival time on the stream, never the wall
clock, so delivering the same records again produces the same rows and files.
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

import pyarrow as pa

from punkml.pipeline.cleaned import clean_payloads, concat_tables
from punkml.pipeline.lake import CLEANED_DIR, DEAD_LETTERS_DIR, Lake, batch_file_name
from punkml.pipeline.lake_schema import DEAD_LETTERS, PARQUET_SUFFIX
from punkml.pipeline.stream import Record

MIN_RECORDS_PER_WORKER = 50
"""Smaller batches are cleaned in process: shipping them to workers would cost more."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def dead_letters_table(refused: Sequence[tuple[Record, str]]) -> pa.Table:
    """The ``dead_letters`` rows of refused records (with their errors), in the given order."""
    texts: list[str | None] = []
    encoded: list[str | None] = []
    for record, _ in refused:
        try:
            texts.append(record.data.decode("utf-8"))
            encoded.append(None)
        except UnicodeDecodeError:
            texts.append(None)
            encoded.append(base64.b64encode(record.data).decode("ascii"))
    return DEAD_LETTERS.table(
        {
            "seq": [record.seq for record, _ in refused],
            "partition_key": [record.partition_key for record, _ in refused],
            "ingested_at": [arrival_time(record) for record, _ in refused],
            "error": [error for _, error in refused],
            "payload": texts,
            "payload_base64": encoded,
            "payload_bytes": [len(record.data) for record, _ in refused],
        }
    )


def transform_batch(records: Sequence[Record]) -> TransformedBatch:
    """Validate and clean ``records``; every record ends up in the tables or in the dead letters."""
    cleaned = clean_payloads(
        [record.data for record in records],
        [record.seq for record in records],
        [record.arrived_at_ms for record in records],
    )
    refused = [(records[item.index], item.error) for item in cleaned.refused]
    return TransformedBatch(tables=cleaned.tables, dead_letters=dead_letters_table(refused))


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
    tables = concat_tables([part.tables for part in parts])
    dead = pa.concat_tables([part.dead_letters for part in parts]).combine_chunks()
    return TransformedBatch(tables=tables, dead_letters=dead)
