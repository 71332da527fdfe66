"""The model part of the report: scores read from the registry's metrics, permutation importances."""

from __future__ import annotations

import json
from pathlib import Path

from punkml.report.model import (
    HeldOut,
    error_reason,
    held_out_of,
    registry_scores,
    scores_from_metrics,
    worst_rows,
)

SEED = {"model_type": "recipe", "mae": 11.5, "coverage": 0.9, "mean_interval_width": 40.0}
CV = {"model_type": "recipe", "folds": 25, "mae_mean": 12.0, "mae_sd": 1.5, "coverage_mean": 0.89}


def test_scores_are_read_from_single_results_lists_and_mappings() -> None:
    single = scores_from_metrics({"seed": SEED, "cv": CV}, "v1")
    assert [(r.protocol.split()[0], r.mae, r.mae_sd, r.coverage) for r in single] == [
        ("seed", 11.5, None, 0.9),
        ("repeated", 12.0, 1.5, 0.89),
    ]
    listed = scores_from_metrics({"seed": [SEED, {**SEED, "model_type": "baseline"}]}, "v1")
    assert [r.model_type for r in listed] == ["recipe", "baseline"]
    mapped = scores_from_metrics({"seed": {"baseline": {"mae": 21.2}}}, "v1")
    assert mapped[0].model_type == "baseline" and mapped[0].coverage is None
    assert scores_from_metrics({"seed": "not a result", "cv": [1, 2]}, "v1") == []


def _register(models_dir: Path, version: str, model_type: str, metrics: dict[str, object]) -> None:
    folder = models_dir / version
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"model_type": model_type}))
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_the_table_keeps_the_newest_scores_of_each_model_and_protocol(tmp_path: Path) -> None:
    _register(tmp_path, "2026-a-recipe", "recipe", {"seed": {**SEED, "mae": 15.0}})
    _register(
        tmp_path,
        "2026-b-baseline",
        "baseline",
        {"seed": {**SEED, "model_type": "baseline", "mae": 21.2}},
    )
    _register(tmp_path, "2026-c-recipe", "recipe", {"seed": SEED, "cv": CV})
    rows = registry_scores(tmp_path)
    assert [(r.model_type, r.protocol.split()[0], r.mae, r.version) for r in rows] == [
        ("baseline", "seed", 21.2, "2026-b-baseline"),
        ("recipe", "seed", 11.5, "2026-c-recipe"),
        ("recipe", "repeated", 12.0, "2026-c-recipe"),
    ]
    assert registry_scores(tmp_path / "missing") == []


def test_an_unreadable_metrics_file_gives_no_table_rather_than_an_error(tmp_path: Path) -> None:
    _register(tmp_path, "2026-a-recipe", "recipe", {"seed": SEED})
    (tmp_path / "2026-a-recipe" / "metrics.json").write_text("{not json")
    assert registry_scores(tmp_path) == []


def test_grouped_scores_get_their_own_row() -> None:
    grouped = {**CV, "mae_mean": 14.5, "protocol": "grouped"}
    rows = scores_from_metrics({"grouped": grouped, "cv": CV}, "v1")
    assert [(r.protocol, r.mae) for r in rows] == [
        ("grouped 5-fold CV (25 folds)", 14.5),
        ("repeated 5-fold CV (25 folds)", 12.0),
    ]


def held_out(**changes: object) -> HeldOut:
    base: dict[str, object] = {
        "model_type": "recipe",
        "version": "v1",
        "ids": [1, 2, 3, 4],
        "names": ["Flagged", "Label far from its hops", "Missed", "Fine"],
        "actual": [1085.0, 150.0, 60.0, 40.0],
        "predicted": [60.0, 40.0, 20.0, 41.0],
        "low": [30.0, 20.0, 10.0, 20.0],
        "high": [120.0, 80.0, 40.0, 80.0],
        "flags": ["equals_target_og", None, None, None],
        "tinseth": [50.0, 30.0, 25.0, 40.0],
    }
    return HeldOut(**{**base, **changes})  # type: ignore[arg-type]


def test_the_worst_beers_come_with_their_reason() -> None:
    rows = worst_rows(held_out(), count=3)
    assert [row[0] for row in rows] == ["#1 Flagged", "#2 Label far from its hops", "#3 Missed"]
    reasons = [row[-1] for row in rows]
    assert reasons[0] == "flagged label: the target OG copied into the IBU field"
    assert reasons[1].startswith("stated IBU is 5x the Tinseth estimate")
    assert reasons[2] == "outside its 90% interval"
    assert error_reason(held_out(), 3) == ""
    assert rows[1][4] == "-110"


def test_a_version_without_out_of_fold_predictions_is_named(tmp_path: Path) -> None:
    _register(tmp_path, "2026-a-recipe", "recipe", {"seed": SEED})
    assert held_out_of(tmp_path, "2026-a-recipe") is None
