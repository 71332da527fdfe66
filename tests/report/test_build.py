"""The whole report: one self-contained HTML file that renders what it can and names what is missing."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from punkml.config import Settings, cache_dir
from punkml.report.build import ReportError, build_report, write_report

SECTIONS = ("overview", "quality", "distributions", "hops", "model", "predictions", "importances")
MAX_REPORT_BYTES = 600_000


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deployment with a promoted baseline model (quick to train) and no catalog."""
    from punkml.ml.train import train_model
    from punkml.source.dataset import dataset_path

    home = tmp_path_factory.mktemp("report-home")
    train_model(
        Settings.load(home).ensure(), model_type="baseline", beers_file=dataset_path(cache_dir())
    )
    return home


def _assert_self_contained(document: str) -> None:
    assert not re.search(r"<script|<link|<img|<iframe|@import|\ssrc=", document, re.IGNORECASE)
    urls = set(re.findall(r"https?://[^\s\"')]+", document))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_report_with_a_promoted_model_has_every_part(
    trained_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PUNKML_CACHE_DIR", str(cache_dir()))
    settings = Settings.load(trained_home)
    path = write_report(settings, tmp_path / "out" / "report.html")
    document = path.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}"' in document
    # distributions, heat map, hop load, hops, predicted vs actual, residuals, importances
    assert document.count("<svg") == 7
    assert "no promoted model" not in document.lower()
    assert "out-of-fold, stored at train time" in document
    assert re.search(r"<td>baseline</td><td>seed split", document)
    assert "Permutation importance" in document and "target_og" in document
    assert "Missing: the catalog holds no beers yet" in document  # the dataset fallback is said
    _assert_self_contained(document)
    assert path.stat().st_size < MAX_REPORT_BYTES
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_the_report_renders_what_training_stored_and_never_refits(
    trained_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import shutil

    from punkml.ml.train import train_model
    from punkml.source.dataset import load_beers

    monkeypatch.setenv("PUNKML_CACHE_DIR", str(cache_dir()))
    home = tmp_path / "both"
    shutil.copytree(trained_home, home)
    settings = Settings.load(home)
    beers = [beer for beer in load_beers() if beer["id"] % 3 == 0 or beer["id"] in (137, 185)]
    beers_file = tmp_path / "beers.json"
    beers_file.write_text(json.dumps(beers))
    train_model(settings, model_type="recipe", beers_file=beers_file, promote_model=True)

    def refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report must not fit a model")

    for target in ("punkml.ml.evaluate.fit_on", "punkml.ml.models.IbuModel.fit"):
        monkeypatch.setattr(target, refit)
    document = build_report(settings)
    # the promoted recipe model's plot beside the baseline's, named outliers, the worst beers
    assert document.count("<svg") == 8
    assert "Recipe model" in document and "Baseline model" in document
    assert "the 6 largest errors are named" in document
    worst = document.split("misses most when it has not seen them")[1]
    assert worst.count("<tr>") == 21  # a header and 20 beers
    assert "flagged label: the target OG copied into the IBU field" in worst  # ids 137 and 185
    assert "#137 " in worst and "#185 " in worst
    assert re.search(r"<td>recipe</td><td>seed split", document)
    assert "measured at train time on the held-out folds" in document
    _assert_self_contained(document)


def test_without_a_model_the_report_says_how_to_train_one(settings: Settings) -> None:
    document = build_report(settings)
    assert "No promoted model" in document and "punkml train" in document
    assert '<section id="distributions"' in document  # the data parts are still drawn
    assert document.count("<svg") == 4
    _assert_self_contained(document)


def test_from_the_catalog_the_quality_table_counts_dead_letters_and_duplicates(
    lake_settings: Settings,
) -> None:
    document = build_report(lake_settings)
    assert "the catalog of" in document and "Missing: the catalog" not in document
    assert re.search(
        r"Dead letters \(records that failed validation\)</td><td class=\"num\">1<", document
    )
    assert re.search(r"Superseded beer events [^<]*</td><td class=\"num\">1<", document)


def test_without_any_data_the_report_still_renders(no_dataset: None, settings: Settings) -> None:
    document = build_report(settings)
    assert "punkml data fetch" in document
    assert "No beers to plot." in document


def test_a_tampered_model_is_named_not_loaded(trained_home: Path, tmp_path: Path) -> None:
    import shutil

    home = tmp_path / "tampered"
    shutil.copytree(trained_home, home)
    settings = Settings.load(home)
    model_file = next(settings.models_dir.glob("*/model.skops"))
    model_file.write_bytes(model_file.read_bytes() + b"\0")
    document = build_report(settings)
    assert "cannot be loaded" in document and "SHA-256" in document


def test_an_unwritable_target_is_one_clear_error(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ReportError, match="cannot write the report"):
        write_report(settings, blocker / "report.html")


def test_cli_writes_the_report_and_prints_its_path(trained_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-report.html"
    env = {"PUNKML_CACHE_DIR": str(cache_dir()), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "punkml", "report", "--home", str(trained_home), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert "<h1>Punk ML: data and IBU model report</h1>" in out.read_text(encoding="utf-8")
