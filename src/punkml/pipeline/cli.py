"""Commands of the ingestion stage: ``ingest once|backfill|run``, ``deliver``, ``status``, ``sql``."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from punkml.cli_options import (
    CatalogOption,
    HomeOption,
    LakeOption,
    StreamOption,
    TextOrJson,
    TextOrJsonOption,
    echo_json_lines,
)
from punkml.config import Settings
from punkml.pipeline.external_catalog import open_external_catalog
from punkml.pipeline.schedule import Schedule, parse_duration

# The stage's modules are imported inside each command, not here: `punkml --help` must load
# only the command definitions (no pyarrow, DuckDB, scikit-learn…).

if TYPE_CHECKING:
    import pyarrow as pa

    from punkml.pipeline.delivery import DeliveryConfig, DeliveryStats

ingest_app = typer.Typer(
    help="Collect beers from a Punk API v2 source onto the stream.", no_args_is_help=True
)

SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        envvar="PUNKML_SOURCE",
        help="Punk API v2 base URL, e.g. http://127.0.0.1:8000/v2 (start one: punkml api serve).",
    ),
]
BufferBytesOption = Annotated[
    int | None,
    typer.Option(
        "--buffer-bytes",
        min=1,
        help="Flush a delivery batch once its payloads reach this size. Default: 1 MiB for raw "
        "(like the original's Firehose), 8 MiB for cleaned (fewer, larger Parquet files).",
        show_default=False,
    ),
]
BufferSecondsOption = Annotated[
    float,
    typer.Option(
        "--buffer-seconds",
        min=0.01,
        help="Flush a delivery batch once its oldest record has waited this long.",
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        min=1,
        max=64,
        help="Processes that validate and clean each cleaned batch (CPU-bound; up to one per core).",
    ),
]
DEFAULT_SOURCE = "http://127.0.0.1:8000/v2"
DEFAULT_BUFFER_SECONDS = 60.0
DEFAULT_COMPACT_EVERY = "1h"
DEFAULT_MAX_ROWS = 100


class ConsumerChoice(StrEnum):
    raw = "raw"
    cleaned = "cleaned"
    all = "all"


class SqlFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the root ``punkml`` app."""
    app.add_typer(ingest_app, name="ingest")
    app.command("deliver")(deliver)
    app.command("status")(status)
    app.command("sql")(sql)
    app.command("compact")(compact)


# -- ingest ------------------------------------------------------------------------------------


@ingest_app.command("once")
def ingest_once(
    source: SourceOption = DEFAULT_SOURCE, stream: StreamOption = None, home: HomeOption = None
) -> None:
    """Fetch one random beer from the source and put it on the stream."""
    from punkml.pipeline.runner import ingest_once as collect_one

    invalid: list[str] = []
    seq = collect_one(
        _settings(home, writes=True, stream=stream), source, on_invalid=invalid.append
    )
    typer.echo(f"put 1 beer on the stream as record {seq}")
    _exit_if_invalid(invalid)


@ingest_app.command("backfill")
def ingest_backfill(
    source: SourceOption = DEFAULT_SOURCE, stream: StreamOption = None, home: HomeOption = None
) -> None:
    """Put every beer of every page of the source on the stream."""
    from punkml.pipeline.runner import backfill
    from punkml.progress import progress

    invalid: list[str] = []
    with progress("backfill", unit="beers put") as step:
        total = backfill(
            _settings(home, writes=True, stream=stream),
            source,
            on_put=step.advance,
            on_invalid=invalid.append,
        )
    typer.echo(f"put {total} beers on the stream")
    _exit_if_invalid(invalid)


EXIT_INVALID_BEERS = 3
"""``ingest once|backfill``: everything was put, but some beers failed the schema."""


def _exit_if_invalid(invalid: list[str]) -> None:
    """Say how many beers failed the schema and exit with ``EXIT_INVALID_BEERS``, if any did."""
    if not invalid:
        return
    typer.echo(
        f"warning: {len(invalid)} of them failed the schema; they are on the stream as received "
        "and the cleaned delivery dead-letters them (see `punkml status` and the dead_letters "
        f"view). First: {invalid[0]}",
        err=True,
    )
    raise typer.Exit(EXIT_INVALID_BEERS)


@ingest_app.command("run")
def ingest_run(
    every: Annotated[
        str | None,
        typer.Option("--every", help="Collect one random beer at this interval: 30s, 5m, 1h."),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option("--cron", help="Collect on this cron expression (UTC) instead of --every."),
    ] = None,
    source: SourceOption = DEFAULT_SOURCE,
    stream: StreamOption = None,
    lake: LakeOption = None,
    buffer_bytes: BufferBytesOption = None,
    buffer_seconds: BufferSecondsOption = DEFAULT_BUFFER_SECONDS,
    workers: WorkersOption = 1,
    compact_every: Annotated[
        str,
        typer.Option(
            "--compact-every",
            help="Fold the lake's small files at this interval (30m, 1h, …), between batches.",
        ),
    ] = DEFAULT_COMPACT_EVERY,
    home: HomeOption = None,
) -> None:
    """Collect on a schedule (default every 5 minutes) and deliver, until SIGINT or SIGTERM.

    On a signal, collection stops, the deliveries deliver what is on the stream, flush and
    checkpoint, then the command exits 0. Source faults are logged and counted (see punkml
    status); the schedule keeps going. Every hour (--compact-every) each delivery folds the
    small files it wrote, as punkml compact does.
    """
    from dataclasses import replace

    from punkml.pipeline.runner import run_ingestion
    from punkml.source.client import PunkClient

    settings = _settings(home, writes=True, stream=stream, lake=lake)
    schedule = Schedule.from_options(every, cron)
    config = replace(
        _delivery_config(buffer_bytes, buffer_seconds, workers),
        compact_every_seconds=parse_duration(compact_every, option="--compact-every"),
    )
    stop = _stop_on_signals()
    logging.getLogger("punkml").info("collecting %s from %s", schedule.describe(), source)
    summary = run_ingestion(
        settings,
        lambda: PunkClient(source),
        schedule,
        config=config,
        stop=stop,
    )
    typer.echo(
        f"stopped: {summary.collections} collections, {summary.records_put} beers put, "
        f"{summary.source_errors} source errors"
    )
    _echo_deliveries(summary.deliveries)


# -- deliver -----------------------------------------------------------------------------------


def deliver(
    consumer: Annotated[
        ConsumerChoice, typer.Option("--consumer", help="Which delivery to run.")
    ] = ConsumerChoice.all,
    until_idle: Annotated[
        bool,
        typer.Option(
            "--until-idle", help="Stop once the stream is drained (else run until a signal)."
        ),
    ] = False,
    stream: StreamOption = None,
    lake: LakeOption = None,
    buffer_bytes: BufferBytesOption = None,
    buffer_seconds: BufferSecondsOption = DEFAULT_BUFFER_SECONDS,
    workers: WorkersOption = 1,
    catalog_uri: CatalogOption = None,
    home: HomeOption = None,
) -> None:
    """Deliver stream records into the lake: raw (gzip JSON lines) and/or cleaned (Parquet).

    Exactly once: batches are written under names derived from their sequence range, then
    checkpointed; a restart after a crash replays the unfinished batch onto the same files. Only
    one process delivers a consumer at a time (a lease); a second one waits and takes over when the
    first stops or dies.
    """
    from punkml.pipeline.runner import (
        consumer_names,
        delivery_progress,
        persist_catalog,
        start_deliveries,
    )

    settings = _settings(home, writes=True, stream=stream, lake=lake, catalog=catalog_uri)
    config = _delivery_config(buffer_bytes, buffer_seconds, workers)
    stop = _stop_on_signals()
    if settings.catalog_uri:
        open_external_catalog(settings.catalog_uri).register_lake(settings.lake_uri)
    consumers = consumer_names(consumer.value)
    with contextlib.ExitStack() as stack:
        on_batch = None
        if until_idle:  # a bar over what there is to deliver (a service logs instead)
            on_batch = stack.enter_context(delivery_progress(settings, consumers))
        running = start_deliveries(
            settings,
            consumers,
            config=config,
            until_idle=until_idle,
            stop=stop,
            on_batch=on_batch,
        )
        stats = running.join()
    persist_catalog(settings)
    _echo_deliveries(stats)


# -- compact -----------------------------------------------------------------------------------


def compact(
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            min=0,
            help="Seconds to wait for a running delivery to release its lease.",
        ),
    ] = 60.0,
    stream: StreamOption = None,
    lake: LakeOption = None,
    home: HomeOption = None,
) -> None:
    """Fold the small files of each lake partition into larger ones.

    Raw gzip JSON lines per hour and cleaned Parquet per table and day: runs of consecutive small
    files become one file named for their whole sequence range. Works under the deliveries'
    lease, so a delivery and a compaction never write at the same time, and a SIGKILL at any
    moment loses and duplicates nothing. punkml ingest run does this on its own (--compact-every).
    """
    from punkml.pipeline.compaction import compact as compact_lake
    from punkml.pipeline.lake import Lake
    from punkml.pipeline.runner import CONSUMERS, refresh_catalog
    from punkml.pipeline.stream import open_stream

    settings = _settings(home, writes=False, stream=stream, lake=lake)
    lake_root = Lake.open(settings.lake_uri)
    log = open_stream(settings)
    try:
        results = compact_lake(
            log,
            lake_root,
            CONSUMERS,
            wait_seconds=wait,
            on_folded=lambda: refresh_catalog(settings),
        )
    finally:
        log.close()
    refresh_catalog(settings)
    for item in results:
        leftovers = item.covered_removed + item.temporaries_removed
        typer.echo(
            f"{item.consumer}: folded {item.files_folded} files into {item.folds}"
            + (f", removed {leftovers} leftovers of interrupted writes" if leftovers else "")
        )


# -- status and sql ----------------------------------------------------------------------------


def status(
    output_format: TextOrJsonOption = TextOrJson.text,
    stream: StreamOption = None,
    lake: LakeOption = None,
    home: HomeOption = None,
) -> None:
    """Show the stream, each consumer's checkpoint and lag, the lake tables and the collector."""
    from punkml.pipeline.status import format_status, pipeline_status, unreadable_parts

    report = pipeline_status(_settings(home, writes=False, stream=stream, lake=lake))
    if output_format is TextOrJson.json:
        echo_json_lines([report])
    else:
        typer.echo(format_status(report))
    if unreadable_parts(report):
        raise typer.Exit(1)  # the whole report is shown; the status says something is damaged


def sql(
    query: Annotated[
        str, typer.Argument(help='One SQL statement, e.g. "SELECT * FROM beers_latest".')
    ],
    output_format: Annotated[
        SqlFormat, typer.Option("--format", help="How to print the result.")
    ] = SqlFormat.table,
    max_rows: Annotated[
        int,
        typer.Option(
            "--max-rows",
            min=1,
            help="Most rows the table format shows (a note tells how many more there are); csv "
            "and json print every row.",
        ),
    ] = DEFAULT_MAX_ROWS,
    lake: LakeOption = None,
    catalog_uri: CatalogOption = None,
    home: HomeOption = None,
) -> None:
    """Query the lake with DuckDB SQL over the catalog views.

    Views: raw_beers, beers, beers_latest, hop_additions, malts, dead_letters, predictions.
    --format json prints JSON lines (one object per row), as every command's json format does.
    """
    from punkml.pipeline.catalog import Catalog

    if catalog_uri and lake is None:
        lake = open_external_catalog(catalog_uri).lake_uri()

    with Catalog(_settings(home, writes=False, lake=lake)) as catalog:
        result = catalog.query(query)
    _print_table(result, output_format, max_rows)


# -- helpers -----------------------------------------------------------------------------------


def _settings(
    home: Any,
    *,
    writes: bool,
    stream: str | None = None,
    lake: str | None = None,
    catalog: str | None = None,
) -> Settings:

    return Settings.for_command(home, writes=writes, stream=stream, lake=lake, catalog=catalog)


def _delivery_config(
    buffer_bytes: int | None, buffer_seconds: float, workers: int
) -> DeliveryConfig:
    from punkml.pipeline.delivery import DeliveryConfig

    return DeliveryConfig(
        buffer_bytes=buffer_bytes,
        buffer_seconds=buffer_seconds,
        poll_seconds=min(1.0, buffer_seconds),
        transform_workers=workers,
    )


def _stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so the work can finish its batch and checkpoint."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        logging.getLogger("punkml").info(
            "%s received: flushing and stopping", signal.Signals(signum).name
        )
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _echo_deliveries(stats: list[DeliveryStats]) -> None:
    for item in sorted(stats, key=lambda s: s.consumer):
        replayed = f", {item.replayed_batches} replayed" if item.replayed_batches else ""
        typer.echo(
            f"{item.consumer}: delivered {item.records} records in {item.batches} batches"
            f"{replayed} ({item.files} files), checkpoint {item.checkpoint}"
        )


def _print_table(table: pa.Table, output_format: SqlFormat, max_rows: int) -> None:
    if output_format is SqlFormat.table:
        _print_rich_table(table, max_rows)
        return
    rows = table.to_pylist()
    if output_format is SqlFormat.json:
        echo_json_lines(rows)
    else:
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([row[name] for name in table.column_names] for row in rows)


def _print_rich_table(table: pa.Table, max_rows: int) -> None:
    from rich.console import Console
    from rich.table import Table

    view = Table(*table.column_names, show_lines=False)
    for row in table.slice(0, max_rows).to_pylist():
        view.add_row(*("" if row[name] is None else str(row[name]) for name in table.column_names))
    console = Console()
    console.print(view)
    hidden = table.num_rows - max_rows
    if hidden > 0:
        console.print(
            f"… {hidden:,} more rows not shown ({table.num_rows:,} in all): raise --max-rows, "
            "or use --format csv or json for every row",
            highlight=False,
        )
