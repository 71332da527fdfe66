"""Candidate learners of ``evaluate --protocol compare``: the median of the trees on every
prediction path (the fast forest evaluation), the stored-model fallback, no ``forest`` member."""

from __future__ import annotations

import numpy as np
import pytest

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables
from punkml.ml.fast_forest import FLAT_FOREST_MAX_ROWS
from punkml.ml.features import RecipeFeatures
from punkml.ml.learners import RecipeRegressor, recipe_regressor
from punkml.ml.models import training_mask


@pytest.fixture(scope="module")
def small_forest(dataset_tables: RecipeTables) -> tuple[RecipeRegressor, np.ndarray]:
    """A 30-tree median recipe regressor fitted on 120 beers, and every beer's features."""
    X = RecipeFeatures().fit_transform(dataset_tables)
    y = dataset_tables.target()
    rows = np.flatnonzero(training_mask(dataset_tables, "recipe"))[:120]
    regressor = recipe_regressor(forest_trees=30).fit(X[rows], y[rows])
    return regressor, X


def test_the_recipe_forest_answers_with_the_median_of_its_trees(
    small_forest: tuple[RecipeRegressor, np.ndarray],
) -> None:
    regressor, X = small_forest
    assert regressor.forest_aggregate == "median"
    pipeline = regressor.members_[0]
    per_tree = [tree.predict(pipeline[:-1].transform(X)) for tree in pipeline[-1].estimators_]
    np.testing.assert_allclose(regressor.predict_log(X), np.median(per_tree, axis=0))
    assert not np.allclose(regressor.predict_log(X), np.mean(per_tree, axis=0))


def test_every_prediction_path_gives_the_same_bits(
    small_forest: tuple[RecipeRegressor, np.ndarray],
) -> None:
    regressor, X = small_forest
    few = X[:FLAT_FOREST_MAX_ROWS]  # the flattened trees (API path)
    many = np.tile(X, (80, 1))  # scikit-learn's trees, in row chunks on threads when n_jobs > 1
    flat = regressor.predict(few)
    regressor.n_jobs = 1
    one_thread = regressor.predict(many)
    regressor.n_jobs = 2
    try:
        two_threads = regressor.predict(many)
    finally:
        regressor.n_jobs = 1
    np.testing.assert_array_equal(flat, one_thread[: len(few)])
    np.testing.assert_array_equal(one_thread, two_threads)


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
