"""Fast evaluation of a fitted extra-trees forest: every tree walked at once for a few rows, the
median of the trees in bounded row chunks for many.

Used by the served recipe regressor (``punkml.ml.models.MonotoneRecipeRegressor``) and the
candidate learners of ``punkml evaluate --protocol compare`` (``punkml.ml.learners``), through
``FlatForestCache`` and ``on_threads``: scikit-learn's forests pay ~0.15 ms per tree per call,
fine for a batch, too much when one recipe is asked many times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

FLAT_FOREST_MAX_ROWS = 64
PARALLEL_MIN_ROWS = 20_000


def is_forest_pipeline(member: Any) -> bool:
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


class FlatForestCache:
    """For estimators that ask fitted forests: ``_flat_forest(forest)`` gives the forest's
    flattened copy, built on first use and kept in the instance, never stored with it."""

    def _flat_forest(self, forest: Any) -> FlatForest:
        cache: dict[int, FlatForest] = self.__dict__.setdefault("_flat_cache", {})
        flat = cache.get(id(forest))
        if flat is None:
            flat = cache[id(forest)] = FlatForest.from_forest(forest)
        return flat

    def _forget_flat_forests(self) -> None:
        """Drop the flattened copies (a refit replaces the forests; an id may be reused)."""
        self.__dict__.pop("_flat_cache", None)

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()  # type: ignore[assignment]
        state.pop("_flat_cache", None)
        return state


def on_threads(
    predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray, threads: int
) -> np.ndarray:
    """``predict(X)``, in row chunks on ``threads`` threads when ``X`` has at least
    ``PARALLEL_MIN_ROWS`` rows (the trees release the GIL). ``predict`` must sum each row's trees
    in order on one thread (a forest with ``n_jobs=1``): then the result does not depend on the
    chunking, bit for bit."""
    import numpy as np

    if threads <= 1 or len(X) < PARALLEL_MIN_ROWS:
        return predict(X)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(predict, np.array_split(X, threads))))


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
