"""End to end through our own Punk API server on loopback and the ``punkml`` commands."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from punkml.config import Settings
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.collector import CollectorState
from punkml.pipeline.stream import SqliteStream
from punkml.source.schema import validate_beer

from .conftest import cli_env

pytestmark = pytest.mark.slow
SEED_COLUMNS = ("id", "name", "abv", "ibu", "target_fg", "target_og", "ebc", "srm", "ph")


def _count(settings: Settings, view: str) -> int:
    with Catalog(settings) as catalog:
        return int(catalog.query(f"SELECT count(*) AS n FROM {view}").to_pylist()[0]["n"])


def test_backfill_then_random_ingestion(
    settings: Settings,
    api_server: str,
    beers: list[dict[str, Any]],
    punkml: Callable[..., Any],
) -> None:
    backfill = punkml("ingest", "backfill", "--source", api_server)
    assert "put 325 beers" in backfill.stdout
    punkml("deliver", "--until-idle")
    with Catalog(settings) as catalog:
        columns = ", ".join(SEED_COLUMNS)
        latest = catalog.query(f"SELECT {columns} FROM beers_latest ORDER BY id").to_pylist()
    assert len(latest) == 325
    for row, beer in zip(latest, beers, strict=True):
        assert row == {name: beer.get(name) for name in SEED_COLUMNS}, beer["id"]

    for _ in range(3):
        assert "put 1 beer" in punkml("ingest", "once", "--source", api_server).stdout
    punkml("deliver", "--until-idle")
    assert _count(settings, "beers") == 328
    assert _count(settings, "beers_latest") == 325
    assert _count(settings, "raw_beers") == 328

    status = json.loads(punkml("status", "--format", "json").stdout)
    assert status["stream"]["length"] == 328
    assert status["consumers"]["raw"] == status["consumers"]["raw"] | {"checkpoint": 328, "lag": 0}
    assert status["consumers"]["cleaned"]["lag"] == 0
    assert status["lake"]["tables"]["beers"]["rows"] == 328
    assert status["lake"]["tables"]["dead_letters"]["rows"] == 0
    assert status["collector"]["records_put_total"] == 328
    assert status["collector"]["last_success_at"] is not None
    assert "lag 0" in punkml("status").stdout


def test_sql_formats(settings: Settings, api_server: str, punkml: Callable[..., Any]) -> None:
    punkml("ingest", "backfill", "--source", api_server)
    punkml("deliver", "--until-idle", "--consumer", "cleaned")
    query = "SELECT id, name, ibu_flag FROM beers_latest WHERE id IN (137, 185) ORDER BY id"
    out = punkml("sql", query, "--format", "json").stdout
    rows = [json.loads(line) for line in out.splitlines()]  # JSON lines, one row each
    assert rows == [
        {"id": 137, "name": "Sink The Bismarck!", "ibu_flag": "equals_target_og"},
        {"id": 185, "name": "Tactical Nuclear Penguin", "ibu_flag": "equals_target_og"},
    ]
    csv = punkml("sql", query, "--format", "csv").stdout.splitlines()
    assert csv[0] == "id,name,ibu_flag"
    assert csv[1].startswith("137,Sink The Bismarck!")
    assert "Tactical Nuclear Penguin" in punkml("sql", query).stdout
    failed = punkml("sql", "SELECT * FROM nowhere", check=False)
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and "SQL failed" in failed.stderr
    hinted = punkml("sql", "SELECT * FROM beer", check=False)
    assert hinted.stderr.count("\n") == 1 and 'Did you mean "beers' in hinted.stderr
    table = punkml("sql", "SELECT id FROM beers_latest ORDER BY id", "--max-rows", "5").stdout
    assert "│ 5 " in table and "│ 6 " not in table
    assert "320 more rows not shown (325 in all)" in table


def test_source_faults_are_reported_and_counted(
    settings: Settings, punkml: Callable[..., Any]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/v2"  # nothing listens there
    failed = punkml("ingest", "once", "--source", url, check=False)
    assert failed.returncode == 1
    assert len(failed.stderr.strip().splitlines()) == 1, failed.stderr
    state = CollectorState.load(settings)
    assert (state.errors_total, state.consecutive_errors, state.records_put_total) == (1, 1, 0)
    assert state.last_error is not None and state.last_success_at is None
    assert "1 in total" in punkml("status").stdout


def test_graceful_sigterm_of_ingest_run_loses_nothing(
    settings: Settings,
    api_server: str,
    punkml_background: Callable[..., Any],
    punkml: Callable[..., Any],
) -> None:
    run = punkml_background(
        "ingest", "run", "--every", "200ms", "--source", api_server, "--buffer-seconds", "3600"
    )
    deadline = time.monotonic() + 60
    while CollectorState.load(settings).records_put_total < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert CollectorState.load(settings).records_put_total >= 5
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) == 0, run.log_path.read_text()
    with SqliteStream(settings.stream_path) as stream:
        info = stream.info()
        records = stream.read(0, 10_000)
    assert info.length >= 5
    for consumer in info.consumers:
        assert consumer.checkpoint == info.newest_seq, consumer
    assert _count(settings, "raw_beers") == info.length
    assert _count(settings, "beers") == info.length
    for record in records:
        validate_beer(json.loads(record.data))
    assert "stopped:" in run.log_path.read_text()


def _one_error_line(done: Any) -> str:
    """The single line a failed command prints on stderr (no traceback, no log lines)."""
    assert done.returncode not in (0, -signal.SIGKILL), done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("error:"), lines
    return str(lines[0])


def test_deliver_fails_loudly_when_the_stream_cannot_be_opened(
    settings: Settings, punkml: Callable[..., Any]
) -> None:
    settings.stream_path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)  # cut short

    line = _one_error_line(punkml("deliver", "--until-idle", check=False))
    assert "stream" in line and str(settings.stream_path) in line


def test_deliver_fails_loudly_on_an_io_error_and_loses_nothing(
    settings: Settings, make_records: Callable[[int], Any], punkml: Callable[..., Any]
) -> None:
    import resource

    with SqliteStream(settings.stream_path) as stream:
        stream.put(make_records(200))

    def small_files() -> None:
        # Writing past 20 kB fails with EFBIG, as a full disk fails with ENOSPC (Python ignores
        # SIGXFSZ, so the write returns the error).
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = subprocess.run(
        [sys.executable, "-m", "punkml", "deliver", "--until-idle", "--consumer", "cleaned"],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
    )
    line = _one_error_line(done)  # the stream or the lake, whichever write hits the limit first
    assert "disk I/O error" in line or "File too large" in line, line
    punkml("deliver", "--until-idle")
    assert _count(settings, "beers") + _count(settings, "dead_letters") == 200
    assert _count(settings, "raw_beers") == 200


def test_deliver_fails_loudly_when_the_lake_cannot_be_written(
    settings: Settings, make_records: Callable[[int], Any], punkml: Callable[..., Any]
) -> None:
    with SqliteStream(settings.stream_path) as stream:
        stream.put(make_records(20))
    (settings.lake_dir / "raw").write_bytes(b"")  # a file where the raw directory belongs

    line = _one_error_line(punkml("deliver", "--until-idle", "--consumer", "raw", check=False))
    assert "Not a directory" in line and str(settings.lake_dir / "raw") in line
    (settings.lake_dir / "raw").unlink()
    punkml("deliver", "--until-idle", "--consumer", "raw")
    assert _count(settings, "raw_beers") == 20


# Imports a delivery process must not pay for (each costs its start a fraction of a CPU-second,
# counted in its records per CPU-second). pandas comes with pyarrow's array building, so only a
# process that does not clean can do without it.
_NOT_FOR_DELIVERY = {"sklearn", "scipy", "xgboost", "httpx", "tenacity", "fastapi", "boto3"}


@pytest.mark.parametrize(
    ("consumer", "heavy"), [("all", _NOT_FOR_DELIVERY), ("raw", _NOT_FOR_DELIVERY | {"pandas"})]
)
def test_deliver_starts_without_the_ml_stack_or_the_http_client(
    settings: Settings,
    stream: SqliteStream,
    make_records: Callable[[int], Any],
    tmp_path: Any,
    consumer: str,
    heavy: set[str],
) -> None:
    stream.put(make_records(3))
    modules = tmp_path / "modules.txt"
    code = (
        "import atexit, runpy, sys\n"
        "def dump():\n"
        f"    open({str(modules)!r}, 'w').write(' '.join({{m.split('.')[0] for m in sys.modules}}))\n"
        "atexit.register(dump)\n"
        f"sys.argv = ['punkml', 'deliver', '--until-idle', '--consumer', {consumer!r}]\n"
        "runpy.run_module('punkml', run_name='__main__')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=cli_env(settings), check=True, timeout=120)
    assert _count(settings, "raw_beers") == 3 and settings.catalog_path.exists()
    imported = set(modules.read_text().split())
    assert {"pyarrow", "duckdb"} <= imported  # it did write the lake and the catalog file
    assert imported & heavy == set()
