"""The SQLite stream: ordering, consumers, leases with fencing, retention, limits, URIs."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from punkml.config import Settings
from punkml.errors import ConfigError, StreamError
from punkml.pipeline.stream import (
    _STREAM_BACKENDS,
    MAX_PARTITION_KEY_CHARS,
    MAX_RECORD_BYTES,
    LeaseLostError,
    SqliteStream,
    Stream,
    add_stream_backend,
    holder_is_dead,
    new_holder_id,
    now_ms,
    open_stream,
    parse_sqlite_uri,
    retry_while_busy,
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


def _expired_and_taken_over(stream: SqliteStream) -> tuple[Any, Any]:
    """A raw lease left to expire, then the lease another process took over: (stale, fresh)."""
    stale = stream.acquire_lease("raw", "elsewhere:1:a", 0.001)
    assert stale is not None
    time.sleep(0.01)
    fresh = stream.acquire_lease("raw", "elsewhere:2:b", 30)
    assert fresh is not None
    return stale, fresh


def test_an_expired_lease_is_taken_over(stream: SqliteStream) -> None:
    stale, _fresh = _expired_and_taken_over(stream)
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


def test_lag_counts_the_records_after_the_checkpoint_that_are_still_kept(
    settings: Settings,
) -> None:
    log = SqliteStream(settings.stream_path, retention_hours=1)
    assert log.info().lag(0) == 0  # an empty stream
    log.put([("k", b"1"), ("k", b"2"), ("k", b"3")])
    info = log.info()
    assert [info.lag(checkpoint) for checkpoint in (0, 1, 3, 7)] == [3, 2, 0, 0]
    log.trim(now_ms() + 2 * 3_600_000)
    log.put([("k", b"4"), ("k", b"5")])
    # Trimmed records are not lag: a consumer at 1 has only 4 and 5 left to read.
    assert [log.info().lag(checkpoint) for checkpoint in (1, 3, 4, 5)] == [2, 2, 1, 0]
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
    for bad in (
        "sqlite://",
        "sqlite:///x?retention_hours=0",
        "sqlite:///x?retention_hours=z",
        "sqlite:///x?retention_hours=nan",
    ):
        with pytest.raises(ConfigError):
            parse_sqlite_uri(bad)
    with pytest.raises(ConfigError, match="unknown scheme"):
        open_stream(Settings.load(settings.home, stream="ftp://x"))
    default = open_stream(settings)
    assert isinstance(default, Stream)
    assert Path(default.uri.removeprefix("sqlite://")) == settings.stream_path.resolve()
    default.close()


# --- edges each rule above has (found by mutation testing: `make mutate`) ----------------------


def test_clock_and_holder_ids() -> None:
    assert abs(now_ms() - time.time() * 1000) < 1000
    host, pid, nonce = new_holder_id().split(":")
    assert (host, pid, len(nonce)) == (socket.gethostname(), str(os.getpid()), 8)
    assert new_holder_id() != new_holder_id()


def test_read_counts_bytes_up_to_the_limit_and_at_least_one_record(stream: SqliteStream) -> None:
    stream.put([(str(i), bytes(100)) for i in range(4)])
    assert [r.seq for r in stream.read(0, 10, max_bytes=200)] == [1, 2]
    assert [r.seq for r in stream.read(0, 10, max_bytes=300)] == [1, 2, 3]
    assert [r.seq for r in stream.read(0, 0)] == [1]
    assert [r.arrived_at_ms > 0 for r in stream.read(0, 10)] == [True] * 4


def test_a_new_consumer_is_remembered(stream: SqliteStream) -> None:
    state = stream.consumer("raw")
    assert (state.name, state.checkpoint, state.pending_first, state.lease_holder) == (
        "raw",
        0,
        None,
        None,
    )
    assert [c.name for c in stream.info().consumers] == ["raw"]


def test_lease_times_follow_the_ttl_and_the_holder_may_take_it_again(
    stream: SqliteStream,
) -> None:
    before = now_ms()
    lease = stream.acquire_lease("raw", "elsewhere:1:a", 30)
    assert lease is not None
    assert before + 30_000 <= lease.expires_at_ms <= now_ms() + 30_000
    again = stream.acquire_lease("raw", "elsewhere:1:a", 60)
    assert again is not None and again.expires_at_ms >= before + 60_000
    renewed = stream.renew_lease(again, 120)
    assert (renewed.consumer, renewed.holder) == ("raw", "elsewhere:1:a")
    assert renewed.expires_at_ms >= before + 120_000
    state = stream.consumer("raw")
    assert (state.lease_holder, state.lease_expires_at_ms) == (
        "elsewhere:1:a",
        renewed.expires_at_ms,
    )


def test_a_lost_lease_neither_releases_nor_blocks_the_new_holder(stream: SqliteStream) -> None:
    old, new = _expired_and_taken_over(stream)
    stream.release_lease(old)  # too late: it is not the holder any more
    assert stream.consumer("raw").lease_holder == "elsewhere:2:b"
    with pytest.raises(LeaseLostError, match="taken over by another process"):
        stream.commit_batch(old, 3)
    # The refused update was rolled back: the stream still takes writes.
    assert stream.put([("k", b"x")]) == [1]
    stream.commit_batch(new, 1)
    stream.release_lease(new)
    state = stream.consumer("raw")
    assert (state.checkpoint, state.lease_holder, state.lease_expires_at_ms) == (1, None, None)
    assert state.updated_at_ms is not None and state.updated_at_ms >= now_ms() - 60_000


def test_the_checkpoint_never_moves_back(stream: SqliteStream) -> None:
    lease = stream.acquire_lease("raw", "h", 30)
    assert lease is not None
    stream.begin_batch(lease, 4, 5)
    assert (stream.consumer("raw").pending_first, stream.consumer("raw").pending_last) == (4, 5)
    stream.commit_batch(lease, 5)
    stream.commit_batch(lease, 2)
    assert stream.consumer("raw").checkpoint == 5


def test_retention_keeps_records_younger_than_the_period(settings: Settings) -> None:
    with SqliteStream(settings.stream_path, retention_hours=1) as log:
        log.put([("k", b"a")])
        arrived = log.read(0, 1)[0].arrived_at_ms
        assert log.trim(arrived + 3_600_000) == 0  # exactly one hour old: kept
        time.sleep(0.005)
        log.put([("k", b"b")])
        assert log.trim(arrived + 3_600_001) == 1
        info = log.info()
        assert (info.uri, info.retention_hours) == (f"sqlite://{settings.stream_path}", 1)
        assert (info.length, info.oldest_seq, info.newest_seq, info.trimmed) == (1, 2, 2, 1)
        newest = log.read(0, 1)[0].arrived_at_ms
        assert info.oldest_arrived_at_ms == info.newest_arrived_at_ms == newest


def test_an_unreaped_dead_child_is_dead_and_other_hosts_are_not_judged() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    stat = Path(f"/proc/{child.pid}/stat")
    while stat.read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert holder_is_dead(f"{socket.gethostname()}:{child.pid}:x")  # a zombie
    finally:
        child.wait()
    previous = signal.signal(signal.SIGHUP, _refuse_signal)  # a probe sends no signal
    try:
        assert not holder_is_dead(f"{socket.gethostname()}:{os.getpid()}:x")
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert not holder_is_dead(f"not-{socket.gethostname()}:{child.pid}:x")
    assert not holder_is_dead(f"{socket.gethostname()}:pid:x")


def test_record_and_consumer_name_bounds(stream: SqliteStream) -> None:
    assert stream.put([("k" * MAX_PARTITION_KEY_CHARS, bytes(MAX_RECORD_BYTES))]) == [1]
    assert stream.put([("k", memoryview(b"view"))]) == [2]  # type: ignore[list-item]
    with pytest.raises(StreamError, match="must be bytes, not str"):
        stream.put([("k", "text")])  # type: ignore[list-item]
    with pytest.raises(StreamError, match=f"1 to {MAX_PARTITION_KEY_CHARS} characters, got 257"):
        stream.put([("k" * (MAX_PARTITION_KEY_CHARS + 1), b"x")])
    with pytest.raises(StreamError, match=f"over the {MAX_RECORD_BYTES}-byte limit"):
        stream.put([("k", bytes(MAX_RECORD_BYTES + 1))])
    assert stream.consumer("a" * 64).name == "a" * 64
    assert stream.consumer("raw-2_b").checkpoint == 0
    assert stream.consumer("bière").name == "bière"  # letters of any script
    for bad in ("", "a" * 65, "a.b", "raw\n", "a b"):
        with pytest.raises(StreamError, match="1-64 letters"):
            stream.consumer(bad)


def test_stream_uri_forms(tmp_path: Path) -> None:
    assert parse_sqlite_uri("sqlite://rel/s.sqlite") == (Path("rel/s.sqlite"), 24.0)
    assert parse_sqlite_uri("sqlite:///x?retention_hours=1&retention_hours=3") == (Path("/x"), 3.0)
    with pytest.raises(ConfigError, match="not a sqlite:// stream URI"):
        parse_sqlite_uri("kinesis://name")
    with pytest.raises(ConfigError, match="names no file"):
        parse_sqlite_uri("sqlite://")
    with pytest.raises(ConfigError, match="retention_hours must be a number greater than 0"):
        parse_sqlite_uri("sqlite:///x?retention_hours=-1")


def test_uri_settings_reach_the_stream(settings: Settings, tmp_path: Path) -> None:
    uri = f"sqlite://{tmp_path}/s.sqlite?retention_hours=0.5"
    with SqliteStream.from_uri(uri, settings) as log:
        assert log.retention_hours == 0.5
    with pytest.raises(ConfigError, match=r"stream URI 'sqlite:///x\?retention_hours=0'"):
        parse_sqlite_uri("sqlite:///x?retention_hours=0")


def test_a_new_consumer_starts_with_nothing_expired(stream: SqliteStream) -> None:
    first = stream.consumer("raw")
    assert (first.expired_unread, first.lease_expires_at_ms, first.updated_at_ms) == (0, None, None)
    assert stream.consumer("raw") == first


def test_a_renewal_lasts_the_ttl_and_no_more(stream: SqliteStream) -> None:
    lease = stream.acquire_lease("raw", "elsewhere:1:a", 30)
    assert lease is not None
    before = now_ms()
    renewed = stream.renew_lease(lease, 120)
    assert before + 120_000 <= renewed.expires_at_ms <= now_ms() + 120_000


def test_the_lost_lease_error_says_the_deliverer_stops(stream: SqliteStream) -> None:
    lease = stream.acquire_lease("raw", "elsewhere:1:a", 30)
    assert lease is not None
    stream.release_lease(lease)
    with pytest.raises(LeaseLostError) as caught:
        stream.begin_batch(lease, 1, 1)
    assert str(caught.value) == (
        "the lease on consumer 'raw' was taken over by another process; this deliverer stops"
    )


def test_trimmed_counts_add_up_and_an_empty_stream_has_no_bounds(settings: Settings) -> None:
    with SqliteStream(settings.stream_path, retention_hours=1) as log:
        empty = log.info()
        assert (empty.oldest_seq, empty.oldest_arrived_at_ms, empty.newest_arrived_at_ms) == (
            None,
            None,
            None,
        )
        for data in (b"a", b"b"):
            log.put([("k", data)])
            assert log.trim(now_ms() + 2 * 3_600_000) == 1
        assert log.info().trimmed == 2


def _refuse_signal(signum: int, frame: object) -> None:
    raise AssertionError(f"signal {signum} was sent to a process that was only to be probed")


def test_a_holder_id_is_read_up_to_its_second_colon() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert holder_is_dead(f"{socket.gethostname()}:{child.pid}:nonce:with:colons")


def test_a_live_process_is_only_probed_never_signalled(tmp_path: Path) -> None:
    # The child restores the default action of every catchable signal, so that any signal sent
    # to it (rather than the probe, signal 0) would end it. Its name holds ") Z", which must not
    # be read as the process state.
    script = (
        "import signal, sys, time\n"
        "for s in signal.valid_signals():\n"
        "    try: signal.signal(s, signal.SIG_DFL)\n"
        "    except (OSError, ValueError): pass\n"
        "open('/proc/self/comm', 'w').write('x) Z (y')\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        assert not holder_is_dead(f"{socket.gethostname()}:{child.pid}:x")
        time.sleep(0.1)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_stream_failures_name_the_file(tmp_path: Path) -> None:
    assert isinstance(now_ms(), int)
    nested = tmp_path / "a" / "b" / "stream.sqlite"
    log = SqliteStream(nested)  # missing folders are created
    log.close()
    with pytest.raises(StreamError, match=f"cannot lock the stream {nested}"):
        log.put([("k", b"x")])
    with pytest.raises(StreamError, match=f"cannot read the stream {nested}"):
        log.read(0, 1)
    with pytest.raises(StreamError, match=f"cannot open the stream {tmp_path}"):
        SqliteStream(tmp_path)  # a folder, not a database file


def test_the_stream_file_is_in_wal_mode(settings: Settings) -> None:
    SqliteStream(settings.stream_path).close()
    with sqlite3.connect(settings.stream_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_backend_added_for_a_scheme_opens_its_uris(settings: Settings) -> None:
    """``add_stream_backend`` is how ``punkml.backends`` adds Kinesis: the opener gets the URI and
    the deployment's settings, and the scheme is offered in the unknown-scheme error."""
    opened: list[tuple[str, Settings]] = []

    def open_local(uri: str, given: Settings) -> Stream:
        opened.append((uri, given))
        return SqliteStream(given.stream_path)

    add_stream_backend("testlog", open_local)
    try:
        chosen = Settings.load(settings.home, stream="testlog://name")
        with open_stream(chosen) as log:  # type: ignore[attr-defined]
            assert log.put([("k", b"x")]) == [1]
        assert opened == [("testlog://name", chosen)]
        with pytest.raises(
            ConfigError, match=r"unknown scheme; use one of sqlite://, .*testlog://$"
        ):
            open_stream(Settings.load(settings.home, stream="ftp://x"))
    finally:
        del _STREAM_BACKENDS["testlog"]


def test_a_process_of_another_user_is_not_judged_dead() -> None:
    """Signalling a process of another user is refused (EPERM): it runs, so its lease stays."""
    init = f"{socket.gethostname()}:1:x"  # pid 1, run by root
    if os.geteuid() != 0:
        assert not holder_is_dead(init)
        return
    os.setresuid(65534, 65534, 0)  # nobody for the probe; the saved id 0 allows the way back
    try:
        assert not holder_is_dead(init)
    finally:
        os.setresuid(0, 0, 0)


def test_a_lease_expiring_at_this_millisecond_is_free(stream: SqliteStream) -> None:
    """Expiry is inclusive: a lease whose expiry is the current millisecond may be taken. A lease
    of ttl 0 expires at the millisecond it was taken; tried until a second holder asks within that
    same millisecond (a write takes well under one)."""
    same_millisecond = 0
    for attempt in range(500):
        first = stream.acquire_lease("raw", f"elsewhere:1:{attempt}", 0)
        assert first is not None
        second = stream.acquire_lease("raw", f"elsewhere:2:{attempt}", 0)
        if now_ms() == first.expires_at_ms:  # both asked within one millisecond
            same_millisecond += 1
            assert second is not None
        if same_millisecond >= 3:
            break
    assert same_millisecond >= 3


def test_one_stream_object_serves_several_threads(stream: SqliteStream) -> None:
    """The deliveries share one stream object between their threads."""
    appended: list[list[int]] = []
    threads = [
        threading.Thread(target=lambda: appended.append(stream.put([("k", b"x")])))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(appended) == [[1], [2], [3], [4]]


def test_a_failed_append_names_the_file_and_writes_nothing(settings: Settings) -> None:
    """An append that fails after the lock was taken (here a sequence counter set back by hand,
    so the next number is taken) names the stream and the cause, and leaves no record behind."""
    with SqliteStream(settings.stream_path) as log:
        assert log.put([("k", b"a")]) == [1]
        with sqlite3.connect(settings.stream_path) as db:
            db.execute("UPDATE meta SET value = 0 WHERE key = 'last_seq'")
        with pytest.raises(
            StreamError, match=f"cannot append to the stream {settings.stream_path}: UNIQUE"
        ):
            log.put([("k", b"b"), ("k", b"c")])
        assert [(r.seq, r.data) for r in log.read(0, 10)] == [(1, b"a")]


def failing(*messages: str) -> tuple[list[int], Any]:
    """An action that fails with SQLite's errors ``messages`` in turn, then succeeds; and the
    list of its calls."""
    calls: list[int] = []

    def action() -> None:
        calls.append(len(calls))
        if len(calls) <= len(messages):
            raise sqlite3.OperationalError(messages[len(calls) - 1])

    return calls, action


def test_a_set_up_is_retried_while_the_file_is_locked_or_busy() -> None:
    """Several processes creating the same stream file: SQLite may answer "locked" or "busy" at
    once; the set-up is tried again until it succeeds."""
    calls, action = failing("database is locked", "database schema is busy")
    retry_while_busy(action, 30.0)
    assert len(calls) == 3


def test_other_set_up_errors_and_a_lock_past_the_timeout_are_raised() -> None:
    calls, action = failing("no such table: x")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        retry_while_busy(action, 30.0)
    assert len(calls) == 1
    calls, action = failing(*["database is locked"] * 1000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        retry_while_busy(action, 0.5)  # tried every 50 ms for half a second
    assert 3 <= len(calls) <= 12
