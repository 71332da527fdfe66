"""The normalization of messy recipe values, value by value (see docs/normalization.md)."""

from __future__ import annotations

from collections import Counter

import pytest

from punkml.pipeline.normalize import (
    addition_minutes,
    alpha_from_attribute,
    boil_length_minutes,
    grams,
    is_hop,
    kilograms,
    litres,
    normalize_attribute,
    normalize_stage,
)
from punkml.source.dataset import load_beers


@pytest.mark.parametrize(
    ("add", "expected"),
    [
        # every spelling in punkapi-db 2.6.0
        ("start", ("boil", 60.0)),
        ("Start", ("boil", 60.0)),
        ("Kettle", ("boil", 60.0)),
        ("middle", ("boil", 30.0)),
        ("Middle", ("boil", 30.0)),
        ("end", ("boil", 0.0)),
        ("End", ("boil", 0.0)),
        ("Flame Out", ("boil", 0.0)),
        ("Flame out", ("boil", 0.0)),
        ("0", ("boil", 0.0)),
        ("10", ("boil", 10.0)),
        ("15", ("boil", 15.0)),
        ("30", ("boil", 30.0)),
        ("45", ("boil", 45.0)),
        ("60", ("boil", 60.0)),
        ("65", ("boil", 65.0)),
        ("70", ("boil", 70.0)),
        ("90", ("boil", 90.0)),
        ("Whirlpool", ("whirlpool", 0.0)),
        ("whirlpool", ("whirlpool", 0.0)),
        ("First Wort Hops", ("first-wort", 60.0)),
        ("Mash", ("mash", None)),
        ("dry hop", ("dry-hop", None)),
        ("Dry Hop", ("dry-hop", None)),
        ("fv", ("dry-hop", None)),
        ("FV", ("dry-hop", None)),
        ("FV Addition", ("dry-hop", None)),
        ("secondary", ("dry-hop", None)),
        ("maturation", ("dry-hop", None)),
        ("Wood Ageing", ("other", None)),
        ("Additions", ("other", None)),
        # spellings of newer editions and other recipe sources
        ("Dry Hop, at Day 8", ("dry-hop", None)),
        ("Day 3", ("dry-hop", None)),
        ("DH", ("dry-hop", None)),
        ("WHP", ("whirlpool", 0.0)),
        ("Hop stand", ("whirlpool", 0.0)),
        ("60 min", ("boil", 60.0)),
        ("60 mins", ("boil", 60.0)),
        ("@15", ("boil", 15.0)),
        ("Boil 20", ("boil", 20.0)),
        ("Knockout", ("boil", 0.0)),
        ("FWH", ("first-wort", 60.0)),
        ("", ("other", None)),
        ("???", ("other", None)),
    ],
)
def test_normalize_stage_maps_every_spelling(add: str, expected: tuple[str, float | None]) -> None:
    assert normalize_stage(add, 60.0) == expected


def test_start_middle_and_first_wort_follow_the_boil_length() -> None:
    assert normalize_stage("start", 90.0) == ("boil", 90.0)
    assert normalize_stage("middle", 90.0) == ("boil", 45.0)
    assert normalize_stage("First Wort Hops", 75.0) == ("first-wort", 75.0)


def test_boil_length_is_sixty_unless_a_timed_addition_is_longer() -> None:
    assert boil_length_minutes(["start", "end", "dry hop"]) == 60.0
    assert boil_length_minutes(["70", "15", "Flame Out"]) == 70.0
    assert boil_length_minutes(["90", "start"]) == 90.0
    assert boil_length_minutes([]) == 60.0


def test_addition_minutes_rejects_text_and_absurd_times() -> None:
    assert addition_minutes("start") is None
    assert addition_minutes("1000") is None
    assert addition_minutes("7.5") == 7.5
    assert addition_minutes("10,5 min") == 10.5


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("bitter", "bittering"),
        ("Bitter", "bittering"),
        ("Bittering", "bittering"),
        ("Bitering", "bittering"),
        ("flavour", "flavour"),
        ("Flavour", "flavour"),
        ("flavoour", "flavour"),
        ("flavouor", "flavour"),
        ("aroma", "aroma"),
        ("Aroma", "aroma"),
        (" aroma", "aroma"),
        ("aroma / bitter", "aroma"),
        ("twist", "twist"),
        ("Wood Ageing", "other"),
        ("", "other"),
    ],
)
def test_normalize_attribute(attribute: str, expected: str) -> None:
    assert normalize_attribute(attribute) == expected


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("10% Alpha", 10.0),
        ("Bittering, 12.5% alpha", 12.5),
        ("alpha acid 4.2%", 4.2),
        ("AA: 7%", 7.0),
        ("5,5 % AA", 5.5),
        ("bitter", None),
        ("95% alpha", None),
        ("", None),
    ],
)
def test_alpha_from_attribute(attribute: str, expected: float | None) -> None:
    assert alpha_from_attribute(attribute) == expected


@pytest.mark.parametrize(
    "name",
    [
        "Simcoe",
        "Citra",
        "Mandarina Bavaria",
        "Hallertauer Mittelfrüh",
        "CO2 Extract",
        "C02 Extract",
        "Columbus Extract",
        "Hop Extract",
        "Crystal",
        "Huell Melon",
        "Sorachi Ace",
        "Bramling Cross/ First Gold",
        "Mt.Hood",
        "HBC 369",
    ],
)
def test_hops_are_hops(name: str) -> None:
    assert is_hop(name)


@pytest.mark.parametrize(
    "name",
    [
        "Coffee",
        "Cold Brew Coffee",
        "Heather Honey",
        "Ginger Powder",
        "Bitter Orange Peel",
        "Lemon Peel",
        "Vanilla Extract",
        "Tangerine Extract",
        "Cacao Nibs",
        "Juniper Berries",
        "Raspberry Juice",
        "Sour Cherry Puree",
        "Mandarin Segements",
        "Star Anis",
        "Pink Peppercorns",
        "1 lemon drop chilli",
        "Sodium Chloride",
        "Lactose",
        "Maple Syrup",
        "Oak Chips",
        "American Oak Chips Medium Toast Soaked in Bourbon",
        "Bay Leaves",
        "Poppy Seed",
        "Jasmine",
        "Earl Grey Tea",
    ],
)
def test_non_hops_are_not_hops(name: str) -> None:
    assert not is_hop(name)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (20, "grams", 20.0),
        (1, "kilogram", 1000.0),
        (1.5, "kilograms", 1500.0),
        (160, "ml", 160.0),
        (1, "oz", 28.349523125),
        (1, "total", None),
        (None, "grams", None),
        (-5, "grams", None),
        (3, "pieces", None),
    ],
)
def test_grams(value: float | None, unit: str, expected: float | None) -> None:
    if expected is None:
        assert grams(value, unit) is None
    else:
        assert grams(value, unit) == pytest.approx(expected)


def test_kilograms_and_litres() -> None:
    assert kilograms(4.75, "kilograms") == 4.75
    assert kilograms(250, "grams") == 0.25
    assert kilograms(None, "kilograms") is None
    assert litres(20, "litres") == 20.0
    assert litres(5, "gallons") == pytest.approx(18.927, abs=1e-3)
    assert litres(0, "litres") is None
    assert litres(20, "buckets") is None


def test_every_dataset_addition_has_a_known_stage_and_counts_match() -> None:
    beers = load_beers()
    stages = Counter(
        normalize_stage(hop["add"], 60.0)[0]
        for beer in beers
        for hop in beer["ingredients"]["hops"]
    )
    # 'Wood Ageing' (5) and 'Additions' (1) are the only additions without a hop stage.
    assert stages["other"] == 6
    assert stages["dry-hop"] == 253 + 153 + 4 + 1 + 1 + 1 + 1
    assert stages["whirlpool"] == 9
    assert stages["mash"] == 3
    assert stages["first-wort"] == 1


def test_non_hop_share_in_dataset_is_small_and_includes_coffee() -> None:
    names = {hop["name"] for beer in load_beers() for hop in beer["ingredients"]["hops"]}
    non_hops = {name for name in names if not is_hop(name)}
    assert {"Coffee", "Honey", "Ginger"} <= non_hops
    assert not {"Simcoe", "Citra", "Amarillo", "Centennial"} & non_hops
