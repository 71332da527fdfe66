"""``glue://DATABASE``: the lake's tables registered in the AWS Glue Data Catalog.

``GlueCatalog.register_lake(lake_uri)`` creates the database if missing and creates or updates
``raw_beers`` and the cleaned tables with the table inputs generated from the lake schema
(``punkml.aws.glue_columns``, the same documents Terraform applies): columns, storage, SerDe and
partition projection over the lake's layout, so Athena queries them without a crawler. ``lake_uri()`` reads the lake root back
from the catalog, so ``punkml sql --catalog glue://DATABASE`` finds the lake by itself; the SQL
itself runs in DuckDB over pyarrow datasets, as for a local lake.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import urlparse

from punkml.aws.clients import aws_client, aws_errors, parse_resource_uri
from punkml.aws.glue_columns import table_input
from punkml.errors import ConfigError, LakeError
from punkml.pipeline.lake_schema import BEERS, glue_tables

_DATABASE = re.compile(r"^[a-z0-9_]{1,255}$")
_DATABASE_RULE = "the database name must be lower-case letters, digits and '_'"


def parse_glue_uri(uri: str) -> tuple[str, str | None]:
    """``glue://DATABASE[?region=eu-west-1]`` → (database, region)."""
    database, region, _ = parse_resource_uri(
        uri, scheme="glue", role="catalog", name_pattern=_DATABASE, name_rule=_DATABASE_RULE
    )
    return database, region


def s3_root(lake_uri: str) -> str:
    """``s3://bucket/prefix`` without a trailing slash; other lakes cannot be registered."""
    parsed = urlparse(lake_uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ConfigError(
            f"a Glue catalog needs an s3://bucket/prefix lake, not {lake_uri!r}; give --lake s3://..."
        )
    return f"s3://{parsed.netloc}{parsed.path}".rstrip("/")


def table_inputs(lake_uri: str) -> list[dict[str, Any]]:
    """Every table of the lake at ``lake_uri`` as Glue ``TableInput`` documents."""
    root = s3_root(lake_uri)
    return [table_input(table, root) for table in glue_tables()]


class GlueCatalog:
    """One Glue database holding the lake's tables."""

    def __init__(self, database: str, *, client: Any) -> None:
        self.database = database
        self.uri = f"glue://{database}"
        self._client = client

    @classmethod
    def from_uri(cls, uri: str) -> GlueCatalog:
        database, region = parse_glue_uri(uri)
        return cls(database, client=aws_client("glue", region))

    def register_lake(self, lake_uri: str) -> list[str]:
        """Create the database if missing; create or update every table; return their names."""
        client = self._client
        with aws_errors(f"cannot register the lake in {self.uri}", LakeError):
            with contextlib.suppress(client.exceptions.AlreadyExistsException):
                client.create_database(
                    DatabaseInput={"Name": self.database, "Description": "Punk ML lake"}
                )
            names = []
            for table in table_inputs(lake_uri):
                try:
                    client.create_table(DatabaseName=self.database, TableInput=table)
                except client.exceptions.AlreadyExistsException:
                    client.update_table(DatabaseName=self.database, TableInput=table)
                names.append(table["Name"])
        return names

    def columns(self, table: str) -> list[dict[str, str]]:
        """``[{"name", "type"}]`` of a registered table (partition keys excluded)."""
        with aws_errors(f"cannot read table {table} from {self.uri}", LakeError):
            found = self._client.get_table(DatabaseName=self.database, Name=table)["Table"]
        return [
            {"name": column["Name"], "type": column["Type"]}
            for column in found["StorageDescriptor"]["Columns"]
        ]

    def lake_uri(self) -> str:
        """The lake root the tables point at, read from the ``beers`` table's location."""
        with aws_errors(f"cannot find the lake registered in {self.uri}", LakeError):
            try:
                table = self._client.get_table(DatabaseName=self.database, Name=BEERS.name)["Table"]
            except self._client.exceptions.EntityNotFoundException as exc:
                raise LakeError(
                    f"{self.uri} has no 'beers' table; run `punkml deliver --lake s3://... "
                    f"--catalog {self.uri}` (or `make deploy`) first"
                ) from exc
        location = str(table["StorageDescriptor"]["Location"]).rstrip("/")
        suffix = f"/{BEERS.directory}"
        if not location.endswith(suffix):
            raise LakeError(f"{self.uri}: table 'beers' is at {location}, not under a lake root")
        return location[: -len(suffix)]
