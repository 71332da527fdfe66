"""The collector Lambda: run by an EventBridge schedule, puts random beers on the Kinesis stream.

A thin wrapper over the local collector: ``punkml.source.PunkClient`` (retries, backoff, rate-limit
aware, validating) reads the Punk API at ``PUNKML_SOURCE_URL``; ``punkml.pipeline.collector``
builds each record (partition key = the beer id, which Kinesis hashes across the shards; data = the
beer's JSON) and puts it on the stream named by ``PUNKML_STREAM`` (``kinesis://NAME``). A failure
raises, so Lambda's retries and the dead-letter queue see it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from punkml.aws.kinesis import KinesisStream
from punkml.config import Settings
from punkml.errors import ConfigError
from punkml.pipeline.collector import collect_random
from punkml.source.client import PunkClient

log = logging.getLogger(__name__)

SOURCE_ENV = "PUNKML_SOURCE_URL"
STREAM_ENV = "PUNKML_STREAM"
BEERS_PER_RUN_ENV = "PUNKML_BEERS_PER_RUN"
MAX_BEERS_PER_RUN = 100
SCRATCH_HOME = "/tmp/punkml"
"""Lambda's only writable directory; the collector keeps nothing there between runs."""
# A run must end well within the function's 60-second timeout, retries included.
CLIENT_TIMEOUT_SECONDS = 10.0
CLIENT_MAX_SLEEP_SECONDS = 20.0


def collector_config(environ: Mapping[str, str]) -> tuple[str, str, int]:
    """``(source URL, stream URI, beers per run)`` from the environment, validated."""
    source = environ.get(SOURCE_ENV, "").strip()
    stream = environ.get(STREAM_ENV, "").strip()
    if not source:
        raise ConfigError(f"{SOURCE_ENV} is not set; give the Punk API v2 base URL")
    if not stream:
        raise ConfigError(f"{STREAM_ENV} is not set; give the stream URI (kinesis://NAME)")
    count_text = environ.get(BEERS_PER_RUN_ENV, "1").strip()
    if not count_text.isdigit() or not 1 <= int(count_text) <= MAX_BEERS_PER_RUN:
        raise ConfigError(f"{BEERS_PER_RUN_ENV}={count_text!r} must be 1..{MAX_BEERS_PER_RUN}")
    return source, stream, int(count_text)


def describe_event(event: Any) -> str:
    """A short description of the invoking event for the log (scheduled or manual)."""
    if isinstance(event, Mapping) and event.get("detail-type") == "Scheduled Event":
        return f"schedule {','.join(event.get('resources') or [])} at {event.get('time')}"
    return "manual invocation"


def handler(event: Any, context: object = None) -> dict[str, Any]:
    """Lambda entry point: collect ``PUNKML_BEERS_PER_RUN`` random beers onto the stream."""

    source, stream_uri, count = collector_config(os.environ)
    log.info("collecting %d beer(s) from %s for %s", count, source, describe_event(event))
    settings = Settings.load(SCRATCH_HOME, stream=stream_uri)
    stream = KinesisStream.from_uri(settings.stream_uri, settings)
    sequence_numbers: list[str] = []
    try:
        with PunkClient(
            source,
            timeout=CLIENT_TIMEOUT_SECONDS,
            max_total_sleep_seconds=CLIENT_MAX_SLEEP_SECONDS,
        ) as client:
            for _ in range(count):
                sequence_numbers.append(str(collect_random(client, stream)))
            stats = client.stats.as_dict()
    finally:
        stream.close()
    log.info("put %d record(s) on %s; client %s", len(sequence_numbers), stream_uri, stats)
    return {
        "records": len(sequence_numbers),
        "stream": stream_uri,
        "sequence_numbers": sequence_numbers,
    }
