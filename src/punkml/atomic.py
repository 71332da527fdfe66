"""Atomic file writes: a reader sees the old content or the new one, never half of a file.

Every writer of a local file that someone may read meanwhile (the lake, the catalog, the
dataset cache, the report, state files, the model registry's pointer, Lambda packages) goes
through here: the content is written under a hidden temporary name in the same directory, then
renamed onto the target (``os.replace`` is atomic within one filesystem). A failure removes the
temporary file and leaves the target as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_sibling(target: Path) -> Path:
    """A unique hidden name beside ``target`` that ends in ``.tmp``, so that no reader globbing
    for the target's suffix (``*.parquet``, ``*.jsonl.gz``) ever picks it up."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path for the block to write ``target``'s content to; renamed onto ``target``
    when the block ends without error, removed otherwise. Creates the parent directory."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(target)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write(target: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Replace ``target`` with ``data`` (``str`` is written as UTF-8) atomically.

    ``durable`` also flushes the content to the disk before the rename, for files that are
    expensive to get again (the verified dataset).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(target) as temporary, temporary.open("xb") as handle:
        handle.write(payload)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
