"""``POST /v2/ibu``: predict the bitterness of one recipe or a list (at most 1,000).

The body is a beer in the Punk API v2 shape, a JSON list of them, or a BeerXML 1.0 document
(``application/json``, ``application/xml`` or ``text/xml``; the format is told by content). A
recipe needs only its hops: ``punkml.ml.recipes`` fills the documented defaults. Answers:
``200 {"model_version", "interval", "predictions": [{"id", "name", "ibu_pred", "ibu_low",
"ibu_high", "model_version"} (+ "warnings" where a default or fallback was used), …]}``; ``413``
when the body is larger than ``MAX_BODY_BYTES`` or lists more than ``MAX_RECIPES`` recipes;
``422`` with the field path (``loc``) of every invalid field; ``503`` when no model is promoted,
or when the promoted one cannot be loaded (tampered, of another format). The promoted model is
loaded once per process, verified
(SHA-256), cached on the application, and reloaded when another version is promoted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from punkml.errors import ModelError, RecipeError, TooManyRecipesError
from punkml.ml.predict import predict_recipes
from punkml.ml.recipes import RecipeBatch, read_recipes

if TYPE_CHECKING:
    from punkml.ml.predict import LoadedModel

MAX_RECIPES = 1_000
MAX_BODY_BYTES = 8 * 1024 * 1024
INLINE_PARSE_BYTES = 64 * 1024
JSON = "application/json"

log = logging.getLogger(__name__)

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
        # The model's libraries (scikit-learn, XGBoost) load with the first prediction, not at
        # the server's start.
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


def _refusal_details(batch: RecipeBatch) -> list[dict[str, Any]]:
    """The 422 details of the refused recipes: ``loc`` starts with ``body`` (and the recipe's
    index unless the body is one JSON object), then the field path in the body's own terms."""
    return [
        {
            "loc": ["body", *([] if batch.single else [refused.index]), *problem.path],
            "msg": problem.message,
            "type": problem.kind,
        }
        for refused in batch.refused
        for problem in refused.problems
    ]


@router.post(
    "/v2/ibu",
    summary="Predict IBU (with a 90% interval) for one recipe or a list of up to 1,000",
    responses={
        413: {"description": "Body too large"},
        422: {"description": "Invalid recipe"},
        503: {"description": "No IBU model is promoted, or the promoted one cannot be loaded"},
    },
)
async def predict_ibu(request: Request) -> Response:
    """Predict the bitterness of Punk API v2 recipes with the promoted model."""
    body = await _read_body(request)
    if body is None:
        return _error(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes"
        )
    try:
        if len(body) > INLINE_PARSE_BYTES:  # a large body is parsed off the event loop
            batch = await asyncio.to_thread(read_recipes, body, max_recipes=MAX_RECIPES)
        else:
            batch = read_recipes(body, max_recipes=MAX_RECIPES)
    except TooManyRecipesError as exc:
        return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"{exc}")
    except RecipeError as exc:
        return _error(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "the body must be a recipe (a Punk API v2 beer), a non-empty list of them, or a "
            "BeerXML 1.0 document",
            detail=[{"loc": ["body"], "msg": str(exc), "type": "recipe_invalid"}],
        )
    if batch.refused:
        return _error(
            HTTPStatus.UNPROCESSABLE_ENTITY, "invalid recipe", detail=_refusal_details(batch)
        )
    cache = _cache(request)
    try:
        loaded = cache.get() if cache.is_loaded else await asyncio.to_thread(cache.get)
    except ModelError as exc:
        # Tampered, of another format, half deleted: the operator's problem, told in the log;
        # the client learns only that no usable model is promoted (no server paths).
        log.error("the promoted IBU model cannot be served: %s", exc)
        return _error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "the promoted IBU model cannot be loaded on this server (its log says why): train "
            "again or promote another version",
        )
    if loaded is None:
        return _error(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "no IBU model is promoted on this server: run `punkml train` then "
            "`punkml models promote VERSION`",
        )
    if len(batch.recipes) == 1:
        rows = predict_recipes(loaded, batch.recipes)  # a few ms: cheaper than a thread hop
    else:
        rows = await asyncio.to_thread(predict_recipes, loaded, batch.recipes)
    interval = loaded.manifest.get("interval", 0.9)
    answer = {"model_version": loaded.version, "interval": interval, "predictions": rows}
    return Response(orjson.dumps(answer), media_type=JSON)


def _cache(request: Request) -> ModelCache:
    state = request.app.state
    cache: ModelCache | None = getattr(state, "ibu_models", None)
    if cache is None:
        cache = ModelCache(state.settings.models_dir)
        state.ibu_models = cache
    return cache
