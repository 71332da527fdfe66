"""Predictions: a beer the model trained on gets its stored out-of-fold prediction (held_out
False), any other beer the model's own (held_out True); the lake's predictions table says which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from punkml.config import Settings
from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.evaluate import scale_boil_hops
from punkml.ml.predict import LoadedModel, predict_tables, predictions_table
from punkml.ml.registry import IMPORTANCES_FILE, OUT_OF_FOLD_FILE
from punkml.ml.train import train_model


@pytest.fixture(scope="module")
def small_beers(dataset_beers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [beer for beer in dataset_beers if beer["id"] % 4 == 0]  # 81 beers: a quick train


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, small_beers: list[dict[str, Any]]
) -> tuple[LoadedModel, Path]:
    home = tmp_path_factory.mktemp("home")
    beers_file = home / "beers.json"
    beers_file.write_text(json.dumps(small_beers))
    result = train_model(Settings.load(home), beers_file=beers_file)
    return LoadedModel.from_dir(result.path), result.path


def test_training_stores_out_of_fold_predictions_and_importances(
    trained: tuple[LoadedModel, Path], small_beers: list[dict[str, Any]]
) -> None:
    loaded, path = trained
    rows = json.loads((path / OUT_OF_FOLD_FILE).read_text())
    assert sorted(row["id"] for row in rows) == sorted(b["id"] for b in small_beers if b["ibu"])
    assert {row["fold"] for row in rows} == set(range(5))
    scored = [row for row in rows if row["ibu_flag"] is None]
    errors = np.array([abs(row["ibu_pred"] - row["actual"]) for row in scored])
    assert np.mean(errors == 0) < 0.05 and errors.mean() > 3  # not memorised labels
    importances = json.loads((path / IMPORTANCES_FILE).read_text())
    assert len(importances) == len(loaded.model.feature_names_)
    assert importances[0]["mae_rise"] > 0
    assert [i["mae_rise"] for i in importances] == sorted(
        (i["mae_rise"] for i in importances), reverse=True
    )
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics["out_of_fold"]["beers"] == len(scored)


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
