"""Throughput and memory of the local ingestion pipeline: stream → raw and cleaned delivery → catalog.

Puts N records in the Punk API v2 shape (the dataset's beers, ids renumbered 1..N) on a fresh
SQLite stream while both deliveries run as two ``punkml deliver`` processes (the deployment's
shape: independent consumers), waits until both have checkpointed N, then queries the catalog and
checks the counts. ``--mode staged`` puts everything first, then runs the deliveries until idle,
which gives each stage's own wall-clock rate.
Prints records/s for put, raw, cleaned and end to end, and each process's peak RSS. Target: at
least 20,000 records/s end to end on 2 cores, memory flat as N grows.

    .venv/bin/python benchmarks/pipeline_throughput.py [--n 200000] [--mode streaming|staged]
        [--workers 1] [--buffer-bytes N]   (default: each delivery's own, 1 MiB raw, 8 MiB cleaned)
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from punkml.pipeline.delivery import DEFAULT_BUFFER_BYTES, DEFAULT_CLEANED_BUFFER_BYTES

TARGET_END_TO_END = 20_000.0
PUT_CHUNK = 5_000


def record_chunks(count: int, chunk: int = PUT_CHUNK) -> Iterator[list[tuple[str, bytes]]]:
    """The records to put, ``chunk`` at a time (memory stays flat whatever ``count`` is)."""
    from punkml.source.dataset import load_beers

    # Each beer serialized once around its id; only the id changes from record to record.
    templates = []
    for beer in load_beers():
        head, tail = orjson.dumps({**beer, "id": 0}).split(b'"id":0', 1)
        templates.append((head + b'"id":', tail))
    for start in range(0, count, chunk):
        batch = []
        for seq in range(start + 1, min(count, start + chunk) + 1):
            head, tail = templates[(seq - 1) % len(templates)]
            batch.append((str(seq), head + str(seq).encode() + tail))
        yield batch


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def put_records(home: Path, count: int) -> Stage:
    from punkml.config import Settings
    from punkml.pipeline.stream import open_stream

    stream = open_stream(Settings.load(home).ensure())
    started, cpu = time.perf_counter(), _cpu_seconds()
    for chunk in record_chunks(count):
        stream.put(chunk)
    seconds = time.perf_counter() - started
    stream.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Stage("put", seconds, _cpu_seconds() - cpu, rss)


def start_deliveries(
    home: Path, buffer_bytes: int | None, workers: int, *, until_idle: bool
) -> dict[str, Any]:
    """Both consumers as separate ``punkml deliver`` processes (independent consumers)."""
    env = {**os.environ, "PUNKML_HOME": str(home)}
    command = [sys.executable, "-m", "punkml", "deliver", "--workers", str(workers)]
    if buffer_bytes is not None:
        command += ["--buffer-bytes", str(buffer_bytes)]
    # Streaming: a short interval so the last partial batch is not held for a minute (the interval
    # bounds latency, not throughput; an idle deliverer also polls at this interval).
    command += ["--until-idle"] if until_idle else ["--buffer-seconds", "0.25"]
    processes = {}
    for consumer in ("raw", "cleaned"):
        with (home / f"deliver-{consumer}.log").open("wb") as log:
            processes[consumer] = subprocess.Popen(
                [*command, "--consumer", consumer], env=env, stdout=log, stderr=log
            )
    return processes


def wait_deliveries(processes: dict[str, Any], started: float, home: Path) -> list[Stage]:
    """Reap the delivery processes; each one's wall time since ``started``, CPU and peak RSS."""
    stages = []
    pending = {process.pid: consumer for consumer, process in processes.items()}
    while pending:
        pid, status, usage = os.wait4(-1, 0)
        if pid not in pending:
            continue
        consumer = pending.pop(pid)
        processes[consumer].returncode = os.waitstatus_to_exitcode(status)
        if processes[consumer].returncode != 0:
            log = (home / f"deliver-{consumer}.log").read_text()
            sys.exit(f"punkml deliver --consumer {consumer} failed:\n{log}")
        cpu = usage.ru_utime + usage.ru_stime
        stages.append(Stage(consumer, time.perf_counter() - started, cpu, usage.ru_maxrss / 1024))
    return stages


def wait_checkpoints(
    home: Path, count: int, processes: dict[str, Any], timeout: float = 3600
) -> None:
    """Block until both consumers have checkpointed ``count`` records (or one of them died)."""
    from punkml.config import Settings
    from punkml.pipeline.stream import open_stream

    stream = open_stream(Settings.load(home))
    deadline = time.monotonic() + timeout
    try:
        while min(stream.consumer(c).checkpoint for c in ("raw", "cleaned")) < count:
            if time.monotonic() > deadline:
                sys.exit("the deliveries did not catch up in time")
            for consumer, process in processes.items():
                if process.poll() is not None:
                    log = (home / f"deliver-{consumer}.log").read_text()
                    sys.exit(f"punkml deliver --consumer {consumer} stopped early:\n{log}")
            time.sleep(0.05)
    finally:
        stream.close()


def run_staged(
    home: Path, n: int, buffer_bytes: int | None, workers: int
) -> tuple[Stage, list[Stage], float]:
    """Put everything, then both deliveries until idle; end-to-end wall seconds."""
    put = put_records(home, n)
    started = time.perf_counter()
    processes = start_deliveries(home, buffer_bytes, workers, until_idle=True)
    deliveries = wait_deliveries(processes, started, home)
    return put, deliveries, put.seconds + max(stage.seconds for stage in deliveries)


def run_streaming(
    home: Path, n: int, buffer_bytes: int | None, workers: int
) -> tuple[Stage, list[Stage], float]:
    """Deliveries running while the records are put; end to end = first put → all delivered."""
    from punkml.config import Settings

    Settings.load(home).ensure()
    processes = start_deliveries(home, buffer_bytes, workers, until_idle=False)
    time.sleep(2)  # let them start (imports) so their start-up is not counted as delivery time
    started = time.perf_counter()
    put = put_records(home, n)
    wait_checkpoints(home, n, processes)
    seconds = time.perf_counter() - started
    for process in processes.values():
        process.send_signal(signal.SIGTERM)
    return put, wait_deliveries(processes, started, home), seconds


def query_catalog(home: Path, count: int) -> Stage:
    from punkml.config import Settings
    from punkml.pipeline.catalog import Catalog

    started, cpu = time.perf_counter(), _cpu_seconds()
    with Catalog(Settings.load(home)) as catalog:
        counts = catalog.query(
            "SELECT (SELECT count(*) FROM raw_beers) AS raw, (SELECT count(*) FROM beers) AS beers,"
            " (SELECT count(*) FROM beers_latest) AS latest,"
            " (SELECT count(*) FROM dead_letters) AS dead"
        ).to_pylist()[0]
        catalog.query(
            "SELECT stage, count(*), avg(grams) FROM hop_additions WHERE is_hop GROUP BY stage"
        )
    seconds = time.perf_counter() - started
    expected = {"raw": count, "beers": count, "latest": count, "dead": 0}
    if counts != expected:
        sys.exit(f"catalog counts {counts} differ from {expected}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Stage("query", seconds, _cpu_seconds() - cpu, rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="records to put (default 200000)")
    parser.add_argument(
        "--buffer-bytes",
        type=int,
        default=None,
        help="batch size of both deliveries (default: each one's own, 1 MiB raw, 8 MiB cleaned)",
    )
    parser.add_argument(
        "--mode",
        choices=("streaming", "staged"),
        default="streaming",
        help="streaming: put while delivering (default); staged: put all, then deliver",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="cleaned-delivery worker processes (default 1)"
    )
    parser.add_argument("--keep", type=Path, help="use and keep this home instead of a temp dir")
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory(prefix="punkml-bench-") as scratch:
        home = args.keep or Path(scratch) / "home"
        runner = run_streaming if args.mode == "streaming" else run_staged
        put, deliveries, delivered_seconds = runner(home, n, args.buffer_bytes, args.workers)
        query = query_catalog(home, n)
        lake_mib = sum(f.stat().st_size for f in (home / "lake").rglob("*") if f.is_file()) / 2**20
    total = delivered_seconds + query.seconds
    buffers = (
        f"{args.buffer_bytes:,} bytes"
        if args.buffer_bytes is not None
        else f"raw {DEFAULT_BUFFER_BYTES:,} / cleaned {DEFAULT_CLEANED_BUFFER_BYTES:,} bytes"
    )
    cpu_total = put.cpu_seconds + sum(stage.cpu_seconds for stage in deliveries) + query.cpu_seconds
    print(
        f"pipeline throughput ({args.mode}): N={n:,} records, buffers {buffers},"
        f" {args.workers} cleaning worker(s),"
        f" {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print("  stage      records/s (wall)   records per CPU-second   peak RSS")
    for stage in [put, *sorted(deliveries, key=lambda s: s.name, reverse=True)]:
        print(
            f"  {stage.name:<9} {n / stage.seconds:>12,.0f}   {n / stage.cpu_seconds:>18,.0f}"
            f"   {stage.peak_rss_mib:>8.0f} MiB   ({stage.seconds:.2f} s wall,"
            f" {stage.cpu_seconds:.2f} s CPU)"
        )
    print(f"  query     {query.seconds:.2f} s wall, counts checked")
    verdict = "meets" if n / total >= TARGET_END_TO_END else "misses"
    print(
        f"  end to end {n / total:>11,.0f} records/s ({total:.2f} s wall from the first put to the"
        f" answered query; {verdict} the {TARGET_END_TO_END:,.0f}/s target);"
        f" {n / cpu_total:,.0f} records per CPU-second"
    )
    print(f"  lake size {lake_mib:.0f} MiB")


if __name__ == "__main__":
    main()
