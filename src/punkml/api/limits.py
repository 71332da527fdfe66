"""The bounds every HTTP connection of ``punkml api serve`` is held to (see ``api/protocol.py``)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_URL_BYTES = 16 * 1024
MAX_HEADER_BYTES = 64 * 1024
HEADER_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 1000


@dataclass(frozen=True)
class ConnectionLimits:
    """Bounds applied to every connection before the application sees a request."""

    max_url_bytes: int = MAX_URL_BYTES
    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout_seconds: float = HEADER_TIMEOUT_SECONDS
    max_connections: int = MAX_CONNECTIONS
