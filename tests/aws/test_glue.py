"""glue://DATABASE against a moto Glue: tables registered from the cleaned schema, lake found back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_helpers import AwsEnv, unique

from punkml.aws.glue import GlueCatalog, parse_glue_uri, table_inputs
from punkml.aws.glue_columns import glue_columns
from punkml.errors import ConfigError, LakeError
from punkml.pipeline.lake_schema import RAW, cleaned_schemas

REPO = Path(__file__).resolve().parents[2]


def database() -> str:
    return unique("lake").replace("-", "_")


def test_register_creates_every_table_with_exactly_the_schema_columns(aws_env: AwsEnv) -> None:
    catalog = GlueCatalog.from_uri(f"glue://{database()}")
    names = catalog.register_lake("s3://bucket/punk")
    assert names == ["raw_beers", *sorted(cleaned_schemas())]
    for table, schema in cleaned_schemas().items():
        assert [column["name"] for column in catalog.columns(table)] == schema.names
    assert "abv" in [column["name"] for column in catalog.columns("beers")]
    assert catalog.columns("raw_beers") == glue_columns(RAW.schema)


def test_tables_use_partition_projection_over_the_lake_layout(aws_env: AwsEnv) -> None:
    name = database()
    GlueCatalog.from_uri(f"glue://{name}").register_lake("s3://bucket/punk/")
    table = aws_env.client("glue").get_table(DatabaseName=name, Name="hop_additions")["Table"]
    assert table["StorageDescriptor"]["Location"] == "s3://bucket/punk/cleaned/hop_additions/"
    assert table["PartitionKeys"] == [{"Name": "ingest_date", "Type": "string"}]
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["storage.location.template"] == (
        "s3://bucket/punk/cleaned/hop_additions/ingest_date=${ingest_date}/"
    )


def test_registering_again_updates_in_place(aws_env: AwsEnv) -> None:
    name = database()
    catalog = GlueCatalog.from_uri(f"glue://{name}")
    catalog.register_lake("s3://old-bucket/x")
    catalog.register_lake("s3://new-bucket/y")
    assert catalog.lake_uri() == "s3://new-bucket/y"
    tables = aws_env.client("glue").get_tables(DatabaseName=name)["TableList"]
    assert len(tables) == 1 + len(cleaned_schemas())


def test_lake_uri_without_tables_says_what_to_run(aws_env: AwsEnv) -> None:
    name = database()
    aws_env.client("glue").create_database(DatabaseInput={"Name": name})
    with pytest.raises(LakeError, match="punkml deliver"):
        GlueCatalog.from_uri(f"glue://{name}").lake_uri()


def test_only_s3_lakes_can_be_registered() -> None:
    with pytest.raises(ConfigError, match="s3://"):
        table_inputs("/tmp/local-lake")


def test_table_inputs_are_what_terraform_applies_with_the_bucket_as_root() -> None:
    from punkml.aws.glue_columns import TERRAFORM_FILE, terraform_resource

    committed = json.loads((REPO / TERRAFORM_FILE).read_text())["resource"]
    tables = committed["aws_glue_catalog_table"]
    for table in table_inputs("s3://b/p"):
        # Terraform reads ${...} as an interpolation: Glue's own ${hour} is written $${hour}.
        text = json.dumps(terraform_resource(table)).replace("${", "$${")
        text = text.replace("s3://b/p", "s3://${aws_s3_bucket.lake.bucket}")
        expected = json.loads(text.replace("$${aws_glue", "${aws_glue"))
        assert expected == tables[table["Name"]]


def test_uri_parsing() -> None:
    assert parse_glue_uri("glue://punk_lake") == ("punk_lake", None)
    assert parse_glue_uri("glue://punk_lake?region=us-east-1") == ("punk_lake", "us-east-1")
    with pytest.raises(ConfigError, match="database name"):
        parse_glue_uri("glue://Bad-Name")
