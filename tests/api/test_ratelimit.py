"""Fixed-window per-client counting, with a fake clock."""

from __future__ import annotations

import pytest

from punkml.api import ratelimit
from punkml.api.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counts_down_then_refuses_with_zero_remaining() -> None:
    limiter = RateLimiter(3, 60, clock=FakeClock())
    quotas = [limiter.hit("1.2.3.4") for _ in range(5)]
    assert [q.allowed for q in quotas] == [True, True, True, False, False]
    assert [q.remaining for q in quotas] == [2, 1, 0, 0, 0]
    assert quotas[3].headers() == [
        (b"x-ratelimit-limit", b"3"),
        (b"x-ratelimit-remaining", b"0"),
        (b"retry-after", b"60"),
    ]
    assert (b"retry-after", b"60") not in quotas[0].headers()


def test_clients_are_counted_separately() -> None:
    limiter = RateLimiter(1, 60, clock=FakeClock())
    assert limiter.hit("a").allowed
    assert not limiter.hit("a").allowed
    assert limiter.hit("b").allowed


def test_every_counter_resets_when_the_window_ends() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 10, clock=clock)
    limiter.hit("a")
    clock.now += 4
    limiter.hit("a")
    assert not limiter.hit("a").allowed
    assert limiter.hit("a").reset_seconds == 6
    clock.now += 6  # windows are aligned on the start, not on each client's first request
    quota = limiter.hit("a")
    assert quota.allowed and quota.remaining == 1
    clock.now += 35  # several windows later
    assert limiter.hit("a").remaining == 1
    assert limiter.hit("a").reset_seconds == 5


@pytest.mark.parametrize(
    ("limit", "window", "message"),
    [
        (0, 10, "rate limit must be at least 1"),
        (-1, 10, "rate limit must be at least 1"),
        (5, 0, "rate-limit window must be positive"),
    ],
)
def test_rejects_meaningless_settings(limit: int, window: float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        RateLimiter(limit, window)
    assert str(caught.value).startswith(message)


def test_a_window_shorter_than_a_second_is_accepted() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 0.5, clock=clock)
    assert limiter.hit("a").allowed
    assert not limiter.hit("a").allowed
    clock.now += 0.5
    assert limiter.hit("a").allowed


def test_too_many_clients_restart_the_counters_only_for_a_new_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ratelimit, "MAX_CLIENTS", 3)
    limiter = RateLimiter(5, 60, clock=FakeClock())
    for client in ("a", "b", "c"):
        limiter.hit(client)
    # A client already counted goes on counting even when the table is full.
    assert limiter.hit("a").remaining == 3
    assert limiter.hit("b").remaining == 3
    # A fourth client would overflow the table: every counter restarts.
    assert limiter.hit("d").remaining == 4
    assert limiter.hit("a").remaining == 4


def test_retry_after_rounds_a_fraction_of_a_second_up() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 10, clock=clock)
    limiter.hit("a")
    clock.now += 9.75  # a quarter of a second left in the window
    refused = limiter.hit("a")
    assert not refused.allowed
    assert refused.reset_seconds == 1
    assert (b"retry-after", b"1") in refused.headers()
    clock.now -= 1.5  # 1.75 s left: rounded up to 2, never down to 1
    assert limiter.hit("a").reset_seconds == 2
