"""Candidate recipe learners of ``punkml evaluate --protocol compare`` (not the served model).

``RecipeRegressor`` predicts log(1 + IBU) with a blend of members: extremely randomized trees
(the median or the mean of the trees), gradient-boosted trees (monotone in the Tinseth estimate
only) and a physics-informed Huber regression. The median of fully grown extra trees was the served model until
the grouped protocol showed it memorises near-duplicate recipes and answers non-monotonically
(see docs/model.md): it stays here as the comparison's reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, RegressorMixin

from punkml.errors import ModelError
from punkml.ml.fast_forest import (
    FLAT_FOREST_MAX_ROWS,
    FOREST_AGGREGATES,
    FlatForestCache,
    forest_median,
    is_forest_pipeline,
    on_threads,
)
from punkml.ml.features import INCREASING_FEATURES, feature_names
from punkml.ml.models import SEED, XGB_THREADS

if TYPE_CHECKING:
    import numpy as np


class RecipeRegressor(FlatForestCache, RegressorMixin, BaseEstimator):
    """Blend of members fitted on log(1 + IBU); see the module docstring.

    ``members``: any of ``xgb`` (gradient boosting), ``trees`` (extremely randomized trees),
    ``linear`` (Huber regression on the physics features ``linear_columns``).
    ``forest_aggregate``: ``median`` (the served model) or ``mean`` of the extra trees.
    """

    def __init__(
        self,
        members: tuple[str, ...] = ("trees",),
        xgb_trees: int = 200,
        xgb_learning_rate: float = 0.1,
        forest_trees: int = 300,
        xgb_depth: int = 3,
        forest_max_features: float = 0.33,
        forest_aggregate: str = "median",
        increasing_columns: tuple[int, ...] = (),
        linear_columns: tuple[int, ...] = (),
        random_state: int = SEED,
        n_jobs: int = 1,
    ) -> None:
        self.members = members
        self.xgb_trees = xgb_trees
        self.xgb_learning_rate = xgb_learning_rate
        self.forest_trees = forest_trees
        self.xgb_depth = xgb_depth
        self.forest_max_features = forest_max_features
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
        self._forget_flat_forests()
        log_y = np.log1p(np.clip(np.asarray(y, dtype=float), 0, None))
        self.members_ = [self._fit_member(name, X, log_y) for name in self.members]
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
        if len(X) <= FLAT_FOREST_MAX_ROWS and is_forest_pipeline(member):
            flat = self._flat_forest(member[-1])
            return flat.predict(member[:-1].transform(X), self._aggregate())
        if is_forest_pipeline(member):
            return on_threads(lambda rows: self._plain_predict(member, rows), X, self.n_jobs)
        return self._plain_predict(member, X)

    def _plain_predict(self, member: Any, X: np.ndarray) -> np.ndarray:
        if self._aggregate() == "median" and is_forest_pipeline(member):
            return forest_median(member, X)
        prediction: np.ndarray = member.predict(X)
        return prediction

    def predict(self, X: np.ndarray) -> np.ndarray:
        import numpy as np

        return np.clip(np.expm1(self.predict_log(X)), 0.0, None)

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
        if name == "trees":
            return Pipeline(
                [
                    ("imputer", SimpleImputer(strategy="median", keep_empty_features=True)),
                    (
                        "trees",
                        ExtraTreesRegressor(
                            n_estimators=self.forest_trees,
                            max_features=self.forest_max_features,
                            random_state=self.random_state,
                            # One thread: a threaded forest sums its trees in a varying order,
                            # and predictions must be bit-for-bit reproducible.
                            n_jobs=1,
                        ),
                    ),
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


def recipe_regressor(members: tuple[str, ...] = ("trees",), **params: Any) -> RecipeRegressor:
    """A candidate regressor wired to the recipe features' column positions (``params``: more
    ``RecipeRegressor`` parameters)."""
    names = feature_names()
    physics = ("log_tinseth_ibu", "alpha_mg_l_hot", "alpha_mg_l_dry", "abv", "og", "ebc")
    return RecipeRegressor(
        members=members,
        increasing_columns=tuple(names.index(name) for name in INCREASING_FEATURES),
        linear_columns=tuple(names.index(name) for name in physics),
        **params,
    )
