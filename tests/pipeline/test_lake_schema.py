"""Every lake table declared once: the docs page, the catalog, the model and Glue read it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from punkml.ml.data import BEER_COLUMNS, HOP_COLUMNS, MALT_COLUMNS
from punkml.pipeline.catalog import RAW_COLUMNS, VIEWS
from punkml.pipeline.lake_schema import (
    BEERS,
    DOCS_FILE,
    LAKE_TABLES,
    PREDICTIONS,
    RAW,
    docs_markdown,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_docs_page_is_generated_from_the_declarations() -> None:
    assert (REPO / DOCS_FILE).read_text() == docs_markdown(), (
        f"{DOCS_FILE} is stale: run `python -m punkml.pipeline.lake_schema > {DOCS_FILE}`"
    )
    done = subprocess.run(
        [sys.executable, "-m", "punkml.pipeline.lake_schema"], capture_output=True, check=True
    )
    assert done.stdout.decode() == docs_markdown()


def test_every_contract_view_is_a_declared_table_or_beers_latest() -> None:
    assert VIEWS == (
        "raw_beers",
        "beers",
        "beers_latest",
        "hop_additions",
        "malts",
        "dead_letters",
        "predictions",
    )
    assert set(VIEWS) - {"beers_latest"} == set(LAKE_TABLES)


def test_model_inputs_come_from_the_declarations_in_schema_order() -> None:
    assert BEER_COLUMNS[:9] == (
        "id",
        "name",
        "abv",
        "ibu",
        "target_fg",
        "target_og",
        "ebc",
        "srm",
        "ph",
    )
    assert BEER_COLUMNS[-1] == "seq" and "ingested_at" not in BEER_COLUMNS
    assert HOP_COLUMNS[:2] == ("seq", "beer_id") and "grams" in HOP_COLUMNS
    assert MALT_COLUMNS == ("seq", "beer_id", "malt_name", "kilograms")


def test_raw_columns_for_duckdb_follow_the_raw_schema() -> None:
    assert list(RAW_COLUMNS) == list(RAW.names)
    assert RAW_COLUMNS["arrived_at"] == "TIMESTAMPTZ" and RAW_COLUMNS["seq"] == "BIGINT"


def test_a_table_is_built_by_column_name_and_refuses_a_missing_or_unknown_one() -> None:
    columns = {name: [] for name in PREDICTIONS.names}
    table = PREDICTIONS.table(dict(reversed(columns.items())))
    assert table.schema == PREDICTIONS.schema and "held_out" in table.column_names
    with pytest.raises(ValueError, match=r"missing columns \['held_out'\]"):
        PREDICTIONS.table({k: v for k, v in columns.items() if k != "held_out"})
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        PREDICTIONS.table({**columns, "extra": []})


def test_views_show_the_hive_partition_column_locally() -> None:
    assert BEERS.view_schema.field("ingest_date").type == pa.date32()
    assert RAW.view_schema == RAW.schema  # the raw hour folders are not a column locally
