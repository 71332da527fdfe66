"""``kinesis://NAME``: the stream backend on an Amazon Kinesis data stream.

Producing is direct: ``put`` sends ``PutRecords`` (at most 500 records or 5 MB per call), retries
the entries Kinesis throttled, and returns each record's Kinesis sequence number.

Consuming keeps the local deliveries' exactly-once protocol (leases, pending batches, integer
checkpoints) unchanged: records pulled from Kinesis are appended to a local *ledger* (a SQLite
stream in ``<home>/state/kinesis-NAME.sqlite``) in the same transaction that moves that shard's
checkpoint (the last Kinesis sequence number pulled from it), so each Kinesis record gets exactly
one ledger ``seq`` even across crashes. The ledger ``seq`` of a record is its arrival time in
milliseconds times 1000 (plus one when two arrive within the same millisecond), like the ``seq``
the Firehose processor gives it on AWS, so both kinds of deliveries order ``beers_latest`` alike.
One machine delivers a given stream (its ledger and leases are local to its ``--home``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from punkml.aws.clients import aws_client, aws_errors, parse_resource_uri
from punkml.closing import Closeable
from punkml.config import Settings
from punkml.errors import StreamError
from punkml.pipeline.stream import (
    DEFAULT_RETENTION_HOURS,
    ConsumerState,
    Lease,
    Record,
    SqliteStream,
    StreamInfo,
    check_record,
    retention_from_query,
)

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_NAME_RULE = "the stream name must be 1-128 letters, digits, '_', '-' or '.'"
PUT_MAX_RECORDS = 500
PUT_MAX_BYTES = 5 * 1024 * 1024
PUT_ATTEMPTS = 6
GET_MAX_RECORDS = 10_000
MIN_PULL_INTERVAL_SECONDS = 1.0
"""Kinesis allows 5 GetRecords calls per shard per second; an idle deliverer polls far less."""
SEQ_PER_MS = 1000
PULL_MIN_RECORDS = 1000
"""Records pulled per shard at least, whatever page size the reader asks for."""

_LEDGER_SCHEMA = """
CREATE TABLE IF NOT EXISTS kinesis_shards (
    shard_id TEXT PRIMARY KEY,
    sequence_number TEXT NOT NULL
);
"""


def parse_kinesis_uri(uri: str) -> tuple[str, str | None, float]:
    """``kinesis://NAME[?region=eu-west-1&retention_hours=24]`` → (name, region, retention)."""
    name, region, query = parse_resource_uri(
        uri, scheme="kinesis", role="stream", name_pattern=_NAME, name_rule=_NAME_RULE
    )
    return name, region, retention_from_query(uri, query)


class KinesisLedger(SqliteStream):
    """The local SQLite stream plus the Kinesis position of every shard pulled into it."""

    def __init__(self, path: Path, *, retention_hours: float = DEFAULT_RETENTION_HOURS) -> None:
        super().__init__(path, retention_hours=retention_hours)
        self._db.executescript(_LEDGER_SCHEMA)

    def shard_positions(self) -> dict[str, str]:
        """Last Kinesis sequence number pulled from each shard."""
        rows = self._db.execute("SELECT shard_id, sequence_number FROM kinesis_shards").fetchall()
        return {shard: number for shard, number in rows}

    def append_from_shard(
        self, shard_id: str, records: Sequence[dict[str, Any]], *, after: str | None
    ) -> list[int] | None:
        """Append Kinesis records of one shard and move its position, in one transaction.

        ``after`` is the shard position the records were read from; if another puller (another
        consumer's thread or process on this ledger) moved it meanwhile, nothing is appended and
        ``None`` is returned, so no Kinesis record enters the ledger twice.
        """
        if not records:
            return []
        seqs: list[int] = []
        with self._write() as db:
            row = db.execute(
                "SELECT sequence_number FROM kinesis_shards WHERE shard_id = ?", (shard_id,)
            ).fetchone()
            if (row[0] if row else None) != after:
                return None
            last = self._meta(db, "last_seq")
            rows = []
            for item in records:
                arrived_ms = _arrival_ms(item)
                last = max(last + 1, arrived_ms * SEQ_PER_MS)
                seqs.append(last)
                rows.append((last, item["PartitionKey"], arrived_ms, bytes(item["Data"])))
            db.executemany(
                "INSERT INTO records (seq, partition_key, arrived_at_ms, data) VALUES (?,?,?,?)",
                rows,
            )
            self._set_meta(db, "last_seq", last)
            db.execute(
                "INSERT INTO kinesis_shards (shard_id, sequence_number) VALUES (?, ?) "
                "ON CONFLICT (shard_id) DO UPDATE SET sequence_number = excluded.sequence_number",
                (shard_id, records[-1]["SequenceNumber"]),
            )
        return seqs


class KinesisStream(Closeable):
    """A Kinesis data stream behind the ``Stream`` protocol (see the module docstring)."""

    def __init__(
        self,
        name: str,
        *,
        client: Any,
        ledger_path: Path,
        retention_hours: float = DEFAULT_RETENTION_HOURS,
        region: str | None = None,
    ) -> None:
        self.name = name
        self.uri = f"kinesis://{name}"
        self.retention_hours = retention_hours
        self._client = client
        self._ledger_path = ledger_path
        self._ledger: KinesisLedger | None = None
        self._last_pull = 0.0

    @classmethod
    def from_uri(cls, uri: str, settings: Settings) -> KinesisStream:
        name, region, retention = parse_kinesis_uri(uri)
        return cls(
            name,
            client=aws_client("kinesis", region),
            ledger_path=settings.kinesis_ledger_path(name),
            retention_hours=retention,
        )

    @property
    def ledger(self) -> KinesisLedger:
        """The local ledger, opened on first use (the collector Lambda never opens it)."""
        if self._ledger is None:
            self._ledger = KinesisLedger(self._ledger_path, retention_hours=self.retention_hours)
        return self._ledger

    # -- producing -------------------------------------------------------------------------------

    def put(self, records: Sequence[tuple[str, bytes]]) -> list[int]:
        """Put records (in chunks of ``PutRecords``); return their Kinesis sequence numbers."""
        for key, data in records:
            check_record(key, data)
        numbers: list[int] = []
        for chunk in _chunks(records):
            numbers.extend(self._put_chunk(chunk))
        return numbers

    def _put_chunk(self, chunk: Sequence[tuple[str, bytes]]) -> list[int]:
        results: list[int | None] = [None] * len(chunk)
        todo = list(range(len(chunk)))
        last_error = ""
        for attempt in range(PUT_ATTEMPTS):
            entries = [{"PartitionKey": chunk[i][0], "Data": bytes(chunk[i][1])} for i in todo]
            with aws_errors(f"cannot put records on Kinesis stream {self.name!r}"):
                response = self._client.put_records(StreamName=self.name, Records=entries)
            failed = []
            for index, entry in zip(todo, response["Records"], strict=True):
                if "SequenceNumber" in entry and not entry.get("ErrorCode"):
                    results[index] = int(entry["SequenceNumber"])
                else:
                    failed.append(index)
                    last_error = f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"
            if not failed:
                return [number for number in results if number is not None]
            todo = failed
            time.sleep(min(2.0, 0.1 * 2**attempt))  # throttled entries: back off, retry them only
        raise StreamError(
            f"Kinesis stream {self.name!r} refused {len(todo)} record(s) after {PUT_ATTEMPTS} "
            f"attempts ({last_error}); add shards or use on-demand mode"
        )

    # -- consuming -------------------------------------------------------------------------------

    def read(
        self, after: int, limit: int, *, max_bytes: int | None = None, until: int | None = None
    ) -> list[Record]:
        """Ledger records after ``after``; pulls from Kinesis first when the ledger is drained.

        An empty page means every shard was caught up when pulled: a pull that hit ``limit`` on a
        shard leaves records in the ledger. Pulls are spaced by ``MIN_PULL_INTERVAL_SECONDS``
        (waiting if needed) to stay within Kinesis' read limits.
        """
        page = self.ledger.read(after, limit, max_bytes=max_bytes, until=until)
        if page or until is not None:
            return page
        wait = MIN_PULL_INTERVAL_SECONDS - (time.monotonic() - self._last_pull)
        if wait > 0:
            time.sleep(wait)
        self.pull(max(limit, PULL_MIN_RECORDS))
        return self.ledger.read(after, limit, max_bytes=max_bytes)

    def pull(self, limit: int = GET_MAX_RECORDS) -> int:
        """Copy up to ``limit`` new records per shard from Kinesis into the ledger; return how many."""
        self._last_pull = time.monotonic()
        positions = self.ledger.shard_positions()
        total = 0
        for shard_id in self._shard_ids():
            total += self._pull_shard(shard_id, positions.get(shard_id), limit)
        return total

    def _shard_ids(self) -> list[str]:
        """Every shard still holding records, parents before children (the API's order)."""
        shard_ids: list[str] = []
        kwargs: dict[str, Any] = {"StreamName": self.name}
        with aws_errors(f"cannot list the shards of Kinesis stream {self.name!r}"):
            while True:
                response = self._client.list_shards(**kwargs)
                shard_ids.extend(shard["ShardId"] for shard in response.get("Shards", []))
                token = response.get("NextToken")
                if not token:
                    return shard_ids
                kwargs = {"NextToken": token}

    def _pull_shard(self, shard_id: str, position: str | None, limit: int) -> int:
        start: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if position is not None:
            start = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": position,
            }
        action = f"cannot read shard {shard_id} of Kinesis stream {self.name!r}"
        with aws_errors(action):
            iterator = self._client.get_shard_iterator(
                StreamName=self.name, ShardId=shard_id, **start
            ).get("ShardIterator")
        pulled = 0
        while iterator and pulled < limit:
            with aws_errors(action):
                response = self._client.get_records(
                    ShardIterator=iterator, Limit=max(1, min(GET_MAX_RECORDS, limit - pulled))
                )
            records = response.get("Records", [])
            appended = self.ledger.append_from_shard(shard_id, records, after=position)
            if appended is None:
                break  # another puller got there first; the next read starts from its position
            if records:
                position = records[-1]["SequenceNumber"]
            pulled += len(appended)
            iterator = response.get("NextShardIterator")
            if not records and not response.get("MillisBehindLatest"):
                break  # caught up with this shard
        return pulled

    # -- leases, checkpoints, retention, status: the ledger's ----------------------------------

    def consumer(self, name: str) -> ConsumerState:
        return self.ledger.consumer(name)

    def acquire_lease(self, consumer: str, holder: str, ttl_seconds: float) -> Lease | None:
        return self.ledger.acquire_lease(consumer, holder, ttl_seconds)

    def renew_lease(self, lease: Lease, ttl_seconds: float) -> Lease:
        return self.ledger.renew_lease(lease, ttl_seconds)

    def release_lease(self, lease: Lease) -> None:
        self.ledger.release_lease(lease)

    def begin_batch(self, lease: Lease, first: int, last: int) -> None:
        self.ledger.begin_batch(lease, first, last)

    def commit_batch(self, lease: Lease, last: int) -> None:
        self.ledger.commit_batch(lease, last)

    def trim(self, now_ms: int | None = None) -> int:
        return self.ledger.trim(now_ms)

    def info(self) -> StreamInfo:
        return dataclasses.replace(self.ledger.info(), uri=self.uri)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


def _arrival_ms(item: dict[str, Any]) -> int:
    arrived = item.get("ApproximateArrivalTimestamp")
    if arrived is None:
        return time.time_ns() // 1_000_000
    return int(arrived.timestamp() * 1000)


def _chunks(records: Sequence[tuple[str, bytes]]) -> Iterator[Sequence[tuple[str, bytes]]]:
    """Slices that respect PutRecords' limits (500 records, 5 MB of keys and data)."""
    start, size = 0, 0
    for index, (key, data) in enumerate(records):
        item = len(key.encode()) + len(data)
        if index > start and (index - start >= PUT_MAX_RECORDS or size + item > PUT_MAX_BYTES):
            yield records[start:index]
            start, size = index, 0
        size += item
    if start < len(records):
        yield records[start:]
