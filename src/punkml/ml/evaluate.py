"""Evaluation protocols: the original seed split, repeated 5-fold CV, and the learner comparison.

Seed protocol (the original's): the beers with an IBU, ordered by id,
``train_test_split(test_size=0.33, random_state=42)``, MAE on the test beers. The baseline trains
on every training beer (the two entry errors included, as the original did); the recipe model
trains on the training beers whose IBU the cleaning did not flag. The MAE is reported on all test
beers and on the unflagged ones.

Repeated CV: ``RepeatedKFold(5 splits, 5 repeats, random_state=42)`` over the same beers, the same
folds for both models; each model trains on the training folds as above and is scored on the
unflagged beers of the held-out fold (a flagged IBU is not a bitterness to be predicted). The 90 %
intervals are calibrated inside each training fold only; coverage is measured on the held-out fold.

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

from punkml.ml.models import MODEL_TYPES, make_model, training_mask

if TYPE_CHECKING:
    import numpy as np

    from punkml.ml.data import RecipeTables
    from punkml.ml.models import IbuModel

SEED_TEST_SIZE = 0.33
SEED_RANDOM_STATE = 42
CV_SPLITS = 5
CV_REPEATS = 5
CV_RANDOM_STATE = 42

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
    """One model under repeated CV: per-fold MAE and coverage, summarised as mean ± sd."""

    model_type: str
    fold_mae: list[float] = field(default_factory=list)
    fold_coverage: list[float] = field(default_factory=list)
    fold_width: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mae_mean(self) -> float:
        return _mean(self.fold_mae)

    @property
    def mae_sd(self) -> float:
        return _sd(self.fold_mae)

    @property
    def coverage_mean(self) -> float:
        return _mean(self.fold_coverage)

    @property
    def coverage_sd(self) -> float:
        return _sd(self.fold_coverage)

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (fold lists included)."""
        return {
            "model_type": self.model_type,
            "folds": len(self.fold_mae),
            "mae_mean": round(self.mae_mean, 3),
            "mae_sd": round(self.mae_sd, 3),
            "coverage_mean": round(self.coverage_mean, 4),
            "coverage_sd": round(self.coverage_sd, 4),
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


def seed_split(n: int, random_state: int = SEED_RANDOM_STATE) -> tuple[np.ndarray, np.ndarray]:
    """Train and test positions of the original split over ``n`` labelled beers (another
    ``random_state`` draws the same kind of split again)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(n), test_size=SEED_TEST_SIZE, random_state=random_state
    )
    return np.asarray(train), np.asarray(test)


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


def cv_folds(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The 25 (train, test) position pairs of the repeated 5-fold CV."""
    import numpy as np
    from sklearn.model_selection import RepeatedKFold

    splitter = RepeatedKFold(n_splits=CV_SPLITS, n_repeats=CV_REPEATS, random_state=CV_RANDOM_STATE)
    return [(np.asarray(a), np.asarray(b)) for a, b in splitter.split(np.arange(n))]


def evaluate_cv(
    tables: RecipeTables,
    model_types: tuple[str, ...] = MODEL_TYPES,
    progress: Progress | None = None,
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[CvResult]:
    """Every model under repeated CV, the same folds for all."""
    import numpy as np

    data = labelled(tables)
    folds = folds if folds is not None else cv_folds(len(data))
    unflagged = np.asarray(data.beers["ibu_flag"].isna(), dtype=bool)
    results = []
    for model_type in model_types:
        result = CvResult(model_type=model_type)
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


def compare_learners(
    tables: RecipeTables, progress: Progress | None = None, repeats: int = CV_REPEATS
) -> list[dict[str, Any]]:
    """Candidate recipe learners under repeated 5-fold CV on the seed protocol's TRAINING beers
    only (the seed test beers are never seen): how the recipe model's learner was chosen."""
    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedKFold

    from punkml.ml.features import RecipeFeatures
    from punkml.ml.models import recipe_regressor

    data = labelled(tables)
    train, _ = seed_split(len(data))
    pool = data.take(train)
    pool = pool.take(np.flatnonzero(training_mask(pool, "recipe")))
    X = RecipeFeatures().fit_transform(pool)
    y = pool.target()
    mean: dict[str, Any] = {"forest_aggregate": "mean"}
    candidates: dict[str, Any] = {
        "physics linear (Huber on log Tinseth, gravity, colour)": recipe_regressor(("linear",)),
        "xgboost (monotone in Tinseth)": recipe_regressor(("xgb",)),
        "extra trees (100 trees)": recipe_regressor(("trees",), forest_trees=100, **mean),
        "extra trees (100), trimmed 10%": recipe_regressor(
            ("trees",), 0.1, forest_trees=100, **mean
        ),
        "extra trees (300 trees)": recipe_regressor(("trees",), forest_trees=300, **mean),
        "extra trees (300), half the features per split": recipe_regressor(
            ("trees",), forest_trees=300, forest_max_features=0.5, **mean
        ),
        "extra trees (300), leaves of 2 beers": recipe_regressor(
            ("trees",), forest_trees=300, forest_min_leaf=2, **mean
        ),
        "extra trees (300), median of the trees": recipe_regressor(
            ("trees",), forest_trees=300, forest_aggregate="median"
        ),
        "extra trees (300), median of the trees, half the features": recipe_regressor(
            ("trees",), forest_trees=300, forest_max_features=0.5, forest_aggregate="median"
        ),
        "blend xgboost + extra trees (100)": recipe_regressor(
            ("xgb", "trees"), forest_trees=100, **mean
        ),
        "blend xgboost + extra trees (300, median)": recipe_regressor(
            ("xgb", "trees"), forest_trees=300, forest_aggregate="median"
        ),
        "blend extra trees (300, median) + nearest neighbours": recipe_regressor(
            ("trees", "knn"), forest_trees=300, forest_aggregate="median"
        ),
    }
    splitter = RepeatedKFold(n_splits=CV_SPLITS, n_repeats=repeats, random_state=CV_RANDOM_STATE)
    rows = []
    for label, regressor in candidates.items():
        errors = []
        for a, b in splitter.split(X):
            fitted = clone(regressor).fit(X[a], y[a])
            errors.append(float(np.mean(np.abs(fitted.predict(X[b]) - y[b]))))
        rows.append({"learner": label, "mae_mean": _mean(errors), "mae_sd": _sd(errors)})
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
