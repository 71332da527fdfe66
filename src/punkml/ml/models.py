"""The served models: the original baseline and the monotone recipe model, with 90 % intervals.

``IbuModel`` = a feature step (``SeedFeatures`` or ``RecipeFeatures``) + a regressor + a
split-conformal interval calibrated on the training data only (CV+ style: out-of-fold residuals
of the training rows over grouped folds, so near-duplicate recipes never calibrate each other,
then the regressor refitted on all of them).

The recipe regressor (``MonotoneRecipeRegressor``) predicts log(1 + IBU) with gradient-boosted
trees constrained to be non-decreasing in every hop feature it reads (the Tinseth estimate and
alpha acid / hop mass boiled at least 60, 45, 30, 15, 5 and 0 minutes, plus whirlpool): more
boil hops or a longer boil never lower a prediction, dry hops do not enter it, and a sum of
hundreds of small trees varies smoothly instead of answering with one training beer's label.
It was chosen by grouped cross-validation (``punkml evaluate --protocol compare``); the
candidates it was compared with live in ``punkml.ml.learners``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, RegressorMixin, clone

from punkml.errors import ModelError
from punkml.ml.features import (
    FREE_RECIPE_FEATURES,
    MONOTONE_HOP_FEATURES,
    RecipeFeatures,
    SeedFeatures,
    feature_names,
)
from punkml.ml.folds import grouped_folds, recipe_groups

if TYPE_CHECKING:
    import numpy as np

    from punkml.ml.data import RecipeTables

MODEL_TYPES = ("baseline", "recipe")
INTERVAL_ALPHA = 0.10  # 90 % intervals
SEED = 42
# Training sets are a few hundred rows: one thread is fastest (with two, XGBoost's threads spin
# against each other on a busy machine: 20x slower measured). Batch prediction uses PREDICT_THREADS.
XGB_THREADS = 1
PREDICT_THREADS = 2
CALIBRATION_FOLDS = 5


def baseline_regressor() -> Any:
    """The original model, exactly: SimpleImputer(constant -99) + XGBRegressor(100, depth 5, 42)."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from xgboost import XGBRegressor

    return Pipeline(
        [
            ("imputer", SimpleImputer(strategy="constant", fill_value=-99)),
            (
                "xgb",
                XGBRegressor(n_estimators=100, max_depth=5, random_state=42, n_jobs=XGB_THREADS),
            ),
        ]
    )


class MonotoneRecipeRegressor(RegressorMixin, BaseEstimator):
    """Gradient-boosted trees on log(1 + IBU), non-decreasing in the ``increasing`` columns.

    ``columns``: the positions of the feature matrix the model reads; ``increasing``: those of
    them (positions in the full matrix) the prediction may only grow with. Every other parameter
    is XGBoost's.
    """

    def __init__(
        self,
        columns: tuple[int, ...] = (),
        increasing: tuple[int, ...] = (),
        n_estimators: int = 300,
        max_depth: int = 3,
        learning_rate: float = 0.05,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 1.0,
        random_state: int = SEED,
        n_jobs: int = XGB_THREADS,
    ) -> None:
        self.columns = columns
        self.increasing = increasing
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray) -> MonotoneRecipeRegressor:
        import numpy as np
        from xgboost import XGBRegressor

        columns = list(self.columns) or list(range(X.shape[1]))
        unknown = set(self.increasing) - set(columns)
        if unknown:
            raise ModelError(f"increasing columns {sorted(unknown)} are not among the columns read")
        log_y = np.log1p(np.clip(np.asarray(y, dtype=float), 0, None))
        self.booster_ = XGBRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight,
            monotone_constraints=tuple(1 if c in self.increasing else 0 for c in columns),
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(X[:, columns], log_y)
        self.columns_ = tuple(columns)
        return self

    def predict_log(self, X: np.ndarray) -> np.ndarray:
        """Predicted log(1 + IBU)."""
        import numpy as np

        prediction: np.ndarray = np.asarray(
            self.booster_.predict(X[:, list(self.columns_)]), dtype=float
        )
        return prediction

    def predict(self, X: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.clip(np.expm1(self.predict_log(X)), 0.0, None)


def monotone_recipe_regressor(**params: Any) -> MonotoneRecipeRegressor:
    """The served recipe regressor wired to ``RecipeFeatures``' column positions (``params``:
    more ``MonotoneRecipeRegressor`` parameters)."""
    names = feature_names()
    increasing = tuple(names.index(name) for name in MONOTONE_HOP_FEATURES)
    free = tuple(names.index(name) for name in FREE_RECIPE_FEATURES)
    return MonotoneRecipeRegressor(columns=increasing + free, increasing=increasing, **params)


class IbuModel(BaseEstimator):
    """Features + regressor + conformal 90 % interval; ``fit``/``predict`` take ``RecipeTables``.

    ``interval_scale`` is ``log`` (multiplicative interval, for the recipe model) or ``absolute``
    (± a constant, for the baseline).
    """

    def __init__(
        self,
        model_type: str = "recipe",
        features: Any = None,
        regressor: Any = None,
        interval_alpha: float = INTERVAL_ALPHA,
        interval_scale: str = "log",
        calibration_folds: int = CALIBRATION_FOLDS,
        random_state: int = SEED,
    ) -> None:
        self.model_type = model_type
        self.features = features
        self.regressor = regressor
        self.interval_alpha = interval_alpha
        self.interval_scale = interval_scale
        self.calibration_folds = calibration_folds
        self.random_state = random_state

    def fit(self, tables: RecipeTables, y: np.ndarray) -> IbuModel:
        import numpy as np

        y = np.asarray(y, dtype=float)
        if len(y) != len(tables) or len(y) < 10 or np.isnan(y).any():
            raise ModelError(f"need at least 10 beers with an IBU to train; got {len(y)} usable")
        self.features_ = clone(self.features)
        X = self.features_.fit_transform(tables)
        residuals = self._out_of_fold_residuals(X, y, recipe_groups(tables))
        self.interval_width_ = conformal_quantile(residuals, self.interval_alpha)
        self.regressor_ = clone(self.regressor).fit(X, y)
        self.n_train_ = len(y)
        self.feature_names_ = [str(name) for name in self.features_.get_feature_names_out()]
        return self

    def predict(self, tables: RecipeTables) -> np.ndarray:
        return self.predict_features(self.features_.transform(tables))

    def predict_features(self, X: np.ndarray) -> np.ndarray:
        """Predicted IBU for rows of this model's feature matrix."""
        import numpy as np

        prediction: np.ndarray = np.clip(self.regressor_.predict(X), 0, None)
        return prediction

    def predict_interval(self, tables: RecipeTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(prediction, low, high)`` in IBU; the interval is a 1 - ``interval_alpha`` interval."""
        return self.interval_of(self.predict(tables))

    def interval_of(self, prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(prediction, low, high)``: the calibrated interval around predictions (IBU)."""
        import numpy as np

        width = self.interval_width_
        if self.interval_scale == "log":
            centre = np.log1p(prediction)
            low, high = np.expm1(centre - width), np.expm1(centre + width)
        else:
            low, high = prediction - width, prediction + width
        return prediction, np.clip(low, 0.0, None), high

    def recipe_keys(self, X: np.ndarray) -> list[str]:
        """A short SHA-256 of each row of this model's feature matrix: the same beer, cleaned the
        same way, gets the same key (how a stored out-of-fold prediction is found again)."""
        import hashlib

        import numpy as np

        rounded = np.round(np.nan_to_num(np.asarray(X, dtype=float), nan=-999.0), 9)
        return [hashlib.sha256(row.tobytes()).hexdigest()[:16] for row in rounded]

    def _out_of_fold_residuals(
        self, X: np.ndarray, y: np.ndarray, groups: np.ndarray
    ) -> np.ndarray:
        """Absolute residuals (log or IBU scale) of each training row, predicted by a regressor
        fitted on the other groups' rows: grouped folds, so that a near-duplicate recipe never
        calibrates its twin's interval."""
        import numpy as np

        residuals = np.zeros(len(y))
        folds = grouped_folds(groups, repeats=1, splits=self.calibration_folds)
        for train, test in folds:
            fitted = clone(self.regressor).fit(X[train], y[train])
            predicted = np.clip(fitted.predict(X[test]), 0, None)
            residuals[test] = self.residuals(y[test], predicted)
        return residuals

    def residuals(self, actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Absolute residuals on the interval's scale (log(1 + IBU) or IBU)."""
        import numpy as np

        if self.interval_scale == "log":
            return np.asarray(
                np.abs(np.log1p(np.clip(predicted, 0, None)) - np.log1p(np.clip(actual, 0, None)))
            )
        return np.asarray(np.abs(predicted - actual))


def set_threads(model: IbuModel, threads: int) -> None:
    """Use ``threads`` threads when predicting (1 for one recipe, ``PREDICT_THREADS`` in batch)."""
    for estimator in _estimators(model):
        if hasattr(estimator, "n_jobs"):
            estimator.n_jobs = threads
        if getattr(estimator, "_Booster", None) is not None:
            # XGBoost keeps the thread count in the booster, not only in the wrapper.
            estimator.get_booster().set_param({"nthread": threads})


def _estimators(estimator: Any) -> list[Any]:
    """``estimator`` and every fitted estimator inside it (members, pipeline steps)."""
    found = [estimator]
    for value in getattr(estimator, "__dict__", {}).values():
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, tuple) and len(item) == 2:
                item = item[1]  # a pipeline step: (name, estimator)
            if hasattr(item, "get_params") and item is not estimator:
                found += _estimators(item)
    return found


def conformal_quantile(residuals: np.ndarray, alpha: float) -> float:
    """The split-conformal quantile: the ceil((n + 1)(1 - alpha))-th smallest residual (the largest if
    that rank exceeds n)."""
    import numpy as np

    ordered = np.sort(np.asarray(residuals, dtype=float))
    if len(ordered) == 0:
        raise ModelError("cannot calibrate an interval without residuals")
    rank = min(math.ceil((len(ordered) + 1) * (1.0 - alpha)), len(ordered))
    return float(ordered[rank - 1])


def make_model(model_type: str) -> IbuModel:
    """A fresh, unfitted model of ``model_type`` (``baseline`` or ``recipe``)."""
    if model_type == "baseline":
        return IbuModel(
            model_type="baseline",
            features=SeedFeatures(),
            regressor=baseline_regressor(),
            interval_scale="absolute",
        )
    if model_type == "recipe":
        return IbuModel(
            model_type="recipe",
            features=RecipeFeatures(),
            regressor=monotone_recipe_regressor(),
            interval_scale="log",
        )
    raise ModelError(f"unknown --model-type {model_type!r}: use one of {', '.join(MODEL_TYPES)}")


def training_mask(tables: RecipeTables, model_type: str) -> np.ndarray:
    """Which beers a model trains on: every beer with an IBU for the baseline (as the original
    did, the two entry errors included); only unflagged IBUs for the recipe model."""
    import numpy as np

    has_ibu = ~np.isnan(tables.target())
    if model_type == "baseline":
        return has_ibu
    flags = tables.beers["ibu_flag"]
    return has_ibu & np.asarray(flags.isna(), dtype=bool)
