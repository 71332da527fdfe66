"""``punkml api …``: serve the Punk API v2 over the pinned dataset."""

from __future__ import annotations

from typing import Annotated

import typer

from punkml.api.limits import HEADER_TIMEOUT_SECONDS, MAX_CONNECTIONS, ConnectionLimits
from punkml.cli_options import HomeOption
from punkml.config import Settings

app = typer.Typer(help="Serve the Punk API v2 over the pinned dataset.", no_args_is_help=True)


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    rate_limit: Annotated[
        int,
        typer.Option(
            "--rate-limit",
            min=0,
            help="Requests allowed per client IP per hour (429 past it); 0 disables the limit.",
        ),
    ] = 3600,
    rate_window: Annotated[
        float,
        typer.Option(
            "--rate-window",
            min=0.001,
            hidden=True,
            help="Length of the rate-limit window in seconds (for tests).",
        ),
    ] = 3600.0,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log", help="Print one line per request (off by default)."
        ),
    ] = False,
    header_timeout: Annotated[
        float,
        typer.Option(
            "--header-timeout",
            min=0.05,
            help="Seconds a client has to send its request headers before it is disconnected.",
        ),
    ] = HEADER_TIMEOUT_SECONDS,
    max_connections: Annotated[
        int,
        typer.Option(
            "--max-connections",
            min=1,
            help="Open connections at most; more are answered 503 and closed.",
        ),
    ] = MAX_CONNECTIONS,
    home: HomeOption = None,
) -> None:
    """Serve the Punk API v2 (/v2), the web app (/), the docs (/docs, /redoc) and /health.

    Stops gracefully on SIGTERM or Ctrl-C.
    """
    from punkml.api.server import serve_api  # uvicorn, FastAPI: kept off `punkml --help`

    # Checked by serve_api once the port is bound: a busy port is the first error to report.
    settings = Settings.load(home)
    serve_api(
        host=host,
        port=port,
        rate_limit=rate_limit,
        rate_window_seconds=rate_window,
        settings=settings,
        access_log=access_log,
        limits=ConnectionLimits(
            header_timeout_seconds=header_timeout, max_connections=max_connections
        ),
    )
