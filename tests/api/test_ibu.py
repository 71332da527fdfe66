"""POST /v2/ibu: predictions with intervals, JSON or BeerXML bodies, defaults with warnings, 413,
422 with the field path, 503, model reload."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from punkml.api.app import create_app
from punkml.api.ibu import MAX_BODY_BYTES, MAX_RECIPES
from punkml.config import Settings
from punkml.ml.data import tables_from_beers
from punkml.ml.models import IbuModel, make_model, training_mask
from punkml.ml.registry import promote, save_model
from punkml.source.dataset import load_beers

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.fixture(scope="module")
def beers() -> list[dict[str, Any]]:
    return copy.deepcopy(load_beers())


@pytest.fixture(scope="module")
def baseline(beers: list[dict[str, Any]]) -> IbuModel:
    tables = tables_from_beers(beers)
    train = tables.take(np.flatnonzero(training_mask(tables, "baseline")))
    return make_model("baseline").fit(train, train.target())


def register(home: Path, model: IbuModel, version: str) -> None:
    models_dir = Settings.load(home).models_dir
    save_model(models_dir, model, fingerprint="0" * 64, metrics={}, card="#\n", version=version)
    promote(models_dir, version)


def post(app: Any, body: Any = None, content: bytes | None = None, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            if content is not None:
                return await client.post("/v2/ibu", content=content, **kw)
            return await client.post("/v2/ibu", json=body, **kw)

    return asyncio.run(go())


@pytest.fixture
def app_with_model(
    tmp_path: Path, beers: list[dict[str, Any]], baseline: IbuModel
) -> Callable[[], Any]:
    register(tmp_path, baseline, "v1-baseline")
    return lambda: create_app(beers, rate_limit=0, settings=Settings.load(tmp_path))


def test_one_recipe(app_with_model: Callable[[], Any], beers: list[dict[str, Any]]) -> None:
    answer = post(app_with_model(), beers[0])
    assert answer.status_code == 200
    payload = answer.json()
    assert payload["model_version"] == "v1-baseline" and payload["interval"] == 0.9
    (row,) = payload["predictions"]
    assert set(row) == {
        "id",
        "name",
        "ibu_pred",
        "ibu_low",
        "ibu_high",
        "model_version",
        "held_out",
    }
    assert row["id"] == 1 and row["ibu_low"] <= row["ibu_pred"] <= row["ibu_high"]
    assert row["held_out"] is None  # this version stored no out-of-fold predictions


def test_a_beer_the_model_trained_on_gets_its_out_of_fold_prediction(
    tmp_path: Path, beers: list[dict[str, Any]], baseline: IbuModel
) -> None:
    key = baseline.recipe_keys(baseline.features_.transform(tables_from_beers([beers[0]])))[0]
    stored = {"id": 1, "recipe_key": key, "ibu_pred": 12.34, "ibu_low": 5.0, "ibu_high": 30.0}
    models_dir = Settings.load(tmp_path).models_dir
    save_model(
        models_dir,
        baseline,
        fingerprint="0" * 64,
        metrics={},
        card="#\n",
        version="v1",
        out_of_fold=[stored],
    )
    promote(models_dir, "v1")
    answer = post(create_app(beers, rate_limit=0, settings=Settings.load(tmp_path)), beers[:2])
    first, second = answer.json()["predictions"]
    assert (first["ibu_pred"], first["ibu_low"], first["ibu_high"]) == (12.34, 5.0, 30.0)
    assert first["held_out"] is False and second["held_out"] is True


def test_a_list_of_recipes(app_with_model: Callable[[], Any], beers: list[dict[str, Any]]) -> None:
    answer = post(app_with_model(), beers)
    assert answer.status_code == 200
    assert [r["id"] for r in answer.json()["predictions"]] == [b["id"] for b in beers]


def test_invalid_recipe_names_the_field(
    app_with_model: Callable[[], Any], beers: list[dict[str, Any]]
) -> None:
    bad = copy.deepcopy(beers[0])
    bad["ingredients"]["hops"][2]["amount"]["value"] = "lots"
    answer = post(app_with_model(), [beers[1], bad])
    assert answer.status_code == 422
    locs = [d["loc"] for d in answer.json()["detail"]]
    assert ["body", 1, "ingredients", "hops", 2, "amount", "value"] in locs


def test_unusable_volume_is_422(
    app_with_model: Callable[[], Any], beers: list[dict[str, Any]]
) -> None:
    bad = copy.deepcopy(beers[0])
    bad["volume"] = {"value": 20, "unit": "furlongs"}
    answer = post(app_with_model(), bad)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "volume", "unit"]


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("hop amount", 1e308, ["body", "ingredients", "hops", 0, "amount", "value"]),
        ("hop amount", -5, ["body", "ingredients", "hops", 0, "amount", "value"]),
        ("volume", 1e-320, ["body", "volume", "value"]),
    ],
)
def test_implausible_values_are_422_naming_the_field(
    app_with_model: Callable[[], Any],
    beers: list[dict[str, Any]],
    field: str,
    value: float,
    loc: list[Any],
) -> None:
    bad = copy.deepcopy(beers[0])
    if field == "volume":
        bad["volume"]["value"] = value
    else:
        bad["ingredients"]["hops"][0]["amount"]["value"] = value
    answer = post(app_with_model(), bad)
    assert answer.status_code == 422
    assert loc in [d["loc"] for d in answer.json()["detail"]]


@pytest.mark.parametrize("body", [[], "text", 42])
def test_not_a_recipe_is_422(app_with_model: Callable[[], Any], body: Any) -> None:
    answer = post(app_with_model(), body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body"]


def test_a_recipe_of_hops_alone_gets_a_prediction_and_warnings(
    app_with_model: Callable[[], Any],
) -> None:
    answer = post(app_with_model(), content=(EXAMPLES / "my_recipe.json").read_bytes())
    assert answer.status_code == 200
    (row,) = answer.json()["predictions"]
    assert row["name"] == "Backyard Pale Ale" and row["id"] == 1
    assert row["ibu_low"] <= row["ibu_pred"] <= row["ibu_high"]
    assert any(w.startswith("volume: not given, 20 litres") for w in row["warnings"])


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml", None])
def test_a_beerxml_body(app_with_model: Callable[[], Any], content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    xml = (EXAMPLES / "my_recipe.beerxml.xml").read_bytes()
    answer = post(app_with_model(), content=xml, headers=headers)
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["predictions"]
    assert row["name"] == "Backyard Pale Ale" and "warnings" not in row
    as_json = post(app_with_model(), content=(EXAMPLES / "my_recipe.json").read_bytes())
    assert as_json.json()["predictions"][0]["ibu_pred"] != row["ibu_pred"]  # OG, malts, alpha


def test_a_bad_beerxml_hop_names_the_tag(app_with_model: Callable[[], Any]) -> None:
    xml = (EXAMPLES / "my_recipe.beerxml.xml").read_text()
    bad = xml.replace("<AMOUNT>0.030</AMOUNT>", "<AMOUNT>thirty grams</AMOUNT>")
    answer = post(app_with_model(), content=bad.encode(), headers={"content-type": "text/xml"})
    assert answer.status_code == 422
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == ["body", 0, "HOPS", "HOP", 1, "AMOUNT"]
    assert detail["msg"] == "'thirty grams' is not a number"


def test_unsafe_xml_is_422_with_the_reason(app_with_model: Callable[[], Any]) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><RECIPES><RECIPE><NAME>&b;</NAME>'
        b"</RECIPE></RECIPES>"
    )
    answer = post(app_with_model(), content=bomb, headers={"content-type": "application/xml"})
    assert answer.status_code == 422
    assert "<!DOCTYPE" in answer.json()["detail"][0]["msg"]


def test_oversized_bodies_are_413(
    app_with_model: Callable[[], Any], beers: list[dict[str, Any]]
) -> None:
    app = app_with_model()
    too_many = [beers[0]] * (MAX_RECIPES + 1)
    assert post(app, too_many).status_code == 413
    assert post(app, content=b" " * (MAX_BODY_BYTES + 1)).status_code == 413


def test_no_promoted_model_is_503(tmp_path: Path, beers: list[dict[str, Any]]) -> None:
    answer = post(create_app(beers, rate_limit=0, settings=Settings.load(tmp_path)), beers[0])
    assert answer.status_code == 503
    assert "punkml models promote" in answer.json()["message"]


def test_a_promoted_model_that_cannot_be_loaded_is_503_and_logged(
    tmp_path: Path,
    app_with_model: Callable[[], Any],
    beers: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = app_with_model()
    model_file = Settings.load(tmp_path).models_dir / "v1-baseline" / "model.skops"
    model_file.write_bytes(model_file.read_bytes() + b"tampered")
    answer = post(app, beers[0])
    assert answer.status_code == 503
    assert "cannot be loaded" in answer.json()["message"]
    assert str(tmp_path) not in answer.text  # no server path reaches the client
    assert "SHA-256" in caplog.text and "v1-baseline" in caplog.text


def test_a_new_promotion_is_served(
    tmp_path: Path,
    app_with_model: Callable[[], Any],
    beers: list[dict[str, Any]],
    baseline: IbuModel,
) -> None:
    app = app_with_model()
    assert post(app, beers[0]).json()["model_version"] == "v1-baseline"
    register(tmp_path, baseline, "v2-baseline")
    assert post(app, beers[0]).json()["model_version"] == "v2-baseline"


@pytest.mark.slow
def test_over_http(
    tmp_path: Path, api_server_factory: Any, baseline: IbuModel, beers: list[dict[str, Any]]
) -> None:
    register(tmp_path / "home-0", baseline, "v1-baseline")  # the factory's first home
    server = api_server_factory("--rate-limit", "0")
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        answer = client.post("/ibu", json=beers[4])
        assert answer.status_code == 200
        assert answer.json()["predictions"][0]["id"] == 5

        def chunks() -> Any:  # no content-length: the streamed size is bounded too
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                yield b" " * 65536

        assert client.post("/ibu", content=chunks()).status_code == 413
        xml = (EXAMPLES / "my_recipe.beerxml.xml").read_bytes()
        answer = client.post("/ibu", content=xml, headers={"content-type": "application/xml"})
        assert answer.status_code == 200
        assert answer.json()["predictions"][0]["name"] == "Backyard Pale Ale"
