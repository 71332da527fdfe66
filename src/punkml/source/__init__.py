"""Where beers come from: the pinned dataset, its schema, and the Punk API v2 client."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from punkml.source.client import PunkClient
    from punkml.source.schema import Beer, validate_beer

__all__ = ["Beer", "PunkClient", "validate_beer"]
_HOMES = {"Beer": "schema", "PunkClient": "client", "validate_beer": "schema"}


def __getattr__(name: str) -> Any:
    # Imported on first use (PEP 562): every command loads this package, and the client's
    # httpx, tenacity and pydantic were half of the command line's start-up time.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
