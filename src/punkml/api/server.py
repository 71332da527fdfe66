"""Run the Punk API v2 application with uvicorn (uvloop + httptools when available)."""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

from punkml.config import Settings

if TYPE_CHECKING:
    import uvicorn

GRACEFUL_SHUTDOWN_SECONDS = 10


def _fast_loop_and_parser() -> tuple[str, str]:
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def _graceful_server(config: uvicorn.Config) -> uvicorn.Server:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn's server, except that a SIGTERM/SIGINT shutdown ends with exit status 0.

        uvicorn re-raises the signal after its graceful shutdown, so the process would report
        death by SIGTERM; a finished graceful shutdown is a normal exit here.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            handled = (signal.SIGINT, signal.SIGTERM)
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer(config)


def serve_api(
    *,
    host: str,
    port: int,
    rate_limit: int,
    rate_window_seconds: float,
    settings: Settings,
) -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and return."""
    import uvicorn

    from punkml.api.app import create_app

    app = create_app(
        rate_limit=rate_limit, settings=settings, rate_window_seconds=rate_window_seconds
    )
    loop, http = _fast_loop_and_parser()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=loop,
        http=http,
        proxy_headers=False,  # the client IP is the socket's, as in the original (no trust proxy)
        server_header=False,
        access_log=False,
        log_config=None,  # uvicorn's records go to the handler the root command set up
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    # The beers, their JSON bytes and the imported modules live as long as the process: move them
    # out of the garbage collector's generations so full collections stay short (tail latency).
    gc.collect()
    gc.freeze()
    _graceful_server(config).run()
