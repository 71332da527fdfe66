"""Train a model on cleaned tables, evaluate it, and register it.

from punkml.ml.train import train_model
result = train_model(settings, model_type="recipe")          # from the catalog
result = train_model(settings, beers_file=Path("beers.json"))  # from a JSON file
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.ml.data import RecipeTables, load_training_tables
from punkml.ml.evaluate import Progress, cross_fit, evaluate_cv, evaluate_seed, seed_as_dict
from punkml.ml.folds import CV_REPEATS
from punkml.ml.models import make_model, training_mask
from punkml.ml.registry import promote, promoted_version, save_model

if TYPE_CHECKING:
    from punkml.config import Settings
    from punkml.ml.models import IbuModel


@dataclass(frozen=True)
class TrainResult:
    """What ``train_model`` produced."""

    version: str
    path: Path
    model_type: str
    metrics: dict[str, Any]
    promoted: bool
    seconds: float


def fit_model(tables: RecipeTables, model_type: str) -> IbuModel:
    """A model of ``model_type`` fitted on every beer of ``tables`` it may train on."""
    import numpy as np

    train = tables.take(np.flatnonzero(training_mask(tables, model_type)))
    return make_model(model_type).fit(train, train.target())


def model_metrics(
    tables: RecipeTables,
    model_type: str,
    *,
    with_cv: bool,
    cv_repeats: int = CV_REPEATS,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Seed-protocol metrics (and, when ``with_cv``, grouped and random ``cv_repeats`` x 5-fold
    CV ones) of this model type."""
    metrics: dict[str, Any] = {"seed": seed_as_dict(evaluate_seed(tables, (model_type,)))[0]}
    if with_cv:
        for name, grouped in (("grouped", True), ("cv", False)):
            [result] = evaluate_cv(
                tables, (model_type,), progress=progress, grouped=grouped, repeats=cv_repeats
            )
            metrics[name] = result.summary()
    return metrics


def train_model(
    settings: Settings,
    *,
    model_type: str = "recipe",
    beers_file: Path | None = None,
    out_dir: Path | None = None,
    with_cv: bool = False,
    cv_repeats: int = CV_REPEATS,
    promote_model: bool | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train on the catalog's ``beers_latest`` (or ``beers_file``), evaluate, register.

    ``promote_model``: True promotes the new version, False never, None (default) promotes it
    only when the registry has no promoted version yet.
    """
    started = time.perf_counter()
    models_dir = out_dir or settings.models_dir
    tables = load_training_tables(settings, beers_file)
    model = fit_model(tables, model_type)
    metrics = model_metrics(
        tables, model_type, with_cv=with_cv, cv_repeats=cv_repeats, progress=progress
    )
    if progress:
        progress("out-of-fold predictions and importances")
    crossed = cross_fit(tables, model_type)
    metrics["out_of_fold"] = crossed.summary()
    metrics["n_train"] = model.n_train_
    metrics["interval_width"] = model.interval_width_
    fingerprint = tables.fingerprint()
    card = model_card(model, metrics, fingerprint, source=str(beers_file or "catalog beers_latest"))
    path = save_model(
        models_dir,
        model,
        fingerprint=fingerprint,
        metrics=metrics,
        card=card,
        out_of_fold=crossed.rows,
        importances=crossed.importances,
    )
    should_promote = (
        promote_model if promote_model is not None else not promoted_version(models_dir)
    )
    if should_promote:
        promote(models_dir, path.name)
    return TrainResult(
        version=path.name,
        path=path,
        model_type=model_type,
        metrics=metrics,
        promoted=bool(should_promote),
        seconds=time.perf_counter() - started,
    )


def model_card(model: IbuModel, metrics: dict[str, Any], fingerprint: str, *, source: str) -> str:
    """The short markdown card stored with a version: data, protocol, metrics, intervals, limits."""
    seed = metrics["seed"]
    lines = [
        f"# IBU model card: {model.model_type}",
        "",
        "## Data",
        f"- Source: {source}; trained on {model.n_train_} beers "
        + (
            "with an IBU (the original's choice: flagged entry errors included)."
            if model.model_type == "baseline"
            else "with an IBU the cleaning did not flag (`ibu_flag` null)."
        ),
        f"- Training-data fingerprint (SHA-256): `{fingerprint}`",
        "",
        "## Model",
        (
            "- Original baseline: SimpleImputer(constant -99) + XGBRegressor(100 trees, depth 5, "
            "random_state 42) on abv, target_fg, target_og, ebc, srm, ph."
            if model.model_type == "baseline"
            else "- Recipe model: the average (log 1 + IBU) of gradient-boosted trees and "
            "extremely randomized trees, both non-decreasing in every hop feature (Tinseth "
            "estimate with a per-variety alpha-acid table; alpha acid and hop mass boiled at "
            "least 60/45/30/15/5/0 minutes), free in malt, gravity, colour and yeast; dry hops "
            "left out; never below a learnt fraction of the Tinseth estimate (capped at the "
            "largest training IBU). Chosen by grouped 5x5 CV (identical hop bills kept in one "
            "fold)."
        ),
        "",
        "## Protocol and metrics",
        "- Seed protocol: beers with an IBU ordered by id, train_test_split(test_size=0.33, "
        "random_state=42), MAE on the test beers.",
        f"- Seed MAE: {seed['mae']:.2f} IBU on {seed['n_test']} test beers "
        f"(median-guess MAE {seed['median_baseline_mae']:.2f}); 90% interval coverage "
        f"{seed['coverage']:.1%}, mean width {seed['mean_interval_width']:.1f} IBU.",
    ]
    for key, label in (("grouped", "Grouped 5x5 CV"), ("cv", "Random 5x5 CV")):
        if key in metrics:
            cv = metrics[key]
            lines.append(
                f"- {label} MAE: {cv['mae_mean']:.2f} ± {cv['mae_sd']:.2f}; coverage "
                f"{cv['coverage_mean']:.1%} ± {cv['coverage_sd']:.1%}."
            )
    if "out_of_fold" in metrics:
        oof = metrics["out_of_fold"]
        lines.append(
            f"- Out-of-fold predictions stored with this version (grouped 5-fold, the CV's first "
            f"repeat): MAE {oof['mae']:.2f} over {oof['beers']} beers, coverage {oof['coverage']:.1%}."
        )
    lines += [
        "",
        "## Intervals",
        f"- {1 - model.interval_alpha:.0%} split-conformal intervals from out-of-fold residuals of "
        f"the training beers over grouped folds ({model.interval_scale} scale, half-width {model.interval_width_:.3f}).",
        "",
        "## Limits",
        "- DIY Dog IBUs are design values with entry errors; 325 beers only. Recipes far from "
        "BrewDog's (other volumes, exotic additions) are extrapolations: trust the interval.",
        "",
    ]
    return "\n".join(lines)
