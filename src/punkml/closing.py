"""``Closeable``: the base of the objects that hold a connection or a file handle (the streams,
the catalog, the API client), so that ``with obj:`` closes them the same way."""

from __future__ import annotations

from typing import Self


class Closeable:
    """``with obj:`` gives ``obj`` and closes it on the way out; a subclass defines ``close``."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
