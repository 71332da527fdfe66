"""``punkml status`` data: lag, pending batches, retention losses, lake tables, collector."""

from __future__ import annotations

from punkml.config import Settings
from punkml.pipeline.collector import record_outcome
from punkml.pipeline.status import format_status, pipeline_status
from punkml.pipeline.stream import SqliteStream, now_ms


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
    assert status["lake"]["tables"]["beers"] == {"files": 0, "rows": 0}
    collector = status["collector"]
    assert (collector["records_put_total"], collector["errors_total"]) == (5, 1)
    assert collector["consecutive_errors"] == 1
    assert "read timed out" in collector["last_error"]

    text = format_status(status)
    assert "LOST 3 records to retention" in text
    assert "pending batch 3..4" in text
    assert "1 errors since, 1 in total" in text
