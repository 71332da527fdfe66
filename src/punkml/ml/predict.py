"""Predictions with intervals, for recipes, cleaned tables, or the whole catalog.

from punkml.ml.predict import LoadedModel, predict_recipes
from punkml.ml.recipes import read_recipes
model = LoadedModel.promoted(settings.models_dir)
batch = read_recipes(body)                     # JSON or BeerXML; batch.refused names bad fields
rows = predict_recipes(model, batch.recipes)   # [{"id", "name", "ibu_pred", "ibu_low",
                                               #   "ibu_high", "model_version", "held_out"[, "warnings"]}]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables, tables_from_beers, tables_from_catalog
from punkml.ml.registry import OUT_OF_FOLD_FILE, load_model, read_verified_json, resolve_model_dir
from punkml.pipeline.lake import Lake
from punkml.pipeline.lake_schema import PREDICTIONS
from punkml.pipeline.runner import persist_catalog

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from punkml.config import Settings
    from punkml.ml.models import IbuModel
    from punkml.ml.recipes import Recipe

# The fields ``punkml predict`` prints: the lake's ``predictions`` columns.
PREDICTION_FIELDS = PREDICTIONS.names
PREDICTIONS_FILE = "predictions/predictions.parquet"


@dataclass(frozen=True)
class LoadedModel:
    """A verified model and the version it was loaded from."""

    model: IbuModel
    version: str
    manifest: dict[str, Any]
    # "<id>:<recipe key>" → the stored out-of-fold row of a beer the model trained on; None when
    # the version predates out-of-fold predictions (then nobody knows which beers it saw).
    out_of_fold: dict[str, dict[str, Any]] | None = None

    @classmethod
    def from_dir(cls, version_dir: Path) -> LoadedModel:
        model, manifest = load_model(version_dir)
        rows = read_verified_json(version_dir, OUT_OF_FOLD_FILE, manifest)
        return cls(
            model=model,
            version=str(manifest.get("version", version_dir.name)),
            manifest=manifest,
            out_of_fold=None if rows is None else {_key(row): row for row in rows},
        )

    @classmethod
    def promoted(cls, models_dir: Path, model: Path | None = None) -> LoadedModel:
        """The promoted version of ``models_dir`` (or the ``model`` directory when given)."""
        return cls.from_dir(resolve_model_dir(models_dir, model))

    def predict(self, tables: RecipeTables) -> Predictions:
        """Predictions and intervals for ``tables``: a beer the model trained on (same id, same
        recipe) gets its stored out-of-fold prediction, any other beer the model's."""
        import numpy as np

        X = self.model.features_.transform(tables)
        prediction, low, high = self.model.interval_of(self.model.predict_features(X))
        held_out: list[bool | None] = [None] * len(tables)
        if self.out_of_fold is not None:
            ids = tables.beers["id"].tolist()
            keys = self.model.recipe_keys(X)
            prediction, low, high = (np.array(a, dtype=float) for a in (prediction, low, high))
            for i, (beer_id, key) in enumerate(zip(ids, keys, strict=True)):
                row = self.out_of_fold.get(f"{beer_id}:{key}")
                held_out[i] = row is None
                if row is not None:
                    prediction[i], low[i], high[i] = (
                        row["ibu_pred"],
                        row["ibu_low"],
                        row["ibu_high"],
                    )
        return Predictions(prediction, low, high, held_out)


@dataclass(frozen=True)
class Predictions:
    """IBU predictions, their intervals, and per beer whether the model never saw it (False: the
    prediction is its out-of-fold one; None: unknown, an older model version)."""

    ibu: np.ndarray
    low: np.ndarray
    high: np.ndarray
    held_out: list[bool | None]


def _key(row: dict[str, Any]) -> str:
    return f"{row['id']}:{row['recipe_key']}"


def predict_tables(model: LoadedModel, tables: RecipeTables) -> list[dict[str, Any]]:
    """One prediction row per beer of ``tables`` (same order)."""
    predicted = model.predict(tables)
    prediction, low, high = predicted.ibu, predicted.low, predicted.high
    ids = tables.beers["id"].tolist()
    names = tables.beers["name"].tolist()
    return [
        {
            "id": int(ids[i]),
            "name": str(names[i]),
            "ibu_pred": round(float(prediction[i]), 2),
            "ibu_low": round(float(low[i]), 2),
            "ibu_high": round(float(high[i]), 2),
            "model_version": model.version,
            "held_out": predicted.held_out[i],
        }
        for i in range(len(ids))
    ]


def predictions_table(model: LoadedModel, tables: RecipeTables) -> pa.Table:
    """The ``predictions`` table (the catalog's schema) for ``tables``, computed column-wise."""
    import numpy as np
    import pyarrow as pa

    # Kept here: the API imports this module at start-up, before any model (XGBoost) is needed.
    from punkml.ml.models import PREDICT_THREADS, set_threads

    set_threads(model.model, PREDICT_THREADS)
    predicted = model.predict(tables)
    return PREDICTIONS.table(
        {
            "id": np.asarray(tables.beers["id"], dtype=np.int64),
            "name": tables.beers["name"].astype(str).tolist(),
            "ibu_pred": np.round(predicted.ibu, 2),
            "ibu_low": np.round(predicted.low, 2),
            "ibu_high": np.round(predicted.high, 2),
            "model_version": [model.version] * len(tables),
            "held_out": pa.array(predicted.held_out, type=pa.bool_()),
        }
    )


def predict_catalog(settings: Settings, model: LoadedModel) -> tuple[int, str]:
    """Predict every beer of ``beers_latest`` and write the lake's ``predictions`` table (one file,
    replaced atomically); the row count and the file's lake path."""

    tables = tables_from_catalog(settings)
    if len(tables) == 0:
        raise ModelError(
            "the catalog has no beers: run `punkml ingest backfill` and `punkml deliver`"
        )
    table = predictions_table(model, tables)
    lake = Lake.open(settings.lake_uri)
    lake.write_parquet(PREDICTIONS_FILE, table)
    persist_catalog(settings)  # catalog.duckdb names the files of every table
    return table.num_rows, lake.path(PREDICTIONS_FILE)


def predict_recipes(model: LoadedModel, recipes: Sequence[Recipe]) -> list[dict[str, Any]]:
    """Predictions for recipes read by ``punkml.ml.recipes`` (validated, defaults filled), each
    with its ``warnings`` when a default or fallback was used."""
    rows = predict_tables(model, tables_from_beers([recipe.beer for recipe in recipes]))
    for row, recipe in zip(rows, recipes, strict=True):
        if recipe.warnings:
            row["warnings"] = list(recipe.warnings)
    return rows
