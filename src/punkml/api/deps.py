"""FastAPI dependencies shared by the routers: settings and beers are injected, never global."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from punkml.config import Settings


def get_settings(request: Request) -> Settings:
    """The deployment settings the application was created with (``--home``)."""
    settings: Settings = request.app.state.settings
    return settings


def get_beers(request: Request) -> list[dict[str, Any]]:
    """The served beers, ascending id."""
    beers: list[dict[str, Any]] = request.app.state.store.beers
    return beers
