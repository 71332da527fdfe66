"""``punkml status``: the stream, each consumer's checkpoint and lag, the lake tables, the collector."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from punkml.config import Settings
from punkml.errors import PunkmlError
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.collector import CollectorState
from punkml.pipeline.runner import CONSUMERS
from punkml.pipeline.stream import ConsumerState, StreamInfo, open_stream


def iso_ms(ms: int | None) -> str | None:
    """Milliseconds since the epoch → ISO 8601 UTC text."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _consumer_report(info: StreamInfo, state: ConsumerState) -> dict[str, Any]:
    pending = None
    if state.pending_first is not None:
        pending = {"first": state.pending_first, "last": state.pending_last}
    return {
        "checkpoint": state.checkpoint,
        "lag": info.lag(state.checkpoint),
        "pending_batch": pending,
        "lease_holder": state.lease_holder,
        "lease_expires_at": iso_ms(state.lease_expires_at_ms),
        "expired_unread": state.expired_unread,
        "updated_at": iso_ms(state.updated_at_ms),
    }


def pipeline_status(
    settings: Settings,
) -> dict[str, Any]:
    """Everything ``punkml status`` reports, as JSON-ready data."""
    stream, consumers = _stream_report(settings)
    return {
        "stream": stream,
        "consumers": consumers,
        "lake": _lake_report(settings),
        "collector": asdict(CollectorState.load(settings)),
    }


def _stream_report(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stream and its consumers; ``{"error": …}`` when the stream cannot be read."""
    try:
        stream = open_stream(settings)
        try:
            info = stream.info()
        finally:
            stream.close()
    except PunkmlError as exc:
        return {"uri": settings.stream_uri, "error": str(exc)}, {}
    states = {state.name: state for state in info.consumers}
    consumers = {
        name: _consumer_report(
            info, states.get(name) or ConsumerState(name, 0, None, None, None, None, 0, None)
        )
        for name in sorted(set(CONSUMERS) | set(states))
    }
    return {
        "uri": info.uri,
        "length": info.length,
        "oldest_seq": info.oldest_seq,
        "newest_seq": info.newest_seq,
        "oldest_arrived_at": iso_ms(info.oldest_arrived_at_ms),
        "newest_arrived_at": iso_ms(info.newest_arrived_at_ms),
        "retention_hours": info.retention_hours,
        "trimmed": info.trimmed,
    }, consumers


def _lake_report(settings: Settings) -> dict[str, Any]:
    """The lake's tables: files, rows and the files that cannot be read, by name."""
    try:
        with Catalog(settings) as catalog:
            tables = {
                stat.name: {
                    "files": stat.files,
                    "rows": stat.rows,
                    "unreadable": list(stat.unreadable),
                }
                for stat in catalog.stats()
            }
            return {"uri": catalog.lake.uri, "tables": tables}
    except PunkmlError as exc:
        return {"uri": settings.lake_uri, "error": str(exc), "tables": {}}


def unreadable_parts(status: dict[str, Any]) -> list[str]:
    """What the status could not read: the stream, the lake, or files of the lake, by name."""
    parts = [status[part]["error"] for part in ("stream", "lake") if "error" in status[part]]
    for table in status["lake"]["tables"].values():
        parts.extend(table["unreadable"])
    return parts


def format_status(status: dict[str, Any]) -> str:
    """The status as a few lines of text."""
    stream = status["stream"]
    lines = [f"stream     {stream['uri']}"]
    if "error" in stream:
        lines.append(f"  UNREADABLE: {stream['error']}")
    else:
        lines.append(
            f"  records  {stream['length']} (seq {stream['oldest_seq']}..{stream['newest_seq']}, "
            f"newest at {stream['newest_arrived_at']}), retention "
            f"{stream['retention_hours']:g} h, trimmed {stream['trimmed']}"
        )
    for name, consumer in status["consumers"].items():
        line = f"consumer   {name:<8} checkpoint {consumer['checkpoint']}, lag {consumer['lag']}"
        if consumer["pending_batch"]:
            batch = consumer["pending_batch"]
            line += f", pending batch {batch['first']}..{batch['last']} (replayed on restart)"
        if consumer["lease_holder"]:
            line += f", leased by {consumer['lease_holder']}"
        if consumer["expired_unread"]:
            line += f", LOST {consumer['expired_unread']} records to retention before reading them"
        lines.append(line)
    lines.append(f"lake       {status['lake']['uri']}")
    if "error" in status["lake"]:
        lines.append(f"  UNREADABLE: {status['lake']['error']}")
    for name, table in status["lake"]["tables"].items():
        line = f"  {name:<14} {table['rows']:>9} rows in {table['files']} files"
        if table["unreadable"]:
            line += f"; UNREADABLE (not counted): {', '.join(table['unreadable'])}"
        lines.append(line)
    collector = status["collector"]
    lines.append(
        f"collector  last success {collector['last_success_at'] or 'never'}, "
        f"{collector['consecutive_errors']} errors since, {collector['errors_total']} in total"
        + (f" (last: {collector['last_error']})" if collector["last_error"] else "")
    )
    if collector.get("invalid_total"):
        lines.append(
            f"  invalid  {collector['invalid_total']} beers failed the schema and were put as "
            f"received for the dead letters ({collector['last_invalid']} in the last collection; "
            f"last: {collector['last_invalid_error']})"
        )
    return "\n".join(lines)
