"""The fast forest evaluation: the flattened trees answer with the same bits as scikit-learn's,
on one thread or in row chunks on several, and the median of the trees where asked."""

from __future__ import annotations

import numpy as np

from punkml.ml.fast_forest import FLAT_FOREST_MAX_ROWS
from punkml.ml.learners import RecipeRegressor


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
