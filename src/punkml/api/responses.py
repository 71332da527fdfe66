"""Response bodies and headers in the exact shapes the original Punk API sent.

Errors are Boom payloads (``statusCode``, ``error``, ``message`` and, for 400, ``data``) serialized
compactly like Express's ``res.json``; successful bodies are JSON arrays of beers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import orjson

from punkml.api.query import ParamError

Headers = list[tuple[bytes, bytes]]

JSON_CONTENT_TYPE = (b"content-type", b"application/json; charset=utf-8")
# The original ran the `cors` package with origin "*" and credentials, on every /v2 route.
CORS_HEADERS: Headers = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-credentials", b"true"),
    (
        b"access-control-expose-headers",
        b"x-ratelimit-limit,x-ratelimit-remaining,content-length,origin,content-type,accept",
    ),
]
CORS_ALLOW_METHODS = (b"access-control-allow-methods", b"GET,HEAD,PUT,PATCH,POST,DELETE")
# A subset of what helmet added, cheap and still sensible for a JSON API.
SECURITY_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
]
MESSAGE_RATE_LIMITED = "You have reached your limit on this ip address please wait an hour"
_REASONS = {
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    414: "URI Too Long",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class JsonResponse:
    """A finished JSON answer: status, serialized body and any extra headers."""

    status: int
    body: bytes
    headers: Headers = field(default_factory=list)

    @cached_property
    def own_header_lines(self) -> bytes:
        """This answer's own headers and its ``content-length``, as lines, serialized once."""
        return header_lines([*self.headers, (b"content-length", str(len(self.body)).encode())])


def header_lines(headers: Headers) -> bytes:
    """Headers as HTTP/1.1 sends them: one ``name: value`` line each, each ended by CRLF."""
    return b"".join([name + b": " + value + b"\r\n" for name, value in headers])


def boom(status: int, message: str, data: Sequence[ParamError] | None = None) -> JsonResponse:
    """A Boom-style error: ``{"statusCode", "error", "message"[, "data"]}``."""
    payload: dict[str, object] = {
        "statusCode": status,
        "error": _REASONS[status],
        "message": message,
    }
    if data is not None:
        payload["data"] = [error.as_json() for error in data]
    return JsonResponse(status, orjson.dumps(payload))


def invalid_params(errors: Sequence[ParamError]) -> JsonResponse:
    """400 ``Invalid query params`` (the original used that message for path ids too)."""
    return boom(400, "Invalid query params", errors)


def beer_not_found(raw_id: str) -> JsonResponse:
    """404 for a valid but unknown id; the message echoes the id as written in the URL."""
    return boom(404, f"No beer found that matches the ID {raw_id}")


def endpoint_not_found(original_url: str) -> JsonResponse:
    """404 for any path (or method) nothing serves; ``original_url`` includes the query string."""
    return boom(404, f"No endpoint found that matches '{original_url}'")


def rate_limited() -> JsonResponse:
    """429 once a client used up its requests for the window."""
    return boom(429, MESSAGE_RATE_LIMITED)


def uri_too_long() -> JsonResponse:
    """414 for query strings past our bound (the original's Node refused them too)."""
    return boom(414, "The request URL is too long")


def headers_too_large() -> JsonResponse:
    """431 for request headers past our bound, before the application sees them."""
    return boom(431, "The request headers are too large")


def header_timeout() -> JsonResponse:
    """408 for a client that did not finish its request headers in time."""
    return boom(408, "The request headers did not arrive in time")


def server_busy() -> JsonResponse:
    """503 for a connection past the bound on open connections."""
    return boom(503, "Too many open connections, please retry later")
