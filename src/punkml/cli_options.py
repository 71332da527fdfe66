"""Options shared by every command, declared once."""

from __future__ import annotations

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
