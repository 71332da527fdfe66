"""The delivery loop shared by the raw and cleaned deliveries: read → buffer → write → checkpoint.

Exactly-once in the lake from at-least-once reading:

1. Only the holder of the consumer's lease delivers; every checkpoint write is fenced by it.
2. A batch's sequence range is recorded as *pending* on the stream before any file is written.
3. The sink writes the batch's files under names derived from that range, atomically.
4. The checkpoint moves to the batch's last sequence and the pending range is cleared, atomically.

A crash between 2 and 4 leaves the pending range; whoever holds the lease next replays exactly
that range first, which rewrites the same file names with the same content (records are immutable
and sinks are deterministic), so nothing is duplicated and nothing is lost.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from punkml.errors import ConfigError
from punkml.pipeline.lake import CONSUMER_DIRS, Lake
from punkml.pipeline.stream import Lease, LeaseLostError, Record, Stream, new_holder_id

log = logging.getLogger(__name__)

DEFAULT_BUFFER_BYTES = 1024 * 1024
"""The raw delivery's batch size, like the original's raw Firehose (1 MiB / 60 s)."""
DEFAULT_CLEANED_BUFFER_BYTES = 8 * 1024 * 1024
"""The cleaned delivery's batch size: Parquet wants fewer, larger files (each file costs a fixed
few milliseconds to write and to open in a query), which is why Firehose's own Parquet conversion
requires buffers of at least 64 MiB; with 8 MiB the delivery process peaks near 250 MiB."""
DEFAULT_BUFFER_SECONDS = 60.0
FAULT_ENV = "PUNKML_DELIVERY_FAULT"
"""Test hook: ``kill-after-write:N`` makes the process SIGKILL itself after writing its N-th batch
and before checkpointing it, the worst moment for a crash."""


class Sink(Protocol):
    """Writes one batch of a consumer to the lake, idempotently (same batch → same files)."""

    consumer: str

    def write(self, records: Sequence[Record]) -> int:
        """Write the batch; return the number of files written."""
        ...


@dataclass(frozen=True)
class DeliveryConfig:
    """How a deliverer buffers and how long its lease lasts."""

    buffer_bytes: int | None = None
    """Flush when the buffered payloads reach this many bytes (None: the consumer's default,
    ``DEFAULT_CLEANED_BUFFER_BYTES`` for ``cleaned``, else ``DEFAULT_BUFFER_BYTES``)."""
    buffer_seconds: float = DEFAULT_BUFFER_SECONDS
    """Flush when the oldest buffered record has waited this many seconds."""
    page_records: int = 2000
    """Most records read from the stream at once."""
    poll_seconds: float = 1.0
    """Wait between reads when the stream has nothing new."""
    lease_seconds: float = 30.0
    """Lease time to live; renewed every third of it while delivering."""
    transform_workers: int = 1
    """Processes that validate and clean a batch of the ``cleaned`` consumer (1: in process)."""
    compact_every_seconds: float | None = None
    """Fold the consumer's small lake files this often, between batches (None: never)."""

    def __post_init__(self) -> None:
        if self.buffer_bytes is not None and self.buffer_bytes < 1:
            raise ConfigError("buffer size must be at least 1 byte")
        if self.compact_every_seconds is not None and self.compact_every_seconds <= 0:
            raise ConfigError("the compaction interval must be > 0 seconds")
        if self.buffer_seconds <= 0 or self.poll_seconds <= 0 or self.lease_seconds <= 0:
            raise ConfigError("buffer interval, poll interval and lease time must be > 0 seconds")
        if self.page_records < 1:
            raise ConfigError("page size must be at least 1 record")
        if not 1 <= self.transform_workers <= 64:
            raise ConfigError("transform workers must be between 1 and 64")

    def buffer_bytes_for(self, consumer: str) -> int:
        """The batch size of ``consumer``: the configured one, else its default."""
        if self.buffer_bytes is not None:
            return self.buffer_bytes
        return DEFAULT_CLEANED_BUFFER_BYTES if consumer == "cleaned" else DEFAULT_BUFFER_BYTES


@dataclass
class DeliveryStats:
    """What one run of a deliverer did."""

    consumer: str
    records: int = 0
    batches: int = 0
    files: int = 0
    replayed_batches: int = 0
    checkpoint: int = 0
    waited_for_lease_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class Deliverer:
    """Delivers one consumer of a stream into a sink until idle or until ``stop`` is set."""

    def __init__(
        self,
        stream: Stream,
        sink: Sink,
        config: DeliveryConfig | None = None,
        *,
        stop: threading.Event | None = None,
        drain: threading.Event | None = None,
        holder: str | None = None,
        on_batch: Callable[[DeliveryStats], None] | None = None,
        compactor: Callable[[int, Callable[[], None]], None] | None = None,
    ) -> None:
        self.stream = stream
        self.sink = sink
        self.config = config or DeliveryConfig()
        self.stop = stop or threading.Event()
        self.drain = drain or threading.Event()
        self.holder = holder or new_holder_id()
        self.on_batch = on_batch
        self.compactor = compactor
        """``compactor(checkpoint, renew)`` folds the consumer's files, called every
        ``config.compact_every_seconds`` while the lease is held and nothing is buffered."""
        self._compacted_at = time.monotonic()
        self.stats = DeliveryStats(consumer=sink.consumer)
        self.buffer_bytes = self.config.buffer_bytes_for(sink.consumer)
        self._lease: Lease | None = None
        self._renewed_at = 0.0
        self._fault_after = _fault_batches()
        # Moving mean of record sizes (bytes), to size page reads; 0 until the first page.
        self._mean_record_bytes = 0.0

    def run(self, *, until_idle: bool) -> DeliveryStats:
        """Deliver; return when ``stop`` is set, or when the stream is drained if ``until_idle``
        (or once ``drain`` is set).

        Waits for the consumer's lease if another live process holds it. Whatever is buffered is
        written and checkpointed before returning.
        """
        self._lease = self._wait_for_lease()
        if self._lease is None:
            return self.stats
        try:
            self._remove_stale_temporaries()
            self._deliver(until_idle=until_idle)
        finally:
            lease, self._lease = self._lease, None
            if lease is not None:
                self.stream.release_lease(lease)
        return self.stats

    def _remove_stale_temporaries(self) -> None:
        """Delete what a killed writer of this consumer left half-written: with the lease held,
        no one else writes there."""
        lake = getattr(self.sink, "lake", None)
        if not isinstance(lake, Lake):
            return
        removed = sum(
            lake.remove_stale_temporaries(relative)
            for relative in CONSUMER_DIRS.get(self.sink.consumer, ())
        )
        if removed:
            log.info("%s: removed %d stale temporary files", self.sink.consumer, removed)

    def _wait_for_lease(self) -> Lease | None:
        started = time.monotonic()
        told = False
        while True:
            lease = self.stream.acquire_lease(
                self.sink.consumer, self.holder, self.config.lease_seconds
            )
            if lease is not None:
                self._renewed_at = time.monotonic()
                self.stats.waited_for_lease_seconds = time.monotonic() - started
                return lease
            if self.stop.is_set() or self.drain.is_set():
                return None  # stopping: the holder delivers what is on the stream
            if not told:
                holder = self.stream.consumer(self.sink.consumer).lease_holder
                log.info("%s: waiting for the lease held by %s", self.sink.consumer, holder)
                told = True
            self.stop.wait(min(self.config.poll_seconds, self.config.lease_seconds / 3))

    def _deliver(self, *, until_idle: bool) -> None:
        config = self.config
        state = self.stream.consumer(self.sink.consumer)
        position = state.checkpoint
        if state.pending_first is not None and state.pending_last is not None:
            position = self._replay(state.pending_first, state.pending_last)
        self.stats.checkpoint = position
        buffer: list[Record] = []
        buffered_bytes = 0
        oldest_at = 0.0
        while not self.stop.is_set():
            self._renew_if_due()
            room = max(1, self.buffer_bytes - buffered_bytes)
            page = self.stream.read(position, self._page_limit(room), max_bytes=room)
            if page:
                self._note_record_size(page)
                if not buffer:
                    oldest_at = time.monotonic()
                buffer.extend(page)
                buffered_bytes += sum(len(record.data) for record in page)
                position = page[-1].seq
            full = buffered_bytes >= self.buffer_bytes
            stale = bool(buffer) and time.monotonic() - oldest_at >= config.buffer_seconds
            idle = not page
            finish = until_idle or self.drain.is_set()
            if buffer and (full or stale or (idle and finish)):
                self._flush(buffer)
                buffer, buffered_bytes = [], 0
            if not buffer:
                self._compact_if_due()
            if idle:
                if finish:
                    break
                self.stop.wait(config.poll_seconds)
        if buffer:
            self._flush(buffer)

    def _page_limit(self, room_bytes: int) -> int:
        """Records to ask for so that a page about fills ``room_bytes`` (not many more: the
        records past the byte limit would be read and dropped)."""
        if self._mean_record_bytes == 0:
            return min(self.config.page_records, 100)
        estimate = room_bytes // max(1, int(self._mean_record_bytes)) + 1
        return max(1, min(self.config.page_records, estimate))

    def _note_record_size(self, page: list[Record]) -> None:
        mean = sum(len(record.data) for record in page) / len(page)
        if self._mean_record_bytes == 0:
            self._mean_record_bytes = mean
        else:
            self._mean_record_bytes = 0.8 * self._mean_record_bytes + 0.2 * mean

    def _replay(self, first: int, last: int) -> int:
        """Deliver the pending batch ``first..last`` again, exactly; return the new checkpoint."""
        assert self._lease is not None
        records: list[Record] = []
        position = first - 1
        while position < last:
            page = self.stream.read(position, self.config.page_records, until=last)
            if not page:
                break  # the rest was trimmed by retention
            records.extend(page)
            position = page[-1].seq
        log.info("%s: replaying pending batch %d..%d", self.sink.consumer, first, last)
        self.stats.files += self.sink.write(records) if records else 0
        self.stream.commit_batch(self._lease, last)
        self.stats.replayed_batches += 1
        self.stats.records += len(records)
        return last

    def _flush(self, batch: list[Record]) -> None:
        assert self._lease is not None
        first, last = batch[0].seq, batch[-1].seq
        self.stream.begin_batch(self._lease, first, last)
        self.stats.files += self.sink.write(batch)
        self._maybe_fault()
        self.stream.commit_batch(self._lease, last)
        self.stats.batches += 1
        self.stats.records += len(batch)
        self.stats.checkpoint = last
        if self.on_batch is not None:
            self.on_batch(self.stats)

    def _compact_if_due(self) -> None:
        every = self.config.compact_every_seconds
        if self.compactor is None or every is None:
            return
        if time.monotonic() - self._compacted_at >= every:
            self.compactor(self.stats.checkpoint, self._renew_if_due)
            self._compacted_at = time.monotonic()

    def _renew_if_due(self) -> None:
        assert self._lease is not None
        if time.monotonic() - self._renewed_at >= self.config.lease_seconds / 3:
            try:
                self._lease = self.stream.renew_lease(self._lease, self.config.lease_seconds)
            except LeaseLostError:
                self._lease = None
                raise
            self._renewed_at = time.monotonic()

    def _maybe_fault(self) -> None:
        if self._fault_after is not None and self.stats.batches + 1 >= self._fault_after:
            os.kill(os.getpid(), signal.SIGKILL)


def _fault_batches() -> int | None:
    spec = os.environ.get(FAULT_ENV, "")
    kind, _, count = spec.partition(":")
    if kind == "kill-after-write" and count.isdigit():
        return int(count)
    return None
