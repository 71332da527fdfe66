"""Fixtures of the source tests: small beers built in code, a scriptable fault-injecting HTTP
server on a free loopback port, a port that refuses connections, and the real dataset tarball."""

from __future__ import annotations

import copy
import json
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

_TEMPLATE_BEER: dict[str, Any] = {
    "id": 1,
    "name": "Test Beer",
    "tagline": "Made in a test.",
    "first_brewed": "05/2012",
    "description": "A beer built in code.",
    "image_url": None,
    "abv": 5.5,
    "ibu": 40,
    "target_fg": 1010,
    "target_og": 1050,
    "ebc": 20,
    "srm": 10,
    "ph": 4.4,
    "attenuation_level": 80,
    "volume": {"value": 20, "unit": "litres"},
    "boil_volume": {"value": 25, "unit": "litres"},
    "method": {
        "mash_temp": [{"temp": {"value": 65, "unit": "celsius"}, "duration": 75}],
        "fermentation": {"temp": {"value": 19, "unit": "celsius"}},
        "twist": None,
    },
    "ingredients": {
        "malt": [{"name": "Maris Otter", "amount": {"value": 5, "unit": "kilograms"}}],
        "hops": [
            {
                "name": "Citra",
                "amount": {"value": 10, "unit": "grams"},
                "add": "start",
                "attribute": "bitter",
            },
            {
                "name": "Simcoe",
                "amount": {"value": 12.5, "unit": "grams"},
                "add": "end",
                "attribute": "flavour",
            },
        ],
        "yeast": "Wyeast 1056 - American Ale™",
    },
    "food_pairing": ["Cheddar"],
    "brewers_tips": "Keep it cold.",
    "contributed_by": "Test <test@example.org>",
}


def make_beer(beer_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid Punk API v2 beer with this id; top-level fields can be overridden."""
    beer = copy.deepcopy(_TEMPLATE_BEER)
    beer.update(id=beer_id, name=f"Test Beer {beer_id}", **overrides)
    return beer


@pytest.fixture
def beer_factory() -> Callable[..., dict[str, Any]]:
    return make_beer


@dataclass
class Reply:
    """One scripted answer: a status, a body (bytes as is, anything else as JSON), headers.

    ``delay_seconds`` sleeps before answering (to hang past a read timeout); ``drop`` closes the
    connection without answering; ``declare_length=False`` omits Content-Length;
    ``trickle_seconds`` sends the body one 64-byte chunk at a time, sleeping this long in between.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    drop: bool = False
    declare_length: bool = True
    trickle_seconds: float = 0.0

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode("utf-8")


def not_found(message: str) -> Reply:
    return Reply(404, {"statusCode": 404, "error": "Not Found", "message": message})


class FaultServer:
    """A real HTTP server on 127.0.0.1 serving a small Punk API v2 from ``beers``.

    Scripted replies (``push``) are served first, one per request, whatever the path; then the
    default handler answers like the Punk API (``/v2/beers`` with page, per_page and ids,
    ``/v2/beers/random``, ``/v2/beers/{id}``). Every request target is recorded in ``requests``.
    """

    def __init__(self, beers: list[dict[str, Any]]) -> None:
        self.beers = beers
        self.script: deque[Reply] = deque()
        self.requests: list[str] = []
        self.default: Callable[[str, dict[str, str]], Reply] = self.punk_api
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True  # hanging handlers must not block shutdown
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v2"

    def push(self, times: int = 1, **reply: Any) -> None:
        """Script the next ``times`` answers, e.g. ``push(2, status=500)``; see ``Reply``."""
        with self._lock:
            self.script.extend(Reply(**reply) for _ in range(times))

    def reply(self, **reply: Any) -> Reply:
        """A ``Reply`` (for ``default`` handlers written in a test)."""
        return Reply(**reply)

    def queries(self) -> list[dict[str, str]]:
        """The query parameters of every request received, in order."""
        return [
            {key: values[0] for key, values in parse_qs(urlsplit(target).query).items()}
            for target in self.requests
        ]

    def punk_api(self, path: str, query: dict[str, str]) -> Reply:
        by_id = {beer["id"]: beer for beer in self.beers}
        if path == "/v2/beers":
            page, per_page = int(query.get("page", "1")), int(query.get("per_page", "25"))
            beers = self.beers
            if "ids" in query:
                wanted = {int(part) for part in query["ids"].split("|")}
                beers = [beer for beer in beers if beer["id"] in wanted]
            return Reply(200, beers[(page - 1) * per_page : page * per_page])
        if path == "/v2/beers/random":
            return Reply(200, [self.beers[0]])
        if path.startswith("/v2/beers/"):
            beer_id = int(path.rsplit("/", 1)[1])
            if beer_id in by_id:
                return Reply(200, [by_id[beer_id]])
            return not_found(f"No beer found that matches the ID {beer_id}")
        return not_found(f"No endpoint found that matches '{path}'")

    def _next_reply(self, target: str) -> Reply:
        with self._lock:
            self.requests.append(target)
            if self.script:
                return self.script.popleft()
        parts = urlsplit(target)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        return self.default(parts.path, query)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = server._next_reply(self.path)
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                body = reply.payload()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    if reply.declare_length:
                        self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    step = 64 if reply.trickle_seconds else max(len(body), 1)
                    for start in range(0, len(body), step):
                        self.wfile.write(body[start : start + step])
                        self.wfile.flush()
                        time.sleep(reply.trickle_seconds)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (read timeout): nothing to answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        return Handler

    def start(self) -> FaultServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def small_beers() -> list[dict[str, Any]]:
    """Seven valid beers, ids 1 to 7."""
    return [make_beer(beer_id) for beer_id in range(1, 8)]


@pytest.fixture
def fault_server(small_beers: list[dict[str, Any]]) -> Iterator[FaultServer]:
    server = FaultServer(small_beers).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def refused_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v2"


@pytest.fixture(scope="session")
def punkapi_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real ``punkapi-db-2.6.0.tgz``, packed once per session with the npm client."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is required to fetch the dataset: install Node.js and npm")
    workdir = tmp_path_factory.mktemp("npm-pack")
    done = subprocess.run(
        [npm, "pack", "punkapi-db@2.6.0", "--prefer-offline", "--pack-destination", str(workdir)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    tarball = workdir / "punkapi-db-2.6.0.tgz"
    assert done.returncode == 0 and tarball.exists(), done.stderr
    return tarball
