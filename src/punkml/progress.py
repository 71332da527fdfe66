"""Progress of the long steps (backfill, delivery, training, evaluation, report, ``run``).

On a terminal, a rich progress bar (a spinner while the total is unknown) on stderr that
disappears when the step ends; otherwise (a pipe, a log file, CI) plain lines on stderr, at most
one every ``PLAIN_EVERY_SECONDS`` and one when the step ends, so logs stay short. stdout is left to
the commands' results either way. ``$PUNKML_PROGRESS`` (``bar``, ``plain``, ``off``) overrides.

    with progress("backfill", unit="beers") as step:
        step.advance(25)                  # counts
        step.note("recipe fold 3/25")     # or what is being done now

The stages only take callbacks (``on_put(count)``, ``progress(text)``, ``on_batch(stats)``) and
stay unaware of how progress is shown.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

PLAIN_EVERY_SECONDS = 5.0
PROGRESS_ENV = "PUNKML_PROGRESS"


def progress_mode(out: IO[str] | None = None) -> str:
    """``bar``, ``plain`` or ``off``: ``$PUNKML_PROGRESS`` if set, else ``bar`` on a terminal."""
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced in ("bar", "plain", "off"):
        return forced
    stream = out or sys.stderr
    interactive = bool(getattr(stream, "isatty", lambda: False)())
    return "bar" if interactive and os.environ.get("TERM") != "dumb" else "plain"


class Step:
    """One running step: counts and/or a note, shown as a bar or as plain lines."""

    def __init__(
        self, name: str, *, total: int | None = None, unit: str = "", out: IO[str] | None = None
    ) -> None:
        self.name, self.total, self.unit = name, total, unit
        self.out = out or sys.stderr
        self.mode = progress_mode(self.out)
        self.done = 0
        self.text = ""
        self._lock = threading.Lock()  # deliveries report from several threads
        self._bar: Any = None
        self._task: Any = None
        self._said_at = time.monotonic()

    def start(self) -> Step:
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total:
                columns.append(BarColumn())
            columns.append(TimeElapsedColumn())
            console = Console(file=self.out, highlight=False)
            self._bar = Progress(*columns, console=console, transient=True)
            self._task = self._bar.add_task(self.describe(), total=self.total)
            self._bar.start()
        return self

    def stop(self, *, failed: bool = False) -> None:
        """End the step: the bar disappears; in plain mode, a last line says where it ended
        (not after a failure: the error's one line says it)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self.mode == "plain" and (self.done or self.text) and not failed:
            self._say()

    def advance(self, count: int = 1) -> None:
        """``count`` more units done."""
        with self._lock:
            self.done += count
            self._show()

    def note(self, text: str) -> None:
        """Say what is being done now (replaces the previous note)."""
        with self._lock:
            self.text = text
            self._show()

    update = note  # the name rich's status uses, for callers written against it

    def describe(self) -> str:
        """``name: done/total unit (note)``, or ``name (note)`` without counts."""
        amount = ""
        if self.done or self.total:
            amount = f"{self.done}/{self.total}" if self.total else str(self.done)
            amount = f" {amount} {self.unit}".rstrip()
        note = f" ({self.text})" if self.text else ""
        return f"{self.name}:{amount}{note}" if amount else f"{self.name}{note}"

    def _show(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=self.describe())
        elif self.mode == "plain" and time.monotonic() - self._said_at >= PLAIN_EVERY_SECONDS:
            self._say()

    def _say(self) -> None:
        print(self.describe(), file=self.out, flush=True)
        self._said_at = time.monotonic()


@contextlib.contextmanager
def progress(
    name: str, *, total: int | None = None, unit: str = "", out: IO[str] | None = None
) -> Iterator[Step]:
    """A step shown while the block runs (see the module's docstring)."""
    step = Step(name, total=total, unit=unit, out=out).start()
    try:
        yield step
    except BaseException:
        step.stop(failed=True)
        raise
    step.stop()
