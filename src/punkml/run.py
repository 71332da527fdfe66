"""``punkml run``: the whole local pipeline, end to end, on the embedded default.

dataset → our Punk API v2 on a loopback port → backfill through the stream → raw and cleaned
delivery into the lake → catalog → models trained from the catalog (baseline and recipe; the
recipe model promoted) → batch predictions → the HTML report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from punkml.atomic import atomic_write
from punkml.cli_options import HomeOption
from punkml.config import Settings
from punkml.errors import ConfigError, PunkmlError
from punkml.progress import progress

SERVER_START_TIMEOUT_SECONDS = 15.0
CV_REPEATS_ENV = "PUNKML_RUN_CV_REPEATS"
"""Test hook: the repeats of the 5-fold cross-validations the models are trained with (default
5; the end-to-end test runs with 1, a fifth of the training time)."""


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

    from punkml.api.app import create_app

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


RUN_STATE_FILE = "run.json"
"""``<home>/state/run.json``: what the last run did, so the next one can skip what is done."""
MODEL_TYPES = ("baseline", "recipe")
PROMOTED_TYPE = "recipe"


def dataset_identity() -> str:
    """The dataset version a backfill puts on the stream (package, version, content digest)."""
    from punkml.source.dataset import DATA_JSON_SHA256, PACKAGE, VERSION

    return f"{PACKAGE}@{VERSION} sha256:{DATA_JSON_SHA256}"


def code_fingerprint() -> str:
    """SHA-256 over the ML stage's code and data files and the libraries a model depends on:
    any change to them may change the model, so it is trained again."""
    import punkml.ml
    from punkml.ml.registry import library_versions

    root = Path(punkml.ml.__file__).parent
    digest = hashlib.sha256(json.dumps(library_versions(), sort_keys=True).encode())
    for path in sorted(p for p in root.rglob("*") if p.suffix in {".py", ".csv", ".json"}):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def training_fingerprint(
    data_fingerprint: str, model_type: str, *, with_cv: bool, cv_repeats: int | None = None
) -> str:
    """What decides a trained model: its training data, the code, and the run's parameters
    (``cv_repeats`` when not the default: the default's fingerprints stay what they were)."""
    parts: dict[str, Any] = {
        "data": data_fingerprint,
        "code": code_fingerprint(),
        "model_type": model_type,
        "with_cv": with_cv,
    }
    if cv_repeats is not None:
        parts["cv_repeats"] = cv_repeats
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


@dataclass
class RunState:
    """``state/run.json``: the backfilled dataset and its stream range, the models trained by
    fingerprint, and the stamp of the inputs of the last predictions and report."""

    backfill: dict[str, Any] = field(default_factory=dict)
    models: dict[str, dict[str, str]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: Settings) -> RunState:
        try:
            data = json.loads((settings.state_dir / RUN_STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()  # no state (or a damaged one): nothing is skipped
        if not isinstance(data, dict):
            return cls()
        return cls(
            backfill=_dict(data.get("backfill")),
            models=_dict(data.get("models")),
            outputs=_dict(data.get("outputs")),
        )

    def save(self, settings: Settings) -> None:
        payload = json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"
        atomic_write(settings.state_dir / RUN_STATE_FILE, payload)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def lake_holds_backfill(settings: Settings, mark: dict[str, Any]) -> bool:
    """Whether the backfill ``mark`` describes is this dataset version and is still there: every
    record of its stream range is in the raw lake, or is still on the stream for the deliveries."""
    from punkml.pipeline.catalog import Catalog
    from punkml.pipeline.stream import open_stream

    if mark.get("dataset") != dataset_identity():
        return False
    first, last = mark.get("first_seq"), mark.get("last_seq")
    if not isinstance(first, int) or not isinstance(last, int) or last < first:
        return False
    with Catalog(settings) as catalog:
        found = catalog.query(
            "SELECT count(DISTINCT seq) AS n FROM raw_beers WHERE seq BETWEEN ? AND ?",
            [first, last],
        )["n"][0].as_py()
    if found == last - first + 1:
        return True
    stream = open_stream(settings)
    try:
        info = stream.info()
    finally:
        stream.close()
    on_stream = info.oldest_seq is not None and info.oldest_seq <= first
    undelivered = any(state.checkpoint < last for state in info.consumers)
    return on_stream and undelivered and (info.newest_seq or 0) >= last


def outputs_stamp(settings: Settings) -> dict[str, Any]:
    """The inputs of the predictions and the report: the deliveries' checkpoints, the registered
    versions and the promoted one. The same stamp means the same outputs."""
    from punkml.ml.registry import list_models, promoted_version
    from punkml.pipeline.stream import open_stream

    stream = open_stream(settings)
    try:
        checkpoints = {state.name: state.checkpoint for state in stream.info().consumers}
    finally:
        stream.close()
    return {
        "checkpoints": checkpoints,
        "models": [info.version for info in list_models(settings.models_dir)],
        "promoted": promoted_version(settings.models_dir),
    }


def run_pipeline(settings: Settings, *, say: Any = print, force: bool = False) -> RunSummary:
    """Run every stage once, locally, skipping what an earlier run already did (unless ``force``);
    ``say`` receives one line per finished or skipped step."""
    from punkml.source.dataset import fetch_dataset

    settings.ensure()
    state = RunState() if force else RunState.load(settings)
    summary = RunSummary(dataset=fetch_dataset(cache=settings.cache_dir))
    say(f"dataset     punkapi-db@2.6.0 verified at {summary.dataset}")
    _ingest(settings, state, summary, say)
    _deliver(settings, summary, say)
    _train(settings, state, summary, say)
    _predict_and_report(settings, state, summary, say)
    return summary


def _ingest(settings: Settings, state: RunState, summary: RunSummary, say: Any) -> None:
    from punkml.pipeline.runner import backfill
    from punkml.pipeline.stream import open_stream
    from punkml.source.dataset import BEER_COUNT

    mark = state.backfill
    if mark and lake_holds_backfill(settings, mark):
        say(
            f"ingest      the lake already holds {mark['dataset'].split()[0]} (records "
            f"{mark['first_seq']}..{mark['last_seq']}): backfill skipped (--force redoes it)"
        )
        return
    with api_in_background(settings) as source_url:
        summary.source_url = source_url
        say(f"api         serving the Punk API v2 at {source_url}")
        stream = open_stream(settings)
        try:
            before = stream.info().last_seq
        finally:
            stream.close()
        with progress("backfill", total=BEER_COUNT, unit="beers") as step:
            summary.beers_put = backfill(settings, source_url, on_put=step.advance)
    state.backfill = {
        "dataset": dataset_identity(),
        "first_seq": before + 1,
        "last_seq": before + summary.beers_put,
        "beers": summary.beers_put,
    }
    state.save(settings)
    say(f"ingest      {summary.beers_put} beers put on the stream (backfill)")


def _deliver(settings: Settings, summary: RunSummary, say: Any) -> None:
    from punkml.pipeline.catalog import Catalog
    from punkml.pipeline.runner import deliver_until_idle, delivery_progress

    with delivery_progress(settings) as on_batch:
        for stats in deliver_until_idle(settings, on_batch=on_batch):
            summary.delivered[stats.consumer] = stats.records
    say(
        "deliver     "
        + ", ".join(f"{name}: {count} records" for name, count in sorted(summary.delivered.items()))
    )
    with Catalog(settings) as catalog:
        summary.latest_beers = int(
            catalog.query("SELECT count(*) AS n FROM beers_latest")["n"][0].as_py()
        )
    say(f"catalog     beers_latest has {summary.latest_beers} beers")


def _train(settings: Settings, state: RunState, summary: RunSummary, say: Any) -> None:
    from punkml.ml.data import load_training_tables
    from punkml.ml.folds import CV_REPEATS
    from punkml.ml.registry import list_models, promote, promoted_version, read_manifest
    from punkml.ml.train import train_model

    repeats, default = _cv_repeats(), CV_REPEATS
    data_fingerprint = load_training_tables(settings).fingerprint()
    for model_type in MODEL_TYPES:
        fingerprint = training_fingerprint(
            data_fingerprint,
            model_type,
            with_cv=True,
            cv_repeats=None if repeats == default else repeats,
        )
        known = state.models.get(model_type, {})
        version = known.get("version", "")
        reusable = known.get("fingerprint") == fingerprint and any(
            info.version == version and info.model_type == model_type
            for info in list_models(settings.models_dir)
        )
        manifest = read_manifest(settings.models_dir / version) if reusable else {}
        if reusable and manifest.get("training_data_fingerprint") == data_fingerprint:
            promoted = model_type == PROMOTED_TYPE
            if promoted and promoted_version(settings.models_dir) != version:
                promote(settings.models_dir, version)
            metrics = _read_metrics(settings.models_dir / version)
            summary.models[model_type] = {"version": version, "metrics": metrics, "reused": True}
            say(
                f"train       {model_type}: {version} reused (training data, code and "
                "parameters unchanged)" + (" (promoted)" if promoted else "")
            )
        else:
            with progress(f"train {model_type} (with {repeats}x5 CV)") as step:
                result = train_model(
                    settings,
                    model_type=model_type,
                    with_cv=True,
                    cv_repeats=repeats,
                    promote_model=model_type == PROMOTED_TYPE,
                    progress=step.note,
                )
            version, metrics = result.version, result.metrics
            state.models[model_type] = {"fingerprint": fingerprint, "version": version}
            state.save(settings)
            summary.models[model_type] = {"version": version, "metrics": metrics}
            seed, grouped, cv = metrics["seed"], metrics["grouped"], metrics["cv"]
            # The grouped protocol chooses models, so it leads; random CV is reported beside it.
            say(
                f"train       {model_type}: {version}; grouped {repeats}x5 CV MAE "
                f"{grouped['mae_mean']:.2f} ± {grouped['mae_sd']:.2f} (90% interval coverage "
                f"{grouped['coverage_mean']:.1%}), random CV MAE {cv['mae_mean']:.2f}, "
                f"seed MAE {seed['mae']:.2f}" + (" (promoted)" if result.promoted else "")
            )
        if model_type == PROMOTED_TYPE:
            summary.promoted = version


def _cv_repeats() -> int:
    """``$PUNKML_RUN_CV_REPEATS`` (the test hook) if set, else the default."""
    from punkml.ml.folds import CV_REPEATS

    value = os.environ.get(CV_REPEATS_ENV, "")
    if not value:
        return CV_REPEATS
    if not value.isdigit() or int(value) < 1:
        raise ConfigError(f"${CV_REPEATS_ENV} must be a whole number of at least 1, not {value!r}")
    return int(value)


def _read_metrics(version_dir: Path) -> dict[str, Any]:
    from punkml.ml.registry import METRICS_FILE

    try:
        metrics: dict[str, Any] = json.loads((version_dir / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return metrics


def _predict_and_report(settings: Settings, state: RunState, summary: RunSummary, say: Any) -> None:
    from punkml.ml.predict import PREDICTIONS_FILE, LoadedModel, predict_catalog
    from punkml.pipeline.lake import Lake
    from punkml.report.build import write_report

    stamp = outputs_stamp(settings)
    report = settings.report_path
    predictions = Path(Lake.open(settings.lake_uri).path(PREDICTIONS_FILE))
    if state.outputs == stamp and report.is_file() and predictions.is_file():
        summary.predictions, summary.report = summary.latest_beers, report
        say(f"predict     predictions by {stamp['promoted']} unchanged: skipped")
        say(f"report      {report} (unchanged: skipped)")
        return
    model = LoadedModel.promoted(settings.models_dir)
    with progress("predict"):
        summary.predictions, _ = predict_catalog(settings, model)
    say(f"predict     {summary.predictions} predictions by {model.version} in table predictions")
    with progress("report"):
        summary.report = write_report(settings)
    say(f"report      {summary.report}")
    state.outputs = stamp
    state.save(settings)


def register(app: typer.Typer) -> None:
    """Add the ``run`` command to the root ``punkml`` app."""
    app.command("run")(run)


def run(
    home: HomeOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Redo every step, even those an earlier run already did."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the report's path.")] = False,
) -> None:
    """Run the whole local pipeline end to end (what `make run` does).

    Fetches and verifies the dataset, serves the Punk API v2 on a loopback port, backfills every
    beer through the stream, delivers raw and cleaned data into the lake, trains the baseline and
    recipe models from the catalog, promotes the recipe model, writes batch predictions and the
    HTML report.

    Idempotent: the backfill is skipped when the lake already holds this dataset version, a model
    is trained again only when its training data, the ML code or the parameters changed, and the
    predictions and report are rebuilt only when the lake or the models changed; each skipped step
    says so. --force redoes everything.
    """
    settings = Settings.for_command(home, writes=True)
    summary = run_pipeline(settings, say=(lambda line: None) if quiet else typer.echo, force=force)
    if quiet and summary.report is not None:
        typer.echo(str(summary.report))
