"""The Glue column lists are generated from the Arrow schemas, and the committed file is current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from punkml.aws.glue_columns import TERRAFORM_FILE, glue_columns, glue_type, render
from punkml.errors import ConfigError
from punkml.pipeline.cleaned import BEERS_SCHEMA, TABLE_SCHEMAS
from punkml.pipeline.raw import raw_schema

REPO = Path(__file__).resolve().parents[2]


def committed() -> dict:
    return json.loads((REPO / TERRAFORM_FILE).read_text())


def test_committed_terraform_columns_are_not_stale() -> None:
    assert (REPO / TERRAFORM_FILE).read_text() == render(), (
        f"{TERRAFORM_FILE} is stale: run `punkml aws glue-columns > {TERRAFORM_FILE}`"
    )


def test_generator_command_prints_the_same_document() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "punkml", "aws", "glue-columns"], capture_output=True, check=True
    )
    assert done.stdout.decode() == render()


def test_every_cleaned_table_has_exactly_its_schema_columns() -> None:
    tables = committed()["locals"]["glue_columns"]
    assert set(tables) == set(TABLE_SCHEMAS)
    for name, schema in TABLE_SCHEMAS.items():
        assert [column["name"] for column in tables[name]] == schema.names


def test_beers_columns_include_abv_with_numeric_types() -> None:
    beers = {c["name"]: c["type"] for c in committed()["locals"]["glue_columns"]["beers"]}
    assert beers["abv"] == "double"
    assert beers["id"] == "bigint"
    assert beers["ingested_at"] == "timestamp"
    assert list(beers) == BEERS_SCHEMA.names


def test_raw_columns_follow_the_raw_line_schema() -> None:
    raw = committed()["locals"]["glue_raw_columns"]
    assert [column["name"] for column in raw] == raw_schema().names


@pytest.mark.parametrize(
    ("arrow", "glue"),
    [
        (pa.int8(), "tinyint"),
        (pa.int32(), "int"),
        (pa.int64(), "bigint"),
        (pa.float32(), "float"),
        (pa.float64(), "double"),
        (pa.bool_(), "boolean"),
        (pa.string(), "string"),
        (pa.date32(), "date"),
        (pa.timestamp("us", tz="UTC"), "timestamp"),
        (pa.decimal128(10, 2), "decimal(10,2)"),
        (pa.list_(pa.string()), "array<string>"),
        (pa.struct([("a", pa.int64()), ("b", pa.float64())]), "struct<a:bigint,b:double>"),
    ],
)
def test_glue_type_mapping(arrow: pa.DataType, glue: str) -> None:
    assert glue_type(arrow) == glue


def test_unmappable_type_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no Glue equivalent"):
        glue_columns(pa.schema([("d", pa.duration("s"))]))
