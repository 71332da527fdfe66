"""Splits: identical hop bills share a group, grouped folds keep groups whole, the seed split."""

from __future__ import annotations

from typing import Any

import numpy as np

from punkml.ml.data import RecipeTables, tables_from_beers
from punkml.ml.folds import grouped_folds, random_folds, recipe_groups, seed_split


def test_identical_hop_bills_share_a_group(beer_factory: Any) -> None:
    first, twin = beer_factory(1), beer_factory(2, name="Barrel-aged twin", abv=9.0)
    twin["ingredients"]["hops"] = list(reversed(twin["ingredients"]["hops"]))  # order is no matter
    twin["ingredients"]["hops"][0]["name"] = "MOSAIC"  # nor case
    other = beer_factory(3)
    other["ingredients"]["hops"][0]["amount"]["value"] = 21  # 1 g more Magnum: another recipe
    late = beer_factory(4)
    late["ingredients"]["hops"][0]["add"] = "30"  # same grams, another time: another recipe
    bare = beer_factory(5)
    bare["ingredients"]["hops"] = []
    bare_too = beer_factory(6)
    bare_too["ingredients"]["hops"] = []
    groups = recipe_groups(tables_from_beers([first, twin, other, late, bare, bare_too]))
    assert groups[0] == groups[1]
    assert len(set(groups.tolist())) == 5  # twins together; beers without hops apart


def test_the_dataset_holds_near_duplicates(dataset_tables: RecipeTables) -> None:
    groups = recipe_groups(dataset_tables)
    sizes = np.bincount(groups)
    assert 20 <= int((sizes[groups] > 1).sum()) <= 60  # dozens of beers share a hop bill


def test_grouped_folds_keep_groups_whole() -> None:
    groups = np.repeat(np.arange(30), [1, 2, 3] * 10)
    folds = grouped_folds(groups, repeats=3)
    assert len(folds) == 15
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert len(train) + len(test) == len(groups)
    for repeat in range(3):  # each repeat holds every beer out exactly once
        held = np.concatenate([test for _, test in folds[repeat * 5 : repeat * 5 + 5]])
        assert sorted(held.tolist()) == list(range(len(groups)))
    assert not np.array_equal(folds[0][1], folds[5][1])  # repeats reshuffle
    assert [t.tolist() for _, t in folds] == [t.tolist() for _, t in grouped_folds(groups, 3)]


def test_few_groups_give_one_fold_per_group() -> None:
    folds = grouped_folds(np.array([0, 0, 1, 1, 2]), repeats=1)
    assert len(folds) == 3


def test_random_folds_and_the_seed_split() -> None:
    assert len(random_folds(50)) == 25
    train, test = seed_split(320)
    assert (len(train), len(test)) == (214, 106)
    assert not set(train) & set(test)
