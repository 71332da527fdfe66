"""The web app served at ``/``: plain HTML, CSS and JavaScript over the same API, no build step.

Only the files listed in ``ASSETS`` are served (read once, kept in memory), so no path from a
request ever reaches the file system. ``add_web_routes(app)`` adds ``GET /`` and
``GET /static/{name}`` to the API's FastAPI app.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

STATIC_DIR = Path(__file__).resolve().parent
INDEX = "index.html"
ASSETS = {
    INDEX: "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# Everything the page loads comes from this server; styles are set through the CSSOM only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@dataclass(frozen=True)
class Asset:
    """One file of the web app, ready to send."""

    body: bytes
    content_type: str

    def headers(self) -> dict[str, str]:
        return {
            "content-type": self.content_type,
            "cache-control": "no-cache",
            "x-content-type-options": "nosniff",
            "content-security-policy": CONTENT_SECURITY_POLICY,
        }


@cache
def asset(name: str) -> Asset | None:
    """The asset called ``name`` (``index.html``, ``app.js``, ``app.css``), or None if unknown."""
    content_type = ASSETS.get(name)
    if content_type is None:
        return None
    return Asset(body=(STATIC_DIR / name).read_bytes(), content_type=content_type)


def add_web_routes(app: FastAPI) -> None:
    """Serve the web app: ``GET /`` is the page, ``GET /static/{name}`` its script and styles."""
    from starlette.exceptions import HTTPException
    from starlette.responses import Response

    def send(name: str) -> Response:
        found = asset(name)
        if found is None:
            raise HTTPException(status_code=404)  # answered like any unknown path
        return Response(found.body, headers=found.headers())

    async def index(request: Request) -> Response:
        return send(INDEX)

    async def static(request: Request) -> Response:
        return send(str(request.path_params["name"]))

    app.add_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_route("/static/{name}", static, methods=["GET", "HEAD"], include_in_schema=False)
