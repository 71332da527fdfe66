"""``punkml data …``: obtain and inspect the pinned Punk API dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from punkml.cli_options import HomeOption
from punkml.config import Settings

# The stage's modules are imported inside each command, not here: `punkml --help` must load
# only the command definitions (no pyarrow, DuckDB, scikit-learn…).

app = typer.Typer(
    help="Obtain the pinned Punk API dataset (punkapi-db@2.6.0).", no_args_is_help=True
)


@app.command("fetch")
def fetch(
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Use a local punkapi-db-2.6.0.tgz (integrity checked) or data.json instead of npm.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if cached.")] = False,
    home: HomeOption = None,
) -> None:
    """Fetch punkapi-db@2.6.0 with npm, verify its SHA-512 integrity, and cache data.json."""
    from punkml.source.dataset import BEER_COUNT, PACKAGE, VERSION, fetch_dataset

    settings = Settings.for_command(home, writes=True)
    path = fetch_dataset(from_file=from_file, cache=settings.cache_dir, force=force)
    typer.echo(f"{PACKAGE}@{VERSION}: {BEER_COUNT} beers verified at {path}")
