"""The ``punkml`` command line: composes each stage's commands and turns errors into one line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from punkml import __version__
from punkml.errors import PunkmlError

app = typer.Typer(
    name="punkml",
    help="Punk ML: serve the Punk API v2, ingest it into a lake, and predict beer bitterness (IBU).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)
_stderr = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"punkml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Punk ML command line."""


def _register_commands() -> None:
    # Each stage owns its commands; importing them here keeps `punkml --help` complete while the
    # heavy libraries are imported lazily inside the commands themselves.
    from punkml.api.cli import app as api_app
    from punkml.ml.cli import register as register_ml
    from punkml.pipeline.cli import register as register_pipeline
    from punkml.report.cli import register as register_report
    from punkml.run import register as register_run
    from punkml.source.cli import app as data_app

    app.add_typer(data_app, name="data")
    app.add_typer(api_app, name="api")
    register_pipeline(app)
    register_ml(app)
    register_report(app)
    register_run(app)


_register_commands()


def main() -> None:
    """Entry point of the ``punkml`` console script."""
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="punkml")
    except PunkmlError as exc:
        if debug:
            raise
        # escape: a message may hold brackets ("pip install 'punkml[aws]'") that are not markup
        _stderr.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _stderr.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        _stderr.print(
            f"[bold red]unexpected error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(run again with --debug for the traceback)",
            soft_wrap=True,
        )
        sys.exit(1)
