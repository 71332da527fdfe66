"""The Punk API v2 beer schema: every beer of the pinned dataset validates, bad beers are refused
with a message naming the field path."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from punkml.errors import SchemaError
from punkml.source.dataset import BEER_COUNT, fetch_dataset, load_beers
from punkml.source.schema import validate_beer, validate_beer_json


@pytest.fixture(scope="module")
def dataset_beers(punkapi_tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The 325 beers of the verified tarball, from a temporary cache."""
    path = fetch_dataset(from_file=punkapi_tarball, cache=tmp_path_factory.mktemp("cache"))
    return load_beers(path)


def test_every_dataset_beer_validates(dataset_beers: list[dict[str, Any]]) -> None:
    assert len(dataset_beers) == BEER_COUNT
    for beer in dataset_beers:
        validated = validate_beer(beer)
        assert validated["id"] == beer["id"]
        assert validated["name"] == beer["name"]
        assert validate_beer_json(json.dumps(beer))["id"] == beer["id"]


def test_every_served_field_is_kept(dataset_beers: list[dict[str, Any]]) -> None:
    beer = next(beer for beer in dataset_beers if beer["id"] == 42)
    assert validate_beer(beer) == beer  # the schema declares every field the API serves


def test_a_valid_beer_built_in_code(beer_factory: Callable[..., dict[str, Any]]) -> None:
    beer = beer_factory(7)
    assert validate_beer(beer)["ingredients"]["hops"][1]["amount"]["value"] == 12.5


@pytest.mark.parametrize(
    ("break_beer", "path"),
    [
        (lambda beer: beer.pop("name"), "name"),
        (lambda beer: beer.update(name=""), "name"),
        (lambda beer: beer.update(id=0), "id"),
        (lambda beer: beer.update(id="one"), "id"),
        (
            lambda beer: beer["ingredients"]["hops"][1]["amount"].update(value="lots"),
            "ingredients.hops.1.amount.value",
        ),
        (lambda beer: beer["ingredients"]["malt"][0].pop("name"), "ingredients.malt.0.name"),
        (lambda beer: beer["method"].update(mash_temp="hot"), "method.mash_temp"),
        (lambda beer: beer.update(food_pairing=["x"] * 101), "food_pairing"),
        (lambda beer: beer.pop("volume"), "volume"),
    ],
)
def test_bad_beers_name_the_field_path(
    break_beer: Callable[[dict[str, Any]], Any],
    path: str,
    beer_factory: Callable[..., dict[str, Any]],
) -> None:
    beer = beer_factory(3)
    break_beer(beer)
    with pytest.raises(SchemaError) as caught:
        validate_beer(beer)
    message = str(caught.value)
    assert f"{path}:" in message
    assert "\n" not in message


def test_a_bad_beer_json_names_the_field_path(beer_factory: Callable[..., dict[str, Any]]) -> None:
    beer = beer_factory(3)
    beer["ingredients"]["hops"][1]["amount"]["value"] = "lots"
    with pytest.raises(SchemaError, match=r"ingredients\.hops\.1\.amount\.value"):
        validate_beer_json(json.dumps(beer))


@pytest.mark.parametrize(
    ("literal", "path"),
    [
        ("NaN", "abv"),
        ("Infinity", "ibu"),
        ("-Infinity", "ph"),
        ("1e400", "volume.value"),
        ("-1e999", "ingredients.malt.0.amount.value"),
    ],
)
def test_numbers_must_be_finite(
    beer_factory: Callable[..., dict[str, Any]], literal: str, path: str
) -> None:
    beer = beer_factory(5)
    target: Any = beer
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = 123456.5  # a marker to swap for the literal in the JSON text
    text = json.dumps(beer).replace("123456.5", literal)
    with pytest.raises(SchemaError, match=rf"{re.escape(path)}: Input should be a finite number"):
        validate_beer_json(text)


@pytest.mark.parametrize("payload", [None, [], "beer", 42])
def test_non_objects_are_refused(payload: Any) -> None:
    with pytest.raises(SchemaError, match="beer is invalid"):
        validate_beer(payload)


def test_a_schema_error_names_the_beer(beer_factory: Callable[..., dict[str, Any]]) -> None:
    beer = beer_factory(12)
    del beer["method"]
    with pytest.raises(SchemaError, match=r"^beer 12 is invalid: method: "):
        validate_beer(beer)


def test_validation_does_not_change_the_input(beer_factory: Callable[..., dict[str, Any]]) -> None:
    beer = beer_factory(5, extra_field=[1, 2])
    before = copy.deepcopy(beer)
    validate_beer(beer)
    assert beer == before


# -- plausible ranges --------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


def _set(beer: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(beer)
    *parents, last = path.split(".")
    target: Any = changed
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("volume.value", 1e-320),
        ("boil_volume.value", -20.0),
        ("ingredients.hops.0.amount.value", 1e308),
        ("ingredients.hops.0.amount.value", -1.0),
        ("ingredients.malt.0.amount.value", -0.5),
        ("abv", 101.0),
        ("ibu", 5000.0),
        ("target_og", 5.0),
        ("target_fg", 1.3),
        ("ebc", -1.0),
        ("srm", 1e9),
        ("ph", -2.0),
        ("attenuation_level", 300.0),
        ("method.mash_temp.0.duration", 1e300),
        ("method.fermentation.temp.value", 1e6),
    ],
)
def test_a_value_out_of_its_plausible_range_is_refused_naming_the_field(
    dataset_beers: list[dict[str, Any]], path: str, value: float
) -> None:
    beer = _set(next(b for b in dataset_beers if b["id"] == 1), path, value)
    with pytest.raises(SchemaError, match=re.escape(path)):
        validate_beer(beer)
    with pytest.raises(SchemaError, match=re.escape(path)):
        validate_beer_json(json.dumps(beer))


def test_gravities_are_accepted_in_both_conventions(dataset_beers: list[dict[str, Any]]) -> None:
    beer = next(b for b in dataset_beers if b["id"] == 1)
    for og, fg in ((1.050, 1.010), (1050.0, 1010.0), (0.995, 0.99)):
        validated = validate_beer({**beer, "target_og": og, "target_fg": fg})
        assert (validated["target_og"], validated["target_fg"]) == (og, fg)
    with pytest.raises(SchemaError, match=r"target_og: .*outside the plausible range 980 to 1,250"):
        validate_beer({**beer, "target_og": 50.0})


def test_every_plausible_range_is_documented_with_its_reason() -> None:
    from punkml.source.schema import plausible_ranges

    ranges = plausible_ranges()
    assert {"abv", "ibu", "target_og", "volume.value", "ingredients.hops.*.amount.value"} <= set(
        ranges
    )
    text = (REPO / "docs" / "dataset.md").read_text()
    for path, bounds in ranges.items():
        assert f"| `{path}` | {bounds.describe()} | {bounds.why} |" in text, path
