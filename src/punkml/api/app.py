"""``create_app``: the Punk API v2 application over a list of beers (the pinned dataset by default).

The returned ASGI application is ``punkml.api.asgi.PunkApi`` (the original's ``/v2`` behaviour and
the ``/v2/beers*`` fast path) in front of a FastAPI application that serves the OpenAPI document
(``/openapi.json``, ``/docs``, ``/redoc``), ``/health`` and the other resources' routers, listed in ``_routers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from punkml import __version__
from punkml.api.asgi import PunkApi, original_url
from punkml.api.health import router as health_router
from punkml.api.ibu import router as ibu_router
from punkml.api.openapi import add_ibu_request_body, beer_schemas, beers_paths
from punkml.api.ratelimit import DEFAULT_LIMIT, DEFAULT_WINDOW_SECONDS, RateLimiter
from punkml.api.responses import JSON_CONTENT_TYPE, endpoint_not_found
from punkml.api.static import add_web_routes
from punkml.api.store import DEFAULT_CACHE_BYTES, BeerStore
from punkml.config import Settings
from punkml.source.dataset import PACKAGE, VERSION, load_home_beers

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _routers() -> list[APIRouter]:
    """The routers of the resources served next to the beers, one line each (they import their
    heaviest libraries, the model's, lazily: the server starts without loading a model)."""
    return [ibu_router, health_router]


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
    dataset = "given list of beers"
    if beers is None:
        beers = load_home_beers(settings)
        dataset = f"{PACKAGE}@{VERSION}"
    store = BeerStore(beers, cache_bytes=cache_bytes)
    fastapi_app = _fastapi_app(settings, store, _routers() if routers is None else routers)
    fastapi_app.state.dataset = dataset
    limiter = RateLimiter(rate_limit, rate_window_seconds) if rate_limit > 0 else None
    return PunkApi(store, limiter, fastapi_app)


def _fastapi_app(settings: Settings, store: BeerStore, routers: Sequence[APIRouter]) -> FastAPI:
    # FastAPIOffline: FastAPI whose /docs (Swagger UI) and /redoc pages load their scripts and
    # styles from files installed with the package (under /static-offline-docs), not a CDN.
    app = FastAPIOffline(
        title="Punk API v2",
        version=__version__,
        description=(
            "The Punk API v2 (BrewDog's DIY Dog recipes) as the original served it, over the "
            "pinned punkapi-db@2.6.0 dataset; see docs/api.md."
        ),
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        favicon_url="/static-offline-docs/favicon.png",
    )
    app.state.settings = settings

    @app.middleware("http")
    async def _docs_stay_local(request: Request, call_next: Any) -> Response:
        # The docs pages may load nothing from outside this server: ReDoc's bundle would still
        # fetch its attribution logo from a CDN without this policy.
        response: Response = await call_next(request)
        if request.url.path in (DOCS_URL, REDOC_URL):
            response.headers["content-security-policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response

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
            add_ibu_request_body(document)
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(beer_schemas())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
