"""The Glue tables are generated from the lake schema, and the committed Terraform file is
current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from punkml.aws.glue_columns import (
    TERRAFORM_FILE,
    glue_columns,
    glue_type,
    render,
    table_input,
)
from punkml.errors import ConfigError
from punkml.pipeline.lake_schema import BEERS, RAW, glue_tables

REPO = Path(__file__).resolve().parents[2]


def committed() -> dict[str, Any]:
    return json.loads((REPO / TERRAFORM_FILE).read_text())


def test_committed_terraform_tables_are_not_stale() -> None:
    assert (REPO / TERRAFORM_FILE).read_text() == render(), (
        f"{TERRAFORM_FILE} is stale: run `punkml aws glue-columns > {TERRAFORM_FILE}`"
    )


def test_generator_command_prints_the_same_document() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "punkml", "aws", "glue-columns"], capture_output=True, check=True
    )
    assert done.stdout.decode() == render()


def test_every_glue_table_has_exactly_its_schema_columns() -> None:
    tables = committed()["resource"]["aws_glue_catalog_table"]
    assert list(tables) == ["raw_beers", "beers", "hop_additions", "malts"]
    for table in glue_tables():
        columns = tables[table.name]["storage_descriptor"]["columns"]
        assert [column["name"] for column in columns] == table.schema.names


def test_beers_columns_include_abv_with_numeric_types() -> None:
    beers = committed()["resource"]["aws_glue_catalog_table"]["beers"]
    types = {c["name"]: c["type"] for c in beers["storage_descriptor"]["columns"]}
    assert types["abv"] == "double"
    assert types["id"] == "bigint"
    assert types["ingested_at"] == "timestamp"
    assert list(types) == BEERS.schema.names


def test_table_inputs_follow_each_tables_format_and_partition() -> None:
    raw = table_input(RAW, "s3://b/p")
    assert raw["StorageDescriptor"]["Location"] == "s3://b/p/raw/"
    assert raw["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"].endswith("JsonSerDe")
    assert raw["Parameters"]["storage.location.template"] == "s3://b/p/raw/${hour}/"
    assert raw["PartitionKeys"] == [{"Name": "hour", "Type": "string"}]
    beers = table_input(BEERS, "s3://b/p")
    assert beers["StorageDescriptor"]["InputFormat"].endswith("MapredParquetInputFormat")
    assert beers["Parameters"]["projection.ingest_date.format"] == "yyyy-MM-dd"
    assert beers["Parameters"]["storage.location.template"] == (
        "s3://b/p/cleaned/beers/ingest_date=${ingest_date}/"
    )


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
