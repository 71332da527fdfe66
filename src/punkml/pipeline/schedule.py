"""When to collect: a fixed interval (``--every 5m``) or a cron expression (``--cron '*/5 * * * *'``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from punkml.errors import ConfigError

DEFAULT_EVERY = "5m"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MIN_INTERVAL_SECONDS = 0.1
MAX_INTERVAL_SECONDS = 7 * 86400.0


def parse_duration(text: str, *, option: str = "--every") -> float:
    """``"30s"``, ``"5m"``, ``"1h"``, ``"1.5h"``, ``"250ms"``, ``"90"`` (seconds) → seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ConfigError(f"{option} {text!r} is not a duration; use e.g. 30s, 5m or 1h")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise ConfigError(f"{option} {text!r} must be between 100ms and 7d")
    return seconds


@dataclass(frozen=True)
class Schedule:
    """Either every ``interval_seconds`` (first run at once) or on a cron expression (UTC)."""

    interval_seconds: float | None = None
    cron: str | None = None

    @classmethod
    def from_options(cls, every: str | None, cron: str | None) -> Schedule:
        """The schedule of ``--every``/``--cron`` (not both; default every 5 minutes)."""
        if every and cron:
            raise ConfigError("give --every or --cron, not both")
        if cron:
            from croniter import croniter

            if not croniter.is_valid(cron):
                raise ConfigError(f"--cron {cron!r} is not a valid cron expression")
            return cls(cron=cron)
        return cls(interval_seconds=parse_duration(every or DEFAULT_EVERY))

    def next_run(self, after: float) -> float:
        """The next run time (Unix seconds) strictly after ``after``."""
        if self.interval_seconds is not None:
            return after + self.interval_seconds
        from croniter import croniter

        assert self.cron is not None
        start = datetime.fromtimestamp(after, tz=UTC)
        return float(croniter(self.cron, start).get_next(float))

    def first_run(self, now: float) -> float:
        """An interval schedule runs at once; a cron schedule at its next matching time."""
        return now if self.interval_seconds is not None else self.next_run(now)

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron '{self.cron}' (UTC)"
        return f"every {self.interval_seconds:g} s"
