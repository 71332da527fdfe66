"""``punkml run``: the whole local pipeline, end to end (work in progress)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to the root ``punkml`` app."""
