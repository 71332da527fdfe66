"""The served beers, pre-serialized once, and a bounded cache of whole ``/beers`` answers.

Each beer's JSON bytes are computed at start, so an answer is a join of ready bytes; answers to
repeated queries come from least-recently-used caches bounded in total bytes.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any, Generic, TypeVar

import orjson

from punkml.api import query as q
from punkml.api.responses import JsonResponse, beer_not_found, invalid_params

DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
ENTRY_OVERHEAD_BYTES = 200  # rough bookkeeping cost of one entry, so tiny answers count too
SEEN_SLOTS = 4096  # recent uncached query strings remembered (by hash), a power of two
K = TypeVar("K", bound=Hashable)


class ResponseCache(Generic[K]):
    """LRU map from a key to a finished response, bounded by the total size of the bodies."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[K, tuple[JsonResponse, int]] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> JsonResponse | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: K, response: JsonResponse, key_bytes: int = 0) -> None:
        """Store ``response``; ``key_bytes`` is the key's size, counted in the bound too."""
        # Bodies may be shared between entries; counting each use keeps the bound conservative.
        size = len(response.body) + key_bytes + ENTRY_OVERHEAD_BYTES
        if size > self.max_bytes or key in self._entries:
            return
        self._entries[key] = (response, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, old_size) = self._entries.popitem(last=False)
            self._bytes -= old_size


class BeerStore:
    """The beers in ascending id order, each beer's JSON bytes, and the ``/beers`` answers."""

    def __init__(
        self,
        beers: Sequence[dict[str, Any]],
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        rng: random.Random | None = None,
    ) -> None:
        self.beers = sorted(beers, key=lambda beer: beer["id"])
        self._json = [orjson.dumps(beer) for beer in self.beers]
        self._single = [JsonResponse(200, b"[" + body + b"]") for body in self._json]
        self._index_of_id = {beer["id"]: i for i, beer in enumerate(self.beers)}
        self._index = q.BeerIndex(self.beers)
        self.by_query: ResponseCache[bytes] = ResponseCache(cache_bytes // 2)
        self.by_selection: ResponseCache[tuple[int, int, int]] = ResponseCache(cache_bytes // 2)
        self._seen = [0] * SEEN_SLOTS
        self._rng = rng or random.Random()

    def list_body(self, positions: Sequence[int]) -> bytes:
        """The JSON array of the beers at these positions, joined from their ready bytes."""
        json = self._json
        return b"[" + b",".join([json[i] for i in positions]) + b"]"

    def beers_answer(self, query_string: bytes) -> JsonResponse:
        """``GET /v2/beers`` for a raw query string, from the cache when possible.

        Two caches lead to the same answer: ``by_query``, by raw query string (no parsing at all
        on a repeat), and ``by_selection``, by the set of matching beers and the page, so every
        query that selects the same beers (other spellings, other filters) shares one body.
        A query string enters ``by_query`` only when it comes back: most query strings never
        repeat (each one new is the cheapest attack on a cache, and the normal case of many
        users), and storing each would evict the ones that do.
        """
        cached = self.by_query.get(query_string)
        if cached is not None:
            return cached
        try:
            beer_query = q.parse_beer_query(q.parse_query_string(query_string))
        except q.InvalidParams as exc:
            response = invalid_params(exc.errors)
        else:
            response = self._answer_for(beer_query)
        if self._seen_before(query_string):
            self.by_query.put(query_string, response, len(query_string))
        return response

    def _seen_before(self, query_string: bytes) -> bool:
        """Whether this query string was among the recent ones not cached (and remember it).

        One slot per hash bucket, overwritten by the next string falling there: a string comes
        back into the cache on its second request unless many others came in between.
        """
        digest = hash(query_string)
        slot = digest & (SEEN_SLOTS - 1)
        if self._seen[slot] == digest:
            return True
        self._seen[slot] = digest
        return False

    def _answer_for(self, beer_query: q.BeerQuery) -> JsonResponse:
        selection = (self._index.matching_set(beer_query), beer_query.page, beer_query.per_page)
        response = self.by_selection.get(selection)
        if response is None:
            positions = q.positions_of(selection[0], len(self.beers))
            page = positions[q.page_slice(beer_query)].tolist()
            response = JsonResponse(200, self.list_body(page))
            self.by_selection.put(selection, response, len(self.beers) // 8 + 16)
        return response

    def beer_answer(self, raw_id: str) -> JsonResponse:
        """``GET /v2/beers/{beerId}``: the beer in a one-element array, or a 400/404 error."""
        try:
            beer_id = q.parse_beer_id(raw_id)
        except q.InvalidParams as exc:
            return invalid_params(exc.errors)
        index = self._index_of_id.get(beer_id)
        if index is None:
            return beer_not_found(raw_id)
        return self._single[index]

    def random_answer(self) -> JsonResponse:
        """``GET /v2/beers/random``: one beer drawn uniformly (the original drew afresh each call)."""
        if not self._single:
            return JsonResponse(200, b"[]")
        return self._rng.choice(self._single)
