"""The served models: the original baseline and the monotone recipe model, with 90 % intervals.

``IbuModel`` = a feature step (``SeedFeatures`` or ``RecipeFeatures``) + a regressor + a
split-conformal interval calibrated on the training data only (CV+ style: out-of-fold residuals
of the training rows over grouped folds, so near-duplicate recipes never calibrate each other,
then the regressor refitted on all of them).

The recipe regressor (``MonotoneRecipeRegressor``) predicts log(1 + IBU) with the average of
gradient-boosted trees and extremely randomized trees, both constrained to be non-decreasing in
every hop feature they read (the Tinseth estimate and alpha acid / hop mass boiled at least 60,
45, 30, 15, 5 and 0 minutes, plus whirlpool), then never answers below a learnt fraction of the
Tinseth estimate: more boil hops or a longer boil never lower a prediction, dry hops do not enter
it, and averages of hundreds of trees vary smoothly instead of answering with one training beer's
label. It was chosen by grouped cross-validation (``punkml evaluate --protocol compare``); the
candidates it was compared with live in ``punkml.ml.learners``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, RegressorMixin, clone

from punkml.errors import ModelError
from punkml.ml.fast_forest import FLAT_FOREST_MAX_ROWS, FlatForestCache, on_threads
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
# The shape of a fitted model's attributes. Raise it whenever a fitted attribute is added, renamed
# or changes meaning: a stored model of another format is then refused at load with a hint to
# train again (``registry.load_model``), instead of failing on its first prediction. Models
# stored before the number existed count as format 1.
MODEL_FORMAT = 2


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


class MonotoneRecipeRegressor(FlatForestCache, RegressorMixin, BaseEstimator):
    """Monotone boosting and monotone extra trees on log(1 + IBU), floored by the Tinseth estimate.

    ``columns``: the positions of the feature matrix the model reads; ``increasing``: those of
    them (positions in the full matrix) the prediction may only grow with. Two members, each
    non-decreasing in the ``increasing`` columns, are averaged in log space:

    - gradient-boosted trees (XGBoost's ``n_estimators``, ``max_depth``, ``learning_rate``,
      ``subsample``, ``colsample_bytree``, ``min_child_weight``);
    - ``forest_trees`` extremely randomized trees (scikit-learn, ``monotonic_cst``, every column
      a split candidate, leaves of one beer; missing free values filled with the training
      median; the mean of the trees, so that the answer is smooth, not one beer's label).
      ``forest_trees=0`` leaves the forest out.

    Then a physical floor: the prediction is at least ``ratio x Tinseth``, capped at the largest
    training IBU, where ``ratio`` is the ``floor_quantile`` quantile of IBU / Tinseth over the
    training beers whose Tinseth estimate (column ``tinseth_column``) exceeds
    ``floor_min_tinseth``. Trees cannot answer above the labels they were fitted on, so without
    it a recipe hopped beyond every training beer gets its most bitter neighbours' IBU; the floor
    lets the answer follow the physics there. A maximum of non-decreasing functions is
    non-decreasing, so the whole stays monotone. ``tinseth_column=-1`` leaves the floor out.
    """

    def __init__(
        self,
        columns: tuple[int, ...] = (),
        increasing: tuple[int, ...] = (),
        n_estimators: int = 150,
        max_depth: int = 3,
        learning_rate: float = 0.1,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 1.0,
        forest_trees: int = 50,
        tinseth_column: int = -1,
        floor_quantile: float = 0.4,
        floor_min_tinseth: float = 60.0,
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
        self.forest_trees = forest_trees
        self.tinseth_column = tinseth_column
        self.floor_quantile = floor_quantile
        self.floor_min_tinseth = floor_min_tinseth
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray) -> MonotoneRecipeRegressor:
        import numpy as np
        from sklearn.ensemble import ExtraTreesRegressor
        from xgboost import XGBRegressor

        columns = list(self.columns) or list(range(X.shape[1]))
        unknown = set(self.increasing) - set(columns)
        if unknown:
            raise ModelError(f"increasing columns {sorted(unknown)} are not among the columns read")
        if not 0.0 <= self.floor_quantile <= 1.0:
            raise ModelError(f"floor_quantile must be in [0, 1]; got {self.floor_quantile}")
        self._forget_flat_forests()
        y = np.clip(np.asarray(y, dtype=float), 0, None)
        log_y = np.log1p(y)
        constraints = tuple(1 if c in self.increasing else 0 for c in columns)
        self.booster_ = XGBRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight,
            monotone_constraints=constraints,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(X[:, columns], log_y)
        self.columns_ = tuple(columns)
        self.forest_: Any = None
        if self.forest_trees > 0:
            # XGBoost has refused infinite values: only NaN is missing here. A column never
            # known is constant for the forest (never split on), whatever its fill.
            self.fill_ = np.nan_to_num(np.nanmedian(X[:, columns], axis=0), nan=0.0)
            self.forest_ = ExtraTreesRegressor(
                n_estimators=self.forest_trees,
                max_features=1.0,
                monotonic_cst=list(constraints),
                random_state=self.random_state,
                # One thread: a threaded forest sums its trees in a varying order, and
                # predictions must be bit-for-bit reproducible.
                n_jobs=1,
            ).fit(self._filled(X), log_y)
        # (ratio, cap), or None: no floor unless enough training beers are hopped past the threshold.
        self.floor_: tuple[float, float] | None = None
        if self.tinseth_column >= 0:
            tinseth = X[:, self.tinseth_column]
            hopped = np.isfinite(tinseth) & (tinseth > self.floor_min_tinseth)
            if hopped.sum() >= MIN_FLOOR_BEERS:
                ratios = y[hopped] / tinseth[hopped]
                self.floor_ = (float(np.quantile(ratios, self.floor_quantile)), float(y.max()))
        return self

    def _filled(self, X: np.ndarray) -> np.ndarray:
        """The columns read, missing values replaced by their training median (the forest's
        input)."""
        import numpy as np

        selected = X[:, list(self.columns_)]
        return np.where(np.isfinite(selected), selected, self.fill_)

    def _forest_log(self, X: np.ndarray) -> np.ndarray:
        # scikit-learn pays ~0.15 ms per tree per call: fine for a batch, too much for one recipe
        # in the API, where the flattened copy of the trees answers in well under 1 ms.
        filled = self._filled(X)
        if len(filled) <= FLAT_FOREST_MAX_ROWS:
            return self._flat_forest(self.forest_).predict(filled)
        # One thread per tree sum: a threaded forest adds its trees in a varying order, and
        # predictions must be bit-for-bit reproducible; large batches go in row chunks instead.
        self.forest_.n_jobs = 1
        return on_threads(self.forest_.predict, filled, self.n_jobs)

    def predict_log(self, X: np.ndarray) -> np.ndarray:
        """Predicted log(1 + IBU) of the members (before the floor)."""
        import numpy as np

        prediction: np.ndarray = np.asarray(
            self.booster_.predict(X[:, list(self.columns_)]), dtype=float
        )
        if self.forest_ is not None:
            prediction = (prediction + self._forest_log(X)) / 2.0
        return prediction

    def floor(self, X: np.ndarray) -> np.ndarray:
        """The physical floor of each row's prediction (IBU): 0 without one."""
        import numpy as np

        if self.floor_ is None:
            return np.zeros(len(X))
        ratio, cap = self.floor_
        tinseth = np.nan_to_num(np.asarray(X[:, self.tinseth_column], dtype=float), nan=0.0)
        floor: np.ndarray = np.minimum(ratio * np.clip(tinseth, 0.0, None), cap)
        return floor

    def predict(self, X: np.ndarray) -> np.ndarray:
        import numpy as np

        members = np.clip(np.expm1(self.predict_log(X)), 0.0, None)
        return np.maximum(members, self.floor(X))


# Fewer training beers above the floor's Tinseth threshold than this: no floor (too few to
# estimate a ratio from).
MIN_FLOOR_BEERS = 5


def monotone_recipe_regressor(**params: Any) -> MonotoneRecipeRegressor:
    """The served recipe regressor wired to ``RecipeFeatures``' column positions (``params``:
    more ``MonotoneRecipeRegressor`` parameters)."""
    names = feature_names()
    increasing = tuple(names.index(name) for name in MONOTONE_HOP_FEATURES)
    free = tuple(names.index(name) for name in FREE_RECIPE_FEATURES)
    params.setdefault("tinseth_column", names.index("tinseth_ibu"))
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
        self.model_format_ = MODEL_FORMAT
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
            residuals[test] = self.residuals(y[test], fitted.predict(X[test]))
        return residuals

    def residuals(self, actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Absolute residuals on the interval's scale (log(1 + IBU) or IBU); an IBU below 0 (a
        regressor's raw answer) counts as 0, as the model's predictions do."""
        import numpy as np

        actual, predicted = np.clip(actual, 0.0, None), np.clip(predicted, 0.0, None)
        if self.interval_scale == "log":
            return np.asarray(np.abs(np.log1p(predicted) - np.log1p(actual)))
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
    for value in vars(estimator).values():
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

    ordered = np.sort(residuals)
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
    if model_type == "recipe":  # IbuModel's defaults: the recipe type, a log-scale interval
        return IbuModel(features=RecipeFeatures(), regressor=monotone_recipe_regressor())
    raise ModelError(f"unknown --model-type {model_type!r}: use one of {', '.join(MODEL_TYPES)}")


def training_mask(tables: RecipeTables, model_type: str) -> np.ndarray:
    """Which beers a model trains on: every beer with an IBU for the baseline (as the original
    did, the two entry errors included); only unflagged IBUs for the recipe model."""
    import numpy as np

    has_ibu = ~np.isnan(tables.target())
    if model_type == "baseline":
        return has_ibu
    return has_ibu & tables.beers["ibu_flag"].isna().to_numpy()
