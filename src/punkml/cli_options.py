"""Options shared by every command, declared once."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="PUNKML_HOME",
        help="Root of the local deployment (stream, lake, catalog, models). Default: "
        "$PUNKML_HOME, else the nearest .punkml in this folder or its parents, else ./.punkml "
        "(created only by commands that write).",
        show_default=False,
    ),
]


# The locations a command may take instead of its home's (``Settings`` resolves them).
StreamOption = Annotated[
    str | None,
    typer.Option(
        "--stream",
        envvar="PUNKML_STREAM",
        help="Stream URI: sqlite:///path/stream.sqlite[?retention_hours=24] or kinesis://NAME. "
        "Default: <home>/stream.sqlite",
        show_default=False,
    ),
]
LakeOption = Annotated[
    str | None,
    typer.Option(
        "--lake",
        envvar="PUNKML_LAKE",
        help="Lake root: a local directory or s3://bucket/prefix. Default: <home>/lake",
        show_default=False,
    ),
]
CatalogOption = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        envvar="PUNKML_CATALOG",
        help="glue://DATABASE: register the lake's tables in AWS Glue (deliver) and find the lake "
        "there (sql). Default: only the local DuckDB views.",
        show_default=False,
    ),
]


class TextOrJson(StrEnum):
    """``--format`` of reports: text for people, JSON for programs."""

    text = "text"
    json = "json"


TextOrJsonOption = Annotated[
    TextOrJson,
    typer.Option("--format", help="text for people (a table), or json: JSON lines for programs."),
]


class JsonOrCsv(StrEnum):
    """``--format`` of row outputs."""

    json = "json"
    csv = "csv"


def echo_json_lines(objects: Iterable[Any]) -> None:
    """The one JSON convention of every ``--format json``: JSON lines, one compact object per
    line (rows, predictions, models), so ``jq``, ``pandas.read_json(lines=True)`` and a
    ``for line in`` loop all read it; values JSON lacks (dates, decimals) as text."""
    import orjson

    for item in objects:
        typer.echo(orjson.dumps(item, default=str).decode())
