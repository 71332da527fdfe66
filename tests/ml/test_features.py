"""Recipe features: values, defaults for partial recipes, newer DIY Dog spellings, no leakage."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.features import RecipeFeatures, SeedFeatures, feature_names


def features_of(beers: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    matrix = RecipeFeatures().fit_transform(tables_from_beers(beers))
    return {name: matrix[:, i] for i, name in enumerate(feature_names())}


def test_tinseth_by_hand(beer_factory: Any) -> None:
    beer = beer_factory()
    beer["ingredients"]["hops"] = [
        {
            "name": "Magnum",
            "amount": {"value": 20, "unit": "grams"},
            "add": "60",
            "attribute": "Bittering",
        }
    ]
    got = features_of([beer])
    boil_gravity = 1 + 0.056 * 20 / 25
    utilisation = 1.65 * 0.000125 ** (boil_gravity - 1) * (1 - math.exp(-0.04 * 60)) / 4.15
    expected = utilisation * 13.0 / 100 * 20 * 1000 / 20
    assert got["tinseth_ibu"][0] == pytest.approx(expected)
    assert got["alpha_mg_l_bittering"][0] == pytest.approx(13.0 * 10 * 20 / 20)


def test_newer_spellings_land_in_their_stages(beer_factory: Any) -> None:
    got = features_of([beer_factory()])
    assert got["hop_g_l_bittering"][0] == pytest.approx(20 / 20)  # '60'
    assert got["hop_g_l_hot"][0] == pytest.approx(50 / 20)  # 'WHP' (whirlpool)
    assert got["hop_g_l_dry"][0] == pytest.approx(100 / 20)  # 'Dry Hop, at Day 8'
    assert got["hop_g_l_other"][0] == 0


def test_alpha_from_the_attribute_overrides_the_table(beer_factory: Any) -> None:
    plain, stated = beer_factory(1), beer_factory(2)
    stated["ingredients"]["hops"][0]["attribute"] = "10% Alpha"
    got = features_of([plain, stated])
    assert got["alpha_mg_l_bittering"][0] == pytest.approx(13.0 * 10)
    assert got["alpha_mg_l_bittering"][1] == pytest.approx(10.0 * 10)
    assert got["stated_alpha_share"][1] == pytest.approx(1 / 3)


def test_non_hops_do_not_add_bitterness(beer_factory: Any) -> None:
    beer = beer_factory()
    beer["ingredients"]["hops"].append(
        {
            "name": "Honey",
            "amount": {"value": 2, "unit": "kilogram"},
            "add": "60",
            "attribute": "Flavour",
        }
    )
    without = features_of([beer_factory()])
    got = features_of([beer])
    assert got["tinseth_ibu"][0] == pytest.approx(without["tinseth_ibu"][0])
    assert got["nonhop_g_l"][0] == pytest.approx(2000 / 20)


def test_partial_recipe_takes_the_defaults(beer_factory: Any) -> None:
    beer = beer_factory(target_og=None, target_fg=None, abv=None, ebc=None, ph=None)
    beer["ingredients"]["malt"] = []
    beer["ingredients"]["yeast"] = None
    got = features_of([beer])
    assert got["og"][0] == pytest.approx(1.050)
    assert math.isnan(got["ebc"][0])
    assert got["malt_kg_l"][0] == 0
    assert got["tinseth_ibu"][0] > 0


def test_implausible_og_is_repaired_from_fg_and_abv(beer_factory: Any) -> None:
    got = features_of([beer_factory(target_og=1013.0, target_fg=1010.0, abv=6.7)])
    assert got["og"][0] == pytest.approx(1.010 + 6.7 / 131.25)


def test_units_volumes_and_liquids(beer_factory: Any) -> None:
    beer = beer_factory(volume={"value": 10, "unit": "litres"})
    beer["ingredients"]["hops"][0]["amount"] = {"value": 0.02, "unit": "kilograms"}
    got = features_of([beer])
    assert got["hop_g_l_bittering"][0] == pytest.approx(20 / 10)


def test_features_never_read_the_ibu(dataset_tables: RecipeTables) -> None:
    transformer = RecipeFeatures().fit(dataset_tables)
    before = transformer.transform(dataset_tables)
    scrambled = dataset_tables.beers.copy()
    scrambled["ibu"] = np.random.default_rng(0).uniform(0, 300, len(scrambled))
    scrambled["ibu_flag"] = None
    tables = RecipeTables(scrambled, dataset_tables.hop_additions, dataset_tables.malts)
    np.testing.assert_array_equal(before, transformer.transform(tables))
    assert not any("ibu" in name and "tinseth" not in name for name in feature_names())


def test_one_row_per_beer_in_order(dataset_tables: RecipeTables) -> None:
    matrix = RecipeFeatures().fit_transform(dataset_tables)
    assert matrix.shape == (325, len(feature_names()))
    subset = dataset_tables.take([10, 3])
    np.testing.assert_array_equal(RecipeFeatures().fit_transform(subset), matrix[[10, 3]])


def test_seed_features_are_the_original_columns(dataset_tables: RecipeTables) -> None:
    matrix = SeedFeatures().fit_transform(dataset_tables)
    assert matrix.shape == (325, 6)
    assert matrix[0].tolist() == [4.5, 1010, 1044, 20, 10, 4.4]
