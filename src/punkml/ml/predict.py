"""Predictions with intervals, for recipes, cleaned tables, or the whole catalog.

from punkml.ml.predict import LoadedModel, predict_recipes
from punkml.ml.recipes import read_recipes
model = LoadedModel.promoted(settings.models_dir)
batch = read_recipes(body)                     # JSON or BeerXML; batch.refused names bad fields
rows = predict_recipes(model, batch.recipes)   # [{"id", "name", "ibu_pred", "ibu_low",
                                               #   "ibu_high", "model_version"[, "warnings"]}]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.registry import load_model, resolve_model_dir

if TYPE_CHECKING:
    import pyarrow as pa

    from punkml.config import Settings
    from punkml.ml.models import IbuModel
    from punkml.ml.recipes import Recipe

PREDICTION_FIELDS = ("id", "name", "ibu_pred", "ibu_low", "ibu_high", "model_version")
PREDICTIONS_FILE = "predictions/predictions.parquet"


@dataclass(frozen=True)
class LoadedModel:
    """A verified model and the version it was loaded from."""

    model: IbuModel
    version: str
    manifest: dict[str, Any]

    @classmethod
    def from_dir(cls, version_dir: Path) -> LoadedModel:
        model, manifest = load_model(version_dir)
        return cls(
            model=model, version=str(manifest.get("version", version_dir.name)), manifest=manifest
        )

    @classmethod
    def promoted(cls, models_dir: Path, model: Path | None = None) -> LoadedModel:
        """The promoted version of ``models_dir`` (or the ``model`` directory when given)."""
        return cls.from_dir(resolve_model_dir(models_dir, model))


def predict_tables(model: LoadedModel, tables: RecipeTables) -> list[dict[str, Any]]:
    """One prediction row per beer of ``tables`` (same order)."""
    prediction, low, high = model.model.predict_interval(tables)
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
        }
        for i in range(len(ids))
    ]


def predictions_table(model: LoadedModel, tables: RecipeTables) -> pa.Table:
    """The ``predictions`` table (the catalog's schema) for ``tables``, computed column-wise."""
    import numpy as np
    import pyarrow as pa

    from punkml.ml.models import PREDICT_THREADS, set_threads
    from punkml.pipeline.catalog import predictions_schema

    set_threads(model.model, PREDICT_THREADS)
    prediction, low, high = model.model.predict_interval(tables)
    return pa.table(
        {
            "id": pa.array(np.asarray(tables.beers["id"], dtype=np.int64)),
            "name": pa.array(tables.beers["name"].astype(str).tolist()),
            "ibu_pred": pa.array(np.round(prediction, 2)),
            "ibu_low": pa.array(np.round(low, 2)),
            "ibu_high": pa.array(np.round(high, 2)),
            "model_version": pa.array([model.version] * len(tables)),
        },
        schema=predictions_schema(),
    )


def predict_catalog(settings: Settings, model: LoadedModel) -> tuple[int, str]:
    """Predict every beer of ``beers_latest`` and write the lake's ``predictions`` table (one file,
    replaced atomically); the row count and the file's lake path."""
    from punkml.ml.data import tables_from_catalog
    from punkml.pipeline.lake import Lake
    from punkml.pipeline.runner import persist_catalog

    tables = tables_from_catalog(settings)
    if len(tables) == 0:
        raise ModelError(
            "the catalog has no beers: run `punkml ingest backfill` and `punkml deliver`"
        )
    table = predictions_table(model, tables)
    lake = Lake.open(None, settings)
    lake.write_parquet(PREDICTIONS_FILE, table)
    persist_catalog(settings, None)  # catalog.duckdb names the files of every table
    return table.num_rows, lake.path(PREDICTIONS_FILE)


def predict_recipes(model: LoadedModel, recipes: Sequence[Recipe]) -> list[dict[str, Any]]:
    """Predictions for recipes read by ``punkml.ml.recipes`` (validated, defaults filled), each
    with its ``warnings`` when a default or fallback was used."""
    rows = predict_tables(model, tables_from_beers([recipe.beer for recipe in recipes]))
    for row, recipe in zip(rows, recipes, strict=True):
        if recipe.warnings:
            row["warnings"] = list(recipe.warnings)
    return rows
