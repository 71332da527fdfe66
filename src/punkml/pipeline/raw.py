"""Raw delivery: every record exactly as received, as gzip JSON lines partitioned by arrival hour.

Each line is one record: ``{"seq", "partition_key", "arrived_at", "payload"}`` where ``payload`` is
the record's bytes decoded as UTF-8 text (byte for byte what the collector received), or ``null``
with ``payload_base64`` set when the bytes are not UTF-8. The hour directory comes from the record's
arrival time on the stream, so replaying a batch writes the same files.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache

import orjson

from punkml.pipeline.lake import RAW_DIR, Lake, batch_file_name
from punkml.pipeline.lake_schema import RAW_SUFFIX
from punkml.pipeline.stream import Record

GZIP_LEVEL = 2
"""ISA-L level (0-3). ISA-L's deflate (python-isal) writes ordinary gzip about four times faster
than zlib; at level 2 these records compress to about the size zlib's level 1 gives."""


@lru_cache(maxsize=4096)
def _arrival_texts(arrived_at_ms: int) -> tuple[str, str]:
    # Cached: the records of one put share their arrival time, so this runs once per put.
    arrived = datetime.fromtimestamp(arrived_at_ms / 1000, tz=UTC)
    iso = arrived.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return arrived.strftime("%Y/%m/%d/%H"), iso


def arrival_hour(arrived_at_ms: int) -> str:
    """``YYYY/MM/DD/HH`` (UTC) of an arrival time in milliseconds."""
    return _arrival_texts(arrived_at_ms)[0]


def raw_line(record: Record) -> bytes:
    """One JSON line (with its newline) for ``record``."""
    try:
        payload = orjson.dumps(record.data.decode("utf-8"))
    except UnicodeDecodeError:
        return orjson.dumps(
            {
                "seq": record.seq,
                "partition_key": record.partition_key,
                "arrived_at": _arrival_texts(record.arrived_at_ms)[1],
                "payload": None,
                "payload_base64": base64.b64encode(record.data).decode("ascii"),
            },
            option=orjson.OPT_APPEND_NEWLINE,
        )
    # The same bytes as orjson.dumps of the line's dict, a third faster: the keys are constant,
    # and only the payload (most of the line) needs escaping.
    return b'{"seq":%d,"partition_key":%b,"arrived_at":"%b","payload":%b}\n' % (
        record.seq,
        orjson.dumps(record.partition_key),
        _arrival_texts(record.arrived_at_ms)[1].encode(),
        payload,
    )


def gzip_bytes(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """``data`` as a gzip member, deterministic (no time stamp or file name in the header)."""
    from isal import isal_zlib  # here: the Lambda handlers import this module without it

    compressor = isal_zlib.compressobj(level, isal_zlib.DEFLATED, 16 + isal_zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def encode_raw_batch(records: Sequence[Record]) -> dict[str, bytes]:
    """The files of one batch: relative path → gzip JSON lines, one file per arrival hour."""
    if not records:
        return {}
    name = batch_file_name(records[0].seq, records[-1].seq, RAW_SUFFIX)
    by_hour: dict[str, list[bytes]] = {}
    for record in records:
        by_hour.setdefault(arrival_hour(record.arrived_at_ms), []).append(raw_line(record))
    return {
        f"{RAW_DIR}/{hour}/{name}": gzip_bytes(b"".join(lines)) for hour, lines in by_hour.items()
    }


class RawSink:
    """Writes each batch of the ``raw`` consumer to the lake."""

    consumer = "raw"

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def write(self, records: Sequence[Record]) -> int:
        """Write the batch's files (replacing any earlier copy); return the number of files."""
        files = encode_raw_batch(records)
        for relative, data in files.items():
            self.lake.write_bytes(relative, data)
        return len(files)
