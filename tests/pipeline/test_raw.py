"""Raw delivery files: exact payloads, hour partitions, deterministic names and bytes."""

from __future__ import annotations

import base64
import gzip
import random
from pathlib import Path

import orjson

from punkml.pipeline.lake import Lake
from punkml.pipeline.raw import RawSink, encode_raw_batch, raw_line
from punkml.pipeline.stream import Record

HOUR_MS = 3_600_000
# 2026-01-02 03:00:00 UTC
T0 = 1_767_322_800_000


def test_lines_hold_each_payload_exactly_as_received() -> None:
    payloads = [b'{"id": 1,  "name": "A\\u00e9"}', '{"name": "Ünïcode"}'.encode(), b"\xff\xfe"]
    records = [Record(seq, str(seq), T0, data) for seq, data in enumerate(payloads, start=7)]
    files = encode_raw_batch(records)
    assert list(files) == [
        "raw/2026/01/02/03/part-00000000000000000007-00000000000000000009.jsonl.gz"
    ]
    lines = [
        orjson.loads(line) for line in gzip.decompress(next(iter(files.values()))).splitlines()
    ]
    assert [line["seq"] for line in lines] == [7, 8, 9]
    assert lines[0]["payload"].encode() == payloads[0]
    assert lines[1]["payload"].encode() == payloads[1]
    assert lines[2]["payload"] is None
    assert base64.b64decode(lines[2]["payload_base64"]) == payloads[2]
    assert lines[0]["arrived_at"] == "2026-01-02T03:00:00.000Z"


def test_a_line_is_the_json_of_its_fields_whatever_the_payload_and_key_hold() -> None:
    rng = random.Random(12)
    alphabet = 'a"\\/\n\t\r\x00\x1f\x7f é€\u2028😀{}:,'
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(300)]
    payloads = [text.encode() for text in texts]
    payloads += [b"\xff", b"ok\xed\xa0\x80", bytes(rng.randrange(256) for _ in range(64))]
    keys = ["1", 'k"\\y', "clé €", "\x01"]
    for seq, data in enumerate(payloads, start=1):
        record = Record(seq, keys[seq % len(keys)], T0 + seq, data)
        line: dict[str, object] = {
            "seq": record.seq,
            "partition_key": record.partition_key,
            "arrived_at": orjson.loads(raw_line(record))["arrived_at"],
        }
        try:
            line["payload"] = data.decode()
        except UnicodeDecodeError:
            line |= {"payload": None, "payload_base64": base64.b64encode(data).decode()}
        assert raw_line(record) == orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE), data


def test_a_batch_spanning_hours_writes_one_file_per_hour_with_the_batch_name() -> None:
    records = [Record(1, "a", T0 + HOUR_MS - 1, b"{}"), Record(2, "b", T0 + HOUR_MS, b"{}")]
    assert sorted(encode_raw_batch(records)) == [
        "raw/2026/01/02/03/part-00000000000000000001-00000000000000000002.jsonl.gz",
        "raw/2026/01/02/04/part-00000000000000000001-00000000000000000002.jsonl.gz",
    ]


def test_encoding_is_deterministic_so_a_replay_overwrites_identically() -> None:
    records = [Record(seq, "k", T0 + seq, b'{"x": %d}' % seq) for seq in range(1, 50)]
    assert encode_raw_batch(records) == encode_raw_batch(list(records))


def test_sink_writes_files_atomically_and_replaces_on_rewrite(tmp_path: Path) -> None:
    lake = Lake.open(str(tmp_path / "lake"))
    sink = RawSink(lake)
    records = [Record(1, "k", T0, b"{}"), Record(2, "k", T0, b"[]")]
    assert sink.write(records) == 1
    assert sink.write(records) == 1
    files = lake.files("raw", ".jsonl.gz")
    assert len(files) == 1
    assert not [p for p in (tmp_path / "lake").rglob(".*")]
