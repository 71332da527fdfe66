"""The lake: where deliveries write files, addressed by URI (a local path or ``s3://bucket/prefix``).

Layout under the lake root (names are contracts, see docs/pipeline.md)::

    raw/YYYY/MM/DD/HH/part-<first seq>-<last seq>.jsonl.gz
    cleaned/<table>/ingest_date=YYYY-MM-DD/part-<first seq>-<last seq>.parquet
    dead_letters/ingest_date=YYYY-MM-DD/part-<first seq>-<last seq>.parquet
    predictions/*.parquet      (written by the ML stage; optional)

File names come from the batch's sequence range, so writing a batch again replaces its files.
``punkml compact`` folds the files of a partition into one named for their whole range; a file
whose range lies inside another file's range in the same directory is *covered* and ignored by
every reader, so the folded file replaces its inputs atomically, before they are deleted.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from punkml.atomic import atomic_write
from punkml.errors import LakeError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

RAW_DIR = "raw"
CLEANED_DIR = "cleaned"
DEAD_LETTERS_DIR = "dead_letters"
PREDICTIONS_DIR = "predictions"
SEQ_DIGITS = 20
CONSUMER_DIRS = {"raw": (RAW_DIR,), "cleaned": (CLEANED_DIR, DEAD_LETTERS_DIR)}
"""Where each consumer's delivery writes (and only it, under its lease)."""
BATCH_NAME = re.compile(r"^part-(\d+)-(\d+)\.")
TEMPORARY_NAME = re.compile(r"^\.part-\d+-\d+\..*\.tmp$")
"""What ``write_bytes`` names a file while writing it (a killed writer leaves it behind)."""


def batch_file_name(first: int, last: int, suffix: str) -> str:
    """``part-<first>-<last><suffix>`` with zero-padded sequence numbers (sorts in stream order)."""
    return f"part-{first:0{SEQ_DIGITS}d}-{last:0{SEQ_DIGITS}d}{suffix}"


def batch_range(path: str) -> tuple[int, int] | None:
    """``(first, last)`` sequence numbers of a ``part-<first>-<last>…`` file name, else None."""
    match = BATCH_NAME.match(os.path.basename(path))
    return (int(match[1]), int(match[2])) if match else None


def uncovered(paths: list[str]) -> tuple[list[str], list[str]]:
    """Split ``paths`` into the files readers use and those covered by a folded file: a file is
    covered when another file of the same directory spans a wider range that includes its own."""
    by_dir: dict[str, list[tuple[int, int, str]]] = {}
    kept: list[str] = []
    for path in paths:
        span = batch_range(path)
        if span is None:
            kept.append(path)
        else:
            by_dir.setdefault(os.path.dirname(path), []).append((span[0], -span[1], path))
    covered: list[str] = []
    for spans in by_dir.values():
        reach = -1  # the highest last seq of the files seen so far, widest first at each start
        for _first, negative_last, path in sorted(spans):
            if -negative_last <= reach:
                covered.append(path)
            else:
                kept.append(path)
                reach = -negative_last
    return sorted(kept), sorted(covered)


@dataclass(frozen=True)
class Lake:
    """A lake root on some filesystem; paths below it are '/'-separated and relative."""

    uri: str
    fs: pafs.FileSystem
    root: str

    @classmethod
    def open(cls, uri: str) -> Lake:
        """Open the lake at ``uri`` (``Settings.lake_uri``), creating a local root if needed."""
        import pyarrow.fs as pafs

        try:
            if "://" in uri:
                fs, root = pafs.FileSystem.from_uri(uri)
            else:
                local = Path(uri).expanduser().resolve()
                local.mkdir(parents=True, exist_ok=True)
                fs, root = pafs.LocalFileSystem(), str(local)
        except (OSError, ValueError) as exc:
            raise LakeError(f"cannot open the lake {uri!r}: {exc}") from exc
        return cls(uri=uri, fs=fs, root=root.rstrip("/"))

    @property
    def is_local(self) -> bool:
        import pyarrow.fs as pafs

        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, relative: str) -> str:
        """The filesystem path of ``relative`` under the root."""
        return f"{self.root}/{relative.strip('/')}" if relative else self.root

    def write_bytes(self, relative: str, data: bytes) -> None:
        """Write a whole file so that readers see either the old or the new content, never half.

        Locally: a temporary file in the same directory, then a rename. Object stores (S3) make a
        single PUT visible atomically already.
        """
        target = self.path(relative)
        try:
            if self.is_local:
                atomic_write(Path(target), data)
            else:
                # compression=None: pyarrow would otherwise gzip a ".gz" name a second time.
                with self.fs.open_output_stream(target, compression=None) as out:
                    out.write(data)
        except OSError as exc:
            raise LakeError(f"cannot write {target}: {exc}") from exc

    def write_parquet(self, relative: str, table: pa.Table) -> None:
        """Write ``table`` as one Parquet file (zstd), atomically as in ``write_bytes``."""
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        # Without dictionary pages: on delivery batches (many repeats of the same beers) the
        # files come out both smaller (about 40 %) and a third faster to write; zstd finds the
        # repeats anyway.
        pq.write_table(table, buffer, compression="zstd", use_dictionary=False)
        self.write_bytes(relative, buffer.getvalue())

    def files(self, relative: str, suffix: str) -> list[str]:
        """Full paths of the files below ``relative`` ending with ``suffix`` (sorted), without
        the files a folded file covers (see the module's docstring)."""
        return uncovered(self.all_files(relative, suffix))[0]

    def all_files(self, relative: str, suffix: str) -> list[str]:
        """Full paths of every visible file below ``relative`` ending with ``suffix`` (sorted)."""
        return sorted(
            path
            for path in self._listing(relative)
            if path.endswith(suffix) and not os.path.basename(path).startswith(".")
        )

    def remove_stale_temporaries(self, relative: str) -> int:
        """Delete the temporary files a killed writer left below ``relative``; return how many.

        Call it only while holding the lease of whatever writes there (nobody else is writing)."""
        removed = 0
        for path in self._listing(relative):
            if TEMPORARY_NAME.match(os.path.basename(path)):
                self.delete(path)
                removed += 1
        return removed

    def relative(self, path: str) -> str:
        """The path below the root of a full path (as returned by ``files``)."""
        prefix = self.root + "/"
        if not path.startswith(prefix):
            raise LakeError(f"{path} is not in the lake {self.uri}")
        return path[len(prefix) :]

    def size(self, path: str) -> int:
        """Size in bytes of a file given by its full path."""
        try:
            return int(self.fs.get_file_info(path).size or 0)
        except OSError as exc:
            raise LakeError(f"cannot read {path}: {exc}") from exc

    def delete(self, path: str) -> None:
        """Delete a file given by its full path (already gone is fine)."""
        try:
            self.fs.delete_file(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise LakeError(f"cannot delete {path}: {exc}") from exc

    def _listing(self, relative: str) -> list[str]:
        import pyarrow.fs as pafs

        selector = pafs.FileSelector(self.path(relative), recursive=True, allow_not_found=True)
        try:
            infos = self.fs.get_file_info(selector)
        except OSError as exc:
            raise LakeError(f"cannot list {self.path(relative)}: {exc}") from exc
        return [info.path for info in infos if info.type == pafs.FileType.File]

    def read_bytes(self, path: str) -> bytes:
        """The content of a file given by its full path (as returned by ``files``)."""
        try:
            with self.fs.open_input_stream(path, compression=None) as handle:
                data: bytes = handle.read()
                return data
        except OSError as exc:
            raise LakeError(f"cannot read {path}: {exc}") from exc
