"""``GET /health``: the server is up, what it serves (dataset, beers) and the promoted model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from punkml import __version__
from punkml.api.deps import get_settings
from punkml.config import Settings
from punkml.ml.registry import promoted_version

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """What ``GET /health`` answers."""

    status: str
    punkml_version: str
    dataset: str
    beers: int
    model_version: str | None


@router.get("/health", summary="Liveness, dataset version and promoted model version")
def health(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> Health:
    """``status`` is "ok" whenever the server answers; ``dataset`` names the served data
    (``punkapi-db@2.6.0``); ``model_version`` is null while no IBU model is promoted
    (``POST /v2/ibu`` then answers 503)."""
    return Health(
        status="ok",
        punkml_version=__version__,
        dataset=request.app.state.dataset,
        beers=len(request.app.state.store.beers),
        model_version=promoted_version(settings.models_dir),
    )
