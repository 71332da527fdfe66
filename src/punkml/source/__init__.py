"""Where beers come from: the pinned dataset, its schema, and the Punk API v2 client."""

from typing import TYPE_CHECKING, Any

from punkml.source.schema import Beer, validate_beer

if TYPE_CHECKING:
    from punkml.source.client import PunkClient

__all__ = ["Beer", "PunkClient", "validate_beer"]


def __getattr__(name: str) -> Any:
    # The client (httpx, tenacity: a fifth of a second) is loaded on first use, because every
    # import of the schema runs this file and the deliveries never talk to a source.
    if name == "PunkClient":
        from punkml.source.client import PunkClient

        return PunkClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
