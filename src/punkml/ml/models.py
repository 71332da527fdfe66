"""The two models: the original baseline and the recipe model, with 90 % prediction intervals.

``IbuModel`` = a feature step (``SeedFeatures`` or ``RecipeFeatures``) + a regressor + a
split-conformal interval calibrated on the training data only (CV+ style: out-of-fold residuals
of the training rows, then the regressor refitted on all of them).

The recipe regressor (``RecipeRegressor``) predicts log(1 + IBU) with extremely randomized trees
(300 trees, a third of the features per split, leaves of one beer) and takes the MEDIAN of the
trees' predictions, not their mean: with one-beer leaves each tree answers with the log IBU of a
similar training recipe, and the median ignores the few trees that land on a mislabelled one
(DIY Dog has several, e.g. 35 IBU listed for a Tinseth estimate of ~370). It can also blend gradient-boosted trees
(monotone in the Tinseth estimate), a physics-informed Huber regression and nearest neighbours,
and trim the worst out-of-fold training targets: the served configuration was chosen by repeated
cross-validation on the seed protocol's training beers (``punkml.ml.evaluate.compare_learners``),
never on its test beers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, RegressorMixin, clone

from punkml.errors import ModelError
from punkml.ml.features import INCREASING_FEATURES, RecipeFeatures, SeedFeatures, feature_names

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


FLAT_FOREST_MAX_ROWS = 64
PARALLEL_MIN_ROWS = 20_000


def _is_forest_pipeline(member: Any) -> bool:
    from sklearn.ensemble import ExtraTreesRegressor
    from sklearn.pipeline import Pipeline

    return isinstance(member, Pipeline) and isinstance(member[-1], ExtraTreesRegressor)


class FlatForest:
    """The trees of a fitted scikit-learn forest as padded arrays, walked for all trees at once.

    Gives the forest's prediction (scikit-learn compares float32 features with the thresholds, so
    this does too) at a small fixed cost per call, for the few-rows case: the mean of the trees
    (exactly as scikit-learn sums them) or their median (exactly as ``tree_predictions``).
    """

    def __init__(
        self,
        left: np.ndarray,
        right: np.ndarray,
        feature: np.ndarray,
        threshold: np.ndarray,
        value: np.ndarray,
        depth: int,
    ) -> None:
        self.left, self.right, self.feature = left, right, feature
        self.threshold, self.value, self.depth = threshold, value, depth

    @classmethod
    def from_forest(cls, forest: Any) -> FlatForest:
        import numpy as np

        trees = [estimator.tree_ for estimator in forest.estimators_]
        size = max(tree.node_count for tree in trees)
        shape = (len(trees), size)
        left = np.full(shape, -1, dtype=np.int64)
        right = np.full(shape, -1, dtype=np.int64)
        feature = np.zeros(shape, dtype=np.int64)
        threshold = np.zeros(shape)
        value = np.zeros(shape)
        for i, tree in enumerate(trees):
            n = tree.node_count
            left[i, :n] = tree.children_left
            right[i, :n] = tree.children_right
            feature[i, :n] = np.maximum(tree.feature, 0)
            threshold[i, :n] = tree.threshold
            value[i, :n] = tree.value[:, 0, 0]
        depth = max(tree.max_depth for tree in trees)
        return cls(left, right, feature, threshold, value, depth)

    def predict(self, X: np.ndarray, aggregate: str = "mean") -> np.ndarray:
        import numpy as np

        X32 = np.asarray(X, dtype=np.float32)
        trees = np.arange(self.left.shape[0])[:, None]
        rows = np.arange(len(X32))[None, :]
        node = np.zeros((self.left.shape[0], len(X32)), dtype=np.int64)
        for _ in range(self.depth):
            child_left = self.left[trees, node]
            leaf = child_left < 0
            if leaf.all():
                break
            go_left = X32[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            step = np.where(go_left, child_left, self.right[trees, node])
            node = np.where(leaf, node, step)
        leaves = self.value[trees, node]
        if aggregate == "median":
            median: np.ndarray = np.median(leaves, axis=0)
            return median
        # Summed tree by tree, then divided, exactly as scikit-learn does: same bits as a batch.
        total = np.zeros(len(X32))
        for per_tree in leaves:
            total += per_tree
        result: np.ndarray = total / len(leaves)
        return result


FOREST_AGGREGATES = ("mean", "median")
# Rows per chunk when taking the median of the trees: bounds the trees x rows matrix (~50 MB).
MEDIAN_CHUNK_ROWS = 20_000


def forest_median(forest_pipeline: Any, X: np.ndarray) -> np.ndarray:
    """Median over the trees of a fitted imputer + extra-trees pipeline's per-tree predictions.

    Each tree is asked directly (float32 features, as scikit-learn does), in row chunks so memory
    stays bounded; the median does not depend on the order of the trees, so the result is the same
    bits on any number of threads and equals ``FlatForest.predict(..., "median")``.
    """
    import numpy as np

    features = np.ascontiguousarray(forest_pipeline[:-1].transform(X), dtype=np.float32)
    trees = [estimator.tree_ for estimator in forest_pipeline[-1].estimators_]
    result = np.empty(len(features))
    for start in range(0, len(features), MEDIAN_CHUNK_ROWS):
        chunk = features[start : start + MEDIAN_CHUNK_ROWS]
        per_tree = np.empty((len(trees), len(chunk)))
        for i, tree in enumerate(trees):
            per_tree[i] = tree.predict(chunk)[:, 0]
        result[start : start + len(chunk)] = np.median(per_tree, axis=0)
    return result


class RecipeRegressor(RegressorMixin, BaseEstimator):
    """Blend of members fitted on log(1 + IBU); see the module docstring.

    ``members``: any of ``xgb`` (gradient boosting), ``trees`` (extremely randomized trees),
    ``linear`` (Huber regression on the physics features ``linear_columns``).
    ``forest_aggregate``: ``median`` (the served model) or ``mean`` of the extra trees.
    """

    def __init__(
        self,
        members: tuple[str, ...] = ("trees",),
        trim_fraction: float = 0.0,
        inner_folds: int = 5,
        xgb_trees: int = 200,
        xgb_learning_rate: float = 0.1,
        forest_trees: int = 300,
        xgb_depth: int = 3,
        forest_max_features: float = 0.33,
        forest_min_leaf: int = 1,
        forest_aggregate: str = "median",
        increasing_columns: tuple[int, ...] = (),
        linear_columns: tuple[int, ...] = (),
        random_state: int = SEED,
        n_jobs: int = 1,
    ) -> None:
        self.members = members
        self.trim_fraction = trim_fraction
        self.inner_folds = inner_folds
        self.xgb_trees = xgb_trees
        self.xgb_learning_rate = xgb_learning_rate
        self.forest_trees = forest_trees
        self.xgb_depth = xgb_depth
        self.forest_max_features = forest_max_features
        self.forest_min_leaf = forest_min_leaf
        self.forest_aggregate = forest_aggregate
        self.increasing_columns = increasing_columns
        self.linear_columns = linear_columns
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: np.ndarray, y: np.ndarray) -> RecipeRegressor:
        import numpy as np

        if self.forest_aggregate not in FOREST_AGGREGATES:
            raise ModelError(
                f"unknown forest_aggregate {self.forest_aggregate!r}: use mean or median"
            )
        log_y = np.log1p(np.clip(np.asarray(y, dtype=float), 0, None))
        oof = self._out_of_fold(X, log_y)
        # Absolute out-of-fold residuals on the log scale, over every training row: the
        # conformal calibration set (the trimmed rows included, so intervals stay honest).
        self.oof_log_residuals_ = np.abs(oof - log_y)
        keep = np.ones(len(log_y), dtype=bool)
        if self.trim_fraction > 0 and len(log_y) >= 20:
            keep = self.oof_log_residuals_ <= np.quantile(
                self.oof_log_residuals_, 1.0 - self.trim_fraction
            )
        self.members_ = [self._fit_member(name, X[keep], log_y[keep]) for name in self.members]
        self.n_trimmed_ = int((~keep).sum())
        return self

    def predict_log(self, X: np.ndarray) -> np.ndarray:
        """Predicted log(1 + IBU)."""
        import numpy as np

        return np.mean([self._predict_member(member, X) for member in self.members_], axis=0)

    def _aggregate(self) -> str:
        # Models stored before the parameter existed averaged their trees.
        aggregate: str = self.__dict__.get("forest_aggregate", "mean")
        return aggregate

    def _predict_member(self, member: Any, X: np.ndarray) -> np.ndarray:
        # scikit-learn's forests pay ~0.15 ms per tree per call: fine for a batch, too much for
        # one recipe in the API, where the flattened copy of the trees answers in well under 1 ms.
        if len(X) <= FLAT_FOREST_MAX_ROWS and _is_forest_pipeline(member):
            flat = self._flat_forests().get(id(member))
            if flat is None:
                flat = FlatForest.from_forest(member[-1])
                self._flat_forests()[id(member)] = flat
            return flat.predict(member[:-1].transform(X), self._aggregate())
        if self.n_jobs > 1 and len(X) >= PARALLEL_MIN_ROWS and _is_forest_pipeline(member):
            # Row chunks on threads (the trees release the GIL); each row's trees are still summed
            # in order on one thread, so the result does not depend on the chunking.
            from concurrent.futures import ThreadPoolExecutor

            import numpy as np

            with ThreadPoolExecutor(self.n_jobs) as pool:
                parts = list(
                    pool.map(
                        lambda rows: self._plain_predict(member, rows),
                        np.array_split(X, self.n_jobs),
                    )
                )
            return np.concatenate(parts)
        return self._plain_predict(member, X)

    def _plain_predict(self, member: Any, X: np.ndarray) -> np.ndarray:
        if self._aggregate() == "median" and _is_forest_pipeline(member):
            return forest_median(member, X)
        prediction: np.ndarray = member.predict(X)
        return prediction

    def _flat_forests(self) -> dict[int, FlatForest]:
        cache: dict[int, FlatForest] | None = self.__dict__.get("_flat_cache")
        if cache is None:
            cache = {}
            self.__dict__["_flat_cache"] = cache
        return cache

    def __getstate__(self) -> dict[str, Any]:
        # The flattened trees are a cache rebuilt on first use; they are not stored.
        state: dict[str, Any] = super().__getstate__()
        state.pop("_flat_cache", None)
        return state

    def predict(self, X: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.clip(np.expm1(self.predict_log(X)), 0.0, None)

    def _out_of_fold(self, X: np.ndarray, log_y: np.ndarray) -> np.ndarray:
        import numpy as np
        from sklearn.model_selection import KFold

        oof = np.zeros(len(log_y))
        folds = KFold(self.inner_folds, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(X):
            members = [self._fit_member(name, X[train], log_y[train]) for name in self.members]
            oof[test] = np.mean(
                [self._plain_predict(member, X[test]) for member in members], axis=0
            )
        return oof

    def _fit_member(self, name: str, X: np.ndarray, log_y: np.ndarray) -> Any:
        member = self._member(name, X.shape[1])
        return member.fit(X, log_y)

    def _member(self, name: str, n_features: int) -> Any:
        from sklearn.compose import ColumnTransformer
        from sklearn.ensemble import ExtraTreesRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import HuberRegressor
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler
        from xgboost import XGBRegressor

        if name == "xgb":
            monotone = tuple(
                1 if index in self.increasing_columns else 0 for index in range(n_features)
            )
            return XGBRegressor(
                n_estimators=self.xgb_trees,
                max_depth=self.xgb_depth,
                learning_rate=self.xgb_learning_rate,
                subsample=0.8,
                colsample_bytree=0.8,
                monotone_constraints=monotone,
                random_state=self.random_state,
                n_jobs=XGB_THREADS,
            )
        if name == "forest":
            from xgboost import XGBRFRegressor

            return XGBRFRegressor(
                n_estimators=300,
                max_depth=8,
                subsample=0.7,
                colsample_bynode=0.5,
                min_child_weight=2,
                reg_lambda=1.0,
                random_state=self.random_state,
                n_jobs=XGB_THREADS,
            )
        if name == "trees":
            return Pipeline(
                [
                    ("imputer", SimpleImputer(strategy="median", keep_empty_features=True)),
                    (
                        "trees",
                        ExtraTreesRegressor(
                            n_estimators=self.forest_trees,
                            min_samples_leaf=self.forest_min_leaf,
                            max_features=self.forest_max_features,
                            random_state=self.random_state,
                            # One thread: a threaded forest sums its trees in a varying order,
                            # and predictions must be bit-for-bit reproducible.
                            n_jobs=1,
                        ),
                    ),
                ]
            )
        if name == "knn":
            from sklearn.neighbors import KNeighborsRegressor

            return Pipeline(
                [
                    ("imputer", SimpleImputer(strategy="median", keep_empty_features=True)),
                    ("scale", StandardScaler()),
                    ("knn", KNeighborsRegressor(n_neighbors=5, weights="distance")),
                ]
            )
        if name == "linear":
            select = ColumnTransformer([("physics", "passthrough", list(self.linear_columns))])
            return Pipeline(
                [
                    ("select", select),
                    ("imputer", SimpleImputer(strategy="median", keep_empty_features=True)),
                    ("scale", StandardScaler()),
                    ("huber", HuberRegressor(max_iter=1000)),
                ]
            )
        raise ModelError(f"unknown recipe-model member {name!r}: use xgb, trees or linear")


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
        self.regressor_ = clone(self.regressor)
        self.regressor_.fit(X, y)
        residuals = getattr(self.regressor_, "oof_log_residuals_", None)
        if residuals is None or self.interval_scale != "log":
            residuals = self._out_of_fold_residuals(X, y)
        self.interval_width_ = conformal_quantile(residuals, self.interval_alpha)
        self.n_train_ = len(y)
        self.feature_names_ = [str(name) for name in self.features_.get_feature_names_out()]
        return self

    def predict(self, tables: RecipeTables) -> np.ndarray:
        import numpy as np

        prediction: np.ndarray = np.clip(
            self.regressor_.predict(self.features_.transform(tables)), 0, None
        )
        return prediction

    def predict_interval(self, tables: RecipeTables) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(prediction, low, high)`` in IBU; the interval is a 1 - ``interval_alpha`` interval."""
        import numpy as np

        prediction = self.predict(tables)
        width = self.interval_width_
        if self.interval_scale == "log":
            centre = np.log1p(prediction)
            low, high = np.expm1(centre - width), np.expm1(centre + width)
        else:
            low, high = prediction - width, prediction + width
        return prediction, np.clip(low, 0.0, None), high

    def _out_of_fold_residuals(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        import numpy as np
        from sklearn.model_selection import KFold

        residuals = np.zeros(len(y))
        folds = KFold(self.calibration_folds, shuffle=True, random_state=self.random_state)
        for train, test in folds.split(X):
            fitted = clone(self.regressor).fit(X[train], y[train])
            predicted = np.clip(fitted.predict(X[test]), 0, None)
            if self.interval_scale == "log":
                residuals[test] = np.abs(np.log1p(predicted) - np.log1p(np.clip(y[test], 0, None)))
            else:
                residuals[test] = np.abs(predicted - y[test])
        return residuals


def set_threads(model: IbuModel, threads: int) -> None:
    """Use ``threads`` threads when predicting (1 for one recipe, ``PREDICT_THREADS`` in batch)."""
    for estimator in _estimators(model):
        if hasattr(estimator, "n_jobs") and not _is_forest(estimator):
            estimator.n_jobs = threads
        if getattr(estimator, "_Booster", None) is not None:
            # XGBoost keeps the thread count in the booster, not only in the wrapper.
            estimator.get_booster().set_param({"nthread": threads})


def _is_forest(estimator: Any) -> bool:
    from sklearn.ensemble import ExtraTreesRegressor

    return isinstance(estimator, ExtraTreesRegressor)  # one thread: reproducible sums


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


def recipe_regressor(
    members: tuple[str, ...] = ("trees",), trim_fraction: float = 0.0, **params: Any
) -> RecipeRegressor:
    """The recipe regressor wired to the recipe features' column positions (``params``: more
    ``RecipeRegressor`` parameters)."""
    names = feature_names()
    physics = ("log_tinseth_ibu", "alpha_mg_l_hot", "alpha_mg_l_dry", "abv", "og", "ebc")
    return RecipeRegressor(
        members=members,
        trim_fraction=trim_fraction,
        increasing_columns=tuple(names.index(name) for name in INCREASING_FEATURES),
        linear_columns=tuple(names.index(name) for name in physics),
        **params,
    )


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
            regressor=recipe_regressor(),
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
