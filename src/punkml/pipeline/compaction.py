"""Compaction: fold the many small files of each lake partition into a few larger ones.

A delivery writes one file per batch and partition (``part-<first seq>-<last seq>``); at the
default schedule that is one raw file and up to four Parquet files per beer. Compaction reads a run
of consecutive small files of one partition directory and writes their rows, in stream order, as
one file named for the run's whole range. Safe at any moment, against SIGKILL and against
concurrent deliveries:

1. It works only while holding the consumer's lease (the same one the deliveries hold), so no
   delivery writes the same directories meanwhile; a long compaction renews it.
2. It folds only checkpointed batches: a pending batch's files may still be replayed.
3. The folded file is written atomically (temporary name, then rename). From that instant every
   reader ignores the inputs, because the folded file's range covers theirs (``lake.uncovered``).
4. Then the catalog file is refreshed and the inputs are deleted. A crash before the rename
   leaves a temporary file (removed by the next delivery); a crash after it leaves covered inputs,
   ignored by readers and deleted by the next compaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from punkml.errors import LakeError, StreamError
from punkml.pipeline.lake import CONSUMER_DIRS, RAW_DIR, Lake, batch_file_name, batch_range
from punkml.pipeline.lake_schema import PARQUET_SUFFIX, RAW_SUFFIX
from punkml.pipeline.raw import gzip_bytes
from punkml.pipeline.stream import Lease, Stream, new_holder_id

log = logging.getLogger(__name__)

SMALL_FILE_BYTES = 16 * 1024 * 1024
"""Files below this size are folded with their neighbours."""
TARGET_FILE_BYTES = 64 * 1024 * 1024
"""A folded file stops growing once its inputs reach this size."""
DEFAULT_COMPACT_EVERY_SECONDS = 3600.0
"""How often ``ingest run`` compacts on its own (each delivery, between batches)."""
DEFAULT_LEASE_WAIT_SECONDS = 60.0
FAULT_ENV = "PUNKML_COMPACTION_FAULT"
"""Test hook: ``kill-after-fold:N`` or ``kill-after-delete:N`` makes the process SIGKILL itself
after writing its N-th folded file (before deleting the inputs), or after deleting the first
input of its N-th fold."""


@dataclass
class CompactionStats:
    """What compacting one consumer's directories did."""

    consumer: str
    folds: int = 0
    files_folded: int = 0
    covered_removed: int = 0
    temporaries_removed: int = 0


def compact_consumer(
    lake: Lake,
    consumer: str,
    *,
    checkpoint: int,
    renew: Callable[[], None] = lambda: None,
    on_folded: Callable[[], None] = lambda: None,
) -> CompactionStats:
    """Fold the small files ``consumer`` delivered up to ``checkpoint``; the caller holds the
    consumer's lease. ``renew`` is called between folds; ``on_folded`` after each folded file is
    in place and before its inputs are deleted (to refresh the catalog file)."""
    stats = CompactionStats(consumer=consumer)
    fault = _Fault.of_process()
    for relative in CONSUMER_DIRS[consumer]:
        stats.temporaries_removed += lake.remove_stale_temporaries(relative)
        suffix = RAW_SUFFIX if relative == RAW_DIR else PARQUET_SUFFIX
        stats.covered_removed += _remove_covered(lake, relative, suffix, on_folded)
        for run in _runs(lake, lake.files(relative, suffix), checkpoint):
            renew()
            _fold(lake, run, suffix)
            fault.after("fold")
            on_folded()
            for index, path in enumerate(run):
                lake.delete(path)
                if index == 0:
                    fault.after("delete")
            fault.folds += 1
            stats.folds += 1
            stats.files_folded += len(run)
    return stats


def compact(
    stream: Stream,
    lake: Lake,
    consumers: Sequence[str],
    *,
    lease_seconds: float = 30.0,
    wait_seconds: float = DEFAULT_LEASE_WAIT_SECONDS,
    on_folded: Callable[[], None] = lambda: None,
) -> list[CompactionStats]:
    """Compact each consumer under its lease (waiting up to ``wait_seconds`` for a delivery that
    holds it); ``StreamError`` if a live delivery keeps it longer."""
    out = []
    for consumer in consumers:
        lease = _acquire(stream, consumer, lease_seconds, wait_seconds)
        holder = _LeaseKeeper(stream, lease, lease_seconds)
        try:
            state = stream.consumer(consumer)
            checkpoint = state.checkpoint
            if state.pending_first is not None:
                checkpoint = min(checkpoint, state.pending_first - 1)
            out.append(
                compact_consumer(
                    lake, consumer, checkpoint=checkpoint, renew=holder.renew, on_folded=on_folded
                )
            )
        finally:
            stream.release_lease(holder.lease)
    return out


class _LeaseKeeper:
    """Renews a lease when a third of its time has passed."""

    def __init__(self, stream: Stream, lease: Lease, lease_seconds: float) -> None:
        self.stream, self.lease, self.lease_seconds = stream, lease, lease_seconds
        self.renewed_at = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self.renewed_at >= self.lease_seconds / 3:
            self.lease = self.stream.renew_lease(self.lease, self.lease_seconds)
            self.renewed_at = time.monotonic()


def _acquire(stream: Stream, consumer: str, lease_seconds: float, wait_seconds: float) -> Lease:
    deadline = time.monotonic() + wait_seconds
    holder = new_holder_id()
    pause = threading.Event()
    while True:
        lease = stream.acquire_lease(consumer, holder, lease_seconds)
        if lease is not None:
            return lease
        if time.monotonic() >= deadline:
            current = stream.consumer(consumer).lease_holder
            raise StreamError(
                f"cannot compact {consumer}: its delivery lease is held by {current} (a running "
                "delivery; `punkml ingest run` compacts on its own); try again when it stops"
            )
        pause.wait(min(0.5, lease_seconds / 3))


def _runs(lake: Lake, files: list[str], checkpoint: int) -> list[list[str]]:
    """Runs of two or more consecutive small, checkpointed files of one directory."""
    runs: list[list[str]] = []
    by_dir: dict[str, list[tuple[int, str]]] = {}
    for path in files:
        span = batch_range(path)
        if span is not None:
            by_dir.setdefault(path.rsplit("/", 1)[0], []).append((span[0], path))
    for entries in by_dir.values():
        run: list[str] = []
        run_bytes = 0
        for _, path in sorted(entries):
            span = batch_range(path)
            size = lake.size(path)
            foldable = span is not None and span[1] <= checkpoint and size < SMALL_FILE_BYTES
            if not foldable or run_bytes + size > TARGET_FILE_BYTES:
                if len(run) > 1:
                    runs.append(run)
                run, run_bytes = [], 0
            if foldable:
                run.append(path)
                run_bytes += size
        if len(run) > 1:
            runs.append(run)
    return runs


def _fold(lake: Lake, run: list[str], suffix: str) -> None:
    """Write the rows of ``run`` (full paths, in stream order) as one file over their range."""
    first = batch_range(run[0])
    last = batch_range(run[-1])
    assert first is not None and last is not None
    directory = run[0].rsplit("/", 1)[0]
    relative = lake.relative(f"{directory}/{batch_file_name(first[0], last[1], suffix)}")
    if suffix == RAW_SUFFIX:
        lake.write_bytes(relative, gzip_bytes(b"".join(_gunzip(lake, path) for path in run)))
    else:
        lake.write_parquet(relative, _concat_parquet(lake, run))


def _gunzip(lake: Lake, path: str) -> bytes:
    import gzip

    try:
        return gzip.decompress(lake.read_bytes(path))
    except (OSError, EOFError) as exc:
        raise LakeError(f"cannot compact {path}: it is not a whole gzip file ({exc})") from exc


def _concat_parquet(lake: Lake, run: list[str]) -> object:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tables = [pq.read_table(path, filesystem=lake.fs, partitioning=None) for path in run]
        return pa.concat_tables(tables, promote_options="permissive")
    except (OSError, pa.ArrowInvalid) as exc:
        raise LakeError(f"cannot compact {run[0].rsplit('/', 1)[0]}: {exc}") from exc


def _remove_covered(lake: Lake, relative: str, suffix: str, on_folded: Callable[[], None]) -> int:
    """Delete the inputs a folded file already covers (left by a compaction that was killed)."""
    from punkml.pipeline.lake import uncovered

    covered = uncovered(lake.all_files(relative, suffix))[1]
    if covered:
        on_folded()  # the catalog file may still name them
    for path in covered:
        lake.delete(path)
    return len(covered)


@dataclass
class _Fault:
    kind: str = ""
    at: int = 0
    folds: int = 0

    @classmethod
    def of_process(cls) -> _Fault:
        """The process's fault plan (one count of folds across consumers)."""
        global _FAULT
        if _FAULT is None:
            import os

            kind, _, count = os.environ.get(FAULT_ENV, "").partition(":")
            _FAULT = cls(kind=kind, at=int(count)) if count.isdigit() else cls()
        return _FAULT

    def after(self, step: str) -> None:
        if self.kind == f"kill-after-{step}" and self.folds + 1 == self.at:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)


_FAULT: _Fault | None = None
