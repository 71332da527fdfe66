"""The model's input tables: from beers, files and Arrow; ``take`` keeps each beer's child rows."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from punkml.config import Settings
from punkml.errors import ModelError
from punkml.ml.data import (
    RecipeTables,
    load_training_tables,
    read_beers_file,
)

from .conftest import make_beer


def test_training_files_set_bad_recipes_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "train.json"
    path.write_text(json.dumps([make_beer(1), {"name": "nothing"}, make_beer(3)]))
    beers = read_beers_file(path)
    assert [b["id"] for b in beers] == [1, 3]
    assert "set aside recipes[1].ingredients.hops: missing" in caplog.text


def test_take_keeps_the_chosen_beers_with_their_own_child_rows(
    dataset_tables: RecipeTables,
) -> None:
    chosen = dataset_tables.take([10, 3])
    assert list(chosen.beers["id"]) == [int(dataset_tables.beers["id"][i]) for i in (10, 3)]
    seqs = set(chosen.beers["seq"])
    assert set(chosen.hop_additions["seq"]) == seqs and set(chosen.malts["seq"]) == seqs
    expected = dataset_tables.hop_additions["seq"].isin(seqs).sum()
    assert len(chosen.hop_additions) == expected


def test_the_fingerprint_follows_the_inputs_and_the_target(dataset_tables: RecipeTables) -> None:
    few = dataset_tables.take(range(20))
    assert few.fingerprint() == dataset_tables.take(range(20)).fingerprint()
    assert few.fingerprint() != dataset_tables.take(range(1, 21)).fingerprint()
    changed = RecipeTables(few.beers.assign(ibu=few.beers["ibu"] + 1), few.hop_additions, few.malts)
    assert changed.fingerprint() != few.fingerprint()


def test_missing_tables_and_empty_training_data_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="lack a table or column"):
        RecipeTables.from_arrow({"beers": pa.table({"id": [1]})})
    empty = tmp_path / "beers.json"
    empty.write_text(json.dumps([{"name": "no hops at all"}]))
    with pytest.raises(ModelError, match="no usable recipe"):
        load_training_tables(Settings.load(tmp_path / "home"), beers_file=empty)
