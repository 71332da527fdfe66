"""The delivery loop: buffering, flushing, crash replay, leases between processes.

The crash tests SIGKILL real ``punkml deliver`` subprocesses and then check the lake row by row
against what the stream holds: every record exactly once in raw, and exactly once in cleaned or in
the dead letters.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from punkml.config import Settings
from punkml.errors import ConfigError
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.delivery import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_CLEANED_BUFFER_BYTES,
    FAULT_ENV,
    Deliverer,
    DeliveryConfig,
    DeliveryStats,
    _fault_batches,
)
from punkml.pipeline.lake import Lake
from punkml.pipeline.lake_schema import cleaned_schemas
from punkml.pipeline.raw import RawSink
from punkml.pipeline.stream import Lease, LeaseLostError, Record, SqliteStream, now_ms
from punkml.pipeline.transform import CleanedSink, transform_batch

Records = list[tuple[str, bytes]]


class _CrashAfterWrite(RawSink):
    """A raw sink that 'crashes' after writing its first batch, before the checkpoint."""

    def write(self, records: Sequence[Record]) -> int:
        super().write(records)
        raise RuntimeError("crash between write and checkpoint")


def _raw_file_names(lake: Lake) -> list[str]:
    return [path.rsplit("/", 1)[1] for path in lake.files("raw", ".jsonl.gz")]


def test_batches_are_bounded_by_the_buffer_size(settings: Settings, stream: SqliteStream) -> None:
    stream.put([("k", b"x" * 1000) for _ in range(100)])
    lake = Lake.open(settings.lake_uri)
    stats = Deliverer(stream, RawSink(lake), DeliveryConfig(buffer_bytes=10_000)).run(
        until_idle=True
    )
    assert (stats.records, stats.batches, stats.checkpoint) == (100, 10, 100)
    assert _raw_file_names(lake)[:2] == [
        "part-00000000000000000001-00000000000000000010.jsonl.gz",
        "part-00000000000000000011-00000000000000000020.jsonl.gz",
    ]


def test_each_consumer_has_its_own_default_batch_size(
    settings: Settings, stream: SqliteStream
) -> None:
    # 3 MiB of records: one raw batch per MiB, one cleaned batch for all (8 MiB default).
    stream.put([("k", b"x" * 100_000) for _ in range(30)])
    lake = Lake.open(settings.lake_uri)
    raw = Deliverer(stream, RawSink(lake), DeliveryConfig()).run(until_idle=True)
    cleaned = Deliverer(stream, CleanedSink(lake), DeliveryConfig()).run(until_idle=True)
    assert (raw.records, raw.batches) == (30, 3)
    assert (cleaned.records, cleaned.batches) == (30, 1)
    assert DeliveryConfig(buffer_bytes=5).buffer_bytes_for("cleaned") == 5
    assert DeliveryConfig().buffer_bytes_for("raw") == DEFAULT_BUFFER_BYTES == 1024 * 1024
    assert DeliveryConfig().buffer_bytes_for("cleaned") == DEFAULT_CLEANED_BUFFER_BYTES


def test_a_partial_buffer_is_flushed_after_the_interval(
    settings: Settings, stream: SqliteStream
) -> None:
    config = DeliveryConfig(buffer_bytes=10**9, buffer_seconds=0.2, poll_seconds=0.05)
    stop = threading.Event()
    deliverer = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config, stop=stop)
    worker = threading.Thread(target=deliverer.run, kwargs={"until_idle": False})
    worker.start()
    try:
        stream.put([("k", b"{}")] * 3)
        deadline = time.monotonic() + 20
        while stream.consumer("raw").checkpoint < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.consumer("raw").checkpoint == 3
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()


def test_stopping_flushes_the_buffer_and_checkpoints(
    settings: Settings, stream: SqliteStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream.put([("k", b"{}")] * 5)
    seen = threading.Event()
    read = stream.read

    def spy(*args: Any, **kwargs: Any) -> list[Record]:
        page = read(*args, **kwargs)
        if page:
            seen.set()
        return page

    monkeypatch.setattr(stream, "read", spy)
    config = DeliveryConfig(buffer_bytes=10**9, buffer_seconds=3600, poll_seconds=0.05)
    stop = threading.Event()
    deliverer = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config, stop=stop)
    worker = threading.Thread(target=deliverer.run, kwargs={"until_idle": False})
    worker.start()
    assert seen.wait(20)
    stop.set()
    worker.join(10)
    assert deliverer.stats.batches == 1
    assert stream.consumer("raw").checkpoint == 5
    assert stream.consumer("raw").lease_holder is None  # released on the way out


def test_a_pending_batch_is_replayed_exactly_after_a_crash(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"x" * 100) for _ in range(50)])
    lake = Lake.open(settings.lake_uri)
    with pytest.raises(RuntimeError, match="crash"):
        Deliverer(stream, _CrashAfterWrite(lake), DeliveryConfig(buffer_bytes=1000)).run(
            until_idle=True
        )
    state = stream.consumer("raw")
    assert (state.checkpoint, state.pending_first, state.pending_last) == (0, 1, 10)
    # A bigger buffer after the restart must not change the crashed batch's boundaries.
    stats = Deliverer(stream, RawSink(lake), DeliveryConfig(buffer_bytes=10**6)).run(
        until_idle=True
    )
    assert (stats.replayed_batches, stats.batches, stats.records) == (1, 1, 50)
    assert _raw_file_names(lake) == [
        "part-00000000000000000001-00000000000000000010.jsonl.gz",
        "part-00000000000000000011-00000000000000000050.jsonl.gz",
    ]
    with Catalog(settings) as catalog:
        seqs = catalog.query("SELECT seq FROM raw_beers ORDER BY seq").column("seq").to_pylist()
    assert seqs == list(range(1, 51))


# -- real processes -------------------------------------------------------------------------------


def _put_mixed(stream: SqliteStream, make_records: Callable[[int], Records], count: int) -> Records:
    """``count`` beers with a bad record every 97th; returns what was put, in sequence order."""
    records = make_records(count)
    for index in range(0, count, 97):
        records[index] = (records[index][0], b"\xffjunk " + records[index][1][:50])
    for start in range(0, count, 250):
        stream.put(records[start : start + 250])
    return records


def assert_exactly_once(settings: Settings, records: Records) -> None:
    """Raw holds every record once, byte for byte; cleaned or dead letters hold each once,
    row by row equal to the transform of the stream's records."""
    with SqliteStream(settings.stream_path) as log:
        stream_records = log.read(0, len(records) + 10)
    assert [r.data for r in stream_records] == [data for _, data in records]
    expected = transform_batch(stream_records)
    with Catalog(settings) as catalog:
        raw = catalog.query("SELECT seq, payload, payload_base64 FROM raw_beers ORDER BY seq")
        assert raw.column("seq").to_pylist() == [r.seq for r in stream_records]
        for row, record in zip(raw.to_pylist(), stream_records, strict=True):
            if row["payload"] is not None:
                assert row["payload"].encode() == record.data
            else:
                assert row["payload_base64"] is not None
        for table, schema in cleaned_schemas().items():
            order = "seq, position" if "position" in schema.names else "seq"
            columns = ", ".join(schema.names)
            got = catalog.query(f"SELECT {columns} FROM {table} ORDER BY {order}").to_pylist()
            assert got == expected.tables[table].to_pylist(), table
        dead = catalog.query("SELECT seq FROM dead_letters ORDER BY seq").column("seq")
        assert dead.to_pylist() == expected.dead_letters.column("seq").to_pylist()
        beer_seqs = set(catalog.query("SELECT seq FROM beers").column("seq").to_pylist())
    assert beer_seqs.isdisjoint(dead.to_pylist())
    assert len(beer_seqs) + len(dead) == len(records)


def _processes_of(settings: Settings) -> list[int]:
    """Pids of the processes whose environment names this test's home."""
    marker = f"PUNKML_HOME={settings.home}".encode()
    pids = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                pids.append(int(environ.parent.name))
        except OSError:
            continue
    return pids


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigkill_between_write_and_checkpoint_then_restart_is_exactly_once(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Records],
    punkml: Callable[..., Any],
    workers: str,
) -> None:
    records = _put_mixed(stream, make_records, 1200)
    # Batches of ~150 records: big enough to be split over the workers.
    args = ("deliver", "--until-idle", "--buffer-bytes", "300000", "--workers", workers)
    crashed = punkml(*args, check=False, env={FAULT_ENV: "kill-after-write:3"})
    assert crashed.returncode == -signal.SIGKILL
    states = [stream.consumer(name) for name in ("raw", "cleaned")]
    assert any(state.pending_first is not None for state in states)
    # Cleaning workers left without their parent exit by themselves.
    deadline = time.monotonic() + 20
    while _processes_of(settings) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_of(settings) == []
    done = punkml(*args)
    assert "replayed" in done.stdout
    assert_exactly_once(settings, records)


@pytest.mark.slow
def test_sigkill_at_random_times_then_restart_is_exactly_once(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Records],
    punkml: Callable[..., Any],
    punkml_background: Callable[..., Any],
) -> None:
    records = _put_mixed(stream, make_records, 1500)
    rng = random.Random(20260101)
    for _ in range(4):
        process = punkml_background("deliver", "--until-idle", "--buffer-bytes", "20000")
        time.sleep(rng.uniform(0.8, 2.5))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    punkml("deliver", "--until-idle", "--buffer-bytes", "20000")
    assert_exactly_once(settings, records)


@pytest.mark.slow
def test_concurrent_deliverers_never_deliver_a_record_twice(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Records],
    punkml_background: Callable[..., Any],
) -> None:
    records = _put_mixed(stream, make_records, 1200)
    args = ("deliver", "--until-idle", "--buffer-bytes", "20000")
    processes = [punkml_background(*args) for _ in range(3)]
    assert [p.wait(120) for p in processes] == [0, 0, 0]
    assert_exactly_once(settings, records)
    outputs = "".join(p.log_path.read_text() for p in processes)
    delivered = [int(line.split()[2]) for line in outputs.splitlines() if "delivered" in line]
    assert sum(delivered) == 2 * len(records)  # raw + cleaned, each record once in total


@pytest.mark.slow
def test_a_waiting_deliverer_takes_over_when_the_holder_dies(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Records],
    punkml_background: Callable[..., Any],
) -> None:
    records = _put_mixed(stream, make_records, 300)
    holder = punkml_background("deliver", "--consumer", "raw", "--buffer-seconds", "3600")
    deadline = time.monotonic() + 30
    while stream.consumer("raw").lease_holder is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.consumer("raw").lease_holder is not None
    waiter = punkml_background("deliver", "--consumer", "raw", "--until-idle")
    time.sleep(1.5)
    assert waiter.poll() is None  # still waiting for the lease
    holder.send_signal(signal.SIGKILL)
    holder.wait(30)
    assert waiter.wait(60) == 0
    with Catalog(settings) as catalog:
        seqs = catalog.query("SELECT seq FROM raw_beers ORDER BY seq").column("seq").to_pylist()
    assert seqs == list(range(1, len(records) + 1))


# -- edges of the loop (found by mutation testing: `make mutate`) ---------------------------------

_INTERVALS = "buffer interval, poll interval and lease time must be > 0 seconds"


@pytest.mark.parametrize(
    ("settings_", "message"),
    [
        ({"buffer_bytes": 0}, "buffer size must be at least 1 byte"),
        ({"buffer_seconds": 0}, _INTERVALS),
        ({"poll_seconds": 0}, _INTERVALS),
        ({"lease_seconds": 0}, _INTERVALS),
        ({"page_records": 0}, "page size must be at least 1 record"),
        ({"transform_workers": 0}, "transform workers must be between 1 and 64"),
        ({"transform_workers": 65}, "transform workers must be between 1 and 64"),
        ({"compact_every_seconds": 0}, "the compaction interval must be > 0 seconds"),
    ],
)
def test_meaningless_delivery_settings_are_refused(settings_: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        DeliveryConfig(**settings_)
    assert str(refused.value) == message  # the whole line the user reads, nothing around it


def test_the_smallest_and_largest_delivery_settings_are_accepted() -> None:
    small = DeliveryConfig(
        buffer_bytes=1,
        buffer_seconds=0.001,
        poll_seconds=0.001,
        lease_seconds=0.001,
        page_records=1,
        transform_workers=1,
    )
    assert (
        small.buffer_bytes_for("raw"),
        DeliveryConfig(transform_workers=64).transform_workers,
    ) == (
        1,
        64,
    )


@pytest.mark.parametrize(
    ("spec", "batches"),
    [("kill-after-write:3", 3), ("kill-after-write:x", None), ("other:3", None), ("", None)],
)
def test_the_fault_hook_reads_only_its_own_form(
    monkeypatch: pytest.MonkeyPatch, spec: str, batches: int | None
) -> None:
    monkeypatch.setenv(FAULT_ENV, spec)
    assert _fault_batches() == batches


def test_pages_are_sized_from_the_mean_record_size(
    settings: Settings, stream: SqliteStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream.put([("k", b"x" * 100)] * 30 + [("k", b"x" * 600)] * 5)
    limits = _spy_on_page_limits(stream, monkeypatch)
    config = DeliveryConfig(buffer_bytes=1000, page_records=50)
    stats = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config).run(until_idle=True)
    assert stats.records == 35
    # First page: at most 100 records; then room // mean size + 1 (mean 100 bytes: 11 records).
    # After the first 600-byte record the moving mean (0.8 old + 0.2 new) is 200 bytes: room for
    # 400 bytes asks for 3, and so on.
    assert limits == [50, 11, 11, 11, 3, 4, 2, 3, 1]


def test_each_batch_is_reported_with_the_running_totals(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"x" * 100)] * 25)
    seen: list[tuple[int, int, int]] = []
    config = DeliveryConfig(buffer_bytes=1000)
    deliverer = Deliverer(
        stream,
        RawSink(Lake.open(settings.lake_uri)),
        config,
        on_batch=lambda stats: seen.append((stats.batches, stats.records, stats.checkpoint)),
    )
    stats = deliverer.run(until_idle=True)
    assert seen == [(1, 10, 10), (2, 20, 20), (3, 25, 25)]
    assert (stats.files, stats.waited_for_lease_seconds < 5) == (3, True)


def test_a_stopped_waiter_returns_without_delivering(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"{}")])
    held = stream.acquire_lease("raw", "elsewhere:1:a", 60)
    assert held is not None
    stop = threading.Event()
    stop.set()
    stats = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), stop=stop).run(until_idle=True)
    assert (stats.records, stats.batches, stats.checkpoint) == (0, 0, 0)
    assert stream.consumer("raw").lease_holder == "elsewhere:1:a"


def test_a_replayed_batch_trimmed_meanwhile_is_checkpointed_with_what_remains(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"x" * 100) for _ in range(5)])
    lease = stream.acquire_lease("raw", "elsewhere:1:a", 0.001)
    assert lease is not None
    stream.begin_batch(lease, 1, 5)
    stream.trim(now_ms() + 48 * 3_600_000)  # retention removed the whole pending batch
    time.sleep(0.01)
    lake = Lake.open(settings.lake_uri)
    stats = Deliverer(stream, RawSink(lake)).run(until_idle=True)
    assert (stats.replayed_batches, stats.records, stats.files) == (1, 0, 0)
    assert stream.consumer("raw").checkpoint == 5
    assert _raw_file_names(lake) == []


class _SlowRawSink(RawSink):
    """A raw sink whose every write takes ``seconds`` (a slow disk or object store)."""

    def __init__(self, lake: Lake, seconds: float) -> None:
        super().__init__(lake)
        self.seconds = seconds

    def write(self, records: Sequence[Record]) -> int:
        time.sleep(self.seconds)
        return super().write(records)


def test_a_slow_delivery_keeps_its_short_lease_by_renewing_it(
    settings: Settings, stream: SqliteStream, make_records: Callable[[int], Records]
) -> None:
    records = make_records(40)
    stream.put(records)
    # Batches of about four records, 0.25 s each: the delivery lasts several lease times.
    largest = max(len(data) for _, data in records)
    config = DeliveryConfig(buffer_bytes=4 * largest, poll_seconds=0.01, lease_seconds=0.6)
    deliverer = Deliverer(stream, _SlowRawSink(Lake.open(settings.lake_uri), 0.25), config)
    taken: list[str] = []
    done = threading.Event()

    def rival() -> None:  # another process's deliverer, asking for the lease all along
        with SqliteStream(settings.stream_path) as other:
            while not done.is_set():
                if other.acquire_lease("raw", "rival:1:x", 30) is not None:
                    taken.append("rival")
                    return
                time.sleep(0.02)

    started = time.monotonic()
    thread = threading.Thread(target=deliverer.run, kwargs={"until_idle": True})
    thread.start()
    while stream.consumer("raw").lease_holder is None and thread.is_alive():
        time.sleep(0.01)
    competitor = threading.Thread(target=rival)
    competitor.start()
    thread.join(30)
    done.set()
    competitor.join(5)
    assert time.monotonic() - started > 2 * config.lease_seconds
    assert taken == []  # never expired: renewed every third of its time
    assert deliverer.stats.batches >= 5 and deliverer.stats.checkpoint == 40
    assert stream.consumer("raw").checkpoint == 40


def test_a_delivery_removes_the_temporary_files_a_killed_writer_left(
    settings: Settings, stream: SqliteStream, make_records: Callable[[int], Records]
) -> None:
    lake = Lake.open(settings.lake_uri)
    stale = [
        settings.lake_dir / "raw/2026/01/01/00/.part-1-2.jsonl.gz.0123abcd.tmp",
        settings.lake_dir / "cleaned/beers/ingest_date=2026-01-01/.part-1-2.parquet.4567ef.tmp",
        settings.lake_dir / "dead_letters/ingest_date=2026-01-01/.part-3-4.parquet.89ab.tmp",
    ]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    kept = settings.lake_dir / "raw/2026/01/01/00/.notes.txt"  # not ours: left alone
    kept.write_text("mine")
    stream.put(make_records(3))

    Deliverer(stream, RawSink(lake)).run(until_idle=True)
    assert [p.exists() for p in stale] == [False, True, True]  # raw cleans only its own
    Deliverer(stream, CleanedSink(lake)).run(until_idle=True)
    assert [p.exists() for p in stale] == [False, False, False]
    assert kept.exists()


def test_a_long_running_delivery_compacts_at_its_interval(
    settings: Settings, stream: SqliteStream, make_records: Callable[[int], Records]
) -> None:
    stream.put(make_records(5))
    calls: list[int] = []
    stop = threading.Event()

    def compactor(checkpoint: int, renew: Callable[[], None]) -> None:
        renew()  # compaction renews the lease as it goes
        calls.append(checkpoint)
        if len(calls) == 3:
            stop.set()

    config = DeliveryConfig(poll_seconds=0.01, buffer_seconds=0.02, compact_every_seconds=0.05)
    deliverer = Deliverer(
        stream, RawSink(Lake.open(settings.lake_uri)), config, stop=stop, compactor=compactor
    )
    thread = threading.Thread(target=deliverer.run, kwargs={"until_idle": False})
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert calls == [5, 5, 5]  # between batches, with the checkpoint of what was delivered


def test_no_compaction_before_its_interval_has_passed(
    settings: Settings, stream: SqliteStream
) -> None:
    # The interval counts from the deliverer's start: an hour-long interval never comes due in a
    # delivery of a few batches, however long the machine has been up.
    stream.put([("k", b"{}")] * 6)
    calls: list[int] = []
    config = DeliveryConfig(poll_seconds=0.01, buffer_bytes=2, compact_every_seconds=3600)
    deliverer = Deliverer(
        stream,
        RawSink(Lake.open(settings.lake_uri)),
        config,
        compactor=lambda checkpoint, _: calls.append(checkpoint),
    )
    assert deliverer.run(until_idle=True).batches == 6  # one 2-byte record per batch
    assert calls == []


def test_a_batch_planned_but_never_written_is_written_by_the_replay(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"x" * 100) for _ in range(5)])
    lease = stream.acquire_lease("raw", "elsewhere:1:a", 0.001)
    assert lease is not None
    stream.commit_batch(lease, 1)
    stream.begin_batch(lease, 2, 3)  # the process died before writing anything
    time.sleep(0.01)
    lake = Lake.open(settings.lake_uri)
    stats = Deliverer(stream, RawSink(lake)).run(until_idle=True)
    assert (stats.replayed_batches, stats.batches, stats.records, stats.files) == (1, 1, 4, 2)
    assert _raw_file_names(lake) == [
        "part-00000000000000000002-00000000000000000003.jsonl.gz",
        "part-00000000000000000004-00000000000000000005.jsonl.gz",
    ]


def test_the_fault_hook_kills_the_process_after_its_nth_write_before_the_checkpoint(
    settings: Settings, stream: SqliteStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In a forked child (the same code, not a new interpreter), so the hook's own logic is tested
    # in a second; the subprocess crash tests above check the restart.
    stream.put([("k", b"x" * 100)] * 30)
    monkeypatch.setenv(FAULT_ENV, "kill-after-write:2")
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child ends by SIGKILL or by _exit, never returns)
        try:
            with SqliteStream(settings.stream_path) as own:
                config = DeliveryConfig(buffer_bytes=1000)
                Deliverer(own, RawSink(Lake.open(settings.lake_uri)), config).run(until_idle=True)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    state = stream.consumer("raw")
    # Two batches written, the first checkpointed, the second still pending for the replay.
    assert (state.checkpoint, state.pending_first, state.pending_last) == (10, 11, 20)
    lake = Lake.open(settings.lake_uri)
    assert len(_raw_file_names(lake)) == 2
    monkeypatch.delenv(FAULT_ENV)  # the restart: replays 11..20, then delivers the rest
    stats = Deliverer(stream, RawSink(lake), DeliveryConfig(buffer_bytes=1000)).run(until_idle=True)
    assert (stats.replayed_batches, stats.batches, stats.checkpoint) == (1, 1, 30)
    assert len(_raw_file_names(lake)) == 3


def _spy_on_page_limits(stream: SqliteStream, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    limits: list[int] = []
    read = stream.read

    def spy(after: int, limit: int, **kwargs: Any) -> list[Record]:
        limits.append(limit)
        return read(after, limit, **kwargs)

    monkeypatch.setattr(stream, "read", spy)
    return limits


def test_a_one_byte_buffer_delivers_one_record_per_batch(
    settings: Settings, stream: SqliteStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream.put([("k", b"1")] * 3)
    limits = _spy_on_page_limits(stream, monkeypatch)
    config = DeliveryConfig(buffer_bytes=1)
    stats = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config).run(until_idle=True)
    assert (stats.records, stats.batches) == (3, 3)
    # The first page asks for 100 records; then room (1 byte) // mean size (1 byte) + 1.
    assert limits == [100, 2, 2, 2]


def test_one_record_pages_ask_for_one_record(
    settings: Settings, stream: SqliteStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream.put([("k", b"1")] * 3)
    limits = _spy_on_page_limits(stream, monkeypatch)
    config = DeliveryConfig(page_records=1)
    stats = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config).run(until_idle=True)
    assert (stats.records, stats.batches, set(limits)) == (3, 1, {1})


def test_a_delivery_shorter_than_a_third_of_its_lease_never_renews_it(
    settings: Settings, stream: SqliteStream, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream.put([("k", b"x" * 100)] * 50)
    renewals: list[float] = []
    renew = stream.renew_lease

    def spy(lease: Lease, ttl_seconds: float) -> Lease:
        renewals.append(ttl_seconds)
        return renew(lease, ttl_seconds)

    monkeypatch.setattr(stream, "renew_lease", spy)
    config = DeliveryConfig(buffer_bytes=1000, lease_seconds=3600)
    stats = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config).run(until_idle=True)
    assert (stats.batches, renewals) == (5, [])


def test_a_lease_lost_between_batches_stops_the_delivery(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"x" * 100)] * 30)

    def stall_until_a_rival_takes_over(stats: DeliveryStats) -> None:
        time.sleep(0.3)  # past the lease's 0.2 s: it expires, and another process takes it
        with SqliteStream(settings.stream_path) as other:
            assert other.acquire_lease("raw", "rival:1:x", 60) is not None

    config = DeliveryConfig(buffer_bytes=1000, lease_seconds=0.2, poll_seconds=0.01)
    deliverer = Deliverer(
        stream,
        RawSink(Lake.open(settings.lake_uri)),
        config,
        on_batch=stall_until_a_rival_takes_over,
    )
    with pytest.raises(LeaseLostError):
        deliverer.run(until_idle=True)
    state = stream.consumer("raw")
    assert (deliverer.stats.batches, state.checkpoint, state.lease_holder) == (1, 10, "rival:1:x")


def test_compaction_needs_both_an_interval_and_a_compactor(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"{}")] * 3)
    lake = Lake.open(settings.lake_uri)
    timed = DeliveryConfig(poll_seconds=0.01, compact_every_seconds=0.001)
    assert Deliverer(stream, RawSink(lake), timed).run(until_idle=True).records == 3
    stream.put([("k", b"{}")] * 3)
    calls: list[int] = []
    untimed = DeliveryConfig(poll_seconds=0.01)
    deliverer = Deliverer(
        stream, RawSink(lake), untimed, compactor=lambda checkpoint, _: calls.append(checkpoint)
    )
    assert deliverer.run(until_idle=True).records == 3
    assert calls == []


def test_a_waiting_deliverer_delivers_once_the_holder_lets_go(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"{}")] * 5)
    held = stream.acquire_lease("raw", "elsewhere:1:a", 60)
    assert held is not None
    config = DeliveryConfig(poll_seconds=5, lease_seconds=0.3)
    stop = _RecordedWaits()
    deliverer = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config, stop=stop)
    thread = threading.Thread(target=deliverer.run, kwargs={"until_idle": True})
    thread.start()
    time.sleep(0.3)
    assert stream.consumer("raw").checkpoint == 0  # still waiting
    stream.release_lease(held)
    thread.join(5)
    assert not thread.is_alive()
    stats = deliverer.stats
    assert (stats.records, stats.checkpoint) == (5, 5)
    assert 0.3 <= stats.waited_for_lease_seconds < 5
    assert stream.consumer("raw").lease_holder is None
    # It asked again every third of its own lease time (shorter than the poll interval here).
    assert stop.waits and stop.waits == [pytest.approx(0.1)] * len(stop.waits)


class _RecordedWaits(threading.Event):
    """A stop event that records how long each wait on it was meant to last."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return super().wait(timeout)


def test_pages_are_buffered_until_the_batch_is_full_or_the_stream_idle(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"{}")] * 150)  # two pages (the first page holds at most 100 records)
    config = DeliveryConfig(buffer_bytes=10**6)
    stats = Deliverer(stream, RawSink(Lake.open(settings.lake_uri)), config).run(until_idle=True)
    assert (stats.records, stats.batches, stats.checkpoint) == (150, 1, 150)


def test_a_run_with_nothing_new_reports_the_checkpoint_it_found(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"{}")] * 3)
    lake = Lake.open(settings.lake_uri)
    Deliverer(stream, RawSink(lake)).run(until_idle=True)
    stats = Deliverer(stream, RawSink(lake)).run(until_idle=True)
    assert (stats.records, stats.batches, stats.checkpoint) == (0, 0, 3)


class _AuditSink(RawSink):
    """A sink of a consumer the lake keeps no folders for (any consumer name may deliver)."""

    consumer = "audit"


def test_a_consumer_without_lake_folders_delivers_without_cleaning_any(
    settings: Settings, stream: SqliteStream
) -> None:
    stream.put([("k", b"{}")] * 2)
    stats = Deliverer(stream, _AuditSink(Lake.open(settings.lake_uri))).run(until_idle=True)
    assert (stats.consumer, stats.records) == ("audit", 2)
