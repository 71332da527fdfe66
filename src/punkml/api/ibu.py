"""``POST /v2/ibu``: predict the bitterness of one recipe or a list (at most 1,000).

The body is a beer in the Punk API v2 shape, or a JSON list of them. Answers:
``200 {"model_version", "interval", "predictions": [{"id", "name", "ibu_pred", "ibu_low",
"ibu_high", "model_version"}, …]}``; ``413`` when the body is larger than ``MAX_BODY_BYTES`` or
lists more than ``MAX_RECIPES`` recipes; ``422`` with the field path (``loc``) of every invalid
field; ``503`` when no model is promoted. The promoted model is loaded once per process, verified
(SHA-256), cached on the application, and reloaded when another version is promoted.
"""

from __future__ import annotations

import asyncio
import threading
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

if TYPE_CHECKING:
    from punkml.ml.predict import LoadedModel

MAX_RECIPES = 1_000
MAX_BODY_BYTES = 8 * 1024 * 1024
JSON = "application/json"

router = APIRouter(tags=["ibu"])


class ModelCache:
    """The promoted model of one registry, loaded lazily and reloaded when the promotion changes."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None

    @property
    def is_loaded(self) -> bool:
        """Whether a model is in memory (then ``get`` is cheap)."""
        return self._loaded is not None

    def get(self) -> LoadedModel | None:
        """The promoted model, or None when nothing is promoted."""
        from punkml.ml.models import set_threads
        from punkml.ml.predict import LoadedModel
        from punkml.ml.registry import promoted_version

        version = promoted_version(self.models_dir)
        if version is None:
            return None
        loaded = self._loaded
        if loaded is not None and loaded.version == version:
            return loaded
        with self._lock:
            if self._loaded is None or self._loaded.version != version:
                fresh = LoadedModel.from_dir(self.models_dir / version)
                # One recipe per request: thread pools cost more than they save.
                set_threads(fresh.model, 1)
                self._loaded = fresh
            return self._loaded


def _error(status: HTTPStatus, message: str, **extra: Any) -> Response:
    payload = {"statusCode": status.value, "error": status.phrase, "message": message, **extra}
    return Response(orjson.dumps(payload), status_code=status.value, media_type=JSON)


async def _read_body(request: Request) -> bytes | None:
    """The body, or None as soon as it exceeds ``MAX_BODY_BYTES`` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _validation_errors(payload: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The recipes as a list and the 422 details (``loc`` starts with ``body``)."""
    from pydantic import ValidationError

    from punkml.ml.predict import usability_problems
    from punkml.source.schema import BEER_ADAPTER

    single = isinstance(payload, dict)
    recipes = [payload] if single else payload
    details: list[dict[str, Any]] = []
    for index, recipe in enumerate(recipes):
        prefix: list[Any] = ["body"] if single else ["body", index]
        try:
            BEER_ADAPTER.validate_python(recipe)
        except ValidationError as exc:
            details += [
                {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
                for err in exc.errors()
            ]
    if not details:
        for index, path, message in usability_problems(recipes):
            prefix = ["body"] if single else ["body", index]
            details.append(
                {"loc": [*prefix, *path.split(".")], "msg": message, "type": "value_error"}
            )
    return recipes, details


@router.post(
    "/v2/ibu",
    summary="Predict IBU (with a 90% interval) for one recipe or a list of up to 1,000",
    responses={413: {"description": "Body too large"}, 422: {"description": "Invalid recipe"}},
)
async def predict_ibu(request: Request) -> Response:
    """Predict the bitterness of Punk API v2 recipes with the promoted model."""
    body = await _read_body(request)
    if body is None:
        return _error(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes"
        )
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "the body is not valid JSON",
            detail=[{"loc": ["body"], "msg": str(exc), "type": "json_invalid"}],
        )
    if isinstance(payload, list) and len(payload) > MAX_RECIPES:
        return _error(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"{len(payload)} recipes in one request; the limit is {MAX_RECIPES}",
        )
    if not isinstance(payload, dict | list) or payload == []:
        return _error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "the body must be a recipe (a Punk API v2 beer) or a non-empty list of them",
            detail=[{"loc": ["body"], "msg": "expected an object or a list", "type": "type_error"}],
        )
    recipes, details = _validation_errors(payload)
    if details:
        return _error(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid recipe", detail=details)
    cache = _cache(request)
    loaded = cache.get() if cache.is_loaded else await asyncio.to_thread(cache.get)
    if loaded is None:
        return _error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "no IBU model is promoted on this server: run `punkml train` then "
            "`punkml models promote VERSION`",
        )
    if len(recipes) == 1:
        rows = _predict(loaded, recipes)  # a few ms: cheaper than a thread hop
    else:
        rows = await asyncio.to_thread(_predict, loaded, recipes)
    interval = loaded.manifest.get("interval", 0.9)
    answer = {"model_version": loaded.version, "interval": interval, "predictions": rows}
    return Response(orjson.dumps(answer), media_type=JSON)


def _predict(loaded: LoadedModel, recipes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from punkml.ml.predict import predict_beers

    return predict_beers(loaded, recipes)


def _cache(request: Request) -> ModelCache:
    state = request.app.state
    cache: ModelCache | None = getattr(state, "ibu_models", None)
    if cache is None:
        cache = ModelCache(state.settings.models_dir)
        state.ibu_models = cache
    return cache
