"""``GET /health``: the dataset served and the promoted model version, which follows promotions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from punkml.api.app import create_app
from punkml.config import Settings
from punkml.ml.data import tables_from_beers
from punkml.ml.models import make_model, training_mask
from punkml.ml.registry import promote, save_model
from punkml.source.dataset import load_beers


def health(app: Any) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answer: dict[str, Any] = (await client.get("/health")).json()
            return answer

    return asyncio.run(go())


def test_health_names_the_dataset_and_follows_the_promoted_model(tmp_path: Path) -> None:
    beers = load_beers()
    app = create_app(beers, rate_limit=0, settings=Settings.load(tmp_path))
    before = health(app)
    assert before["status"] == "ok" and before["beers"] == 325
    assert before["model_version"] is None
    assert before["dataset"] == "given list of beers"  # not the cached pinned dataset

    tables = tables_from_beers(beers[:120])
    train = tables.take(np.flatnonzero(training_mask(tables, "baseline")))
    model = make_model("baseline").fit(train, train.target())
    models_dir = Settings.load(tmp_path).models_dir
    for version in ("v1-baseline", "v2-baseline"):
        save_model(models_dir, model, fingerprint="0" * 64, metrics={}, card="#\n", version=version)
    promote(models_dir, "v1-baseline")
    assert health(app)["model_version"] == "v1-baseline"
    promote(models_dir, "v2-baseline")
    assert health(app)["model_version"] == "v2-baseline"
