"""Evaluation protocols: grouped CV (the one that chooses models), the original seed split,
repeated random 5-fold CV, random seed-like splits, and the learner comparison.

Grouped CV: 5 repeats of grouped 5-fold CV (``punkml.ml.folds.grouped_folds``): beers with an
identical hop bill stay in the same fold, so a model cannot score by remembering a near-duplicate
recipe's label. Scored like repeated CV below. ``compare_learners`` uses it.

Seed protocol (the original's): the beers with an IBU, ordered by id,
``train_test_split(test_size=0.33, random_state=42)``, MAE on the test beers. The baseline trains
on every training beer (the two entry errors included, as the original did); the recipe model
trains on the training beers whose IBU the cleaning did not flag. The MAE is reported on all test
beers and on the unflagged ones.

Repeated random CV: ``RepeatedKFold(5 splits, 5 repeats, random_state=42)`` over the same beers, the same
folds for both models; each model trains on the training folds as above and is scored on the
unflagged beers of the held-out fold (a flagged IBU is not a bitterness to be predicted). The 90 %
intervals are calibrated inside each training fold only; coverage is measured on the held-out fold.
Random folds reward remembering near-duplicates: reported beside the grouped figures, not a target.

Random splits: the seed protocol's split drawn again with other seeds
(``train_test_split(test_size=0.33, random_state=0 … N-1)``), each model trained as above and scored
on the unflagged test beers: how much one split's MAE depends on which beers it happens to hold
out, and where the original split (``random_state=42``) falls among the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from punkml.ml.features import RecipeFeatures, feature_names
from punkml.ml.folds import (
    CV_REPEATS,
    SEED_RANDOM_STATE,
    Folds,
    grouped_folds,
    random_folds,
    recipe_groups,
    seed_split,
)
from punkml.ml.learners import recipe_regressor
from punkml.ml.models import MODEL_TYPES, make_model, monotone_recipe_regressor, training_mask

if TYPE_CHECKING:
    import numpy as np

    from punkml.ml.data import RecipeTables
    from punkml.ml.models import IbuModel

Progress = Callable[[str], None]


@dataclass
class SeedResult:
    """One model under the seed protocol."""

    model_type: str
    n_train: int
    n_test: int
    mae: float
    mae_unflagged: float
    n_test_flagged: int
    coverage: float
    mean_interval_width: float
    median_baseline_mae: float


@dataclass
class CvResult:
    """One model under repeated (random or grouped) CV: per-fold MAE and coverage, summarised as
    mean ± sd."""

    model_type: str
    protocol: str = "cv"
    fold_mae: list[float] = field(default_factory=list)
    fold_coverage: list[float] = field(default_factory=list)
    fold_width: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (fold lists included)."""
        return {
            "model_type": self.model_type,
            "protocol": self.protocol,
            "folds": len(self.fold_mae),
            "mae_mean": round(_mean(self.fold_mae), 3),
            "mae_sd": round(_sd(self.fold_mae), 3),
            "coverage_mean": round(_mean(self.fold_coverage), 4),
            "coverage_sd": round(_sd(self.fold_coverage), 4),
            "mean_interval_width": round(_mean(self.fold_width), 2),
            "seconds": round(self.seconds, 2),
            "fold_mae": [round(value, 3) for value in self.fold_mae],
            "fold_coverage": [round(value, 4) for value in self.fold_coverage],
        }


def labelled(tables: RecipeTables) -> RecipeTables:
    """The beers with an IBU, ordered by id (the protocols' population)."""
    import numpy as np

    order = tables.beers.sort_values("id", kind="stable").index.to_numpy()
    ordered = tables.take(order)
    return ordered.take(np.flatnonzero(~np.isnan(ordered.target())))


def fit_on(tables: RecipeTables, model_type: str, positions: np.ndarray) -> IbuModel:
    """A model of ``model_type`` fitted on the beers at ``positions`` that it may train on."""
    import numpy as np

    subset = tables.take(positions)
    usable = np.flatnonzero(training_mask(subset, model_type))
    train = subset.take(usable)
    return make_model(model_type).fit(train, train.target())


def evaluate_seed(
    tables: RecipeTables, model_types: tuple[str, ...] = MODEL_TYPES
) -> list[SeedResult]:
    """Every model under the seed protocol."""
    import numpy as np

    data = labelled(tables)
    train, test = seed_split(len(data))
    test_tables = data.take(test)
    y_test = test_tables.target()
    flagged = np.asarray(test_tables.beers["ibu_flag"].notna(), dtype=bool)
    median_mae = float(np.mean(np.abs(y_test - np.median(data.take(train).target()))))
    results = []
    for model_type in model_types:
        model = fit_on(data, model_type, train)
        prediction, low, high = model.predict_interval(test_tables)
        error = np.abs(prediction - y_test)
        inside = (y_test >= low) & (y_test <= high)
        results.append(
            SeedResult(
                model_type=model_type,
                n_train=model.n_train_,
                n_test=len(y_test),
                mae=float(error.mean()),
                mae_unflagged=float(error[~flagged].mean()),
                n_test_flagged=int(flagged.sum()),
                coverage=float(inside[~flagged].mean()),
                mean_interval_width=float((high - low)[~flagged].mean()),
                median_baseline_mae=median_mae,
            )
        )
    return results


def evaluate_cv(
    tables: RecipeTables,
    model_types: tuple[str, ...] = MODEL_TYPES,
    progress: Progress | None = None,
    folds: Folds | None = None,
    grouped: bool = False,
    repeats: int = CV_REPEATS,
) -> list[CvResult]:
    """Every model under repeated CV, the same folds for all: random folds, or grouped folds
    (near-duplicate recipes kept together, ``punkml.ml.folds``) when ``grouped``."""
    import numpy as np

    data = labelled(tables)
    if folds is None:
        n = len(data)
        folds = grouped_folds(recipe_groups(data), repeats) if grouped else random_folds(n, repeats)
    unflagged = np.asarray(data.beers["ibu_flag"].isna(), dtype=bool)
    results = []
    for model_type in model_types:
        result = CvResult(model_type=model_type, protocol="grouped" if grouped else "cv")
        started = time.perf_counter()
        for number, (train, test) in enumerate(folds, start=1):
            scored = test[unflagged[test]]
            model = fit_on(data, model_type, train)
            held_out = data.take(scored)
            y = held_out.target()
            prediction, low, high = model.predict_interval(held_out)
            result.fold_mae.append(float(np.mean(np.abs(prediction - y))))
            result.fold_coverage.append(float(np.mean((y >= low) & (y <= high))))
            result.fold_width.append(float(np.mean(high - low)))
            if progress:
                progress(f"{model_type} fold {number}/{len(folds)}")
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


PERMUTATION_REPEATS = 3
PERMUTATION_SEED = 42
TINSETH_COLUMN = feature_names().index("tinseth_ibu")


@dataclass
class CrossFit:
    """Out-of-fold predictions of every labelled beer (the first repeat of the grouped CV: each
    beer predicted, with its interval, by a model fitted without its group) and the permutation
    importances measured on those held-out folds. Computed at train time, stored in the registry."""

    model_type: str
    rows: list[dict[str, Any]]
    importances: list[dict[str, Any]]

    def summary(self) -> dict[str, Any]:
        """MAE and coverage of the out-of-fold predictions over the unflagged beers."""
        import numpy as np

        scored = [row for row in self.rows if row["ibu_flag"] is None]
        actual = np.asarray([row["actual"] for row in scored], dtype=float)
        predicted = np.asarray([row["ibu_pred"] for row in scored], dtype=float)
        low = np.asarray([row["ibu_low"] for row in scored], dtype=float)
        high = np.asarray([row["ibu_high"] for row in scored], dtype=float)
        return {
            "beers": len(scored),
            "mae": round(float(np.mean(np.abs(predicted - actual))), 3),
            "coverage": round(float(np.mean((actual >= low) & (actual <= high))), 4),
        }


def cross_fit(tables: RecipeTables, model_type: str) -> CrossFit:
    """Out-of-fold predictions and permutation importances of ``model_type`` (see ``CrossFit``):
    the same folds as the first repeat of ``evaluate_cv(..., grouped=True)``."""
    import numpy as np

    data = labelled(tables)
    folds = grouped_folds(recipe_groups(data), repeats=1)
    unflagged = np.asarray(data.beers["ibu_flag"].isna(), dtype=bool)
    rows: list[dict[str, Any]] = []
    rises: dict[str, list[float]] = {}
    rng = np.random.default_rng(PERMUTATION_SEED)
    for number, (train, test) in enumerate(folds):
        model = fit_on(data, model_type, train)
        held_out = data.take(test)
        X = model.features_.transform(held_out)
        prediction, low, high = model.interval_of(model.predict_features(X))
        keys = model.recipe_keys(X)
        tinseth = RecipeFeatures().fit(held_out).transform(held_out)[:, TINSETH_COLUMN]
        for i, position in enumerate(test):
            beer = data.beers.iloc[position]
            rows.append(
                {
                    "id": int(beer["id"]),
                    "name": str(beer["name"]),
                    "recipe_key": keys[i],
                    "fold": number,
                    "actual": float(beer["ibu"]),
                    "ibu_flag": None if unflagged[position] else str(beer["ibu_flag"]),
                    "ibu_pred": round(float(prediction[i]), 2),
                    "ibu_low": round(float(low[i]), 2),
                    "ibu_high": round(float(high[i]), 2),
                    "tinseth_ibu": round(float(tinseth[i]), 1),
                }
            )
        scored = unflagged[test]
        for name, rise in permutation_rises(model, X[scored], held_out.target()[scored], rng):
            rises.setdefault(name, []).append(rise)
    rows.sort(key=lambda row: row["id"])
    means = sorted(((_mean(v), name) for name, v in rises.items()), reverse=True)
    importances = [{"feature": name, "mae_rise": round(rise, 4)} for rise, name in means]
    return CrossFit(model_type=model_type, rows=rows, importances=importances)


def permutation_rises(
    model: IbuModel, X: np.ndarray, actual: np.ndarray, rng: np.random.Generator
) -> list[tuple[str, float]]:
    """Mean rise in MAE (IBU) on held-out rows when each feature column is shuffled."""
    import numpy as np

    def mae(matrix: np.ndarray) -> float:
        return float(np.mean(np.abs(model.predict_features(matrix) - actual)))

    base = mae(X)
    rises = []
    for column, name in enumerate(model.feature_names_):
        shuffled = X.copy()
        total = 0.0
        for _ in range(PERMUTATION_REPEATS):
            shuffled[:, column] = rng.permutation(X[:, column])
            total += mae(shuffled) - base
        rises.append((str(name), total / PERMUTATION_REPEATS))
    return rises


# Boil-hop scale factors of the monotonicity check (x0.25 … x4, everything else fixed).
HOP_SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


def scale_boil_hops(tables: RecipeTables, factor: float) -> RecipeTables:
    """``tables`` with every boiled (boil, first-wort) hop's grams multiplied by ``factor``; dry
    hops, whirlpool, non-hops (coffee, honey, …) and malts unchanged."""
    import numpy as np

    hops = tables.hop_additions.copy()
    boiled = hops["stage"].isin(["boil", "first-wort"]).to_numpy() & hops["is_hop"].to_numpy(bool)
    hops["grams"] = np.where(boiled, hops["grams"].to_numpy(dtype=float) * factor, hops["grams"])
    return type(tables)(beers=tables.beers, hop_additions=hops, malts=tables.malts)


def monotonicity_report(
    predict: Callable[[RecipeTables], np.ndarray], tables: RecipeTables, labels: np.ndarray
) -> dict[str, float]:
    """How physical a fitted model's answers are over the recipes of ``tables``: the share whose
    prediction drops at some step as the boil hops go from x0.25 to x4 (``decreasing_share``),
    and the share of those scaled predictions (x1 left out) that equal a training label to 0.01
    IBU (``label_share``)."""
    import numpy as np

    curves = np.column_stack([predict(scale_boil_hops(tables, k)) for k in HOP_SCALES])
    drops = np.any(np.diff(curves, axis=1) < -1e-9, axis=1)
    scaled = np.delete(curves, HOP_SCALES.index(1.0), axis=1).ravel()
    distinct = np.unique(np.round(labels, 2))
    on_label = np.isin(np.round(scaled, 2), distinct)
    return {"decreasing_share": float(drops.mean()), "label_share": float(on_label.mean())}


def compare_learners(
    tables: RecipeTables, progress: Progress | None = None, repeats: int = CV_REPEATS
) -> list[dict[str, Any]]:
    """Candidate recipe learners under the grouped protocol (repeated grouped 5-fold CV over the
    beers the recipe model may train on): how the served learner was chosen. Each row also says
    how physical the learner is once fitted on all of them (``monotonicity_report``)."""
    import numpy as np
    from sklearn.base import clone

    data = labelled(tables)
    pool = data.take(np.flatnonzero(training_mask(data, "recipe")))
    features = RecipeFeatures().fit(pool)
    X = features.transform(pool)
    y = pool.target()
    folds = grouped_folds(recipe_groups(pool), repeats=repeats)
    mean: dict[str, Any] = {"forest_aggregate": "mean"}
    candidates: dict[str, Any] = {
        "monotone boosting + monotone extra trees, Tinseth floor (served)": (
            monotone_recipe_regressor()
        ),
        "monotone boosting + monotone extra trees, no floor": monotone_recipe_regressor(
            tinseth_column=-1
        ),
        "monotone gradient boosting alone (served before)": monotone_recipe_regressor(
            forest_trees=0, tinseth_column=-1
        ),
        "physics linear (Huber on log Tinseth, gravity, colour)": recipe_regressor(("linear",)),
        "xgboost on all features (monotone in Tinseth only)": recipe_regressor(("xgb",)),
        "extra trees (300), median of the trees (served before)": recipe_regressor(("trees",)),
        "extra trees (300), mean of the trees": recipe_regressor(("trees",), **mean),
        "blend xgboost + extra trees (300, median)": recipe_regressor(("xgb", "trees")),
    }
    rows = []
    for label, regressor in candidates.items():
        errors = []
        for a, b in folds:
            fitted = clone(regressor).fit(X[a], y[a])
            errors.append(float(np.mean(np.abs(fitted.predict(X[b]) - y[b]))))
        full = clone(regressor).fit(X, y)

        def predict(scaled: RecipeTables, full: Any = full) -> np.ndarray:
            return np.asarray(full.predict(features.transform(scaled)))

        physical = monotonicity_report(predict, pool, y)
        rows.append(
            {"learner": label, "mae_mean": _mean(errors), "mae_sd": _sd(errors), **physical}
        )
        if progress:
            progress(label)
    return rows


@dataclass
class SplitsResult:
    """One model over random seed-like splits, and the original split's place among them."""

    model_type: str
    random_states: list[int]
    split_mae: list[float]
    seed_mae: float

    def summary(self) -> dict[str, Any]:
        import numpy as np

        maes = np.asarray(self.split_mae)
        p5, p50, p95 = (float(v) for v in np.percentile(maes, [5, 50, 95]))
        return {
            "model_type": self.model_type,
            "splits": len(maes),
            "mae_mean": round(_mean(self.split_mae), 4),
            "mae_sd": round(_sd(self.split_mae), 4),
            "mae_p5": round(p5, 4),
            "mae_median": round(p50, 4),
            "mae_p95": round(p95, 4),
            "seed_mae": round(self.seed_mae, 4),
            # The share of random splits at least as hard as the original one for this model.
            "share_at_least_seed": round(float(np.mean(maes >= self.seed_mae)), 4),
            "split_mae": [round(v, 4) for v in self.split_mae],
            "random_states": self.random_states,
        }


def evaluate_splits(
    tables: RecipeTables,
    random_states: Sequence[int],
    model_types: tuple[str, ...] = MODEL_TYPES,
    progress: Progress | None = None,
) -> list[SplitsResult]:
    """Every model on the seed protocol's split drawn with each of ``random_states`` (MAE on the
    unflagged test beers), plus the original split (``random_state=42``) for reference."""
    import numpy as np

    if not random_states:
        raise ValueError("random_states: at least one split is needed")
    data = labelled(tables)
    unflagged = np.asarray(data.beers["ibu_flag"].isna(), dtype=bool)
    states = list(dict.fromkeys([*random_states, SEED_RANDOM_STATE]))
    maes: dict[str, dict[int, float]] = {model_type: {} for model_type in model_types}
    for number, state in enumerate(states, start=1):
        train, test = seed_split(len(data), state)
        held_out = data.take(test[unflagged[test]])
        y = held_out.target()
        for model_type in model_types:
            prediction = fit_on(data, model_type, train).predict(held_out)
            maes[model_type][state] = float(np.mean(np.abs(prediction - y)))
        if progress:
            progress(f"split {number}/{len(states)}")
    return [
        SplitsResult(
            model_type=model_type,
            random_states=list(random_states),
            split_mae=[by_state[state] for state in random_states],
            seed_mae=by_state[SEED_RANDOM_STATE],
        )
        for model_type, by_state in maes.items()
    ]


def seed_as_dict(results: list[SeedResult]) -> list[dict[str, Any]]:
    return [
        {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(r).items()}
        for r in results
    ]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return (sum((value - mean) ** 2 for value in values) / (len(values) - 1)) ** 0.5
