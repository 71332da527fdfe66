"""``punkml api …``: serve the Punk API v2 (work in progress)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Serve the Punk API v2 over the pinned dataset.", no_args_is_help=True)
