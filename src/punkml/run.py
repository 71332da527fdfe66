"""``punkml run``: the whole local pipeline, end to end, on the embedded default.

dataset → our Punk API v2 on a loopback port → backfill through the stream → raw and cleaned
delivery into the lake → catalog → models trained from the catalog (baseline and recipe; the
recipe model promoted) → batch predictions → the HTML report.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from punkml.cli_options import HomeOption
from punkml.config import Settings
from punkml.errors import PunkmlError

SERVER_START_TIMEOUT_SECONDS = 15.0


@dataclass
class RunSummary:
    """What one end-to-end run produced."""

    dataset: Path
    source_url: str = ""
    beers_put: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    latest_beers: int = 0
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    promoted: str | None = None
    predictions: int = 0
    report: Path | None = None


@contextlib.contextmanager
def api_in_background(settings: Settings) -> Iterator[str]:
    """Serve the Punk API v2 on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    from punkml.api.app import create_app  # FastAPI: kept off `punkml --help`

    # The app first: if it cannot be built (no dataset), no socket is left open.
    config = uvicorn.Config(
        create_app(rate_limit=0, settings=settings),
        log_config=None,
        log_level="warning",
        access_log=False,
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="punk-api", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            listener.close()
            raise PunkmlError("the local Punk API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v2"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def run_pipeline(settings: Settings, *, say: Any = print) -> RunSummary:
    """Run every stage once, locally; ``say`` receives one line per finished step."""
    # Every stage, imported when the run starts: `punkml --help` loads none of them.
    from punkml.ml.predict import LoadedModel, predict_catalog
    from punkml.ml.train import train_model
    from punkml.pipeline.catalog import Catalog
    from punkml.pipeline.runner import backfill, deliver_until_idle
    from punkml.report.build import write_report
    from punkml.source.dataset import fetch_dataset

    settings.ensure()
    summary = RunSummary(dataset=fetch_dataset(cache=settings.cache_dir))
    say(f"dataset     punkapi-db@2.6.0 verified at {summary.dataset}")
    with api_in_background(settings) as source_url:
        summary.source_url = source_url
        say(f"api         serving the Punk API v2 at {source_url}")
        summary.beers_put = backfill(settings, source_url)
        say(f"ingest      {summary.beers_put} beers put on the stream (backfill)")
    for stats in deliver_until_idle(settings):
        summary.delivered[stats.consumer] = stats.records
    say(
        "deliver     "
        + ", ".join(f"{name}: {count} records" for name, count in summary.delivered.items())
    )
    with Catalog(settings) as catalog:
        summary.latest_beers = int(
            catalog.query("SELECT count(*) AS n FROM beers_latest")["n"][0].as_py()
        )
    say(f"catalog     beers_latest has {summary.latest_beers} beers")
    for model_type in ("baseline", "recipe"):
        result = train_model(
            settings, model_type=model_type, with_cv=True, promote_model=model_type == "recipe"
        )
        seed, cv = result.metrics["seed"], result.metrics["cv"]
        summary.models[model_type] = {"version": result.version, "metrics": result.metrics}
        say(
            f"train       {model_type}: {result.version}; seed MAE {seed['mae']:.2f}, "
            f"5x5 CV MAE {cv['mae_mean']:.2f} ± {cv['mae_sd']:.2f}, "
            f"90% interval coverage {cv['coverage_mean']:.1%}"
            + (" (promoted)" if result.promoted else "")
        )
        if result.promoted:
            summary.promoted = result.version
    model = LoadedModel.promoted(settings.models_dir)
    summary.predictions, _ = predict_catalog(settings, model)
    say(f"predict     {summary.predictions} predictions by {model.version} in table predictions")
    summary.report = write_report(settings)
    say(f"report      {summary.report}")
    return summary


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to the root ``punkml`` app."""
    app.command("run")(run)


def run(
    home: HomeOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the report's path.")] = False,
) -> None:
    """Run the whole local pipeline end to end (what `make run` does).

    Fetches and verifies the dataset, serves the Punk API v2 on a loopback port, backfills every
    beer through the stream, delivers raw and cleaned data into the lake, trains the baseline and
    recipe models from the catalog, promotes the recipe model, writes batch predictions and the
    HTML report.
    """
    settings = Settings.for_command(home, writes=True)
    summary = run_pipeline(settings, say=(lambda line: None) if quiet else typer.echo)
    if quiet and summary.report is not None:
        typer.echo(str(summary.report))
