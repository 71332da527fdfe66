"""Progress: plain lines when stderr is not a terminal, a rich bar when it is, nothing when off."""

from __future__ import annotations

import io

import pytest

import punkml.progress
from punkml.progress import PROGRESS_ENV, Step, progress, progress_mode


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_plain_lines_are_throttled_and_end_with_the_final_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    with progress("backfill", total=325, unit="beers", out=out) as step:
        for _ in range(13):
            step.advance(25)  # within PLAIN_EVERY_SECONDS: no line yet
        assert out.getvalue() == ""
    assert out.getvalue() == "backfill: 325/325 beers\n"

    monkeypatch.setattr(punkml.progress, "PLAIN_EVERY_SECONDS", 0.0)
    out = io.StringIO()
    with progress("train recipe", out=out) as step:
        step.note("recipe fold 1/25")
        step.note("recipe fold 2/25")
    assert out.getvalue().splitlines() == [
        "train recipe (recipe fold 1/25)",
        "train recipe (recipe fold 2/25)",
        "train recipe (recipe fold 2/25)",
    ]


def test_a_failed_step_leaves_the_error_line_alone() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), progress("deliver", total=10, out=out) as step:
        step.advance(3)
        raise RuntimeError("disk full")
    assert out.getvalue() == ""


def test_a_terminal_gets_a_bar_that_disappears(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    assert progress_mode(terminal) == "bar"
    with progress("deliver", total=650, unit="records", out=terminal) as step:
        step.advance(650)
        step._bar.refresh()
        drawn = terminal.getvalue()
    assert "deliver: 650/650 records" in drawn and "\x1b[" in drawn  # drawn with ANSI codes


def test_the_environment_overrides_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "off")
    out = _Terminal()
    with progress("report", out=out) as step:
        step.note("writing")
    assert out.getvalue() == ""
    monkeypatch.setenv(PROGRESS_ENV, "plain")
    assert Step("x", out=_Terminal()).mode == "plain"
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.delenv(PROGRESS_ENV)
    assert progress_mode(_Terminal()) == "plain"
