"""Candidate learners of ``evaluate --protocol compare``: the stored-model fallback, no ``forest``
member (the median of the trees on every prediction path: test_fast_forest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables
from punkml.ml.features import RecipeFeatures
from punkml.ml.learners import RecipeRegressor, recipe_regressor


def test_a_stored_model_without_the_aggregate_averages_its_trees(
    small_forest: tuple[RecipeRegressor, np.ndarray],
) -> None:
    regressor, X = small_forest
    pipeline = regressor.members_[0]
    old = RecipeRegressor.__new__(RecipeRegressor)
    old.__dict__.update({k: v for k, v in regressor.__dict__.items() if k != "forest_aggregate"})
    old.__dict__.pop("_flat_cache", None)
    np.testing.assert_allclose(old.predict_log(X[:5]), pipeline.predict(X[:5]))
    np.testing.assert_allclose(old.predict_log(X[:200]), pipeline.predict(X[:200]))


def test_an_unknown_aggregate_is_refused(dataset_tables: RecipeTables) -> None:
    X = RecipeFeatures().fit_transform(dataset_tables)[:30]
    with pytest.raises(ModelError, match="forest_aggregate"):
        recipe_regressor(forest_aggregate="mode").fit(X, np.full(30, 40.0))


def test_the_unused_forest_member_is_gone(dataset_tables: RecipeTables) -> None:
    X = RecipeFeatures().fit_transform(dataset_tables)[:30]
    with pytest.raises(ModelError, match="unknown recipe-model member 'forest'"):
        recipe_regressor(("forest",)).fit(X, np.full(30, 40.0))
