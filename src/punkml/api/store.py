"""The served beers, pre-serialized once, and a bounded cache of whole ``/beers`` answers.

Each beer's JSON bytes are computed at start, so an answer is a join of ready bytes; answers to
repeated query strings come from a least-recently-used cache bounded in total bytes.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import orjson

from punkml.api import query as q
from punkml.api.responses import JsonResponse, beer_not_found, invalid_params

DEFAULT_CACHE_BYTES = 32 * 1024 * 1024


class ResponseCache:
    """LRU map from a key to a finished response, bounded by the total size of the bodies."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[bytes, JsonResponse] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> JsonResponse | None:
        response = self._entries.get(key)
        if response is not None:
            self._entries.move_to_end(key)
        return response

    def put(self, key: bytes, response: JsonResponse) -> None:
        size = len(response.body) + len(key)
        if size > self.max_bytes or key in self._entries:
            return
        self._entries[key] = response
        self._bytes += size
        while self._bytes > self.max_bytes:
            old_key, old = self._entries.popitem(last=False)
            self._bytes -= len(old.body) + len(old_key)


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
        self._single = [b"[" + body + b"]" for body in self._json]
        self._index_of_id = {beer["id"]: i for i, beer in enumerate(self.beers)}
        self._index_of_beer = {id(beer): i for i, beer in enumerate(self.beers)}
        self._cache = ResponseCache(cache_bytes)
        self._rng = rng or random.Random()

    def list_body(self, beers: Sequence[dict[str, Any]]) -> bytes:
        """The JSON array of some of the store's beers, joined from their ready bytes."""
        return b"[" + b",".join(self._json[self._index_of_beer[id(b)]] for b in beers) + b"]"

    def beers_answer(self, params: dict[str, str], cache_key: bytes | None = None) -> JsonResponse:
        """``GET /v2/beers`` for already parsed query parameters (cached by ``cache_key``)."""
        if cache_key is not None:
            cached = self._cache.get(cache_key)
            if cached is not None:
                return cached
        response = self._compute_beers(params)
        if cache_key is not None:
            self._cache.put(cache_key, response)
        return response

    def _compute_beers(self, params: dict[str, str]) -> JsonResponse:
        try:
            beer_query = q.parse_beer_query(params)
        except q.InvalidParams as exc:
            return invalid_params(exc.errors)
        return JsonResponse(200, self.list_body(q.select_beers(self.beers, beer_query)))

    def beer_answer(self, raw_id: str) -> JsonResponse:
        """``GET /v2/beers/{beerId}``: the beer in a one-element array, or a 400/404 error."""
        try:
            beer_id = q.parse_beer_id(raw_id)
        except q.InvalidParams as exc:
            return invalid_params(exc.errors)
        index = self._index_of_id.get(beer_id)
        if index is None:
            return beer_not_found(raw_id)
        return JsonResponse(200, self._single[index])

    def random_answer(self) -> JsonResponse:
        """``GET /v2/beers/random``: one beer drawn uniformly (the original drew afresh each call)."""
        if not self._single:
            return JsonResponse(200, b"[]")
        return JsonResponse(200, self._rng.choice(self._single))
