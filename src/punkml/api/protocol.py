"""uvicorn's httptools protocol with bounds: URL and header sizes, a header read deadline, and a
limit on open connections, each refused with a JSON answer in the original's error shape; and a
direct path for the beers routes.

Without the bounds a request line past about 64 KiB got a plain-text 400 from the parser, and a
client that never finished its headers held its connection (and a file descriptor) forever.

The direct path: a plain ``GET``/``HEAD`` of ``/v2/beers*`` is answered as soon as its headers
are parsed, from ``PunkApi.direct_answer``, and written in one go, without the ASGI cycle
uvicorn runs for every request (a scope, an event, a task, two messages whose headers it checks
one by one). That cycle cost more CPU than the answer itself. Anything unusual (a request body,
an upgrade, a pipelined request behind one still in progress, a client not reading its
answers, the access log on) takes the ASGI path, which answers the same, byte for byte.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from punkml.api.asgi import PunkApi
from punkml.api.limits import ConnectionLimits
from punkml.api.responses import (
    JSON_CONTENT_TYPE,
    JsonResponse,
    header_lines,
    header_timeout,
    headers_too_large,
    server_busy,
    uri_too_long,
)

LINGER_SECONDS = 2.0  # how long a refused connection is drained before it is closed


def raw_answer(response: JsonResponse) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection, for refusals before the app."""
    status = response.status
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode(),
        b": ".join(JSON_CONTENT_TYPE),
        b"content-length: " + str(len(response.body)).encode(),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + response.body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """One HTTP/1.1 connection, refused early when it breaks a bound of ``limits``.

    The header deadline runs from the connection's start (and from the end of each answer, for
    the next request on a kept-alive connection) until the request's headers are complete, so
    a client sending one byte at a time cannot hold the connection either. A client caught in
    the middle of its headers gets a 408; an idle one is just closed.
    """

    limits = ConnectionLimits()
    direct: PunkApi | None = None  # the application answering the direct path, if any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False
        self._in_request = False  # some bytes of a request arrived, its headers not yet all
        self._answered = False  # the current request was answered on the direct path
        self._head_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self._refuse(server_busy())
            return
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    # Parser callbacks: once refused, the rest of the input is ignored.
    def on_message_begin(self) -> None:
        if not self._refused:
            self._head_bytes = 0
            self._in_request = True
            self._answered = False
            super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self._refused:
            return
        self._head_bytes += len(url)
        if len(self.url) + len(url) > self.limits.max_url_bytes:
            self._refuse(uri_too_long())
            return
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._refused:
            return
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > self.limits.max_header_bytes:
            self._refuse(headers_too_large())
            return
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if not self._refused:
            self._in_request = False
            self._disarm_head_deadline()
            if not self._answer_directly():
                super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused and not self._answered:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused and not self._answered:
            super().on_message_complete()

    def _answer_directly(self) -> bool:
        """Answer the request now when it is a plain beers request (see the module's doc)."""
        if (
            self.direct is None
            or self.access_log
            or self.root_path
            or self.limit_concurrency is not None
            or self.flow.write_paused
            or self.pipeline
            or (self.cycle is not None and not self.cycle.response_complete)
            or self.parser.should_upgrade()
        ):
            return False
        for name, _ in self.headers:
            if name in _BODY_HEADERS:
                return False
        method = self.parser.get_method().decode("ascii")
        try:
            url = httptools.parse_url(self.url)
            found = self.direct.direct_answer(method, url.path, url.query or b"", self.client)
        except Exception:  # the ASGI path answers, and reports the error as it does (a 500)
            return False
        if found is None:
            return False
        response, lines = found
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        head = [STATUS_LINE[response.status], header_lines(self.server_state.default_headers)]
        head += (lines, b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
        self.transport.writelines([b"".join(head), b"" if method == "HEAD" else response.body])
        self._answered = True
        if not keep_alive:
            self.transport.close()
        self.on_response_complete()
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(
            self.limits.header_timeout_seconds, self._head_deadline_passed
        )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_deadline_passed(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self._in_request:
            self._refuse(header_timeout())
        elif self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
            return  # a (pipelined) request is being answered: its headers came in time
        else:  # idle: nothing of a request arrived, so there is nobody to answer
            self._refused = True
            self.transport.close()

    def _refuse(self, response: JsonResponse) -> None:
        """Answer and close. Closing at once, with the client's bytes still unread, would make
        the kernel reset the connection and could drop the answer before the client reads it:
        so half-close, read and discard what keeps coming, and close after a short linger."""
        self._refused = True
        self._disarm_head_deadline()
        self.transport.write(raw_answer(response))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._head_deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def eof_received(self) -> None:
        if self._refused:
            self.transport.close()


_BODY_HEADERS = (b"content-length", b"transfer-encoding")  # a request that has a body


def guarded_protocol(
    limits: ConnectionLimits, direct: PunkApi | None = None
) -> type[GuardedHttpToolsProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to ``limits``; with
    ``direct``, plain beers requests are answered by it on the direct path."""
    attributes = {"limits": limits, "direct": direct}
    return type("LimitedHttpToolsProtocol", (GuardedHttpToolsProtocol,), attributes)
