"""The Punk API v2 client (work in progress)."""

from __future__ import annotations


class PunkClient:
    """Placeholder until the client lands."""
