"""The Glue tables, generated from the lake schema: one generator for boto3 and for Terraform.

``table_input(table, root)`` is a Glue ``TableInput`` (columns from the Arrow schema, storage and
SerDe from the file format, partition projection from the partition) for the lake at ``root``:
``punkml.aws.glue`` registers exactly these with boto3, and
``punkml aws glue-columns > terraform/glue_tables.tf.json`` writes the same documents as
Terraform resources (``aws_glue_catalog_table.<table>``) with the bucket as the root. A test fails
when the committed file is stale.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.types as pat

from punkml.errors import ConfigError
from punkml.pipeline.lake_schema import CLEANED_TABLES, LakeTable, glue_tables

TERRAFORM_FILE = "terraform/glue_tables.tf.json"
# What Terraform writes for the lake root, and the database the tables belong to.
TERRAFORM_ROOT = "s3://${aws_s3_bucket.lake.bucket}"
TERRAFORM_DATABASE = "${aws_glue_catalog_database.lake.name}"

STORAGE: dict[str, dict[str, Any]] = {
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerdeInfo": {
            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            "Parameters": {"serialization.format": "1"},
        },
    },
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {
            "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
            "Parameters": {"ignore.malformed.json": "true"},
        },
    },
}
"""Glue storage descriptor parts by the table's file format."""
FORMAT_PARAMETERS = {
    "parquet": {"classification": "parquet", "parquet.compression": "SNAPPY"},
    "json": {"classification": "json", "compressionType": "gzip"},
}


def glue_type(data_type: pa.DataType) -> str:
    """The Hive/Glue type name of an Arrow type (``int64`` → ``bigint``)."""
    simple = {
        pa.int8(): "tinyint",
        pa.int16(): "smallint",
        pa.int32(): "int",
        pa.int64(): "bigint",
        pa.float32(): "float",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.string(): "string",
        pa.large_string(): "string",
        pa.binary(): "binary",
        pa.date32(): "date",
    }
    if data_type in simple:
        return simple[data_type]
    if pat.is_timestamp(data_type):
        return "timestamp"
    if pat.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if pat.is_list(data_type) or pat.is_large_list(data_type):
        return f"array<{glue_type(data_type.value_type)}>"
    if pat.is_struct(data_type):
        fields = ",".join(
            f"{data_type.field(i).name}:{glue_type(data_type.field(i).type)}"
            for i in range(data_type.num_fields)
        )
        return f"struct<{fields}>"
    raise ConfigError(f"Arrow type {data_type} has no Glue equivalent; extend glue_type")


def glue_columns(schema: pa.Schema) -> list[dict[str, str]]:
    """``[{"name", "type"}, ...]`` for every field of ``schema``, in order."""
    return [{"name": field.name, "type": glue_type(field.type)} for field in schema]


def table_input(table: LakeTable, root: str) -> dict[str, Any]:
    """Glue ``TableInput`` of ``table`` for the lake at ``root`` (``s3://bucket/prefix``)."""
    location = f"{root}/{table.directory}/"
    parameters = {"EXTERNAL": "TRUE", **FORMAT_PARAMETERS[table.file_format]}
    partition_keys = []
    if table.partition is not None:
        key = table.partition.name
        parameters |= {
            "projection.enabled": "true",
            f"projection.{key}.type": "date",
            f"projection.{key}.format": table.partition.glue_format,
            f"projection.{key}.range": f"{table.partition.first_value},NOW",
            f"projection.{key}.interval": "1",
            f"projection.{key}.interval.unit": table.partition.unit,
            "storage.location.template": location + table.partition.directory_template,
        }
        partition_keys = [{"Name": key, "Type": "string"}]
    return {
        "Name": table.name,
        "Description": table.description,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": partition_keys,
        "StorageDescriptor": {
            "Columns": [
                {"Name": column["name"], "Type": column["type"]}
                for column in glue_columns(table.schema)
            ],
            "Location": location,
            **STORAGE[table.file_format],
        },
    }


def terraform_resource(document: dict[str, Any]) -> dict[str, Any]:
    """An ``aws_glue_catalog_table`` resource body with the content of a ``TableInput``."""
    storage = document["StorageDescriptor"]
    return {
        "name": document["Name"],
        "database_name": TERRAFORM_DATABASE,
        "description": document["Description"],
        "table_type": document["TableType"],
        "parameters": document["Parameters"],
        "partition_keys": [
            {"name": key["Name"], "type": key["Type"]} for key in document["PartitionKeys"]
        ],
        "storage_descriptor": {
            "location": storage["Location"],
            "input_format": storage["InputFormat"],
            "output_format": storage["OutputFormat"],
            "ser_de_info": {
                "serialization_library": storage["SerdeInfo"]["SerializationLibrary"],
                "parameters": storage["SerdeInfo"]["Parameters"],
            },
            "columns": [
                {"name": column["Name"], "type": column["Type"]} for column in storage["Columns"]
            ],
        },
    }


def _escaped(value: Any) -> Any:
    """``value`` with ``${`` written ``$${`` (a literal in Terraform's templates) except in the
    root, which is an interpolation."""
    if isinstance(value, dict):
        return {key: _escaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, str):
        escaped_root = TERRAFORM_ROOT.replace("${", "$${")
        return value.replace("${", "$${").replace(escaped_root, TERRAFORM_ROOT)
    return value


def terraform_document() -> dict[str, Any]:
    """The content of ``terraform/glue_tables.tf.json``: one resource per Glue table, and
    ``local.glue_cleaned_tables`` mapping each cleaned table's name to its resource."""
    tables = glue_tables()
    resources = {
        table.name: terraform_resource(_escaped(table_input(table, TERRAFORM_ROOT)))
        for table in tables
    }
    cleaned = {
        table.name: f"${{aws_glue_catalog_table.{table.name}}}"
        for table in tables
        if table in CLEANED_TABLES
    }
    return {
        "//": "Generated by `punkml aws glue-columns`; do not edit by hand.",
        "resource": {"aws_glue_catalog_table": resources},
        "locals": {"glue_cleaned_tables": cleaned},
    }


def render() -> str:
    """``terraform_document`` as stable, readable JSON text with a final newline."""
    return json.dumps(terraform_document(), indent=2, ensure_ascii=False) + "\n"
