"""Schedules: --every durations and --cron expressions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from punkml.errors import ConfigError
from punkml.pipeline.schedule import Schedule, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1.5h", 5400),
        ("250ms", 0.25),
        ("90", 90),
        ("2d", 172800),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "-1s", "0s", "8d", "m5"])
def test_bad_durations_name_the_option(text: str) -> None:
    with pytest.raises(ConfigError, match="--every"):
        parse_duration(text)


def test_default_is_every_five_minutes_starting_now() -> None:
    schedule = Schedule.from_options(None, None)
    assert schedule.interval_seconds == 300
    assert schedule.first_run(1000.0) == 1000.0
    assert schedule.next_run(1000.0) == 1300.0


def test_cron_runs_at_matching_minutes_in_utc() -> None:
    schedule = Schedule.from_options(None, "*/5 * * * *")
    start = datetime(2026, 1, 1, 10, 2, 30, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(schedule.first_run(start), tz=UTC) == datetime(
        2026, 1, 1, 10, 5, tzinfo=UTC
    )
    nxt = schedule.next_run(datetime(2026, 1, 1, 10, 5, tzinfo=UTC).timestamp())
    assert datetime.fromtimestamp(nxt, tz=UTC) == datetime(2026, 1, 1, 10, 10, tzinfo=UTC)


def test_bad_or_conflicting_options() -> None:
    with pytest.raises(ConfigError, match="cron"):
        Schedule.from_options(None, "every tuesday")
    with pytest.raises(ConfigError, match="not both"):
        Schedule.from_options("5m", "* * * * *")
