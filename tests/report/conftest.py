"""Fixtures of the report tests: a deployment whose catalog holds a small, known lake."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from punkml.config import Settings, cache_dir
from punkml.source.dataset import load_beers

# Beers delivered to the test lake: the first 30 of the dataset plus the two whose IBU is their
# target OG (137, 185), so the flags show up in the quality table.
LAKE_BEER_IDS = (*range(1, 31), 137, 185)


@pytest.fixture(scope="session")
def dataset_beers() -> list[dict[str, Any]]:
    """The 325 beers of the pinned dataset."""
    return load_beers()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh, empty deployment; the dataset cache stays the machine's."""
    monkeypatch.setenv("PUNKML_CACHE_DIR", str(cache_dir()))
    for name in ("PUNKML_HOME", "PUNKML_LAKE", "PUNKML_STREAM"):
        monkeypatch.delenv(name, raising=False)
    return Settings.load(tmp_path / "home").ensure()


@pytest.fixture
def lake_beer_ids() -> tuple[int, ...]:
    """The ids of the beers in the ``lake_settings`` lake."""
    return LAKE_BEER_IDS


@pytest.fixture
def lake_settings(settings: Settings, dataset_beers: list[dict[str, Any]]) -> Settings:
    """A deployment with a delivered lake: the ``LAKE_BEER_IDS`` beers, beer 1 ingested a second
    time (newer ABV), one record that fails validation (a dead letter)."""
    from punkml.pipeline.delivery import Deliverer
    from punkml.pipeline.lake import Lake
    from punkml.pipeline.raw import RawSink
    from punkml.pipeline.stream import SqliteStream
    from punkml.pipeline.transform import CleanedSink

    by_id = {beer["id"]: beer for beer in dataset_beers}
    records = [(str(i), orjson.dumps(by_id[i])) for i in LAKE_BEER_IDS]
    newer = copy.deepcopy(by_id[1])
    newer["abv"] = 4.7
    records.append(("1", orjson.dumps(newer)))
    records.append(("999", orjson.dumps({"id": 999, "name": "No recipe"})))
    stream = SqliteStream(settings.stream_path)
    try:
        stream.put(records)
        lake = Lake.open(settings.lake_uri)
        for sink in (RawSink(lake), CleanedSink(lake)):
            Deliverer(stream, sink).run(until_idle=True)
    finally:
        stream.close()
    return settings


@pytest.fixture
def no_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the dataset cache at an empty directory (ask for it before ``settings``, which takes
    its cache from the environment)."""
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    monkeypatch.setenv("PUNKML_CACHE_DIR", str(empty))
    yield
    assert os.environ["PUNKML_CACHE_DIR"] == str(empty)
