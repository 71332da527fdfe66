"""``punkml status`` data: lag, pending batches, retention losses, lake tables, collector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from punkml.config import Settings
from punkml.pipeline.collector import record_outcome
from punkml.pipeline.delivery import Deliverer, DeliveryConfig
from punkml.pipeline.lake import Lake
from punkml.pipeline.raw import RawSink
from punkml.pipeline.status import format_status, pipeline_status
from punkml.pipeline.stream import SqliteStream, now_ms
from punkml.pipeline.transform import CleanedSink


def test_status_reports_lag_pending_batches_and_retention_losses(settings: Settings) -> None:
    uri = f"sqlite://{settings.stream_path}?retention_hours=1"
    with SqliteStream(settings.stream_path, retention_hours=1) as stream:
        stream.put([("k", b"{}")] * 5)
        lease = stream.acquire_lease("raw", "host:1:a", 30)
        assert lease is not None
        stream.commit_batch(lease, 2)
        stream.begin_batch(lease, 3, 4)
        stream.consumer("cleaned")  # known before the trim, so its losses are counted
        stream.trim(now_ms() + 2 * 3_600_000)  # everything expires; cleaned had read nothing
        stream.put([("k", b"{}")] * 2)
    record_outcome(settings, records=5)
    record_outcome(settings, error=TimeoutError("read timed out"))

    status = pipeline_status(Settings.load(settings.home, stream=uri))
    assert status["stream"] | {"newest_arrived_at": None, "oldest_arrived_at": None} == {
        "uri": f"sqlite://{settings.stream_path}",
        "length": 2,
        "oldest_seq": 6,
        "newest_seq": 7,
        "oldest_arrived_at": None,
        "newest_arrived_at": None,
        "retention_hours": 1.0,
        "trimmed": 5,
    }
    raw, cleaned = status["consumers"]["raw"], status["consumers"]["cleaned"]
    assert (raw["checkpoint"], raw["lag"], raw["expired_unread"]) == (2, 2, 3)
    assert raw["pending_batch"] == {"first": 3, "last": 4}
    assert raw["lease_holder"] == "host:1:a"
    assert (cleaned["checkpoint"], cleaned["lag"], cleaned["expired_unread"]) == (0, 2, 5)
    assert status["lake"]["tables"]["beers"] == {"files": 0, "rows": 0, "unreadable": []}
    collector = status["collector"]
    assert (collector["records_put_total"], collector["errors_total"]) == (5, 1)
    assert collector["consecutive_errors"] == 1
    assert "read timed out" in collector["last_error"]

    text = format_status(status)
    assert "LOST 3 records to retention" in text
    assert "pending batch 3..4" in text
    assert "1 errors since, 1 in total" in text


def test_status_names_an_unreadable_file_and_still_shows_the_rest(
    settings: Settings, punkml: Callable[..., Any], make_records: Callable[[int], Any]
) -> None:
    with SqliteStream(settings.stream_path) as stream:
        stream.put(make_records(6))
        lake = Lake.open(settings.lake_uri)
        config = DeliveryConfig(buffer_bytes=2_000, poll_seconds=0.01)
        for sink in (RawSink(lake), CleanedSink(lake)):
            Deliverer(stream, sink, config).run(until_idle=True)
    raw_files = sorted(settings.lake_dir.glob("raw/**/*.jsonl.gz"))
    assert len(raw_files) >= 2
    damaged = raw_files[0]
    damaged.write_bytes(damaged.read_bytes()[:20])  # a gzip file cut short

    done = punkml("status", "--format", "json", check=False)
    assert done.returncode == 1  # loud, after the whole report
    report = orjson.loads(done.stdout)
    raw = report["lake"]["tables"]["raw_beers"]
    assert raw["unreadable"] == [str(damaged)]
    assert 0 < raw["rows"] < 6 and raw["files"] == len(raw_files)
    assert report["lake"]["tables"]["beers"]["rows"] == 6
    assert report["stream"]["length"] == 6
    text = punkml("status", check=False).stdout
    assert f"UNREADABLE (not counted): {damaged}" in text
    assert "checkpoint 6" in text


def test_status_reports_a_damaged_stream_and_still_shows_the_lake(
    settings: Settings, punkml: Callable[..., Any]
) -> None:
    settings.stream_path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)  # cut short

    done = punkml("status", check=False)
    assert done.returncode == 1
    text = done.stdout
    assert "UNREADABLE: cannot open the stream" in text
    assert "raw_beers" in text and "collector" in text
