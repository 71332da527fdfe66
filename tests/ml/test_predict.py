"""Predictions: a beer the model trained on gets its stored out-of-fold prediction (held_out
False), any other beer the model's own (held_out True); the lake's predictions table says which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.evaluate import scale_boil_hops
from punkml.ml.predict import LoadedModel, predict_tables, predictions_table
from punkml.ml.registry import OUT_OF_FOLD_FILE


def test_known_beers_get_their_out_of_fold_prediction(
    trained: tuple[LoadedModel, Path], small_beers: list[dict[str, Any]]
) -> None:
    loaded, path = trained
    stored = {row["id"]: row for row in json.loads((path / OUT_OF_FOLD_FILE).read_text())}
    tables = tables_from_beers(small_beers)
    rows = predict_tables(loaded, tables)
    for row in rows:
        if row["id"] in stored:
            assert row["held_out"] is False
            assert row["ibu_pred"] == stored[row["id"]]["ibu_pred"]
            assert row["ibu_low"] == stored[row["id"]]["ibu_low"]
        else:  # no IBU: never in training
            assert row["held_out"] is True
    in_sample = loaded.model.predict(tables)
    shown = np.array([row["ibu_pred"] for row in rows])
    assert np.mean(np.abs(shown - np.round(in_sample, 2)) > 0.01) > 0.5


def test_a_changed_recipe_or_a_new_beer_gets_the_model_prediction(
    trained: tuple[LoadedModel, Path], small_beers: list[dict[str, Any]], beer_factory: Any
) -> None:
    loaded, _ = trained
    known = tables_from_beers(small_beers[:3])
    changed = scale_boil_hops(known, 1.5)  # same ids, another recipe
    rows = predict_tables(loaded, changed)
    assert [row["held_out"] for row in rows] == [True, True, True]
    np.testing.assert_allclose(
        [row["ibu_pred"] for row in rows], np.round(loaded.model.predict(changed), 2)
    )
    (new,) = predict_tables(loaded, tables_from_beers([beer_factory(9999)]))
    assert new["held_out"] is True


def test_the_predictions_table_says_which_beers_were_held_out(
    trained: tuple[LoadedModel, Path], small_beers: list[dict[str, Any]]
) -> None:
    loaded, _ = trained
    tables: RecipeTables = tables_from_beers(small_beers)
    table = predictions_table(loaded, tables)
    held_out = dict(
        zip(table.column("id").to_pylist(), table.column("held_out").to_pylist(), strict=True)
    )
    assert all(held_out[b["id"]] is (b["ibu"] is None) for b in small_beers)
    assert table.column("ibu_pred").to_pylist() == [
        r["ibu_pred"] for r in predict_tables(loaded, tables)
    ]


def test_a_version_without_out_of_fold_predictions_says_it_does_not_know(
    trained: tuple[LoadedModel, Path], small_beers: list[dict[str, Any]]
) -> None:
    loaded, _ = trained
    old = LoadedModel(model=loaded.model, version="old", manifest={}, out_of_fold=None)
    rows = predict_tables(old, tables_from_beers(small_beers[:2]))
    assert [row["held_out"] for row in rows] == [None, None]
