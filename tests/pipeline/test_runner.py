"""The scheduled ingestion service in process: source faults are counted and the schedule goes on."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from punkml.config import Settings
from punkml.errors import ConfigError, SourceConnectionError
from punkml.pipeline import runner
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.collector import CollectorState
from punkml.pipeline.delivery import DeliveryConfig
from punkml.pipeline.runner import (
    CatalogRefresher,
    backfill,
    consumer_names,
    deliver_until_idle,
    run_ingestion,
)
from punkml.pipeline.schedule import Schedule


class _FlakySource:
    """Serves beers, failing every other call; stops the service after ``calls`` calls."""

    def __init__(self, beers: list[dict[str, Any]], stop: threading.Event, calls: int) -> None:
        self.beers, self.stop, self.calls, self.made = beers, stop, calls, 0

    def __call__(self) -> _FlakySource:
        return self

    def get_random_beer(self, *, on_invalid: Any = None) -> dict[str, Any]:
        self.made += 1
        if self.made >= self.calls:
            self.stop.set()
        if self.made % 2 == 0:
            raise SourceConnectionError("GET /beers/random: connection refused")
        return self.beers[self.made]

    def iter_beers(self, per_page: int = 80, *, on_invalid: Any = None, **filters: Any) -> Any:
        return iter(self.beers)


def test_source_faults_are_counted_and_the_schedule_goes_on(
    settings: Settings, beers: list[dict[str, Any]]
) -> None:
    stop = threading.Event()
    source = _FlakySource(beers, stop, calls=6)
    summary = run_ingestion(
        settings,
        source,
        Schedule(interval_seconds=0.01),
        config=DeliveryConfig(buffer_seconds=3600, poll_seconds=0.02),
        stop=stop,
    )
    assert (summary.collections, summary.records_put, summary.source_errors) == (6, 3, 3)
    state = CollectorState.load(settings)
    assert (state.fetches_total, state.errors_total, state.records_put_total) == (6, 3, 3)
    assert state.consecutive_errors == 1
    assert "connection refused" in (state.last_error or "")
    # Stopping flushed both deliveries: everything put is in the lake.
    assert sorted(s.records for s in summary.deliveries) == [3, 3]
    with Catalog(settings) as catalog:
        ids = catalog.query("SELECT id FROM beers ORDER BY seq").column("id").to_pylist()
    assert ids == [beers[1]["id"], beers[3]["id"], beers[5]["id"]]


def test_consumer_choices() -> None:
    assert consumer_names("all") == ("raw", "cleaned")
    assert consumer_names("raw") == ("raw",)
    with pytest.raises(ConfigError):
        consumer_names("everything")


@pytest.mark.slow
def test_backfill_and_deliver_until_idle_api(settings: Settings, api_server: str) -> None:
    assert backfill(settings, api_server) == 325
    stats = deliver_until_idle(settings)
    assert sorted((s.consumer, s.records) for s in stats) == [("cleaned", 325), ("raw", 325)]
    with Catalog(settings) as catalog:
        assert catalog.query("SELECT count(*) AS n FROM beers_latest").to_pylist() == [{"n": 325}]


def test_the_catalog_file_is_refreshed_at_most_once_per_interval_and_never_left_stale(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refreshed = threading.Semaphore(0)
    calls: list[float] = []

    def persist(settings: Settings) -> None:
        calls.append(0.0)
        refreshed.release()

    monkeypatch.setattr(runner, "persist_catalog", persist)
    refresher = CatalogRefresher(Settings.load(tmp_path), interval_seconds=0.3)
    refresher.changed()  # the first change refreshes at once
    assert len(calls) == 1
    for _ in range(50):  # a burst inside the interval: one refresh at its end covers them all
        refresher.changed()
    assert len(calls) == 1
    assert refreshed.acquire(timeout=5)
    assert refreshed.acquire(timeout=5)
    assert len(calls) == 2
    refresher.changed()  # inside the new interval: waits ...
    refresher.flush()  # ... unless the delivery stops, which refreshes at once
    assert len(calls) == 3
    refresher.flush()  # nothing waiting: nothing to do
    assert len(calls) == 3
