"""Where beers come from: the pinned dataset, its schema, and the Punk API v2 client."""

from punkml.source.client import PunkClient
from punkml.source.schema import Beer, validate_beer

__all__ = ["Beer", "PunkClient", "validate_beer"]
