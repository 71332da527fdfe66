"""Training: a registered model stores its out-of-fold predictions, importances and metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from punkml.ml.predict import LoadedModel
from punkml.ml.registry import IMPORTANCES_FILE, OUT_OF_FOLD_FILE


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
