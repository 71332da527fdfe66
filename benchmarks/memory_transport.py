"""A connection's transport with no socket, for driving uvicorn's protocol in process: the API
benchmark's CPU-per-request rows and the tests of the direct answer path use it.

Not part of the package: the benchmarks import it from their folder, the tests through pytest's
``pythonpath`` (pyproject.toml)."""

from __future__ import annotations

import asyncio
from typing import Any


class MemoryTransport(asyncio.Transport):
    """Counts what the server writes (``sent_bytes``) and, when ``keep``, keeps it (``sent``)."""

    def __init__(self, peer: tuple[str, int] = ("127.0.0.1", 40000), keep: bool = True) -> None:
        super().__init__()
        self.peer, self.keep = peer, keep
        self.sent = bytearray()
        self.sent_bytes = 0
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": self.peer, "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data: Any) -> None:
        self.sent_bytes += len(data)
        if self.keep:
            self.sent += data

    def writelines(self, chunks: Any) -> None:  # uvloop's sends them as they are, unjoined
        for chunk in chunks:
            self.write(chunk)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def can_write_eof(self) -> bool:
        return False
