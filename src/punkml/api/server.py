"""Run the Punk API v2 application with uvicorn (uvloop when available, httptools with limits)."""

from __future__ import annotations

import contextlib
import errno
import gc
import importlib.util
import logging
import signal
import socket
from collections.abc import Iterator

import uvicorn

from punkml.api.app import create_app
from punkml.api.protocol import ConnectionLimits, guarded_protocol
from punkml.config import Settings
from punkml.errors import ServeError

GRACEFUL_SHUTDOWN_SECONDS = 10
KEEP_ALIVE_SECONDS = 5  # idle time before a kept-alive connection is closed (uvicorn's default)
_log = logging.getLogger("uvicorn.error")


class GracefulServer(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM/SIGINT shutdown ends with exit status 0.

    uvicorn re-raises the signal after its graceful shutdown, so the process would report death
    by SIGTERM; a finished graceful shutdown is a normal exit here.
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

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            _log.info(startup_line(host, port))


def startup_line(host: str, port: int) -> str:
    """The one line naming what the server offers: web app, docs and API base URL."""
    shown = f"[{host}]" if ":" in host else host
    root = f"http://{shown}:{port}"
    return f"Punk API at {root}/v2 · web app {root}/ · docs {root}/docs · health {root}/health"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; one clear ``ServeError`` when that fails."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(
            f"cannot listen on {host}:{port}: unknown host ({exc.strerror}); "
            "use --host 127.0.0.1 (this machine) or 0.0.0.0 (every interface)"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ServeError(_bind_error(host, port, exc)) from exc
    sock.set_inheritable(True)
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> str:
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: address already in use (another server listens there); stop it or "
            "choose another port with --port"
        )
    if exc.errno == errno.EACCES:
        return (
            f"{where}: permission denied (ports below 1024 need administrator rights); "
            "choose a port above 1023 with --port, e.g. --port 8000"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{where}: {host} is not an address of this machine; use --host 127.0.0.1 "
            "(this machine only) or --host 0.0.0.0 (every interface)"
        )
    return f"{where}: {exc.strerror or exc}"


def serve_api(
    *,
    host: str,
    port: int,
    rate_limit: int,
    rate_window_seconds: float,
    settings: Settings,
    access_log: bool = False,
    limits: ConnectionLimits | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, then finish in-flight requests and return.

    ``access_log`` prints one line per request; ``limits`` bounds URL and header sizes, the time
    to send the headers and the number of open connections (``ConnectionLimits()`` defaults).
    """
    sock = bind(host, port)  # first, so a busy port fails before the dataset is even read
    try:
        app = create_app(
            rate_limit=rate_limit,
            settings=settings.require(),
            rate_window_seconds=rate_window_seconds,
        )
        config = uvicorn.Config(
            app,
            loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
            http=guarded_protocol(limits or ConnectionLimits(), direct=app),
            proxy_headers=False,  # the client IP is the socket's, as in the original
            server_header=False,
            access_log=access_log,
            log_config=None,  # uvicorn's records go to the handler the root command set up
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        )
        if access_log:  # asked for: shown whatever --log-level says about per-request lines
            logging.getLogger("uvicorn.access").setLevel(logging.INFO)
        # The beers, their JSON bytes and the imported modules live as long as the process: move
        # them out of the garbage collector's generations so full collections stay short.
        gc.collect()
        gc.freeze()
        GracefulServer(config).run(sockets=[sock])
    finally:
        sock.close()
