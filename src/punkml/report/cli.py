"""``punkml report``: write the self-contained HTML analysis report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from punkml.cli_options import HomeOption, LakeOption
from punkml.config import Settings

# The stage's modules are imported inside each command, not here: `punkml --help` must load
# only the command definitions (no pyarrow, DuckDB, scikit-learn…).

OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        help="Where to write the HTML file. Default: <home>/report.html",
        show_default=False,
        dir_okay=False,
    ),
]


def report(out: OutOption = None, lake: LakeOption = None, home: HomeOption = None) -> None:
    """Write one self-contained HTML report: data quality, plots, the promoted model's scores.

    Reads the catalog and the promoted model; anything missing is named with the command to run.

    The file opens offline: inline styles and SVG figures, no script.
    """
    from punkml.progress import progress
    from punkml.report.build import write_report

    # The first report after a new model refits it on the seed split: say what is happening.
    with progress("report") as step:
        step.note("writing the report")
        path = write_report(Settings.for_command(home, writes=False, lake=lake), out)
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the root ``punkml`` app."""
    app.command("report")(report)
