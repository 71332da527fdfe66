"""The alpha-acid table and the matching of variety names."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from punkml.errors import ModelError
from punkml.ml.alpha import DEFAULT_ALPHA_PCT, AlphaTable, alpha_pct, default_table, fold_name


def test_every_row_has_a_value_and_a_source() -> None:
    text = resources.files("punkml.ml").joinpath("data", "alpha_acids.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) >= 80
    for row in rows:
        assert row["source"].strip(), row["variety"]
        assert 0 < float(row["alpha_acid_pct"]) <= 70


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Citra", 12.0),
        ("citra (pellets)", 12.0),
        ("Simcoe 2019", 13.0),
        ("Mosaic T90 Pellets", 12.5),
        ("Hallertauer Mittelfrüh", 4.25),
        ("NZ Nelson Sauvin", 12.5),
        ("Fuggles", 4.5),
        ("East Kent Golding", 5.0),
        ("Mt.Hood", 5.5),
        ("HBC 369", 12.5),
        ("Bramling Cross/ First Gold", 6.75),
        ("Columbus Extract", 50.0),
        ("CO2 Extract", 50.0),
    ],
)
def test_names_match_whatever_their_spelling(name: str, expected: float) -> None:
    assert default_table().lookup(name) == pytest.approx(expected)


def test_non_hops_and_unknown_hops() -> None:
    assert alpha_pct("Vanilla Extract", is_hop=False, stated_pct=None) == 0.0
    assert alpha_pct("Cold Brew Coffee", is_hop=False, stated_pct=None) == 0.0
    assert alpha_pct("Mystery Hop 42", is_hop=True, stated_pct=None) == DEFAULT_ALPHA_PCT
    # A table match beats a non-hop verdict from the words ('lemon' in Lemondrop).
    assert alpha_pct("Lemondrop", is_hop=False, stated_pct=None) == 6.0


def test_the_stated_alpha_wins() -> None:
    assert alpha_pct("Citra", is_hop=True, stated_pct=14.2) == 14.2


def test_fold_name_drops_form_origin_and_year() -> None:
    assert fold_name("German Hallertauer Blanc Pellets 2021") == "hallertauer blanc"


def test_a_row_without_source_is_refused() -> None:
    with pytest.raises(ModelError, match="source"):
        AlphaTable.from_csv_text("variety,alpha_acid_pct,aliases,source\nFoo,5.0,,\n")
