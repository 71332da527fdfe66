"""How beers are split for evaluation and calibration: the seed split, random and grouped folds.

Near-duplicate recipes: DIY Dog holds versions of the same beer (the Hammer and Paradox series,
coffee or barrel-aged editions, …) that share their exact hop bill and almost always their IBU.
Random folds put one version in training and another in test, which rewards remembering labels.
``recipe_groups`` gives beers with an identical hop bill the same group: the same multiset of
(folded hop name, grams rounded to 0.1 g, stage, boil minutes) additions. A beer without any hop
addition is a group of its own. Grouped folds keep each group whole, in training or in test.

``grouped_folds``: ``CV_REPEATS`` repeats of ``GroupKFold(CV_SPLITS, shuffle=True)``, repeat ``r``
drawn with ``random_state = CV_RANDOM_STATE + r``; its first repeat is the model's calibration
folds and the folds of the out-of-fold predictions stored at train time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punkml.ml.alpha import fold_name

if TYPE_CHECKING:
    import numpy as np

    from punkml.ml.data import RecipeTables

SEED_TEST_SIZE = 0.33
SEED_RANDOM_STATE = 42
CV_SPLITS = 5
CV_REPEATS = 5
CV_RANDOM_STATE = 42

Folds = list[tuple["np.ndarray", "np.ndarray"]]


def recipe_groups(tables: RecipeTables) -> np.ndarray:
    """One group number per beer of ``tables`` (same order): equal for identical hop bills."""
    import numpy as np
    import pandas as pd

    beers, hops = tables.beers, tables.hop_additions
    row_of = pd.Index(np.asarray(beers["seq"], dtype=np.int64)).get_indexer(
        np.asarray(hops["seq"], dtype=np.int64)
    )
    bills: list[list[tuple[str, float, str, float]]] = [[] for _ in range(len(beers))]
    grams = np.round(np.nan_to_num(np.asarray(hops["grams"], dtype=float), nan=-1.0), 1)
    minutes = np.nan_to_num(np.asarray(hops["boil_minutes"], dtype=float), nan=-1.0)
    for row, name, gram, stage, minute in zip(
        row_of, hops["hop_name"], grams, hops["stage"], minutes, strict=True
    ):
        if row >= 0:
            bills[row].append((fold_name(str(name)), float(gram), str(stage), float(minute)))
    keys = [repr(sorted(bill)) if bill else f"no hops #{row}" for row, bill in enumerate(bills)]
    codes, _ = pd.factorize(pd.Series(keys, dtype=object))
    return np.asarray(codes, dtype=np.int64)


def seed_split(n: int, random_state: int = SEED_RANDOM_STATE) -> tuple[np.ndarray, np.ndarray]:
    """Train and test positions of the original split over ``n`` labelled beers (another
    ``random_state`` draws the same kind of split again)."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        np.arange(n), test_size=SEED_TEST_SIZE, random_state=random_state
    )
    return np.asarray(train), np.asarray(test)


def random_folds(n: int, repeats: int = CV_REPEATS) -> Folds:
    """The (train, test) position pairs of repeated random 5-fold CV over ``n`` beers."""
    import numpy as np
    from sklearn.model_selection import RepeatedKFold

    splitter = RepeatedKFold(n_splits=CV_SPLITS, n_repeats=repeats, random_state=CV_RANDOM_STATE)
    return [(np.asarray(a), np.asarray(b)) for a, b in splitter.split(np.arange(n))]


def grouped_folds(groups: np.ndarray, repeats: int = CV_REPEATS, splits: int = CV_SPLITS) -> Folds:
    """The (train, test) position pairs of repeated grouped K-fold CV: a group never straddles
    training and test. Fewer groups than ``splits`` give one fold per group."""
    import numpy as np
    from sklearn.model_selection import GroupKFold

    groups = np.asarray(groups)
    positions = np.arange(len(groups))
    splits = min(splits, len(np.unique(groups)))
    folds: Folds = []
    for repeat in range(repeats):
        splitter = GroupKFold(splits, shuffle=True, random_state=CV_RANDOM_STATE + repeat)
        folds += [
            (np.asarray(a), np.asarray(b)) for a, b in splitter.split(positions, groups=groups)
        ]
    return folds
