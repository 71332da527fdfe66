"""The ASGI entry point: ``/v2`` semantics of the original (CORS, rate limit, routing) and a lean
fast path for ``/v2/beers*``; every other request goes to the FastAPI application behind it.

The beers routes are served here without a framework because they are the hot path (thousands of
requests per second); FastAPI still serves the OpenAPI document, the docs and the other routers.
``PunkApi.direct_answer`` gives the same answers as plain values, for the server's connection
protocol to write a ``GET``/``HEAD`` beers answer without an ASGI cycle (``api/protocol.py``).
Routing follows Express's defaults: case-insensitive paths and one optional trailing slash.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from punkml.api.ratelimit import RateLimiter
from punkml.api.responses import (
    CORS_ALLOW_METHODS,
    CORS_HEADERS,
    JSON_CONTENT_TYPE,
    SECURITY_HEADERS,
    Headers,
    JsonResponse,
    endpoint_not_found,
    header_lines,
    rate_limited,
    uri_too_long,
)
from punkml.api.store import BeerStore

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_QUERY_BYTES = 8192
_V2 = "/v2"
_BEERS = "/v2/beers"
_RANDOM = "/v2/beers/random"
# Headers of every /v2 answer (the original ran cors, then the rate limiter, on the /v2 router).
_V2_HEADERS: Headers = [*SECURITY_HEADERS, *CORS_HEADERS]
_V2_HEADER_LINES = header_lines([JSON_CONTENT_TYPE, *_V2_HEADERS])  # without a rate limit


def _beers_route(path: str) -> tuple[str, str] | None:
    """Which beers route a path is (``list``, ``random`` or ``id``) and the raw id segment.

    Matching is case-insensitive and allows one trailing slash, as Express's router did.
    """
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    lower = path.lower()
    if lower == _BEERS:
        return "list", ""
    if lower == _RANDOM:
        return "random", ""
    segment = path[len(_BEERS) + 1 :]
    if lower.startswith(_BEERS + "/") and segment and "/" not in segment:
        return "id", segment
    return None


class PunkApi:
    """ASGI application: the original's ``/v2`` behaviour in front of a FastAPI fallback."""

    def __init__(self, store: BeerStore, limiter: RateLimiter | None, fallback: ASGIApp) -> None:
        self.store = store
        self.limiter = limiter
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1")
        lower = path.lower()
        if not (lower == _V2 or lower.startswith(_V2 + "/")):
            await self.fallback(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            await self._preflight(scope, send)
            return
        headers, allowed = self._quota(scope.get("client"))
        if not allowed:
            await _send(send, scope, rate_limited(), headers)
            return
        route = _beers_route(path)
        if route is None:
            await self.fallback(scope, receive, _adding_headers(send, headers))
            return
        answer = self._answer(scope["method"], route, path, scope.get("query_string", b""))
        await _send(send, scope, answer, headers)

    def direct_answer(
        self, method: str, raw_path: bytes, query_string: bytes, client: tuple[str, int] | None
    ) -> tuple[JsonResponse, bytes] | None:
        """The answer to a ``GET`` or ``HEAD`` of a beers route and all its header lines, as the
        ASGI path sends them (``response_headers``); ``None`` for any other request."""
        if method not in ("GET", "HEAD"):
            return None
        path = raw_path.decode("latin-1")
        route = _beers_route(path)
        if route is None:
            return None
        headers, allowed = self._quota(client)
        response = self._answer(method, route, path, query_string) if allowed else rate_limited()
        if headers is _V2_HEADERS:
            return response, _V2_HEADER_LINES + response.own_header_lines
        return response, header_lines([JSON_CONTENT_TYPE, *headers]) + response.own_header_lines

    def _quota(self, client: tuple[str, int] | None) -> tuple[Headers, bool]:
        """The headers of a ``/v2`` answer to this client, and whether its quota allows it."""
        if self.limiter is None:
            return _V2_HEADERS, True
        quota = self.limiter.hit(client[0] if client else "unknown")
        return [*_V2_HEADERS, *quota.headers()], quota.allowed

    def _answer(
        self, method: str, route: tuple[str, str], path: str, query_string: bytes
    ) -> JsonResponse:
        if method not in ("GET", "HEAD"):
            return endpoint_not_found(original_url(path.encode("latin-1"), query_string))
        kind, segment = route
        if kind == "random":
            return self.store.random_answer()
        if kind == "id":
            # Like an Express param: percent-decoded, original case kept (it is echoed in a 404).
            return self.store.beer_answer(
                unquote(segment.encode("latin-1").decode("utf-8", "replace"))
            )
        if len(query_string) > MAX_QUERY_BYTES:
            return uri_too_long()
        return self.store.beers_answer(query_string)

    async def _preflight(self, scope: Scope, send: Send) -> None:
        """CORS preflight, answered before rate limiting (the original's cors ran first)."""
        headers: Headers = [*CORS_HEADERS, CORS_ALLOW_METHODS]
        for name, value in scope.get("headers", []):
            if name == b"access-control-request-headers":
                headers.append((b"access-control-allow-headers", value))
                headers.append((b"vary", b"Access-Control-Request-Headers"))
                break
        headers.append((b"content-length", b"0"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def original_url(raw_path: bytes, query_string: bytes) -> str:
    """The request target as Express's ``req.originalUrl`` shows it: raw path and query."""
    path = raw_path.decode("utf-8", "replace")
    return f"{path}?{query_string.decode('latin-1')}" if query_string else path


def response_headers(response: JsonResponse, headers: Headers) -> Headers:
    """Every header of an answer: content type, the ``/v2`` ``headers``, its own, its length."""
    length = (b"content-length", str(len(response.body)).encode())
    return [JSON_CONTENT_TYPE, *headers, *response.headers, length]


async def _send(send: Send, scope: Scope, response: JsonResponse, headers: Headers) -> None:
    all_headers = response_headers(response, headers)
    await send({"type": "http.response.start", "status": response.status, "headers": all_headers})
    body = b"" if scope["method"] == "HEAD" else response.body
    await send({"type": "http.response.body", "body": body})


def _adding_headers(send: Send, extra: Headers) -> Send:
    """Wrap ``send`` so the response of the fallback app also carries ``extra`` headers."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            added = [(name, value) for name, value in extra if name not in present]
            message = {**message, "headers": [*message.get("headers", []), *added]}
        await send(message)

    return wrapped
