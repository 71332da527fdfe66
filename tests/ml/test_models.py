"""The served models: training population, determinism, calibrated intervals (the right quantile,
checked on held-out groups), and the recipe model's physics, proved by property tests."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from punkml.errors import ModelError
from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.evaluate import labelled, scale_boil_hops
from punkml.ml.folds import grouped_folds, recipe_groups, seed_split
from punkml.ml.models import (
    INTERVAL_ALPHA,
    IbuModel,
    conformal_quantile,
    make_model,
    monotone_recipe_regressor,
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


def fit_on(tables: RecipeTables, model_type: str) -> IbuModel:
    train = tables.take(np.flatnonzero(training_mask(tables, model_type)))
    return make_model(model_type).fit(train, train.target())


def test_same_data_and_seed_give_the_same_model(dataset_tables: RecipeTables) -> None:
    subset = dataset_tables.take(np.arange(0, 325, 2))
    first, second = fit_on(subset, "recipe"), fit_on(subset, "recipe")
    np.testing.assert_array_equal(first.predict(dataset_tables), second.predict(dataset_tables))
    assert first.interval_width_ == second.interval_width_


def test_intervals_are_calibrated_on_training_rows_only(dataset_tables: RecipeTables) -> None:
    data = labelled(dataset_tables)
    train, test = seed_split(len(data))
    model = fit_on(data.take(train), "recipe")
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


def test_conformal_quantile() -> None:
    residuals = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(residuals, 0.1) == 18.0
    assert conformal_quantile(np.array([1.0, 2.0]), 0.1) == 2.0
    with pytest.raises(ModelError, match="residuals"):
        conformal_quantile(np.array([]), 0.1)


def test_the_interval_is_the_held_out_residual_quantile(dataset_tables: RecipeTables) -> None:
    """Width and coverage checked on beers the model never saw (grouped folds): an interval
    computed with another quantile than 90 % fails here."""
    data = labelled(dataset_tables)
    data = data.take(np.flatnonzero(training_mask(data, "recipe")))
    inside, widths, held_out_residuals = [], [], []
    for train, test in grouped_folds(recipe_groups(data), repeats=1):
        model = make_model("recipe").fit(data.take(train), data.target()[train])
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
    regressor = monotone_recipe_regressor().set_params(columns=(0, 1), increasing=(2,))
    with pytest.raises(ModelError, match="increasing columns"):
        regressor.fit(X, np.full(30, 40.0))


def floor_data(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Column 0 a Tinseth-like load (0-200), column 1 noise; IBU = 0.9 x the load + 5."""
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.uniform(0.0, 200.0, n), rng.normal(size=n)])
    return X, 0.9 * X[:, 0] + 5.0


def floored_regressor(**params: Any) -> Any:
    from punkml.ml.models import MonotoneRecipeRegressor

    params = {"tinseth_column": 0, "n_estimators": 50, **params}
    return MonotoneRecipeRegressor(columns=(0, 1), increasing=(0,), **params)


def test_the_floor_ratio_is_the_stated_quantile_of_ibu_over_tinseth() -> None:
    X, y = floor_data()
    model = floored_regressor(floor_quantile=0.25, floor_min_tinseth=60.0).fit(X, y)
    hopped = X[:, 0] > 60.0
    assert model.floor_ratio_ == pytest.approx(np.quantile(y[hopped] / X[hopped, 0], 0.25))
    assert model.floor_cap_ == pytest.approx(y.max())


def test_beyond_the_training_loads_the_prediction_follows_the_floor() -> None:
    """Trees alone answer a recipe hopped past every training beer with their most bitter
    neighbours' IBU; the floor lifts it towards ratio x Tinseth, capped at the largest label."""
    X, y = floor_data()
    floored = floored_regressor().fit(X, y)
    plain = floored_regressor(tinseth_column=-1).fit(X, y)
    far = np.array([[180.0, 0.0], [400.0, 0.0], [4000.0, 0.0]])
    expected = np.minimum(floored.floor_ratio_ * far[:, 0], floored.floor_cap_)
    np.testing.assert_allclose(floored.floor(far), expected)
    assert np.all(floored.predict(far) >= expected)
    assert floored.predict(far)[2] == pytest.approx(floored.floor_cap_)
    assert plain.predict(far)[1] < floored.predict(far)[1]
    np.testing.assert_array_equal(plain.floor(far), np.zeros(3))


def test_too_few_hopped_training_beers_give_no_floor() -> None:
    X, y = floor_data()
    model = floored_regressor(floor_min_tinseth=195.0).fit(X, y)  # fewer than 5 beers above
    assert model.floor_ratio_ == 0.0
    np.testing.assert_array_equal(model.floor(X), np.zeros(len(X)))


def test_a_floor_quantile_outside_0_1_is_refused_by_name() -> None:
    X, y = floor_data()
    with pytest.raises(ModelError, match="floor_quantile"):
        floored_regressor(floor_quantile=1.5).fit(X, y)


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
