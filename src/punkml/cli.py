"""The ``punkml`` command line: composes each stage's commands and turns errors into one line."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from punkml import __version__, backends
from punkml.errors import PunkmlError
from punkml.logs import LogFormat, LogLevel, setup_logging

HELP = """Punk ML: serve the Punk API v2, ingest it into a lake, and predict beer bitterness (IBU).

Every command but `aws` works on one local deployment (stream, lake, catalog, models), its
home: --home DIR, else $PUNKML_HOME, else the nearest .punkml in this folder or its parents (as
git finds its repository), else ./.punkml. Only commands that write (data fetch, ingest, deliver,
train, run) create it; the others say where they looked when there is none. The aws commands
build and deploy the AWS architecture from the checkout's terraform/ and build/lambda/.
"""

app = typer.Typer(
    name="punkml",
    help=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)
_stderr = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"punkml {__version__}")
        raise typer.Exit()


@dataclass
class _RootOptions:
    debug: bool = False


_options = _RootOptions()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level",
            envvar="PUNKML_LOG_LEVEL",
            help="Least severe log records shown on stderr (debug adds per-request HTTP lines).",
        ),
    ] = LogLevel.info,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format", envvar="PUNKML_LOG_FORMAT", help="text, or json: one object per line."
        ),
    ] = LogFormat.text,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    _options.debug = debug
    setup_logging(log_level, log_format)
    backends.install()


def _register_commands() -> None:
    # Each stage owns its commands; importing them here keeps `punkml --help` complete while the
    # heavy libraries are imported lazily inside the commands themselves.
    from punkml.api.cli import app as api_app
    from punkml.aws.cli import app as aws_app
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
    app.add_typer(aws_app, name="aws")


_register_commands()


def main() -> None:
    """Entry point of the ``punkml`` console script."""
    try:
        app(prog_name="punkml")
    except PunkmlError as exc:
        if _options.debug:
            raise
        # escape: a message may hold brackets ("pip install 'punkml[aws]'") that are not markup
        _stderr.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _stderr.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if _options.debug:
            raise
        _stderr.print(
            f"[bold red]unexpected error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(run again with --debug for the traceback)",
            soft_wrap=True,
        )
        sys.exit(1)
