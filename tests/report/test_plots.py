"""The report's figures: inline SVG with labelled axes, robust to empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from punkml.report import plots


def _texts(svg: str) -> str:
    """All the text an SVG shows (fonts are not converted to paths)."""
    root = ET.fromstring(svg)
    return " ".join(t for node in root.iter() for t in [node.text or ""] if t.strip())


@pytest.fixture
def beers() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 60
    return pd.DataFrame(
        {
            "abv": rng.uniform(3, 12, n),
            "ibu": rng.uniform(10, 100, n),
            "target_og": rng.uniform(1030, 1100, n),
            "target_fg": rng.uniform(1005, 1020, n),
            "ebc": rng.uniform(5, 150, n),
            "srm": rng.uniform(2, 70, n),
            "ph": rng.uniform(4, 5, n),
            "attenuation_level": rng.uniform(60, 90, n),
            "hop_load": rng.uniform(0, 120, n),
        }
    )


def test_distributions_label_every_axis_with_its_unit(beers: pd.DataFrame) -> None:
    svg = plots.distributions_svg(beers, beers["ibu"])
    assert svg.startswith("<svg")
    text = _texts(svg)
    for label in (
        "ABV (% vol.)",
        "IBU (mg/L iso-",
        "Colour (EBC)",
        "Original gravity (SG",
        "Beers",
    ):
        assert label in text
    assert "n = 60" in text


def test_correlation_heat_map_shows_each_coefficient(beers: pd.DataFrame) -> None:
    beers["ibu"] = beers["hop_load"] * 0.8 + 5
    text = _texts(plots.correlation_svg(beers))
    assert "Pearson r" in text
    assert text.count("1.00") >= 9  # the diagonal, hop load vs IBU too
    assert "Hop load" in text and "SRM" not in text  # SRM duplicates EBC


def test_hop_load_plot_counts_zero_loads_it_cannot_show(beers: pd.DataFrame) -> None:
    load = beers["hop_load"].copy()
    load.iloc[:3] = 0.0
    text = _texts(plots.ibu_vs_hop_load_svg(load, beers["ibu"]))
    assert "57 beers" in text and "3 with a zero value not shown" in text
    assert "hop load" in text and "Tinseth" in text and "Recipe IBU" in text


def test_model_plots_have_units_and_summaries() -> None:
    actual = [10.0, 40.0, 60.0, 90.0]
    predicted = [12.0, 35.0, 66.0, 80.0]
    text = _texts(
        plots.predicted_vs_actual_svg(actual, predicted, [5, 20, 40, 60], [20, 50, 80, 100])
    )
    assert "Actual IBU" in text and "Predicted IBU" in text and "90% interval" in text
    residual_text = _texts(plots.residuals_svg(actual, predicted))
    assert "Residual (IBU)" in residual_text
    assert "MAE 5.8 IBU" in residual_text  # (2 + 5 + 6 + 10) / 4 = 5.75
    importances = _texts(
        plots.feature_importances_svg(["tinseth_ibu", "og"], [9.5, 1.0], "MAE increase (IBU)")
    )
    assert "tinseth_ibu" in importances and "MAE increase (IBU)" in importances


def test_every_plot_draws_an_empty_input_as_no_data() -> None:
    empty = pd.DataFrame({c: pd.Series(dtype=float) for c in ("abv", "ibu", "ebc", "target_og")})
    usage = pd.DataFrame({"hop_name": [], "beers": [], "grams": []})
    for svg in (
        plots.distributions_svg(empty, empty["ibu"]),
        plots.ibu_vs_hop_load_svg(empty["ibu"], empty["ibu"]),
        plots.top_hops_svg(usage),
        plots.predicted_vs_actual_svg([], []),
        plots.residuals_svg([], []),
        plots.feature_importances_svg([], [], "importance"),
    ):
        assert "no data" in _texts(svg)


def test_figures_use_distinct_svg_ids(beers: pd.DataFrame) -> None:
    first = plots.distributions_svg(beers, beers["ibu"])
    second = plots.residuals_svg([1.0, 2.0], [1.5, 2.5])
    ids = lambda svg: {n.get("id") for n in ET.fromstring(svg).iter() if n.get("id")}  # noqa: E731
    assert not (ids(first) & ids(second)) - {None}


def test_names_from_the_data_are_text_not_markup_or_math() -> None:
    usage = pd.DataFrame(
        {
            "hop_name": ["<script>alert(1)</script>", "Cost $5 $$ & co"],
            "beers": [3, 2],
            "grams": [1.0, 2.0],
        }
    )
    svg = plots.top_hops_svg(usage)
    assert "<script" not in svg
    text = _texts(svg)
    assert "<script>alert(1)</script>" in text and "Cost $5 $$ & co" in text
