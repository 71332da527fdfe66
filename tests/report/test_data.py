"""The report's data: tables and quality figures from the catalog, or the dataset fallback."""

from __future__ import annotations

import math

import pandas as pd

from punkml.config import Settings
from punkml.report.data import (
    ReportData,
    column_nulls,
    hop_usage,
    load_report_data,
    tinseth_hop_load,
    trusted_ibu,
)


def test_reads_the_latest_beers_and_the_quality_figures_from_the_catalog(
    lake_settings: Settings, lake_beer_ids: tuple[int, ...]
) -> None:
    data = load_report_data(lake_settings)
    assert data.source.startswith("the catalog of")
    assert data.missing == []
    assert sorted(data.beers["id"]) == sorted(lake_beer_ids)
    assert float(data.beers.set_index("id").loc[1, "abv"]) == 4.7  # the newer event wins
    # Child rows belong to the newest event only: beer 1's hops are not counted twice.
    seqs = set(data.beers["seq"])
    assert set(data.hop_additions["seq"]) <= seqs and set(data.malts["seq"]) <= seqs
    quality = data.quality
    assert quality.view_rows["beers"] == len(lake_beer_ids) + 1
    assert quality.view_rows["beers_latest"] == len(lake_beer_ids)
    assert quality.view_rows["raw_beers"] == len(lake_beer_ids) + 2
    assert quality.dead_letters == 1
    assert len(quality.dead_letter_errors) == 1 and quality.dead_letter_errors[0][1] == 1
    assert quality.superseded_events == 1
    assert quality.duplicate_deliveries == 0
    assert quality.ibu_flags["equals_target_og"] == 2  # beers 137 and 185


def test_falls_back_to_the_dataset_and_says_the_catalog_is_empty(settings: Settings) -> None:
    data = load_report_data(settings)
    assert len(data.beers) == 325
    assert "pinned dataset" in data.source
    assert any("punkml ingest backfill" in item for item in data.missing)
    assert data.quality.dead_letters is None
    assert data.quality.ibu_flags["equals_target_og"] == 2
    assert data.quality.ibu_flags["missing"] == 5


def test_without_catalog_or_dataset_the_data_is_empty_and_says_why(
    no_dataset: None, settings: Settings
) -> None:
    data = load_report_data(settings)
    assert not data.has_beers
    assert any("punkml data fetch" in item for item in data.missing)


def test_does_not_create_a_lake_when_reading_an_empty_home(settings: Settings) -> None:
    settings.lake_dir.rmdir()
    load_report_data(settings)
    assert not settings.lake_dir.exists()


def test_column_nulls_count_missing_and_blank_values() -> None:
    beers = pd.DataFrame(
        {"name": ["a", " ", None], "abv": [4.0, math.nan, None], "unrelated": [1, 2, 3]}
    )
    nulls = {n.column: (n.nulls, round(n.percent, 1)) for n in column_nulls(beers)}
    assert nulls == {"name": (2, 66.7), "abv": (2, 66.7)}


def test_trusted_ibu_leaves_out_flagged_values() -> None:
    beers = pd.DataFrame(
        {"ibu": [40.0, 1085.0, None], "ibu_flag": [None, "equals_target_og", "missing"]}
    )
    assert trusted_ibu(beers).tolist()[0] == 40.0
    assert trusted_ibu(beers).isna().tolist() == [False, True, True]


def test_hop_usage_counts_beers_per_variety_case_insensitively_without_non_hops() -> None:
    hops = pd.DataFrame(
        {
            "beer_id": [1, 1, 2, 3, 3],
            "hop_name": ["Citra", "citra ", "Citra", "Simcoe", "Coffee"],
            "grams": [10.0, 20.0, 5.0, 7.0, 100.0],
            "is_hop": [True, True, True, True, False],
        }
    )
    usage = hop_usage(hops)
    assert usage["hop_name"].tolist() == ["Citra", "Simcoe"]
    assert usage["beers"].tolist() == [2, 1]
    assert usage["grams"].tolist() == [35.0, 7.0]


def test_hop_load_is_the_recipe_models_tinseth_feature(settings: Settings) -> None:
    data: ReportData = load_report_data(settings)
    load = tinseth_hop_load(data)
    assert len(load) == len(data.beers)
    assert (load >= 0).all()
    by_id = dict(zip(data.beers["id"], load, strict=True))
    # Buzz (beer 1) boils 50 g at the start of a 60-minute boil: a solid, finite bitterness.
    assert 10 < by_id[1] < 150
    # More hops, more load: the correlation with the stated IBU is clearly positive.
    assert load.corr(trusted_ibu(data.beers), method="spearman") > 0.5
