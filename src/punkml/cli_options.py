"""Options shared by every command, declared once."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="PUNKML_HOME",
        help="Root of the local deployment (stream, lake, catalog, models). Default: ./.punkml",
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
