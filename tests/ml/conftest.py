"""Fixtures of the ML tests: the pinned dataset's cleaned tables and models fitted once."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from punkml.config import Settings
from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.features import RecipeFeatures
from punkml.ml.learners import RecipeRegressor, recipe_regressor
from punkml.ml.models import IbuModel, make_model, monotone_recipe_regressor, training_mask
from punkml.ml.predict import LoadedModel
from punkml.ml.train import train_model
from punkml.source.dataset import load_beers


@pytest.fixture(scope="session")
def dataset_beers() -> list[dict[str, Any]]:
    """The 325 beers of the pinned dataset (a deep copy per session: tests may not mutate it)."""
    return copy.deepcopy(load_beers())


@pytest.fixture(scope="session")
def dataset_tables(dataset_beers: list[dict[str, Any]]) -> RecipeTables:
    return tables_from_beers(dataset_beers)


@pytest.fixture(scope="session")
def light_recipe_model() -> Callable[..., IbuModel]:
    """``light_recipe_model(**params)``: an unfitted recipe model with the served wiring (features,
    monotone columns, floor, interval) but 30 boosted and 8 extra trees, fast to train: what the
    tests check of it does not depend on the number of trees (``make mutate`` trains it again for
    every mutant). ``params``: more ``IbuModel`` parameters."""

    def light(**params: Any) -> IbuModel:
        regressor = monotone_recipe_regressor(n_estimators=30, forest_trees=8)
        return make_model("recipe").set_params(regressor=regressor, **params)

    return light


@pytest.fixture(scope="session")
def fitted_models(
    dataset_tables: RecipeTables, light_recipe_model: Callable[..., IbuModel]
) -> dict[str, IbuModel]:
    """The served baseline and the light recipe model, fitted on every beer they may train on."""
    models = {}
    for model_type in ("baseline", "recipe"):
        train = dataset_tables.take(np.flatnonzero(training_mask(dataset_tables, model_type)))
        model = light_recipe_model() if model_type == "recipe" else make_model("baseline")
        models[model_type] = model.fit(train, train.target())
    return models


@pytest.fixture(scope="session")
def small_beers(dataset_beers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [beer for beer in dataset_beers if beer["id"] % 4 == 0]  # 81 beers: a quick train


@pytest.fixture(scope="session")
def trained(
    tmp_path_factory: pytest.TempPathFactory, small_beers: list[dict[str, Any]]
) -> tuple[LoadedModel, Path]:
    """A model trained (with out-of-fold predictions and importances) on ``small_beers``."""
    home = tmp_path_factory.mktemp("home")
    beers_file = home / "beers.json"
    beers_file.write_text(json.dumps(small_beers))
    result = train_model(Settings.load(home), beers_file=beers_file)
    return LoadedModel.from_dir(result.path), result.path


@pytest.fixture(scope="session")
def small_forest(dataset_tables: RecipeTables) -> tuple[RecipeRegressor, np.ndarray]:
    """A 30-tree median recipe regressor fitted on 120 beers, and every beer's features."""
    X = RecipeFeatures().fit_transform(dataset_tables)
    y = dataset_tables.target()
    rows = np.flatnonzero(training_mask(dataset_tables, "recipe"))[:120]
    regressor = recipe_regressor(forest_trees=30).fit(X[rows], y[rows])
    return regressor, X


def make_beer(beer_id: int = 1, **overrides: Any) -> dict[str, Any]:
    """A small valid Punk API v2 beer; ``overrides`` replace top-level fields."""
    beer: dict[str, Any] = {
        "id": beer_id,
        "name": f"Test Beer {beer_id}",
        "first_brewed": "2017",
        "abv": 6.0,
        "ibu": 50.0,
        "target_fg": 1010.0,
        "target_og": 1056.0,
        "ebc": 20.0,
        "srm": 10.0,
        "ph": 4.4,
        "attenuation_level": 82.0,
        "volume": {"value": 20, "unit": "litres"},
        "boil_volume": {"value": 25, "unit": "litres"},
        "method": {"mash_temp": [], "fermentation": None, "twist": None},
        "ingredients": {
            "malt": [
                {"name": "Extra Pale", "amount": {"value": 5.0, "unit": "kilograms"}},
                {"name": "Crystal 150", "amount": {"value": 0.25, "unit": "kilograms"}},
            ],
            "hops": [
                {
                    "name": "Magnum",
                    "amount": {"value": 20, "unit": "grams"},
                    "add": "60",
                    "attribute": "Bittering",
                },
                {
                    "name": "Citra",
                    "amount": {"value": 50, "unit": "grams"},
                    "add": "WHP",
                    "attribute": "Aroma",
                },
                {
                    "name": "Mosaic",
                    "amount": {"value": 100, "unit": "grams"},
                    "add": "Dry Hop, at Day 8",
                    "attribute": "Aroma",
                },
            ],
            "yeast": "Wyeast 1056 - American Ale",
        },
    }
    beer.update(overrides)
    return beer


@pytest.fixture
def beer_factory() -> Any:
    """``make_beer`` as a fixture: ``beer_factory(7, abv=5.0)``."""
    return make_beer
