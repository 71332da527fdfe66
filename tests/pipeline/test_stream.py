"""The SQLite stream: ordering, consumers, leases with fencing, retention, limits, URIs."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from punkml.config import Settings
from punkml.errors import ConfigError, StreamError
from punkml.pipeline.stream import (
    MAX_RECORD_BYTES,
    LeaseLostError,
    SqliteStream,
    Stream,
    holder_is_dead,
    new_holder_id,
    now_ms,
    open_stream,
    parse_sqlite_uri,
)


def test_put_assigns_strictly_increasing_sequence_numbers(stream: SqliteStream) -> None:
    first = stream.put([("1", b"a"), ("2", b"b")])
    second = stream.put([("3", b"c")])
    assert first == [1, 2]
    assert second == [3]
    records = stream.read(0, 10)
    assert [(r.seq, r.partition_key, r.data) for r in records] == [
        (1, "1", b"a"),
        (2, "2", b"b"),
        (3, "3", b"c"),
    ]
    assert stream.put([]) == []


def test_read_pages_by_count_bytes_and_upper_bound(stream: SqliteStream) -> None:
    stream.put([(str(i), bytes(100)) for i in range(10)])
    assert [r.seq for r in stream.read(3, 4)] == [4, 5, 6, 7]
    assert [r.seq for r in stream.read(0, 10, max_bytes=250)] == [1, 2]
    assert [r.seq for r in stream.read(0, 10, max_bytes=1)] == [1]  # never an empty page
    assert [r.seq for r in stream.read(2, 10, until=5)] == [3, 4, 5]
    assert stream.read(10, 10) == []


def test_producers_in_many_processes_never_share_a_sequence_number(settings: Settings) -> None:
    script = (
        "import sys; from punkml.pipeline.stream import SqliteStream\n"
        "s = SqliteStream(sys.argv[1])\n"
        "for i in range(50): s.put([(sys.argv[2], b'x'), (sys.argv[2], b'y')])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(settings.stream_path), f"p{n}"])
        for n in range(3)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    with SqliteStream(settings.stream_path) as log:
        records = log.read(0, 1000)
    assert [r.seq for r in records] == list(range(1, 301))
    # Each put is atomic: a producer's two records are adjacent.
    for left, right in zip(records[::2], records[1::2], strict=True):
        assert (left.partition_key, left.data, right.data) == (right.partition_key, b"x", b"y")


def test_consumers_keep_independent_checkpoints(stream: SqliteStream) -> None:
    stream.put([("k", b"1"), ("k", b"2"), ("k", b"3")])
    raw = stream.acquire_lease("raw", "h1", 30)
    cleaned = stream.acquire_lease("cleaned", "h1", 30)
    assert raw is not None and cleaned is not None
    stream.begin_batch(raw, 1, 2)
    assert stream.consumer("raw").pending_first == 1
    stream.commit_batch(raw, 2)
    assert stream.consumer("raw").checkpoint == 2
    assert stream.consumer("raw").pending_first is None
    assert stream.consumer("cleaned").checkpoint == 0
    assert stream.consumer("new").checkpoint == 0


def test_lease_is_exclusive_and_fenced(stream: SqliteStream) -> None:
    lease = stream.acquire_lease("raw", "host:1:a", 30)
    assert lease is not None
    assert stream.acquire_lease("raw", "host:1:b", 30) is None
    stream.release_lease(lease)
    other = stream.acquire_lease("raw", "host:1:b", 30)
    assert other is not None
    with pytest.raises(LeaseLostError):
        stream.commit_batch(lease, 5)
    with pytest.raises(LeaseLostError):
        stream.renew_lease(lease, 30)
    assert stream.consumer("raw").checkpoint == 0


def test_an_expired_lease_is_taken_over(stream: SqliteStream) -> None:
    stale = stream.acquire_lease("raw", "elsewhere:1:a", 0.001)
    assert stale is not None
    time.sleep(0.01)
    fresh = stream.acquire_lease("raw", "elsewhere:2:b", 30)
    assert fresh is not None
    with pytest.raises(LeaseLostError):
        stream.begin_batch(stale, 1, 1)


def test_the_lease_of_a_dead_process_is_taken_over_at_once(stream: SqliteStream) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead_holder = f"{socket.gethostname()}:{child.pid}:x"
    assert holder_is_dead(dead_holder)
    assert not holder_is_dead(new_holder_id())
    assert stream.acquire_lease("raw", dead_holder, 3600) is not None
    assert stream.acquire_lease("raw", new_holder_id(), 30) is not None


def test_retention_trims_old_records_and_reports_unread_ones(settings: Settings) -> None:
    log = SqliteStream(settings.stream_path, retention_hours=1)
    log.put([("k", b"old1"), ("k", b"old2"), ("k", b"old3")])
    lease = log.acquire_lease("raw", "h", 30)
    assert lease is not None
    log.commit_batch(lease, 1)
    log.consumer("cleaned")
    assert log.trim() == 0  # nothing is an hour old yet
    deleted = log.trim(now_ms() + 2 * 3_600_000)
    assert deleted == 3
    info = log.info()
    assert (info.length, info.trimmed, info.last_seq) == (0, 3, 3)
    states = {c.name: c.expired_unread for c in info.consumers}
    assert states == {"raw": 2, "cleaned": 3}
    assert log.put([("k", b"new")]) == [4]  # sequence numbers are never reused
    log.close()


def test_record_limits(stream: SqliteStream) -> None:
    with pytest.raises(StreamError, match="limit"):
        stream.put([("k", bytes(MAX_RECORD_BYTES + 1))])
    with pytest.raises(StreamError, match="partition key"):
        stream.put([("", b"x")])
    with pytest.raises(StreamError, match="consumer name"):
        stream.consumer("bad name;")


def test_stream_uris(settings: Settings, tmp_path: Path) -> None:
    assert parse_sqlite_uri(f"sqlite://{tmp_path}/s.sqlite?retention_hours=2") == (
        tmp_path / "s.sqlite",
        2.0,
    )
    for bad in ("sqlite://", "sqlite:///x?retention_hours=0", "sqlite:///x?retention_hours=z"):
        with pytest.raises(ConfigError):
            parse_sqlite_uri(bad)
    with pytest.raises(ConfigError, match="unknown scheme"):
        open_stream(Settings.load(settings.home, stream="ftp://x"))
    default = open_stream(settings)
    assert isinstance(default, Stream)
    assert Path(default.uri.removeprefix("sqlite://")) == settings.stream_path.resolve()
    default.close()
