"""``create_app``: the Punk API v2 application over a list of beers (the pinned dataset by default).

The returned ASGI application is ``punkml.api.asgi.PunkApi`` (the original's ``/v2`` behaviour and
the ``/v2/beers*`` fast path) in front of a FastAPI application that serves the OpenAPI document
(``/openapi.json``, ``/docs``) and the other resources' routers, listed in ``_routers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from punkml import __version__
from punkml.api.asgi import PunkApi, original_url
from punkml.api.openapi import beers_paths
from punkml.api.ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW_SECONDS, RateLimiter
from punkml.api.responses import JSON_CONTENT_TYPE, endpoint_not_found
from punkml.api.static import add_web_routes
from punkml.api.store import DEFAULT_CACHE_BYTES, BeerStore
from punkml.config import Settings
from punkml.source.dataset import load_home_beers


def _routers() -> list[APIRouter]:
    """The routers of the resources served next to the beers, one line each.

    Import inside this function so ``punkml --help`` stays fast; routers must import their heavy
    libraries lazily too, or the server's start time grows.
    """
    from punkml.api.ibu import router as ibu_router

    return [ibu_router]


def create_app(
    beers: list[dict[str, Any]] | None = None,
    *,
    rate_limit: int = DEFAULT_LIMIT,
    settings: Settings | None = None,
    rate_window_seconds: float = DEFAULT_WINDOW_SECONDS,
    routers: Sequence[APIRouter] | None = None,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> PunkApi:
    """The Punk API v2 ASGI application.

    ``beers`` defaults to the deployment's cached pinned dataset (``settings``, default: by the
    home rule); ``rate_limit`` requests per
    client IP per ``rate_window_seconds`` (0 disables the limit); ``routers`` defaults to the
    project's other resources (``_routers``).
    """
    if rate_limit < 0:
        raise ValueError("rate_limit must be ≥ 0 (0 disables it)")
    settings = settings or Settings.load()
    if beers is None:
        beers = load_home_beers(settings)
    store = BeerStore(beers, cache_bytes=cache_bytes)
    fastapi_app = _fastapi_app(settings, store, _routers() if routers is None else routers)
    limiter = RateLimiter(rate_limit, rate_window_seconds) if rate_limit > 0 else None
    return PunkApi(store, limiter, fastapi_app)


def _fastapi_app(settings: Settings, store: BeerStore, routers: Sequence[APIRouter]) -> FastAPI:
    app = FastAPI(
        title="Punk API v2",
        version=__version__,
        description=(
            "The Punk API v2 (BrewDog's DIY Dog recipes) as the original served it, over the "
            "pinned punkapi-db@2.6.0 dataset; see docs/api.md."
        ),
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    for router in routers:
        app.include_router(router)
    add_web_routes(app)  # the web app at / and /static/* (src/punkml/api/static)

    @app.exception_handler(StarletteHTTPException)
    async def _not_found(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown paths and methods answer like the original's catch-all route.
        if exc.status_code in (404, 405):
            scope = request.scope
            url = original_url(scope.get("raw_path") or b"", scope.get("query_string", b""))
            answer = endpoint_not_found(url)
            return Response(answer.body, status_code=404, media_type=JSON_CONTENT_TYPE[1].decode())
        payload = {"statusCode": exc.status_code, "error": HTTPStatus(exc.status_code).phrase}
        payload["message"] = str(exc.detail)
        return Response(orjson.dumps(payload), exc.status_code, media_type="application/json")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            document["paths"] = {**beers_paths(), **document.get("paths", {})}
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
