"""The connection bounds of ``punkml api serve``, through a real server on loopback: long URLs at
every length get the 414 JSON, slow clients are disconnected while normal requests are answered,
and connections past the bound get a 503 JSON."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from uvicorn.server import ServerState

from memory_transport import MemoryTransport
from punkml.api.app import create_app
from punkml.api.limits import MAX_URL_BYTES, ConnectionLimits
from punkml.api.protocol import guarded_protocol
from punkml.source.dataset import load_beers

pytestmark = pytest.mark.slow
ApiServer = Any  # tests/conftest.py's ApiServer


def raw_exchange(port: int, request: bytes, timeout: float = 20) -> bytes:
    """Send ``request`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_json(answer: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    return int(head.split(b" ", 2)[1]), orjson.loads(body)


@pytest.fixture
def server(api_server_factory: Callable[..., ApiServer]) -> ApiServer:
    return api_server_factory("--rate-limit", "0", "--header-timeout", "1")


LENGTHS = [8 * 1024 + 1, MAX_URL_BYTES - 100, MAX_URL_BYTES + 1, 64 * 1024, 65 * 1024, 1 << 20]


def test_long_urls_get_the_414_json_at_every_length(server: ApiServer) -> None:
    for query_bytes in LENGTHS:
        query = b"beer_name=" + b"a" * (query_bytes - len(b"beer_name="))
        request = b"GET /v2/beers?" + query + b" HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"
        status, body = status_and_json(raw_exchange(server.port, request))
        assert (status, body["statusCode"], body["error"]) == (414, 414, "URI Too Long")
    # Outside /v2/beers the application has no 8 KiB query bound: under 16 KiB is served.
    url = f"{server.root_url}/health?pad={'p' * 12_000}"
    assert httpx.get(url, timeout=10).status_code == 200
    # Huge headers: 431, in the same JSON shape.
    headers = b"".join(b"x-filler-%d: %s\r\n" % (i, b"v" * 1000) for i in range(100))
    request = b"GET /v2/beers/1 HTTP/1.1\r\nhost: t\r\nconnection: close\r\n" + headers + b"\r\n"
    status, body = status_and_json(raw_exchange(server.port, request))
    assert (status, body["error"]) == (431, "Request Header Fields Too Large")


async def _slow_client(port: int, give_up_after: float) -> bytes | None:
    """Send a request's headers one byte every 0.2 s, never finishing. What the server sent
    before it closed the connection, or None when it was still open at ``give_up_after``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    reading = asyncio.ensure_future(reader.read())  # everything until the server closes
    head = b"GET /v2/beers HTTP/1.1\r\nhost: test\r\nx-slow: " + b"z" * 1000
    deadline = time.monotonic() + give_up_after
    try:
        for byte in head:
            if reading.done() or time.monotonic() > deadline:
                break
            writer.write(bytes([byte]))
            try:
                await writer.drain()
            except ConnectionError:
                break
            await asyncio.wait({reading}, timeout=0.2)
        return await asyncio.wait_for(reading, timeout=max(0.1, deadline - time.monotonic()))
    except ConnectionError:
        return b""  # closed by the server (reset after its answer)
    except TimeoutError:
        return None
    finally:
        reading.cancel()
        writer.close()


async def _normal_requests(base_url: str, count: int) -> list[int]:
    statuses = []
    # A generous timeout: on a loaded machine a request may wait; what matters is the answer.
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for i in range(count):
            statuses.append((await client.get(f"/beers?page={i % 13 + 1}")).status_code)
            await asyncio.sleep(0.05)
    return statuses


def test_slow_clients_are_closed_while_normal_requests_are_answered(server: ApiServer) -> None:
    async def scenario() -> tuple[list[bytes | None], list[int]]:
        slow = [asyncio.create_task(_slow_client(server.port, 30)) for _ in range(300)]
        await asyncio.sleep(0.5)  # the slow clients are connected and trickling
        statuses = await _normal_requests(server.base_url, 40)
        return list(await asyncio.gather(*slow)), statuses

    answers, statuses = asyncio.run(scenario())
    assert statuses == [200] * 40  # answered while the slow clients hold their connections
    assert None not in answers  # every slow client was disconnected by the server
    timed_out = [a for a in answers if a is not None and a.startswith(b"HTTP/1.1 408")]
    assert len(timed_out) >= 150  # caught in the middle of its headers: told why, in JSON
    assert status_and_json(timed_out[0])[1]["error"] == "Request Timeout"


def test_connections_past_the_bound_get_a_503_json(
    api_server_factory: Callable[..., ApiServer],
) -> None:
    server = api_server_factory("--rate-limit", "0", "--max-connections", "20")
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)]
    try:
        time.sleep(0.3)
        status, body = status_and_json(raw_exchange(server.port, b""))
        assert (status, body["error"]) == (503, "Service Unavailable")
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the held connections are gone: served again
        try:
            if httpx.get(f"{server.base_url}/beers/1", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:
        pytest.fail("the server did not serve again after the connections closed")


def test_pipelined_and_kept_alive_requests_are_all_answered(server: ApiServer) -> None:
    one = b"GET /v2/beers/1 HTTP/1.1\r\nhost: t\r\n\r\n"
    last = b"GET /v2/beers/2 HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n"
    answer = raw_exchange(server.port, one * 3 + last)
    assert answer.count(b"HTTP/1.1 200 OK") == 4
    # A kept-alive connection idle past the header deadline is closed without an answer.
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(one)
        time.sleep(2.5)  # the answer, then more than --header-timeout (1 s) of silence
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.count(b"HTTP/1.1 ") == 1 and received.startswith(b"HTTP/1.1 200")


class RecordingTransport(MemoryTransport):
    """A connection's transport that keeps what the server writes, from a client at 10.0.0.9."""

    def __init__(self) -> None:
        super().__init__(peer=("10.0.0.9", 40000))


async def _exchange(rate_limit: int, request: bytes, *, direct: bool) -> tuple[bytes, int]:
    """What a fresh server (one connection) writes back for ``request``, with or without the
    direct path, and how many answers took it. No clock runs, so there is no ``date`` header
    to tell the answers apart."""
    app = create_app(load_beers(), rate_limit=rate_limit)
    answered = app.direct_answer
    taken = []

    def counting(*args: Any) -> Any:
        found = answered(*args)
        taken.extend([found] if found is not None else [])
        return found

    app.direct_answer = counting  # type: ignore[method-assign]
    config = uvicorn.Config(app, proxy_headers=False, log_config=None, access_log=False)
    config.load()
    protocol_class = guarded_protocol(ConnectionLimits(), direct=app if direct else None)
    protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
    transport = RecordingTransport()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(400):  # every request here ends with `connection: close`
        if transport.closed:
            break
        await asyncio.sleep(0.005)
    protocol.connection_lost(None)
    return bytes(transport.sent), len(taken)


def _get(target: bytes, *extra: bytes, method: bytes = b"GET", version: bytes = b"1.1") -> bytes:
    lines = [method + b" " + target + b" HTTP/" + version, b"host: t", *extra]
    return b"\r\n".join(lines) + b"\r\n\r\n"


CLOSE = b"connection: close"
# Each request, and how many of its answers the direct path gives.
DIRECT_AND_ASGI_CASES = [
    (_get(b"/v2/beers?page=2&per_page=3&abv_gt=6", CLOSE), 1),
    (_get(b"/v2/Beers/42/", CLOSE), 1),
    (_get(b"/v2/beers/%34%32", CLOSE), 1),
    (_get(b"/v2/beers/9999", CLOSE), 1),
    (_get(b"/v2/beers/abc", CLOSE), 1),
    (_get(b"/v2/beers?per_page=81&abv_gt=x", CLOSE), 1),
    (_get(b"/v2/beers?beer_name=" + b"a" * 9000, CLOSE), 1),
    (_get(b"/v2/beers/1", CLOSE, method=b"HEAD"), 1),
    (_get(b"/v2/beers/1", version=b"1.0"), 1),
    (_get(b"http://t/v2/beers?ids=1|2", CLOSE), 1),
    (_get(b"/v2/beers/1", b"content-length: 2", CLOSE) + b"{}", 0),  # a body: ASGI
    (_get(b"/v2/beers", CLOSE, method=b"POST"), 0),
    (_get(b"/v2/beer", CLOSE), 0),
    (_get(b"/v2/beers/1") * 3 + _get(b"/v2/beers?per_page=1", CLOSE), 4),  # pipelined
]


@pytest.mark.parametrize(("request_bytes", "direct_answers"), DIRECT_AND_ASGI_CASES)
def test_the_direct_path_answers_byte_for_byte_like_the_asgi_path(
    request_bytes: bytes, direct_answers: int
) -> None:
    for rate_limit in (0, 2):  # with a limit of 2, the pipelined case meets a 429
        direct, taken = asyncio.run(_exchange(rate_limit, request_bytes, direct=True))
        through_asgi, none = asyncio.run(_exchange(rate_limit, request_bytes, direct=False))
        assert direct.startswith(b"HTTP/1.1 ")
        assert direct == through_asgi
        assert (taken, none) == (direct_answers, 0)


class UnreadTransport(RecordingTransport):
    """A transport whose client reads nothing: like uvloop's, it asks the protocol to pause
    writing once 64 KiB wait to be sent."""

    def __init__(self) -> None:
        super().__init__()
        self.protocol: Any = None
        self.reading = True

    def write(self, data: Any) -> None:
        over = len(self.sent) <= 65536 < len(self.sent) + len(data)
        super().write(data)
        if over:
            self.protocol.pause_writing()

    def pause_reading(self) -> None:
        self.reading = False


def test_a_client_that_reads_nothing_gets_no_more_than_one_answer_past_the_bound() -> None:
    async def pipeline_unread() -> tuple[int, Any, UnreadTransport]:
        app = create_app(load_beers(), rate_limit=0)
        config = uvicorn.Config(app, proxy_headers=False, log_config=None, access_log=False)
        config.load()
        protocol = guarded_protocol(ConnectionLimits(), direct=app)(
            config=config, server_state=ServerState(), app_state={}
        )
        transport = UnreadTransport()
        transport.protocol = protocol
        protocol.connection_made(transport)
        protocol.data_received(_get(b"/v2/beers?per_page=80") * 200)  # ~160 KB answers
        await asyncio.sleep(0.05)
        sent = len(transport.sent)
        protocol.connection_lost(None)
        return sent, protocol, transport

    sent, protocol, transport = asyncio.run(pipeline_unread())
    one_answer = 80 * 2000
    assert 65536 < sent < 65536 + 2 * one_answer  # the rest waits, parsed but not answered
    assert len(protocol.pipeline) >= 190 and not transport.reading
