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


class TextOrJson(StrEnum):
    """``--format`` of reports: text for people, JSON for programs."""

    text = "text"
    json = "json"


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
