"""Per-client-IP request limit in fixed windows, like the original's express-rate-limit (v2).

The original counted requests per IP in memory and reset every counter at once, every window
(one hour) after start. Requests past the limit still count, answer 429, and report 0 remaining.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_LIMIT = 3600
DEFAULT_WINDOW_SECONDS = 3600.0
# Distinct clients remembered per window; beyond it the counters restart early so memory stays
# bounded even under an address-spoofing flood (never reached by real loopback use).
MAX_CLIENTS = 100_000


@dataclass(frozen=True)
class Quota:
    """The outcome of counting one request: whether it may proceed and the header values."""

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``x-ratelimit-limit`` / ``x-ratelimit-remaining`` (+ ``retry-after`` when refused)."""
        headers = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
        ]
        if not self.allowed:
            headers.append((b"retry-after", str(self.reset_seconds).encode()))
        return headers


class RateLimiter:
    """Counts requests per client in fixed windows; ``limit`` must be ≥ 1 (0 means: no limiter)."""

    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("rate limit must be at least 1 (use no limiter to disable it)")
        if window_seconds <= 0:
            raise ValueError("rate-limit window must be positive")
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._window_end = clock() + window_seconds
        self._counts: dict[str, int] = {}

    def hit(self, client: str) -> Quota:
        """Count one request from ``client`` and say whether it is within the limit."""
        now = self._clock()
        if now >= self._window_end:
            # Windows stay aligned on the start time, like a timer resetting every window.
            periods = math.floor((now - self._window_end) / self.window_seconds) + 1
            self._window_end += periods * self.window_seconds
            self._counts.clear()
        elif len(self._counts) >= MAX_CLIENTS and client not in self._counts:
            self._counts.clear()
        count = self._counts.get(client, 0) + 1
        self._counts[client] = count
        return Quota(
            allowed=count <= self.limit,
            limit=self.limit,
            remaining=max(self.limit - count, 0),
            reset_seconds=max(math.ceil(self._window_end - now), 1),
        )
