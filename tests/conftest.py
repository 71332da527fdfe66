"""Fixtures shared by every test directory.

``api_server``: a real ``punkml api serve`` subprocess on a free loopback port, serving the pinned
dataset (session-wide); yields its base URL ``http://127.0.0.1:PORT/v2``.
``api_server_factory``: starts more such servers with chosen options (rate limit, window…), each
stopped with SIGTERM at the end of the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 15.0
# Large enough that no test run meets it, small enough that the rate-limit headers are served.
SHARED_SERVER_RATE_LIMIT = 1_000_000


@dataclass
class ApiServer:
    """A running ``punkml api serve`` subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (OpenAPI document, docs)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v2``, the Punk API base URL."""
        return f"{self.root_url}/v2"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM, wait for a graceful exit (SIGKILL after a timeout); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dataset_cache() -> Path:
    from punkml.config import cache_dir
    from punkml.source.dataset import dataset_path

    cache = cache_dir()
    if not dataset_path(cache).exists():
        pytest.fail("the pinned dataset is not cached: run `make setup` (punkml data fetch) first")
    return cache


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_api_server(home: Path, *args: str, attempts: int = 3) -> ApiServer:
    """Start ``punkml api serve --home HOME ARGS…`` on a free port and wait until it listens."""
    env = {**os.environ, "PUNKML_CACHE_DIR": str(_dataset_cache())}
    env.pop("PUNKML_HOME", None)
    home.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        port = free_port()
        log_path = home / f"api-server-{port}.log"
        command = [sys.executable, "-m", "punkml", "api", "serve"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--home", str(home), *args]
        with log_path.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        server = ApiServer(process, port, log_path)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            if _port_open(port):
                return server
            time.sleep(0.05)
        server.stop()
        if attempt == attempts - 1 or "address already in use" not in server.log().lower():
            raise RuntimeError(f"punkml api serve did not start on port {port}:\n{server.log()}")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v2``) of a shared server over the pinned dataset."""
    server = start_api_server(
        tmp_path_factory.mktemp("api-home"), "--rate-limit", str(SHARED_SERVER_RATE_LIMIT)
    )
    try:
        yield server.base_url
    finally:
        server.stop()


@pytest.fixture
def api_server_factory(tmp_path: Path) -> Iterator[Callable[..., ApiServer]]:
    """``start(*args) -> ApiServer``: more servers with chosen CLI options, stopped afterwards."""
    servers: list[ApiServer] = []

    def start(*args: str) -> ApiServer:
        server = start_api_server(tmp_path / f"home-{len(servers)}", *args)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
