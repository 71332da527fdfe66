"""The lake's files: batch names in stream order, folded files hiding what they cover, atomic
writes, and paths kept below the root."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from punkml.errors import LakeError
from punkml.pipeline.lake import Lake, batch_file_name, batch_range, uncovered


def test_batch_names_sort_in_stream_order_and_give_their_range_back() -> None:
    names = [batch_file_name(first, last, ".parquet") for first, last in ((9, 12), (100, 100))]
    assert names == sorted(names)
    assert [batch_range(f"cleaned/beers/{name}") for name in names] == [(9, 12), (100, 100)]
    assert batch_range("cleaned/beers/notes.parquet") is None


def test_a_folded_file_covers_the_narrower_files_of_its_own_directory() -> None:
    part = batch_file_name
    folded, inside, beyond = part(1, 10, ".gz"), part(3, 4, ".gz"), part(5, 12, ".gz")
    other_dir = f"b/{part(2, 3, '.gz')}"
    kept, covered = uncovered([f"a/{inside}", f"a/{folded}", f"a/{beyond}", other_dir, "a/x.gz"])
    assert covered == [f"a/{inside}"]
    assert kept == sorted([f"a/{folded}", f"a/{beyond}", other_dir, "a/x.gz"])


def test_files_round_trip_and_listing_hides_hidden_and_covered_files(tmp_path: Path) -> None:
    lake = Lake.open(str(tmp_path / "lake"))  # a local root is created
    assert lake.is_local and (tmp_path / "lake").is_dir()
    lake.write_bytes(f"raw/{batch_file_name(1, 2, '.gz')}", b"one")
    lake.write_bytes(f"raw/{batch_file_name(1, 5, '.gz')}", b"folded")
    lake.write_bytes("raw/.part-1-2.abc.tmp", b"left by a killed writer")
    lake.write_parquet("cleaned/t.parquet", pa.table({"x": [1, 2]}))
    [folded] = lake.files("raw", ".gz")
    assert lake.read_bytes(folded) == b"folded" and lake.size(folded) == len(b"folded")
    assert len(lake.all_files("raw", ".gz")) == 2
    assert pq.read_table(lake.path("cleaned/t.parquet")).column("x").to_pylist() == [1, 2]
    assert lake.remove_stale_temporaries("raw") == 1
    assert lake.remove_stale_temporaries("raw") == 0
    lake.delete(folded)
    lake.delete(folded)  # already gone is fine
    assert lake.relative(lake.files("raw", ".gz")[0]) == f"raw/{batch_file_name(1, 2, '.gz')}"
    with pytest.raises(LakeError, match="is not in the lake"):
        lake.relative("/elsewhere/file.gz")
