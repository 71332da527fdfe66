"""Pre-serialized beers and the bounded response cache."""

from __future__ import annotations

import json
import random

from punkml.api.responses import JsonResponse
from punkml.api.store import ENTRY_OVERHEAD_BYTES, BeerStore, ResponseCache


def small_beers() -> list[dict[str, object]]:
    return [{"id": i, "name": f"Beer {i}", "abv": i / 2, "ibu": None} for i in (3, 1, 2)]


def test_beers_are_served_in_id_order_with_their_fields_unchanged() -> None:
    store = BeerStore(small_beers())
    answer = store.beers_answer(b"")
    assert answer.status == 200
    assert json.loads(answer.body) == sorted(small_beers(), key=lambda b: b["id"])


def test_single_beer_and_errors() -> None:
    store = BeerStore(small_beers())
    assert json.loads(store.beer_answer("2").body) == [
        {"id": 2, "name": "Beer 2", "abv": 1.0, "ibu": None}
    ]
    assert store.beer_answer("4").status == 404
    assert store.beer_answer("x").status == 400


def test_random_draws_every_beer_and_nothing_else() -> None:
    store = BeerStore(small_beers(), rng=random.Random(7))
    seen = {json.loads(store.random_answer().body)[0]["id"] for _ in range(200)}
    assert seen == {1, 2, 3}
    assert BeerStore([]).random_answer().body == b"[]"


def test_cached_answers_equal_computed_ones() -> None:
    store = BeerStore(small_beers())
    first = store.beers_answer(b"abv_gt=0.6")
    assert store.beers_answer(b"abv_gt=0.6") is first
    assert [b["id"] for b in json.loads(first.body)] == [2, 3]
    # Another spelling of the same query shares the answer; a different query does not.
    assert store.beers_answer(b"abv_gt=0.60&unknown=1") is first
    assert json.loads(store.beers_answer(b"abv_gt=1.1").body) == [
        {"id": 3, "name": "Beer 3", "abv": 1.5, "ibu": None}
    ]
    assert store.beers_answer(b"abv_gt=x").status == 400


def test_cache_is_bounded_by_bytes_and_evicts_least_recently_used() -> None:
    entry = 490 - ENTRY_OVERHEAD_BYTES  # body bytes so that one entry costs 490
    cache: ResponseCache[bytes] = ResponseCache(max_bytes=1000)
    for key in (b"a", b"b", b"c"):
        cache.put(key, JsonResponse(200, b"x" * entry))
    assert len(cache) == 2  # 3 x 490 bytes do not fit in 1000
    assert cache.get(b"a") is None
    assert cache.get(b"b") is not None
    cache.put(b"d", JsonResponse(200, b"x" * entry))
    assert cache.get(b"c") is None  # b was used more recently than c
    assert cache.get(b"b") is not None
    cache.put(b"huge", JsonResponse(200, b"x" * 5000))
    assert cache.get(b"huge") is None


def test_long_keys_count_toward_the_bound() -> None:
    cache: ResponseCache[bytes] = ResponseCache(max_bytes=10_000)
    for n in range(10):
        cache.put(b"%d" % n, JsonResponse(400, b"{}"), key_bytes=4000)
    assert len(cache) == 2


def test_a_query_string_enters_the_cache_on_its_second_request() -> None:
    store = BeerStore(small_beers())
    for n in range(100):  # each one new: answered, never stored
        assert store.beers_answer(b"abv_lt=%d" % (1000 + n)).status == 200
    assert (len(store.by_query), store.by_query.hits, store.by_query.misses) == (0, 0, 100)
    first = store.beers_answer(b"abv_gt=0.6")
    second = store.beers_answer(b"abv_gt=0.6")  # seen before: computed again, then stored
    assert (len(store.by_query), store.by_query.hits) == (1, 0)
    assert store.beers_answer(b"abv_gt=0.6") is second is first
    assert store.by_query.hits == 1
    assert json.loads(second.body) == [b for b in small_beers() if b["id"] in (2, 3)][::-1]
