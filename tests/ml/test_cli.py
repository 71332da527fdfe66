"""The ML commands end to end, as subprocesses: evaluate, train, predict, models, catalog."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from punkml.config import Settings
from subprocess_cli import run_punkml

pytestmark = pytest.mark.slow


def punkml(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    from punkml.config import cache_dir

    # The dataset stays where the test session found it; everything else lives in ``home``.
    env = {**os.environ, "PUNKML_HOME": str(home), "PUNKML_CACHE_DIR": str(cache_dir())}
    done = run_punkml(*args, env=env, timeout=600)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def beers_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from punkml.source.dataset import load_beers

    path = tmp_path_factory.mktemp("beers") / "beers.json"
    path.write_text(json.dumps(load_beers()))
    return path


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory, beers_file: Path) -> Path:
    home = tmp_path_factory.mktemp("home")
    punkml("train", "--beers", str(beers_file), "--model-type", "recipe", home=home)
    return home


def test_seed_protocol_from_the_cli(tmp_path: Path) -> None:
    done = punkml("evaluate", "--protocol", "seed", "--format", "json", home=tmp_path)
    results = {r["model_type"]: r for r in json.loads(done.stdout)["results"]}
    assert results["baseline"]["mae"] == pytest.approx(21.16, abs=0.01)
    assert results["baseline"]["n_test"] == results["recipe"]["n_test"] == 106
    assert results["recipe"]["mae"] < 16


def test_random_splits_from_the_cli(tmp_path: Path) -> None:
    done = punkml(
        "evaluate", "--protocol", "splits", "--splits", "2", "--format", "json", home=tmp_path
    )
    payload = json.loads(done.stdout)
    assert payload["protocol"] == "splits"
    results = {r["model_type"]: r for r in payload["results"]}
    assert results["baseline"]["random_states"] == results["recipe"]["random_states"] == [0, 1]
    assert len(results["recipe"]["split_mae"]) == 2
    assert results["baseline"]["seed_mae"] == pytest.approx(21.16, abs=0.01)
    text = punkml("evaluate", "--protocol", "splits", "--splits", "1", home=tmp_path).stdout
    assert "original split (random_state=42)" in text and "| recipe | 1 |" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--protocol", "seed", "--splits", "3"), "--protocol splits"),
        (("--protocol", "splits", "--splits", "0"), "--splits"),
    ],
)
def test_bad_splits_are_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = punkml("evaluate", *args, home=tmp_path, check=False)
    assert done.returncode == 2 and message in done.stderr


def test_train_registers_and_promotes_the_first_model(trained_home: Path) -> None:
    out = punkml("models", "list", "--format", "json", home=trained_home).stdout
    listed = [json.loads(line) for line in out.splitlines()]  # JSON lines: one model each
    assert len(listed) == 1 and listed[0]["promoted"] and listed[0]["model_type"] == "recipe"
    version_dir = Settings.load(trained_home).models_dir / listed[0]["version"]
    card = (version_dir / "MODEL_CARD.md").read_text()
    assert "Seed MAE" in card and "Limits" in card


def test_predict_the_325_dataset_beers(trained_home: Path, beers_file: Path) -> None:
    done = punkml("predict", "--beers", str(beers_file), home=trained_home)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 325
    fields = {"id", "name", "ibu_pred", "ibu_low", "ibu_high", "model_version", "held_out"}
    assert set(rows[0]) == fields
    assert all(r["ibu_low"] <= r["ibu_pred"] <= r["ibu_high"] for r in rows)
    # The beers with an IBU were in training: out-of-fold predictions, never memorised labels.
    known = [
        r
        for r, beer in zip(rows, json.loads(beers_file.read_text()), strict=True)
        if beer["ibu"] is not None
    ]
    assert len(known) == 320 and not any(r["held_out"] for r in known)
    assert (
        sum(
            r["ibu_pred"] == beer["ibu"]
            for r, beer in zip(rows, json.loads(beers_file.read_text()), strict=False)
        )
        < 10
    )
    csv_out = punkml("predict", "--beers", str(beers_file), "--format", "csv", home=trained_home)
    assert len(csv_out.stdout.splitlines()) == 326


def test_an_unusable_recipe_names_the_field(trained_home: Path, tmp_path: Path) -> None:
    from punkml.source.dataset import load_beers

    beer: dict[str, Any] = load_beers()[0]
    beer["volume"] = {"value": 20, "unit": "furlongs"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(beer))
    done = punkml("predict", "--beers", str(path), home=trained_home, check=False)
    assert done.returncode != 0 and "volume.unit" in done.stderr


EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize("example", ["my_recipe.json", "my_recipe.beerxml.xml"])
def test_predict_the_example_recipes(trained_home: Path, example: str) -> None:
    done = punkml("predict", "--beers", str(EXAMPLES / example), home=trained_home)
    (row,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert row["name"] == "Backyard Pale Ale"
    assert 5 < row["ibu_low"] <= row["ibu_pred"] <= row["ibu_high"] < 150
    if example.endswith(".json"):  # hops and a name only: the defaults are named
        assert any(w.startswith("boil_volume: not given, 25 litres") for w in row["warnings"])
    else:
        assert "warnings" not in row


def test_predict_answers_the_valid_recipes_and_names_the_others(
    trained_home: Path, tmp_path: Path
) -> None:
    from punkml.source.dataset import load_beers

    good = load_beers()[:2]
    bad = {"name": "No hops at all"}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([good[0], bad, good[1]]))
    done = punkml("predict", "--beers", str(path), home=trained_home, check=False)
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [
        good[0]["id"],
        good[1]["id"],
    ]
    assert done.returncode == 1
    assert "refused recipes[1].ingredients.hops: missing" in done.stderr
    assert "1 of 3 recipes" in done.stderr and "unexpected" not in done.stderr
    csv_out = punkml(
        "predict", "--beers", str(path), "--format", "csv", home=trained_home, check=False
    )
    assert csv_out.stdout.splitlines()[0].endswith(",warnings")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", "an empty list: there is no recipe to read"),
        (None, "is a directory"),
        ("<RECIPES><RECIPE>", "not well-formed XML"),
        ("", "empty"),
    ],
)
def test_predict_user_errors_are_one_line(
    trained_home: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path
    if content is not None:
        path = tmp_path / "recipes.txt"
        path.write_text(content)
    done = punkml("predict", "--beers", str(path), home=trained_home, check=False)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_train_sets_a_bad_record_aside(tmp_path: Path, beers_file: Path) -> None:
    beers = json.loads(beers_file.read_text())
    beers[3]["ingredients"]["hops"][0]["amount"]["value"] = "a lot"
    path = tmp_path / "with-a-bad-one.json"
    path.write_text(json.dumps(beers))
    done = punkml("train", "--beers", str(path), "--model-type", "baseline", home=tmp_path)
    assert "baseline, 319 beers" in done.stdout
    assert "set aside recipes[3].ingredients.hops[0].amount.value" in done.stderr


def test_a_tampered_model_is_refused_by_predict(
    trained_home: Path, beers_file: Path, tmp_path: Path
) -> None:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    models = Settings.load(home).models_dir
    version = (models / "PROMOTED").read_text().strip()
    model_file = models / version / "model.skops"
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    done = punkml("predict", "--beers", str(beers_file), home=home, check=False)
    assert done.returncode != 0 and "SHA-256" in done.stderr
    promote = punkml("models", "promote", version, home=home, check=False)
    assert promote.returncode != 0


def write_catalog(home: Path, beers: list[dict[str, Any]]) -> None:
    """Cleaned tables in the lake, laid out as the delivery writes them."""
    from punkml.pipeline.cleaned import tables_from_beers
    from punkml.pipeline.lake import Lake

    lake = Lake.open(Settings.load(home).lake_uri)
    for name, table in tables_from_beers(beers).items():
        lake.write_parquet(f"cleaned/{name}/ingest_date=2026-01-01/part-0-1.parquet", table)


def test_batch_prediction_over_the_catalog_writes_predictions(
    trained_home: Path, tmp_path: Path
) -> None:
    import shutil

    from punkml.pipeline.catalog import Catalog
    from punkml.source.dataset import load_beers

    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    write_catalog(home, load_beers())
    done = punkml("predict", home=home)
    assert "wrote 325 predictions" in done.stdout
    with Catalog(Settings.load(home)) as catalog:
        table = catalog.query(
            "SELECT count(*) AS n, min(ibu_low <= ibu_pred) AS ok, "
            "count(*) FILTER (WHERE NOT held_out) AS trained_on, "
            "count(*) FILTER (WHERE NOT held_out AND p.ibu_pred = b.ibu) AS memorised "
            "FROM predictions p JOIN beers_latest b USING (id)"
        )
    # The 320 beers with an IBU were in training: each shows its out-of-fold prediction.
    assert table.to_pylist() == [{"n": 325, "ok": True, "trained_on": 320, "memorised": 0}]


def test_train_from_the_catalog(tmp_path: Path) -> None:
    from punkml.source.dataset import load_beers

    write_catalog(tmp_path, load_beers())
    done = punkml("train", "--model-type", "baseline", home=tmp_path)
    assert "baseline, 320 beers" in done.stdout
