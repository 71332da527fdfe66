"""Run the Punk API v2 application with uvicorn (uvloop + httptools when available)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from punkml.errors import ConfigError

GRACEFUL_SHUTDOWN_SECONDS = 10


def _fast_loop_and_parser() -> tuple[str, str]:
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def serve_api(
    *,
    host: str,
    port: int,
    rate_limit: int,
    rate_window_seconds: float,
    workers: int = 1,
    home: Path | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; uvicorn then finishes in-flight requests and exits 0."""
    import uvicorn

    from punkml.api.app import ENV_RATE_LIMIT, ENV_RATE_WINDOW, app_from_environment, create_app

    if workers > 1 and rate_limit > 0:
        raise ConfigError(
            f"--workers {workers} needs --rate-limit 0: each worker process would count "
            "requests separately, so the limit would not hold"
        )
    loop, http = _fast_loop_and_parser()
    common = {
        "host": host,
        "port": port,
        "loop": loop,
        "http": http,
        "proxy_headers": False,  # the client IP is the socket's, as in the original (no trust proxy)
        "server_header": False,
        "access_log": False,
        "log_level": "info",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
    }
    if workers == 1:
        app = create_app(rate_limit=rate_limit, home=home, rate_window_seconds=rate_window_seconds)
        uvicorn.Server(uvicorn.Config(app, **common)).run()  # type: ignore[arg-type]
        return
    # Worker processes import the application themselves; check the dataset here first so a
    # missing dataset is one clear error instead of one traceback per worker.
    create_app(rate_limit=0, home=home)
    if home is not None:
        os.environ["PUNKML_HOME"] = str(home)
    os.environ[ENV_RATE_LIMIT] = str(rate_limit)
    os.environ[ENV_RATE_WINDOW] = str(rate_window_seconds)
    uvicorn.run(
        f"{app_from_environment.__module__}:{app_from_environment.__name__}",
        factory=True,
        workers=workers,
        **common,  # type: ignore[arg-type]
    )
