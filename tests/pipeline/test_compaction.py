"""Compaction: small files folded per partition, exactly once across SIGKILLs and deliveries.

The crash tests kill real ``punkml compact`` processes (at the worst moments through the fault
hook, and at random times while a delivery runs) and then check the lake row by row against the
stream, through ``punkml sql``'s catalog and through ``catalog.duckdb``.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from punkml.config import Settings
from punkml.pipeline.catalog import VIEWS, Catalog
from punkml.pipeline.compaction import FAULT_ENV, compact
from punkml.pipeline.delivery import Deliverer, DeliveryConfig
from punkml.pipeline.lake import Lake
from punkml.pipeline.raw import RawSink
from punkml.pipeline.stream import SqliteStream
from punkml.pipeline.transform import CleanedSink

from .test_delivery import Records, _put_mixed, assert_exactly_once


def _deliver_in_small_batches(settings: Settings, stream: SqliteStream) -> None:
    lake = Lake.open(settings.lake_uri)
    config = DeliveryConfig(buffer_bytes=20_000, poll_seconds=0.01)
    for sink in (RawSink(lake), CleanedSink(lake)):
        Deliverer(stream, sink, config).run(until_idle=True)


def _file_counts(settings: Settings) -> dict[str, int]:
    lake = Lake.open(settings.lake_uri)
    return {
        "raw": len(lake.all_files("raw", ".jsonl.gz")),
        "cleaned": len(lake.all_files("cleaned", ".parquet")),
        "dead_letters": len(lake.all_files("dead_letters", ".parquet")),
    }


def _covered(settings: Settings) -> int:
    """Files on disk that readers ignore because a folded file covers them."""
    lake = Lake.open(settings.lake_uri)
    where = [("raw", ".jsonl.gz"), ("cleaned", ".parquet"), ("dead_letters", ".parquet")]
    return sum(len(lake.all_files(*w)) - len(lake.files(*w)) for w in where)


def _leftovers(settings: Settings) -> list[str]:
    return sorted(path.name for path in (settings.lake_dir).rglob("*") if path.name.startswith("."))


def assert_catalog_file_agrees(settings: Settings) -> None:
    """``catalog.duckdb``, opened from the home, counts what ``punkml sql``'s catalog counts."""
    with Catalog(settings) as catalog:
        expected = {
            view: catalog.query(f"SELECT count(*) AS n FROM {view}").to_pylist()[0]["n"]
            for view in VIEWS
        }
    here = Path.cwd()
    os.chdir(settings.home)
    try:
        with duckdb.connect("catalog.duckdb", read_only=True) as con:
            got = {
                view: con.execute(f"SELECT count(*) FROM {view}").fetchone()[0] for view in VIEWS
            }  # type: ignore[index]
    finally:
        os.chdir(here)
    assert got == expected


def test_compaction_folds_each_partition_and_keeps_every_row(
    settings: Settings, stream: SqliteStream, make_records: Callable[[int], Records]
) -> None:
    records = _put_mixed(stream, make_records, 600)
    _deliver_in_small_batches(settings, stream)
    before = _file_counts(settings)
    assert before["raw"] > 10 and before["cleaned"] > 30

    stats = {
        item.consumer: item
        for item in compact(stream, Lake.open(settings.lake_uri), ("raw", "cleaned"))
    }

    after = _file_counts(settings)
    # One file per partition: an hour of raw, a day per cleaned table and of dead letters (the
    # records arrived within a second, which may straddle an hour or a day).
    assert after["raw"] <= 2 and after["dead_letters"] <= 2 and after["cleaned"] <= 6
    assert stats["raw"].files_folded - stats["raw"].folds == before["raw"] - after["raw"]
    assert_exactly_once(settings, records)
    assert not _leftovers(settings)
    # Nothing left to fold: a second compaction changes nothing.
    again = compact(stream, Lake.open(settings.lake_uri), ("raw", "cleaned"))
    assert [item.folds for item in again] == [0, 0]


def test_a_pending_batch_is_not_folded(
    settings: Settings, stream: SqliteStream, make_records: Callable[[int], Records]
) -> None:
    stream.put(make_records(100))
    lake = Lake.open(settings.lake_uri)
    config = DeliveryConfig(buffer_bytes=5_000, poll_seconds=0.01)
    Deliverer(stream, RawSink(lake), config).run(until_idle=True)
    files = lake.files("raw", ".jsonl.gz")
    # The last batch as a crashed delivery leaves it: written, pending, not checkpointed.
    last_name = files[-1].rsplit("/", 1)[1]
    first, last = (int(part) for part in last_name.split(".")[0].split("-")[1:3])
    lease = stream.acquire_lease("raw", "crashed", 30)
    assert lease is not None
    stream.commit_batch(lease, first - 1)
    stream.begin_batch(lease, first, last)
    stream.release_lease(lease)

    compact(stream, lake, ("raw",))

    after = lake.files("raw", ".jsonl.gz")
    assert len(after) == 2 and after[-1] == files[-1]  # the pending batch's file is untouched


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["kill-after-fold:1", "kill-after-delete:2"])
def test_sigkill_in_the_middle_of_a_fold_loses_and_duplicates_nothing(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Records],
    punkml: Callable[..., Any],
    fault: str,
) -> None:
    records = _put_mixed(stream, make_records, 600)
    punkml("deliver", "--until-idle", "--buffer-bytes", "20000")
    crashed = punkml("compact", check=False, env={FAULT_ENV: fault})
    assert crashed.returncode == -signal.SIGKILL
    # Right after the kill: a folded file and (some of) its inputs are both on disk.
    assert _covered(settings) > 0
    assert_exactly_once(settings, records)
    assert_catalog_file_agrees(settings)

    done = punkml("compact")
    assert "leftovers" in done.stdout
    assert_exactly_once(settings, records)
    assert_catalog_file_agrees(settings)
    assert _covered(settings) == 0
    assert not _leftovers(settings)


@pytest.mark.slow
def test_sigkill_at_random_times_beside_a_delivery_loses_and_duplicates_nothing(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Records],
    punkml: Callable[..., Any],
    punkml_background: Callable[..., Any],
) -> None:
    records = _put_mixed(stream, make_records, 1500)
    rng = random.Random(20261201)
    delivery = punkml_background("deliver", "--until-idle", "--buffer-bytes", "20000")
    for _ in range(4):
        compaction = punkml_background("compact")
        time.sleep(rng.uniform(0.3, 2.0))
        compaction.send_signal(signal.SIGKILL)
        compaction.wait(30)
    assert delivery.wait(120) == 0
    punkml("deliver", "--until-idle", "--buffer-bytes", "20000")
    punkml("compact")
    assert_exactly_once(settings, records)
    assert_catalog_file_agrees(settings)
    assert not _leftovers(settings)
    counts = _file_counts(settings)
    assert counts["raw"] <= 2 and counts["dead_letters"] <= 2  # an hour or day may roll over
