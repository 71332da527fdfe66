"""Commands of the ML stage: ``train``, ``evaluate``, ``predict`` and ``models list|promote``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from punkml.cli_options import (
    HomeOption,
    JsonOrCsv,
    TextOrJson,
    TextOrJsonOption,
    echo_json_lines,
)
from punkml.config import Settings
from punkml.errors import RecipeError

# The stage's modules are imported inside each command, not here: `punkml --help` must load
# only the command definitions (no pyarrow, DuckDB, scikit-learn…).

# ``evaluate --protocol splits``: how many random seed-like splits by default, and at most.
DEFAULT_RANDOM_SPLITS = 50
MAX_RANDOM_SPLITS = 1000


class ModelType(StrEnum):
    baseline = "baseline"
    recipe = "recipe"


class Protocol(StrEnum):
    seed = "seed"
    cv = "cv"
    grouped = "grouped"
    all = "all"
    compare = "compare"
    splits = "splits"


BeersOption = Annotated[
    Path | None,
    typer.Option(
        "--beers",
        help="Recipe file: Punk API v2 JSON (a list of beers or one beer) or BeerXML 1.0, "
        "told apart by content. A recipe needs only its hops; see docs/recipes.md.",
        show_default=False,
    ),
]

models_app = typer.Typer(help="List and promote registered IBU models.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``train``, ``evaluate``, ``predict`` and ``models`` to the root ``punkml`` app."""
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    app.command("predict")(predict)
    app.add_typer(models_app, name="models")


def _progress() -> Any:
    from punkml.progress import Step

    return Step("working").start()  # a bar on a terminal, plain lines otherwise


def train(
    beers: BeersOption = None,
    model_type: Annotated[
        ModelType, typer.Option("--model-type", help="baseline (the original) or recipe.")
    ] = ModelType.recipe,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Model registry directory. Default: <home>/models", show_default=False
        ),
    ] = None,
    cv: Annotated[
        bool, typer.Option("--cv/--no-cv", help="Also run repeated 5x5 CV into metrics.json.")
    ] = False,
    promote: Annotated[
        bool | None,
        typer.Option(
            "--promote/--no-promote",
            help="Promote the new version (default: only if none is promoted yet).",
            show_default=False,
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Train an IBU model from the catalog's beers_latest (or --beers FILE) and register it."""
    from punkml.ml.train import train_model

    settings = Settings.for_command(home, writes=True)
    status = _progress()
    try:
        result = train_model(
            settings,
            model_type=model_type.value,
            beers_file=beers,
            out_dir=out,
            with_cv=cv,
            promote_model=promote,
            progress=lambda text: status.update(text),
        )
    finally:
        status.stop()
    seed = result.metrics["seed"]
    typer.echo(
        f"trained {result.version} ({result.model_type}, {result.metrics['n_train']} beers) in "
        f"{result.seconds:.1f} s: seed MAE {seed['mae']:.2f}, 90% coverage {seed['coverage']:.1%}"
        + (", promoted" if result.promoted else "")
    )
    typer.echo(str(result.path))


def evaluate(
    protocol: Annotated[
        Protocol,
        typer.Option(
            "--protocol",
            help="seed (the original split), cv (repeated random 5x5 CV, same folds for both "
            "models), grouped (repeated 5x5 CV keeping recipes with an identical hop bill in one "
            "fold: the protocol that chooses models), all (seed, cv and grouped side by side), "
            "compare (candidate recipe learners under the grouped protocol, with how physical "
            "each one is) or splits (the seed split drawn again with random_state 0..N-1: the "
            "spread of one split's MAE, and where the original falls).",
        ),
    ] = Protocol.seed,
    splits: Annotated[
        int | None,
        typer.Option(
            "--splits",
            min=1,
            max=MAX_RANDOM_SPLITS,
            help=f"Number of random splits for --protocol splits (default "
            f"{DEFAULT_RANDOM_SPLITS}; about 1.4 s each on 2 cores).",
            show_default=False,
        ),
    ] = None,
    output_format: TextOrJsonOption = TextOrJson.text,
    beers: BeersOption = None,
    home: HomeOption = None,
) -> None:
    """Evaluate the baseline and the recipe model side by side (default data: the pinned dataset)."""
    from punkml.ml import evaluate as ev
    from punkml.ml.data import tables_from_beers, tables_from_file
    from punkml.source.dataset import load_home_beers

    if splits is not None and protocol is not Protocol.splits:
        raise typer.BadParameter("only applies to --protocol splits", param_hint="--splits")
    tables = (
        tables_from_file(beers)
        if beers
        else tables_from_beers(load_home_beers(Settings.load(home)))
    )
    status = _progress()
    try:
        if protocol is Protocol.seed:
            payload: Any = ev.seed_as_dict(ev.evaluate_seed(tables))
        elif protocol in (Protocol.cv, Protocol.grouped):
            grouped = protocol is Protocol.grouped
            cv_results = ev.evaluate_cv(tables, progress=status.update, grouped=grouped)
            payload = [r.summary() for r in cv_results]
        elif protocol is Protocol.all:
            seed = ev.seed_as_dict(ev.evaluate_seed(tables))
            cv = [r.summary() for r in ev.evaluate_cv(tables, progress=status.update)]
            grouped_cv = ev.evaluate_cv(tables, progress=status.update, grouped=True)
            payload = [
                {"seed": s, "cv": c, "grouped": g.summary()}
                for s, c, g in zip(seed, cv, grouped_cv, strict=True)
            ]
        elif protocol is Protocol.splits:
            states = range(splits if splits is not None else DEFAULT_RANDOM_SPLITS)
            results = ev.evaluate_splits(tables, list(states), progress=status.update)
            payload = [r.summary() for r in results]
        else:
            payload = ev.compare_learners(tables, progress=status.update)
    finally:
        status.stop()
    if output_format is TextOrJson.json:
        echo_json_lines([{"protocol": protocol.value, "results": payload}])  # one document
    else:
        typer.echo(_markdown(protocol, payload))


def _markdown(protocol: Protocol, payload: list[dict[str, Any]]) -> str:
    if protocol is Protocol.seed:
        head = "| model | train | test | MAE | MAE (unflagged test) | 90% coverage | mean width |"
        rows = [
            f"| {r['model_type']} | {r['n_train']} | {r['n_test']} | {r['mae']:.2f} | "
            f"{r['mae_unflagged']:.2f} | {r['coverage']:.1%} | {r['mean_interval_width']:.1f} |"
            for r in payload
        ]
        rows.append(f"| median guess | | | {payload[0]['median_baseline_mae']:.2f} | | | |")
    elif protocol in (Protocol.cv, Protocol.grouped):
        head = "| model | folds | MAE mean ± sd | 90% coverage mean ± sd | mean width | seconds |"
        rows = [
            f"| {r['model_type']} | {r['folds']} | {r['mae_mean']:.2f} ± {r['mae_sd']:.2f} | "
            f"{r['coverage_mean']:.1%} ± {r['coverage_sd']:.1%} | {r['mean_interval_width']:.1f} "
            f"| {r['seconds']:.1f} |"
            for r in payload
        ]
    elif protocol is Protocol.all:
        head = (
            "| model | grouped 5x5 CV MAE mean ± sd | grouped 90% coverage | random 5x5 CV MAE "
            "| random CV 90% coverage | seed MAE (106 test beers) | seed 90% coverage |"
        )
        rows = [
            f"| {r['seed']['model_type']} "
            f"| {r['grouped']['mae_mean']:.2f} ± {r['grouped']['mae_sd']:.2f} "
            f"| {r['grouped']['coverage_mean']:.1%} ± {r['grouped']['coverage_sd']:.1%} "
            f"| {r['cv']['mae_mean']:.2f} ± {r['cv']['mae_sd']:.2f} "
            f"| {r['cv']['coverage_mean']:.1%} ± {r['cv']['coverage_sd']:.1%} "
            f"| {r['seed']['mae']:.2f} | {r['seed']['coverage']:.1%} |"
            for r in payload
        ]
        median = payload[0]["seed"]["median_baseline_mae"]
        rows.append(f"| median guess (no model) | | | | | {median:.2f} | |")
    elif protocol is Protocol.splits:
        head = (
            "| model | random splits | MAE mean ± sd | 5th / 50th / 95th percentile "
            "| original split (random_state=42) | splits at least as hard |"
        )
        rows = [
            f"| {r['model_type']} | {r['splits']} | {r['mae_mean']:.2f} ± {r['mae_sd']:.2f} "
            f"| {r['mae_p5']:.2f} / {r['mae_median']:.2f} / {r['mae_p95']:.2f} "
            f"| {r['seed_mae']:.2f} | {r['share_at_least_seed']:.1%} |"
            for r in payload
        ]
    else:
        head = (
            "| learner | grouped CV MAE mean ± sd | recipes whose prediction drops as boil hops "
            "grow | scaled recipes answered with a training label |"
        )
        rows = [
            f"| {r['learner']} | {r['mae_mean']:.2f} ± {r['mae_sd']:.2f} "
            f"| {r['decreasing_share']:.1%} | {r['label_share']:.1%} |"
            for r in payload
        ]
    separator = "|" + "---|" * (head.count("|") - 1)
    return "\n".join([head, separator, *rows])


def predict(
    beers: BeersOption = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A model version directory (default: the promoted version in <home>/models).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        JsonOrCsv, typer.Option("--format", help="json (one object per line) or csv.")
    ] = JsonOrCsv.json,
    home: HomeOption = None,
) -> None:
    """Predict IBU with a 90% interval for each recipe of --beers FILE (JSON or BeerXML; the
    defaults a recipe took come back as warnings); without --beers, predict the whole catalog and
    write the lake's predictions table."""
    from punkml.ml.predict import LoadedModel, predict_catalog, predict_recipes
    from punkml.ml.recipes import read_recipe_file

    # A recipe file with an explicit --model needs no deployment; the catalog and the promoted
    # model do.
    needs_home = beers is None or model is None
    settings = Settings.for_command(home, writes=False) if needs_home else Settings.load(home)
    batch = None if beers is None else read_recipe_file(beers)
    loaded = LoadedModel.promoted(settings.models_dir, model)
    if batch is None:
        rows, path = predict_catalog(settings, loaded)
        typer.echo(f"wrote {rows} predictions ({loaded.version}) to {path}")
        return
    if batch.recipes:
        _print_rows(predict_recipes(loaded, batch.recipes), output_format)
    if batch.refused:
        # The valid recipes are answered above; the refused ones are named, and the exit
        # status says that not every recipe was predicted.
        for line in batch.refusals():
            typer.echo(f"refused {line}", err=True)
        raise RecipeError(
            f"{len(batch.refused)} of {len(batch)} recipes in {beers} refused (named above)"
            + ("; the others were predicted" if batch.recipes else "")
        )


def _print_rows(rows: list[dict[str, Any]], output_format: JsonOrCsv) -> None:
    if output_format is JsonOrCsv.json:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    import csv

    from punkml.ml.predict import PREDICTION_FIELDS

    writer = csv.DictWriter(
        sys.stdout, fieldnames=[*PREDICTION_FIELDS, "warnings"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows({**row, "warnings": "; ".join(row.get("warnings", []))} for row in rows)


@models_app.command("list")
def models_list(
    output_format: TextOrJsonOption = TextOrJson.text,
    home: HomeOption = None,
) -> None:
    """List the registered model versions (the promoted one is marked with *)."""
    from punkml.ml.registry import list_models

    infos = list_models(Settings.for_command(home, writes=False).models_dir)
    if output_format is TextOrJson.json:
        echo_json_lines(
            {
                "version": i.version,
                "model_type": i.model_type,
                "created_at": i.created_at,
                "promoted": i.promoted,
                "seed_mae": i.metrics.get("seed", {}).get("mae"),
            }
            for i in infos
        )
        return
    if not infos:
        typer.echo("no models yet: run `punkml train`")
    for info in infos:
        mae = info.metrics.get("seed", {}).get("mae")
        mark = "*" if info.promoted else " "
        seed = f"seed MAE {mae:.2f}" if isinstance(mae, float) else ""
        typer.echo(f"{mark} {info.version}  {info.model_type:8}  {info.created_at}  {seed}")


@models_app.command("promote")
def models_promote(
    version: Annotated[
        str, typer.Argument(help="The version to serve (see `punkml models list`).")
    ],
    home: HomeOption = None,
) -> None:
    """Make VERSION the served model (checked: its file must verify against its SHA-256)."""
    from punkml.ml.registry import check_version, load_model, promote

    models_dir = Settings.for_command(home, writes=False).models_dir
    load_model(models_dir / check_version(version))  # refuse to promote a tampered model
    promote(models_dir, version)
    typer.echo(f"promoted {version}")
