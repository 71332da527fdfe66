"""``punkml run``: the whole local pipeline, end to end, as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from punkml.run import CV_REPEATS_ENV

pytestmark = pytest.mark.slow
COUNTS = (
    "SELECT (SELECT count(*) FROM beers_latest) AS latest, "
    "(SELECT count(*) FROM raw_beers) AS raw, "
    "(SELECT count(*) FROM predictions) AS predictions, "
    "(SELECT count(*) FROM dead_letters) AS dead"
)


def _punkml(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # One repeat of each 5-fold CV instead of five: every step still runs, in a fifth of the
    # training time (the repeats themselves: tests/ml/test_evaluate.py).
    env = os.environ | {CV_REPEATS_ENV: "1"}
    return subprocess.run(
        [sys.executable, "-m", "punkml", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


@pytest.mark.timeout(1200)  # two runs; the first trains with CV (minutes on a busy machine)
def test_run_lands_every_beer_trains_predicts_and_reports(tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = _punkml(home, "run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("ingest") and "325 beers" in line for line in lines)
    assert any("recipe" in line and "(promoted)" in line for line in lines)
    trained = [line for line in lines if line.startswith("train ") and "MAE" in line]
    assert len(trained) == 2 and all("grouped 1x5 CV MAE" in line for line in trained)
    assert all("random CV MAE" in line and "seed MAE" in line for line in trained)

    counts = _punkml(home, "sql", COUNTS, "--format", "json")
    assert counts.returncode == 0, counts.stderr
    row = json.loads(counts.stdout)  # JSON lines: one row, one line
    assert row == {"latest": 325, "raw": 325, "predictions": 325, "dead": 0}

    models = _punkml(home, "models", "list")
    assert models.returncode == 0 and "baseline" in models.stdout and "recipe" in models.stdout

    report = home / "report.html"
    assert report.is_file()
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and "recipe" in html
    assert "<script src=" not in html and "<link " not in html  # self-contained: nothing fetched

    # Run again: nothing to redo, so nothing new (the time it saves: docs/benchmarks.md).
    versions = sorted(p.name for p in (home / "models").iterdir() if p.is_dir())
    report_written = report.stat().st_mtime_ns
    again = _punkml(home, "run")
    assert again.returncode == 0, again.stderr
    said = again.stdout
    assert "backfill skipped" in said and "put on the stream" not in said
    assert said.count(" reused (training data, code and parameters unchanged)") == 2
    assert "report" in said and "unchanged: skipped" in said
    assert _punkml(home, "sql", COUNTS, "--format", "json").stdout == counts.stdout
    assert sorted(p.name for p in (home / "models").iterdir() if p.is_dir()) == versions
    assert report.stat().st_mtime_ns == report_written


def test_run_without_a_dataset_fails_with_one_line(tmp_path: Path) -> None:
    env_free = subprocess.run(
        [sys.executable, "-m", "punkml", "run", "--home", str(tmp_path / "h")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": "/nonexistent",
            "HOME": str(tmp_path),
            "PUNKML_CACHE_DIR": str(tmp_path / "c"),
        },
    )
    assert env_free.returncode != 0
    assert "npm" in env_free.stderr
    assert "Traceback" not in env_free.stderr


def test_the_training_fingerprint_follows_data_code_and_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from punkml import run

    base = run.training_fingerprint("data-a", "recipe", with_cv=True)
    assert base == run.training_fingerprint("data-a", "recipe", with_cv=True)
    assert base != run.training_fingerprint("data-b", "recipe", with_cv=True)
    assert base != run.training_fingerprint("data-a", "baseline", with_cv=True)
    assert base != run.training_fingerprint("data-a", "recipe", with_cv=False)
    assert base != run.training_fingerprint("data-a", "recipe", with_cv=True, cv_repeats=1)
    monkeypatch.setattr(run, "code_fingerprint", lambda: "changed code")
    assert base != run.training_fingerprint("data-a", "recipe", with_cv=True)


def test_a_damaged_run_state_skips_nothing(tmp_path: Path) -> None:
    from punkml.config import Settings
    from punkml.run import RUN_STATE_FILE, RunState, dataset_identity, lake_holds_backfill

    settings = Settings.load(tmp_path / "home").ensure()
    (settings.state_dir / RUN_STATE_FILE).write_text("{not json")
    assert RunState.load(settings) == RunState()
    # A backfill of another dataset version, or one whose records left the lake, is done again.
    assert not lake_holds_backfill(settings, {"dataset": "punkapi-db@1.0.0", "first_seq": 1})
    mark = {"dataset": dataset_identity()}
    assert not lake_holds_backfill(settings, mark | {"first_seq": 1, "last_seq": 325})


def test_the_cv_repeats_hook_takes_a_whole_number(monkeypatch: pytest.MonkeyPatch) -> None:
    from punkml import run
    from punkml.errors import ConfigError
    from punkml.ml.folds import CV_REPEATS

    monkeypatch.delenv(CV_REPEATS_ENV, raising=False)
    assert run._cv_repeats() == CV_REPEATS
    monkeypatch.setenv(CV_REPEATS_ENV, "2")
    assert run._cv_repeats() == 2
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(CV_REPEATS_ENV, bad)
        with pytest.raises(ConfigError, match=CV_REPEATS_ENV):
            run._cv_repeats()
