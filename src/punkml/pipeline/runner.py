"""Running the stages together: deliveries in threads, the scheduled ingestion service, and the
one-shot collections (``backfill``, ``ingest_once``) used by the CLI and ``punkml run``.

Each delivery thread opens its own stream connection; they share a ``stop`` event (flush the
buffer, checkpoint, return) and a ``drain`` event (deliver what is on the stream first).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from punkml.config import Settings
from punkml.errors import ConfigError, DeliveryError, PunkmlError, SourceError
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.collector import (
    BeerSource,
    InvalidBeerHandler,
    collect_all,
    collect_random,
    log_invalid,
    record_outcome,
)
from punkml.pipeline.delivery import Deliverer, DeliveryConfig, DeliveryStats, Sink
from punkml.pipeline.lake import Lake
from punkml.pipeline.raw import RawSink
from punkml.pipeline.schedule import Schedule
from punkml.pipeline.stream import Stream, open_stream

log = logging.getLogger(__name__)

CONSUMERS = ("raw", "cleaned")
# How stale <home>/catalog.duckdb may get while long-running deliveries change the lake.
CATALOG_REFRESH_SECONDS = 5.0


def consumer_names(choice: str) -> tuple[str, ...]:
    """``raw``, ``cleaned`` or ``all`` → the consumers to deliver."""
    if choice == "all":
        return CONSUMERS
    if choice not in CONSUMERS:
        raise ConfigError(f"--consumer {choice!r} is unknown; use raw, cleaned or all")
    return (choice,)


def make_sink(consumer: str, lake: Lake, config: DeliveryConfig | None = None) -> Sink:
    """The sink that writes ``consumer``'s batches into ``lake``."""
    if consumer == "cleaned":
        # Here, not at the top: the cleaning's imports (pydantic, msgspec, the gate built from
        # the schema) are a quarter of a CPU-second that a raw-only delivery never needs.
        from punkml.pipeline.transform import CleanedSink

        return CleanedSink(lake, workers=(config or DeliveryConfig()).transform_workers)
    if consumer == "raw":
        return RawSink(lake)
    raise ConfigError(f"consumer {consumer!r} is unknown; use raw or cleaned")


@dataclass
class DeliveryThreads:
    """Deliveries running in background threads until idle or stopped."""

    threads: list[threading.Thread] = field(default_factory=list)
    stats: list[DeliveryStats] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def join(self) -> list[DeliveryStats]:
        """Wait for every delivery; re-raise the first error one of them hit."""
        for thread in self.threads:
            while thread.is_alive():  # a timed join keeps the main thread responsive to signals
                thread.join(0.2)
        if self.errors:
            raise self.errors[0]
        return self.stats

    def any_failed(self) -> bool:
        return bool(self.errors)


def start_deliveries(
    settings: Settings,
    consumers: Sequence[str],
    *,
    config: DeliveryConfig,
    until_idle: bool,
    stop: threading.Event,
    drain: threading.Event | None = None,
    on_batch: Callable[[DeliveryStats], None] | None = None,
) -> DeliveryThreads:
    """Start one thread per consumer, each with its own stream connection.

    ``stop`` makes them flush their buffers and return at once; ``drain`` makes them deliver
    everything on the stream first.
    """
    lake = Lake.open(settings.lake_uri)
    running = DeliveryThreads()
    # Until-idle runs refresh the catalog file once, when they end (deliver_until_idle).
    refresher = None if until_idle else CatalogRefresher(settings)

    def deliver(consumer: str) -> None:
        stream: Stream | None = None
        sink: Sink | None = None
        try:
            stream = open_stream(settings)
            sink = make_sink(consumer, lake, config)
            deliverer = Deliverer(
                stream,
                sink,
                config,
                stop=stop,
                drain=drain,
                on_batch=_after_batch(refresher, then=on_batch),
                compactor=_compactor(settings, lake, consumer),
            )
            running.stats.append(deliverer.run(until_idle=until_idle))
        except BaseException as exc:
            # Raised by ``join`` as one line; the traceback only for --debug (and the logs).
            log.debug("delivery of %s stopped", consumer, exc_info=True)
            running.errors.append(delivery_error(consumer, exc))
            stop.set()
        finally:
            close = getattr(sink, "close", None)
            if callable(close):
                close()
            if stream is not None:
                stream.close()
            if refresher is not None:
                refresher.flush()

    for consumer in consumers:
        thread = threading.Thread(target=deliver, args=(consumer,), name=f"deliver-{consumer}")
        thread.start()
        running.threads.append(thread)
    return running


def _after_batch(
    refresher: CatalogRefresher | None,
    *,
    then: Callable[[DeliveryStats], None] | None,
) -> Callable[[DeliveryStats], None]:
    """After each batch: refresh the catalog file (long-running deliveries), then ``then``."""

    def after(stats: DeliveryStats) -> None:
        if refresher is not None:
            refresher.changed()
        if then is not None:
            then(stats)

    return after


class CatalogRefresher:
    """Keeps ``<home>/catalog.duckdb`` in step with a lake that long-running deliveries change.

    Rewriting the file lists every lake file, so doing it after each batch made a delivery's cost
    grow with the lake (it took most of the raw delivery's CPU in the pipeline benchmark). It is
    rewritten at most once per ``interval_seconds``: a change inside the interval is covered by a
    refresh at its end, so the file is never staler than the interval, and ``flush`` brings it up
    to date at once (when a delivery stops).
    """

    def __init__(self, settings: Settings, interval_seconds: float = CATALOG_REFRESH_SECONDS):
        self.settings = settings
        self.interval_seconds = interval_seconds
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._refreshed_at: float | None = None

    def changed(self) -> None:
        """The lake changed: refresh now, or at the end of the interval if one ran recently."""
        with self._lock:
            if self._timer is not None:
                return  # a refresh is already due; it will see this change too
            now = time.monotonic()
            wait = (
                0.0
                if self._refreshed_at is None
                else self._refreshed_at + self.interval_seconds - now
            )
            if wait <= 0:
                self._refresh_locked()
                return
            self._timer = threading.Timer(wait, self._due)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Refresh now if a change is still waiting for its refresh."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
                self._refresh_locked()

    def _due(self) -> None:
        with self._lock:
            if self._timer is None:
                return  # flushed meanwhile
            self._timer = None
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        persist_catalog(self.settings)
        self._refreshed_at = time.monotonic()


@contextlib.contextmanager
def delivery_progress(
    settings: Settings,
    consumers: Sequence[str] = CONSUMERS,
) -> Iterator[Callable[[DeliveryStats], None]]:
    """A progress bar over the records the deliveries have to deliver; yields their
    ``on_batch``."""
    from punkml.progress import progress

    stream = open_stream(settings)
    try:
        info = stream.info()
        lags = {name: info.lag(stream.consumer(name).checkpoint) for name in consumers}
    finally:
        stream.close()
    seen: dict[str, int] = {}
    with progress("deliver", total=sum(lags.values()) or None, unit="records") as step:

        def on_batch(stats: DeliveryStats) -> None:
            step.advance(stats.records - seen.get(stats.consumer, 0))
            seen[stats.consumer] = stats.records

        yield on_batch


def _compactor(
    settings: Settings, lake: Lake, consumer: str
) -> Callable[[int, Callable[[], None]], None]:
    """What a delivery calls to fold its consumer's files while it holds the lease."""
    from punkml.pipeline.compaction import compact_consumer

    def fold(checkpoint: int, renew: Callable[[], None]) -> None:
        stats = compact_consumer(
            lake,
            consumer,
            checkpoint=checkpoint,
            renew=renew,
            on_folded=lambda: refresh_catalog(settings),
        )
        if stats.folds:
            log.info("%s: folded %d files into %d", consumer, stats.files_folded, stats.folds)
            persist_catalog(settings)

    return fold


def delivery_error(consumer: str, exc: BaseException) -> BaseException:
    """A delivery's failure as a ``PunkmlError`` naming the consumer and the cause (I/O errors,
    a full disk, a damaged stream); interrupts and errors of ours pass unchanged."""
    if isinstance(exc, PunkmlError | KeyboardInterrupt | SystemExit):
        return exc
    cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    error = DeliveryError(f"delivery of {consumer} failed: {cause}")
    error.__cause__ = exc
    return error


def deliver_until_idle(
    settings: Settings,
    consumers: Sequence[str] = CONSUMERS,
    *,
    config: DeliveryConfig | None = None,
    on_batch: Callable[[DeliveryStats], None] | None = None,
) -> list[DeliveryStats]:
    """Deliver everything on the stream for ``consumers`` (concurrently) and return their stats;
    ``on_batch(stats)`` follows the progress (from the delivery threads)."""
    running = start_deliveries(
        settings,
        consumers,
        config=config or DeliveryConfig(),
        until_idle=True,
        stop=threading.Event(),
        on_batch=on_batch,
    )
    stats = running.join()
    persist_catalog(settings)
    return stats


def persist_catalog(settings: Settings) -> None:
    """Refresh ``<home>/catalog.duckdb`` (local lakes); a failure is logged, not raised."""

    try:
        refresh_catalog(settings)
    except PunkmlError as exc:
        log.warning("the DuckDB catalog file was not refreshed: %s", exc)


def refresh_catalog(settings: Settings) -> None:
    """Refresh ``<home>/catalog.duckdb`` (local lakes); ``LakeError`` if it cannot be written."""

    with Catalog(settings) as catalog:
        catalog.persist()


def backfill(
    settings: Settings,
    source_url: str,
    *,
    on_put: Callable[[int], None] | None = None,
    on_invalid: InvalidBeerHandler | None = None,
) -> int:
    """Put every beer of the Punk API at ``source_url`` on the stream; return how many.

    The outcome is recorded for ``punkml status``; ``on_put(count)`` follows the progress;
    ``on_invalid(message)`` hears of each beer put although it failed the schema.
    """

    with _recorded_collection(settings, on_invalid) as tally:

        def count(records: int) -> None:
            tally.records += records
            if on_put is not None:
                on_put(records)

        return _with_source(
            settings,
            source_url,
            lambda c, s: collect_all(c, s, on_put=count, on_invalid=tally.invalid_beer),
        )


def ingest_once(
    settings: Settings,
    source_url: str,
    *,
    on_invalid: InvalidBeerHandler | None = None,
) -> int:
    """Put one random beer of the Punk API at ``source_url`` on the stream; return its seq
    (``on_invalid`` as for ``backfill``)."""
    with _recorded_collection(settings, on_invalid) as tally:
        seq = _with_source(
            settings,
            source_url,
            lambda c, s: collect_random(c, s, on_invalid=tally.invalid_beer),
        )
        tally.records = 1
        return seq


@dataclass
class _Tally:
    records: int = 0
    invalid: list[str] = field(default_factory=list)
    on_invalid: InvalidBeerHandler | None = None

    def invalid_beer(self, message: str) -> None:
        log_invalid(message)
        self.invalid.append(message)
        if self.on_invalid is not None:
            self.on_invalid(message)


@contextlib.contextmanager
def _recorded_collection(
    settings: Settings, on_invalid: InvalidBeerHandler | None
) -> Iterator[_Tally]:
    """Record the collection's outcome (records put, invalid beers among them, and the error if
    any) for ``punkml status``."""
    tally = _Tally(on_invalid=on_invalid)
    try:
        yield tally
    except BaseException as exc:
        record_outcome(settings, records=tally.records, error=exc, invalid=tally.invalid)
        raise
    record_outcome(settings, records=tally.records, invalid=tally.invalid)


def _with_source(
    settings: Settings,
    source_url: str,
    collect: Callable[[BeerSource, Stream], int],
) -> int:
    # Here, not at the top: httpx and tenacity would add a fifth of a second to the start of
    # every delivery process, which never talks to a source.
    from punkml.source.client import PunkClient

    stream = open_stream(settings)
    try:
        with PunkClient(source_url) as client:
            return collect(client, stream)
    finally:
        stream.close()


@dataclass
class IngestionSummary:
    """What ``punkml ingest run`` did before it was stopped."""

    collections: int = 0
    source_errors: int = 0
    records_put: int = 0
    deliveries: list[DeliveryStats] = field(default_factory=list)


def run_ingestion(
    settings: Settings,
    source_factory: Callable[[], BeerSource],
    schedule: Schedule,
    *,
    config: DeliveryConfig,
    stop: threading.Event,
    clock: Callable[[], float] = time.time,
) -> IngestionSummary:
    """Collect on ``schedule`` and deliver continuously until ``stop`` is set.

    Once stopped, collection ends first, then the deliveries drain the stream, flush and
    checkpoint, so everything collected is in the lake when this returns. A source fault is
    logged, counted (``punkml status``) and the schedule goes on; a delivery or stream failure
    stops everything and is raised after the deliveries have flushed.
    """
    summary = IngestionSummary()
    halt_deliveries, drain = threading.Event(), threading.Event()
    deliveries = start_deliveries(
        settings,
        CONSUMERS,
        config=config,
        until_idle=False,
        stop=halt_deliveries,
        drain=drain,
    )
    stream = open_stream(settings)
    try:
        next_at = schedule.first_run(clock())
        while not stop.is_set() and not deliveries.any_failed():
            if clock() < next_at:
                # Short waits: a failed delivery or a signal is noticed within a second.
                stop.wait(min(1.0, next_at - clock()))
                continue
            _collect_once(settings, source_factory, stream, summary)
            next_at = schedule.next_run(max(next_at, clock() - 1e-3))
    finally:
        drain.set()
        stream.close()
        summary.deliveries = deliveries.join()
    persist_catalog(settings)
    return summary


def _collect_once(
    settings: Settings,
    source_factory: Callable[[], BeerSource],
    stream: Stream,
    summary: IngestionSummary,
) -> None:
    summary.collections += 1
    tally = _Tally()
    try:
        source = source_factory()
        try:
            seq = collect_random(source, stream, on_invalid=tally.invalid_beer)
        finally:
            close = getattr(source, "close", None)
            if callable(close):
                close()
    except SourceError as exc:
        summary.source_errors += 1
        log.warning("collection failed (the schedule goes on): %s", exc)
        record_outcome(settings, error=exc)
        return
    summary.records_put += 1
    record_outcome(settings, records=1, invalid=tally.invalid)
    log.info("collected one beer as record %d", seq)
