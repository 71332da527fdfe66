"""The served models: training population, determinism, calibrated intervals (the right quantile,
checked on held-out groups), the learner the docs describe, and the recipe model's physics, proved
by property tests.

Most tests train the served wiring with few trees (``light_recipe_model``): what they check (the
interval's quantile, the floor, monotonicity, the training population) does not depend on the
number of trees, and each mutant of ``make mutate`` runs them again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.evaluate import labelled, scale_boil_hops
from punkml.ml.features import (
    FREE_RECIPE_FEATURES,
    MONOTONE_HOP_FEATURES,
    RecipeFeatures,
    SeedFeatures,
    feature_names,
)
from punkml.ml.folds import grouped_folds, recipe_groups, seed_split
from punkml.ml.models import (
    CALIBRATION_FOLDS,
    INTERVAL_ALPHA,
    IbuModel,
    MonotoneRecipeRegressor,
    conformal_quantile,
    make_model,
    monotone_recipe_regressor,
    set_threads,
    training_mask,
)

# How far a dry-hop-only change may move a prediction (IBU): dry hops are not model inputs.
DRY_HOP_TOLERANCE_IBU = 1e-9
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
VARIETIES = ("Magnum", "Citra", "Simcoe", "Cascade", "Amarillo", "Columbus", "Fuggles", "Zeus")


def test_flagged_targets_stay_out_of_the_recipe_training(dataset_tables: RecipeTables) -> None:
    recipe = training_mask(dataset_tables, "recipe")
    baseline = training_mask(dataset_tables, "baseline")
    ids = dataset_tables.beers["id"].to_numpy()
    assert set(ids[baseline & ~recipe]) == {137, 185}
    assert baseline.sum() == 320 and recipe.sum() == 318


LightModel = Callable[..., IbuModel]


def fit_light(tables: RecipeTables, light_recipe_model: LightModel) -> IbuModel:
    train = tables.take(np.flatnonzero(training_mask(tables, "recipe")))
    return light_recipe_model().fit(train, train.target())


@pytest.fixture(scope="module")
def recipe_training(dataset_tables: RecipeTables) -> RecipeTables:
    """The beers the recipe model trains on (318), ordered by id."""
    data = labelled(dataset_tables)
    return data.take(np.flatnonzero(training_mask(data, "recipe")))


def test_same_data_and_seed_give_the_same_model(
    dataset_tables: RecipeTables, light_recipe_model: LightModel
) -> None:
    subset = dataset_tables.take(np.arange(0, 325, 3))
    first = fit_light(subset, light_recipe_model)
    second = fit_light(subset, light_recipe_model)
    np.testing.assert_array_equal(first.predict(dataset_tables), second.predict(dataset_tables))
    assert first.interval_width_ == second.interval_width_


def test_intervals_are_calibrated_on_training_rows_only(
    dataset_tables: RecipeTables, light_recipe_model: LightModel
) -> None:
    data = labelled(dataset_tables)
    train, test = seed_split(len(data))
    model = fit_light(data.take(train), light_recipe_model)
    # Changing the held-out beers' IBUs changes nothing in the fitted model's answers.
    held_out = data.take(test)
    before = model.predict_interval(held_out)
    held_out.beers["ibu"] = 999.0
    after = model.predict_interval(held_out)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_intervals_contain_the_prediction(
    fitted_models: dict[str, IbuModel], dataset_tables: RecipeTables
) -> None:
    for model in fitted_models.values():
        prediction, low, high = model.predict_interval(dataset_tables)
        assert np.all(low <= prediction) and np.all(prediction <= high) and np.all(low >= 0)
        assert np.all(low < high)


def test_the_recipe_interval_is_multiplicative_and_the_baseline_interval_additive(
    fitted_models: dict[str, IbuModel],
) -> None:
    """The recipe model's interval is ±width in log(1 + IBU); the baseline's ±width in IBU; a low
    end below 0 IBU is shown as 0."""
    prediction = np.array([0.0, 0.4, 10.0, 120.0])
    recipe, baseline = fitted_models["recipe"], fitted_models["baseline"]
    width = recipe.interval_width_
    _, low, high = recipe.interval_of(prediction)
    np.testing.assert_allclose(low, np.clip(np.expm1(np.log1p(prediction) - width), 0.0, None))
    assert low[1] == 0.0 < low[2]
    np.testing.assert_allclose(high, np.expm1(np.log1p(prediction) + width))
    width = baseline.interval_width_
    assert 0.4 < width < 60.0
    shown, low, high = baseline.interval_of(prediction)
    np.testing.assert_array_equal(shown, prediction)
    np.testing.assert_allclose(low, np.clip(prediction - width, 0.0, None))
    np.testing.assert_allclose(high, prediction + width)
    assert low[1] == 0.0 and high[0] == width


def test_residuals_are_on_the_interval_scale_with_negative_answers_counted_as_zero() -> None:
    actual = np.array([9.0, 0.0, 0.5, 3.0])
    predicted = np.array([99.0, 0.0, -4.0, 0.5])
    log_scale = IbuModel(interval_scale="log").residuals(actual, predicted)
    np.testing.assert_allclose(log_scale, [np.log(10.0), 0.0, np.log1p(0.5), np.log(4 / 1.5)])
    ibu_scale = IbuModel(interval_scale="absolute").residuals(actual, predicted)
    np.testing.assert_allclose(ibu_scale, [90.0, 0.0, 0.5, 2.5])
    assert IbuModel(interval_scale="log").residuals(np.array([-3.0]), np.array([0.0]))[0] == 0.0


def test_conformal_quantile() -> None:
    residuals = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(residuals, 0.1) == 18.0
    assert conformal_quantile(residuals[::-1].copy(), 0.1) == 18.0  # any order
    assert conformal_quantile(residuals, 0.5) == 10.0  # rank ceil(20 * 0.5) = 10
    assert conformal_quantile(np.arange(1, 11, dtype=float), 0.2) == 9.0  # rank ceil(8.8) = 9
    assert conformal_quantile(np.array([1.0, 2.0]), 0.1) == 2.0
    assert conformal_quantile(np.array([3.0]), 0.1) == 3.0
    assert conformal_quantile([4, 1, 2], 0.5) == 2.0  # a plain list of integers
    with pytest.raises(ModelError, match="cannot calibrate an interval without residuals"):
        conformal_quantile(np.array([]), 0.1)


def test_the_width_is_the_conformal_quantile_of_grouped_out_of_fold_residuals(
    recipe_training: RecipeTables, light_recipe_model: LightModel
) -> None:
    """The interval's width is computed from residuals of training rows predicted by models that
    did not see their group, over ``calibration_folds`` grouped folds, one pass."""
    data = recipe_training.take(np.arange(0, len(recipe_training), 4))
    y = data.target()
    model = light_recipe_model(calibration_folds=3, interval_alpha=0.2).fit(data, y)
    X = RecipeFeatures().fit_transform(data)
    residuals = np.zeros(len(y))
    for train, test in grouped_folds(recipe_groups(data), repeats=1, splits=3):
        fold_model = clone(model.regressor).fit(X[train], y[train])
        residuals[test] = np.abs(np.log1p(fold_model.predict(X[test])) - np.log1p(y[test]))
    assert model.interval_width_ == pytest.approx(conformal_quantile(residuals, 0.2), rel=1e-9)
    assert model.n_train_ == len(y)
    assert model.feature_names_ == list(feature_names())


def test_the_interval_is_the_held_out_residual_quantile(
    recipe_training: RecipeTables, light_recipe_model: LightModel
) -> None:
    """Width and coverage checked on beers the model never saw (grouped folds): an interval
    computed with another quantile than 90 % fails here."""
    data = recipe_training
    inside, widths, held_out_residuals = [], [], []
    for train, test in grouped_folds(recipe_groups(data), repeats=1):
        model = light_recipe_model().fit(data.take(train), data.target()[train])
        held_out = data.take(test)
        actual = held_out.target()
        prediction, low, high = model.predict_interval(held_out)
        inside.append((actual >= low) & (actual <= high))
        widths.append(model.interval_width_)
        held_out_residuals.append(model.residuals(actual, prediction))
    coverage = float(np.mean(np.concatenate(inside)))
    quantile = float(np.quantile(np.concatenate(held_out_residuals), 1 - INTERVAL_ALPHA))
    assert 0.85 <= coverage <= 0.95
    assert 0.8 <= float(np.mean(widths)) / quantile <= 1.25


def test_the_monotone_regressor_refuses_constraints_it_cannot_apply() -> None:
    X = np.random.default_rng(0).normal(size=(30, 4))
    regressor = monotone_recipe_regressor().set_params(columns=(0, 1), increasing=(2, 1))
    with pytest.raises(
        ModelError, match=r"increasing columns \[2\] are not among the columns read"
    ):
        regressor.fit(X, np.full(30, 40.0))


def test_the_training_set_must_have_ten_labelled_beers(
    recipe_training: RecipeTables, light_recipe_model: LightModel
) -> None:
    ten = recipe_training.take(np.arange(10))
    model = light_recipe_model(calibration_folds=2)
    assert model.fit(ten, ten.target()).n_train_ == 10
    nine = recipe_training.take(np.arange(9))
    with pytest.raises(ModelError, match="need at least 10 beers with an IBU to train; got 9"):
        model.fit(nine, nine.target())
    with pytest.raises(ModelError, match="got 11 usable"):
        model.fit(ten, np.arange(11.0))  # one label too many
    labels = ten.target().copy()
    labels[3] = np.nan
    with pytest.raises(ModelError, match="need at least 10 beers"):
        model.fit(ten, labels)
    with pytest.raises(ModelError, match="need at least 10 beers"):
        model.fit(ten, [*labels[:3], None, *labels[4:]])  # a plain list, one IBU unknown


def test_the_served_recipe_learner_is_the_documented_one(
    recipe_training: RecipeTables,
) -> None:
    """docs/model.md, *Learner*: 150 boosted trees of depth 3 at learning rate 0.1 with 80 % row
    and column subsampling, 50 extra trees, one thread, seed 42, monotone in the hop features;
    the floor at the 40th percentile of IBU / Tinseth over the 74 training beers above 60
    (ratio 0.79, cap 250)."""
    X, y = RecipeFeatures().fit_transform(recipe_training), recipe_training.target()
    model = make_model("recipe")
    assert (model.model_type, model.interval_scale) == ("recipe", "log")
    assert (model.interval_alpha, model.calibration_folds, model.random_state) == (0.1, 5, 42)
    assert isinstance(model.features, RecipeFeatures)
    regressor = model.regressor.fit(X, y)
    names = feature_names()
    increasing = tuple(names.index(name) for name in MONOTONE_HOP_FEATURES)
    assert regressor.columns_ == increasing + tuple(
        names.index(name) for name in FREE_RECIPE_FEATURES
    )
    constraints = (1,) * len(MONOTONE_HOP_FEATURES) + (0,) * len(FREE_RECIPE_FEATURES)
    booster = regressor.booster_.get_params()
    assert {key: booster[key] for key in BOOSTER_DOCUMENTED} == BOOSTER_DOCUMENTED
    assert booster["monotone_constraints"] == constraints
    assert regressor.booster_.get_booster().num_boosted_rounds() == 150
    forest = regressor.forest_.get_params()
    assert {key: forest[key] for key in FOREST_DOCUMENTED} == FOREST_DOCUMENTED
    assert forest["monotonic_cst"] == list(constraints) and len(regressor.forest_) == 50
    tinseth = X[:, names.index("tinseth_ibu")]
    assert regressor.tinseth_column == names.index("tinseth_ibu")
    assert int(np.sum(tinseth > 60.0)) == 74
    assert regressor.floor_ is not None
    ratio, cap = regressor.floor_
    assert round(ratio, 2) == 0.79 and cap == 250.0
    assert ratio == pytest.approx(np.quantile(y[tinseth > 60.0] / tinseth[tinseth > 60.0], 0.4))


BOOSTER_DOCUMENTED = {
    "n_estimators": 150,
    "max_depth": 3,
    "learning_rate": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1.0,
    "random_state": 42,
    "n_jobs": 1,
}
FOREST_DOCUMENTED = {"n_estimators": 50, "max_features": 1.0, "random_state": 42, "n_jobs": 1}


def test_the_baseline_is_the_original_model() -> None:
    """SimpleImputer(constant -99) + XGBRegressor(100 trees, depth 5, seed 42), the original's
    model, with an interval of ± a constant IBU."""
    model = make_model("baseline")
    assert (model.model_type, model.interval_scale) == ("baseline", "absolute")
    assert isinstance(model.features, SeedFeatures)
    steps = model.regressor.get_params()
    assert [name for name, _ in model.regressor.steps] == ["imputer", "xgb"]
    assert (steps["imputer__strategy"], steps["imputer__fill_value"]) == ("constant", -99)
    assert {key: steps[f"xgb__{key}"] for key in BASELINE_DOCUMENTED} == BASELINE_DOCUMENTED
    with pytest.raises(ModelError, match="unknown --model-type 'forest': use one of baseline, re"):
        make_model("forest")


BASELINE_DOCUMENTED = {"n_estimators": 100, "max_depth": 5, "random_state": 42, "n_jobs": 1}


def test_an_ibu_model_defaults_to_a_90_percent_log_interval() -> None:
    model = IbuModel()
    assert (model.model_type, model.interval_scale, model.interval_alpha) == ("recipe", "log", 0.1)
    assert (model.calibration_folds, model.random_state) == (CALIBRATION_FOLDS, 42)
    assert (model.features, model.regressor) == (None, None)


def test_the_members_are_averaged_in_log_space() -> None:
    """log(1 + IBU) of the boosting and of the forest, averaged, then back to IBU: a geometric
    mean of (1 + IBU), not an arithmetic mean of IBUs."""
    X, y = floor_data()
    model = floored_regressor(tinseth_column=-1).fit(X, y)
    boosted = np.asarray(model.booster_.predict(X), dtype=float)
    forest = model.forest_.predict(X)
    np.testing.assert_allclose(model.predict_log(X), (boosted + forest) / 2.0, rtol=1e-12)
    np.testing.assert_allclose(model.predict(X), np.expm1((boosted + forest) / 2.0), rtol=1e-9)
    alone = floored_regressor(tinseth_column=-1, forest_trees=0).fit(X, y)
    assert alone.forest_ is None
    np.testing.assert_allclose(alone.predict_log(X), alone.booster_.predict(X), rtol=1e-6)


def test_labels_below_zero_count_as_zero() -> None:
    X, y = floor_data()
    zeroes = floored_regressor(tinseth_column=-1).fit(X, np.zeros_like(y))
    np.testing.assert_array_equal(zeroes.predict(X), np.zeros(len(X)))
    negatives = floored_regressor(tinseth_column=-1).fit(X, np.where(y < 100.0, -7.0, y))
    clipped = floored_regressor(tinseth_column=-1).fit(X, np.where(y < 100.0, 0.0, y))
    np.testing.assert_array_equal(negatives.predict(X), clipped.predict(X))
    assert np.all(clipped.predict(X) >= 0.0)


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_missing_free_values_are_filled_with_the_training_median() -> None:
    """For the forest (XGBoost reads a missing value as missing)."""
    X, y = floor_data(40)
    X[:, 1] = np.arange(40.0)
    X[:5, 1] = np.nan
    X = np.column_stack([X, np.full(40, np.nan)])  # a column never known
    model = MonotoneRecipeRegressor(increasing=(0,), n_estimators=10, forest_trees=5).fit(X, y)
    assert model.columns_ == (0, 1, 2)  # no columns named: every column
    np.testing.assert_allclose(
        model.fill_, [np.median(X[:, 0]), np.median(np.arange(5.0, 40)), 0.0]
    )
    row = np.array([[100.0, np.nan, np.nan]])
    filled = np.array([[100.0, model.fill_[1], 0.0]])
    forest_log = 2.0 * model.predict_log(row) - model.booster_.predict(row)
    np.testing.assert_allclose(forest_log, model.forest_.predict(filled), rtol=1e-6)


def floor_data(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Column 0 a Tinseth-like load (0-200), column 1 noise; IBU = 0.9 x the load + 5."""
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.uniform(0.0, 200.0, n), rng.normal(size=n)])
    return X, 0.9 * X[:, 0] + 5.0


def floored_regressor(**params: Any) -> MonotoneRecipeRegressor:
    params = {"tinseth_column": 0, "n_estimators": 50, "forest_trees": 10, **params}
    return MonotoneRecipeRegressor(columns=(0, 1), increasing=(0,), **params)


def floor_of(model: MonotoneRecipeRegressor) -> tuple[float, float]:
    assert model.floor_ is not None
    return model.floor_


def test_the_floor_ratio_is_the_stated_quantile_of_ibu_over_tinseth() -> None:
    X, y = floor_data()
    y = y * (1.0 + X[:, 1] ** 2 / 10)  # ratios that differ between beers
    model = floored_regressor(floor_quantile=0.25, floor_min_tinseth=60.0).fit(X, y)
    hopped = X[:, 0] > 60.0
    ratio, cap = floor_of(model)
    assert ratio == pytest.approx(np.quantile(y[hopped] / X[hopped, 0], 0.25))
    assert cap == pytest.approx(y.max())
    for quantile in (0.0, 1.0):  # the bounds are quantiles too
        ratio, _ = floor_of(floored_regressor(floor_quantile=quantile).fit(X, y))
        assert ratio == pytest.approx(np.quantile(y[hopped] / X[hopped, 0], quantile))


def test_the_floor_counts_beers_strictly_above_the_threshold_with_a_known_load() -> None:
    X, y = floor_data()
    X[:10, 0] = 60.0  # at the threshold: left out (their ratio would be the largest)
    y[:10] = 300.0
    X[10:15, 0] = np.nan  # no Tinseth estimate: left out
    model = floored_regressor(floor_quantile=1.0).fit(X, y)
    kept = np.isfinite(X[:, 0]) & (X[:, 0] > 60.0)
    assert floor_of(model)[0] == pytest.approx(np.max(y[kept] / X[kept, 0]))
    assert floor_of(model)[1] == 300.0  # the cap is the largest label of all


def test_five_hopped_beers_are_enough_for_a_floor() -> None:
    X, y = floor_data()
    five = np.argsort(X[:, 0])[-5:]
    threshold = float(np.sort(X[:, 0])[-6])  # exactly five beers above it
    assert floor_of(floored_regressor(floor_min_tinseth=threshold).fit(X, y))[0] > 0.8
    assert np.sum(X[:, 0] > threshold) == 5 == len(five)


def test_beyond_the_training_loads_the_prediction_follows_the_floor() -> None:
    """Trees alone answer a recipe hopped past every training beer with their most bitter
    neighbours' IBU; the floor lifts it towards ratio x Tinseth, capped at the largest label."""
    X, y = floor_data()
    floored = floored_regressor().fit(X, y)
    plain = floored_regressor(tinseth_column=-1).fit(X, y)
    far = np.array([[180.0, 0.0], [400.0, 0.0], [4000.0, 0.0]])
    ratio, cap = floor_of(floored)
    expected = np.minimum(ratio * far[:, 0], cap)
    np.testing.assert_allclose(floored.floor(far), expected)
    assert np.all(floored.predict(far) >= expected)
    assert floored.predict(far)[2] == pytest.approx(cap)
    assert plain.predict(far)[1] < floored.predict(far)[1]
    np.testing.assert_array_equal(plain.floor(far), np.zeros(3))
    # A load below 1 IBU scales the floor down; an unknown or negative load gives no floor.
    odd = np.array([[0.5, 0.0], [np.nan, 0.0], [-50.0, 0.0]])
    np.testing.assert_allclose(floored.floor(odd), [0.5 * ratio, 0.0, 0.0])
    assert np.all(floored.predict(odd) >= 0.0)


def test_too_few_hopped_training_beers_give_no_floor() -> None:
    X, y = floor_data()
    threshold = float(np.sort(X[:, 0])[-5])  # four beers above it
    model = floored_regressor(floor_min_tinseth=threshold).fit(X, y)
    assert model.floor_ is None
    np.testing.assert_array_equal(model.floor(X), np.zeros(len(X)))


def test_a_floor_quantile_outside_0_1_is_refused_by_name() -> None:
    X, y = floor_data()
    for bad in (1.5, -0.1, 1.01):
        with pytest.raises(ModelError, match=f"floor_quantile must be in \\[0, 1\\]; got {bad}"):
            floored_regressor(floor_quantile=bad).fit(X, y)


def test_the_forest_member_answers_the_same_for_one_row_and_for_a_batch() -> None:
    """One recipe goes through the flattened trees, a batch through scikit-learn, a large batch in
    row chunks on two threads: the same answers."""
    X, y = floor_data(200)
    X[::7, 1] = np.nan  # a missing free value is filled with the training median
    model = floored_regressor(forest_trees=40).fit(X, y)
    batch = model.predict(np.repeat(X[:3], 30, axis=0))[::30]
    one_by_one = np.array([model.predict(X[i : i + 1])[0] for i in range(3)])
    np.testing.assert_allclose(one_by_one, batch, rtol=1e-12)
    from punkml.ml.fast_forest import PARALLEL_MIN_ROWS
    from punkml.ml.models import set_threads

    many = np.repeat(X[:3], PARALLEL_MIN_ROWS // 3 + 1, axis=0)
    single_threaded = model.predict(many)
    set_threads(model, 2)  # row chunks on two threads: the same bits
    np.testing.assert_array_equal(model.predict(many), single_threaded)
    # A refit drops the flattened trees of the first fit (a new forest may reuse an old id).
    assert model.__dict__.get("_flat_cache")
    refitted = model.fit(X, 2.0 * y)
    assert not refitted.__dict__.get("_flat_cache")
    np.testing.assert_allclose(
        refitted.predict(X[:1]), refitted.predict(np.repeat(X[:1], 80, axis=0))[:1], rtol=1e-12
    )
    without_forest = floored_regressor(forest_trees=0).fit(X, y)
    assert not np.allclose(without_forest.predict(X[:3]), model.predict(X[:3]))


def booster_threads(booster: Any) -> int:
    """The thread count the XGBoost booster itself will use."""
    config = json.loads(booster.get_booster().save_config())
    return int(config["learner"]["generic_param"]["nthread"])


def test_set_threads_reaches_every_fitted_estimator(fitted_models: dict[str, IbuModel]) -> None:
    """Training runs on one thread; ``set_threads`` changes the wrappers and the boosters of both
    served models (the baseline's XGBoost is a step of a pipeline)."""
    recipe, baseline = (
        copy.deepcopy(fitted_models["recipe"]),
        copy.deepcopy(fitted_models["baseline"]),
    )
    xgb = baseline.regressor_.named_steps["xgb"]
    assert booster_threads(recipe.regressor_.booster_) == 1 == booster_threads(xgb)
    for threads in (2, 1):
        set_threads(recipe, threads)
        set_threads(baseline, threads)
        members = (recipe.regressor_, recipe.regressor_.booster_, recipe.regressor_.forest_, xgb)
        assert [member.n_jobs for member in members] == [threads] * 4
        assert booster_threads(recipe.regressor_.booster_) == threads == booster_threads(xgb)


def test_recipe_keys_are_stable_across_versions(fitted_models: dict[str, IbuModel]) -> None:
    """Out-of-fold predictions are stored under these keys: the same row must give the same key
    in every version (a missing value as -999, rounded to 9 decimals, 16 hex digits)."""
    model = fitted_models["recipe"]
    rows = np.array([[1.0, np.nan, 0.1234567891], [1.0, -999.0, 0.12345678911], [1.0, 0.0, 0.1]])
    keys = model.recipe_keys(rows)
    assert keys[0] == keys[1] != keys[2]
    assert keys == RECIPE_KEYS
    whole = np.array([[1, 0, 3]])  # the same row as integers or floats: one key
    assert model.recipe_keys(whole) == model.recipe_keys(whole.astype(float))


RECIPE_KEYS = ["1d00ace7a7514059", "1d00ace7a7514059", "5509637554f874c2"]


def test_a_negative_answer_of_the_regressor_is_shown_as_zero(
    dataset_tables: RecipeTables,
) -> None:
    """Whatever the regressor, a prediction never goes below 0 IBU (here a linear one
    extrapolating an ABV far below the training beers')."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    data = labelled(dataset_tables)
    data = data.take(np.flatnonzero(data.beers["abv"].to_numpy() > 3.0))
    y = 10.0 * data.beers["abv"].to_numpy() - 29.5  # exactly linear in ABV
    linear = make_pipeline(SimpleImputer(), LinearRegression())
    model = IbuModel(features=SeedFeatures(), regressor=linear, interval_scale="absolute")
    model.fit(data, y)
    assert model.interval_width_ == pytest.approx(0.0, abs=1e-6)
    X = model.features_.transform(data.take([0, 1])).copy()
    X[:, 0] = [2.0, 3.0]  # -9.5 and 0.5 IBU on the line
    np.testing.assert_allclose(model.predict_features(X), [0.0, 0.5], atol=1e-6)


# -- physics: property tests over dataset recipes and random recipes ---------------------------


def predict_one(model: IbuModel, tables: RecipeTables) -> float:
    return float(model.predict(tables)[0])


@pytest.fixture(scope="module")
def recipe_model(fitted_models: dict[str, IbuModel]) -> IbuModel:
    return fitted_models["recipe"]


@PROPERTY_SETTINGS
@given(index=st.integers(0, 324), factor=st.floats(1.01, 8.0))
def test_more_boil_hops_never_lower_a_dataset_prediction(
    recipe_model: IbuModel, dataset_tables: RecipeTables, index: int, factor: float
) -> None:
    beer = dataset_tables.take([index])
    assert predict_one(recipe_model, scale_boil_hops(beer, factor)) >= predict_one(
        recipe_model, beer
    )


def lengthen_boil(tables: RecipeTables, extra_minutes: list[float]) -> RecipeTables:
    hops = tables.hop_additions.copy()
    boiled = hops["stage"].isin(["boil", "first-wort"]).to_numpy()
    extra = np.resize(np.asarray(extra_minutes, dtype=float), len(hops))
    minutes = hops["boil_minutes"].to_numpy(dtype=float)
    hops["boil_minutes"] = np.where(boiled, np.nan_to_num(minutes) + extra, minutes)
    return RecipeTables(beers=tables.beers, hop_additions=hops, malts=tables.malts)


@PROPERTY_SETTINGS
@given(
    index=st.integers(0, 324),
    extra=st.lists(st.floats(0.0, 60.0), min_size=1, max_size=6),
)
def test_longer_boils_never_lower_a_dataset_prediction(
    recipe_model: IbuModel, dataset_tables: RecipeTables, index: int, extra: list[float]
) -> None:
    beer = dataset_tables.take([index])
    assert predict_one(recipe_model, lengthen_boil(beer, extra)) >= predict_one(recipe_model, beer)


@PROPERTY_SETTINGS
@given(index=st.integers(0, 324), factor=st.floats(0.0, 10.0))
def test_dry_hops_do_not_move_a_dataset_prediction(
    recipe_model: IbuModel, dataset_tables: RecipeTables, index: int, factor: float
) -> None:
    beer = dataset_tables.take([index])
    hops = beer.hop_additions.copy()
    dry = (hops["stage"] == "dry-hop").to_numpy()
    hops["grams"] = np.where(dry, hops["grams"].to_numpy(dtype=float) * factor, hops["grams"])
    changed = RecipeTables(beers=beer.beers, hop_additions=hops, malts=beer.malts)
    moved = abs(predict_one(recipe_model, changed) - predict_one(recipe_model, beer))
    assert moved <= DRY_HOP_TOLERANCE_IBU


hop_addition = st.fixed_dictionaries(
    {
        "name": st.sampled_from(VARIETIES),
        "amount": st.fixed_dictionaries({"value": st.floats(1.0, 300.0), "unit": st.just("grams")}),
        "add": st.sampled_from(["start", "middle", "end", "90", "60", "30", "10", "5", "0"]),
        "attribute": st.sampled_from(["bittering", "flavour", "aroma"]),
    }
)
dry_hop = st.fixed_dictionaries(
    {
        "name": st.sampled_from(VARIETIES),
        "amount": st.fixed_dictionaries({"value": st.floats(1.0, 400.0), "unit": st.just("grams")}),
        "add": st.just("dry hop"),
        "attribute": st.just("aroma"),
    }
)


def random_beer(beer_factory: Any, hops: list[dict[str, Any]], abv: float) -> dict[str, Any]:
    beer = beer_factory(1, abv=abv, target_og=1000 + abv * 8, target_fg=1010.0)
    beer["ingredients"]["hops"] = hops
    return beer


@PROPERTY_SETTINGS
@given(
    boil=st.lists(hop_addition, min_size=1, max_size=5),
    dry=st.lists(dry_hop, max_size=3),
    abv=st.floats(3.0, 12.0),
    factor=st.floats(1.01, 6.0),
    other_dry=st.lists(dry_hop, max_size=3),
)
def test_random_recipes_are_physical(
    recipe_model: IbuModel,
    beer_factory: Any,
    boil: list[dict[str, Any]],
    dry: list[dict[str, Any]],
    abv: float,
    factor: float,
    other_dry: list[dict[str, Any]],
) -> None:
    scaled = copy.deepcopy(boil)
    for hop in scaled:
        hop["amount"]["value"] *= factor
    recipes = [
        random_beer(beer_factory, boil + dry, abv),
        random_beer(beer_factory, scaled + dry, abv),
        random_beer(beer_factory, boil + other_dry, abv),
    ]
    base, more_hops, other_dry_hops = recipe_model.predict(tables_from_beers(recipes))
    assert more_hops >= base
    assert abs(other_dry_hops - base) <= DRY_HOP_TOLERANCE_IBU


def test_predictions_vary_smoothly_instead_of_snapping_to_labels(
    recipe_model: IbuModel, dataset_tables: RecipeTables
) -> None:
    labels = np.unique(np.round(dataset_tables.target()[~np.isnan(dataset_tables.target())], 2))
    rng = np.random.default_rng(7)
    factors = rng.uniform(0.7, 1.4, size=8)
    predictions = np.concatenate(
        [recipe_model.predict(scale_boil_hops(dataset_tables, k)) for k in factors]
    )
    assert np.mean(np.isin(np.round(predictions, 2), labels)) < 0.05
