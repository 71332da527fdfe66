"""What the report shows about the IBU model: scores, held-out predictions, importances.

The promoted model is loaded through the registry (SHA-256 verified). Its held-out predictions come
from the seed protocol: a model of the promoted type refitted on the protocol's training beers and
applied to its test beers, never to beers it saw. Feature importances are permutation importances
on those test beers (the rise in MAE when one feature's column is shuffled). Both are cached under
``<home>/state/report/`` by model version and data fingerprint, since refitting the recipe model
takes a while; the model table comes from each registered version's ``metrics.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.atomic import atomic_write
from punkml.config import Settings
from punkml.errors import PunkmlError
from punkml.report import html as h

if TYPE_CHECKING:
    import numpy as np

    from punkml.ml.data import RecipeTables
    from punkml.ml.models import IbuModel
    from punkml.report.data import ReportData

CACHE_VERSION = 1
TOP_FEATURES = 15
PERMUTATION_REPEATS = 3
PERMUTATION_SEED = 42
NO_MODEL = "no promoted model: run `punkml train` then `punkml models promote VERSION`"
TRAIN_WITH_CV = (
    "train each model with `punkml train --cv` (and `punkml train --model-type baseline --cv`) "
    "to record its seed and repeated-CV scores"
)


@dataclass
class HeldOut:
    """Seed-protocol test beers: actual IBU, prediction and 90% interval (IBU)."""

    ids: list[int]
    actual: list[float]
    predicted: list[float]
    low: list[float]
    high: list[float]
    n_train: int
    importances: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class ScoreRow:
    """One line of the model table."""

    model_type: str
    protocol: str
    mae: float | None
    mae_sd: float | None
    coverage: float | None
    width: float | None
    version: str


@dataclass
class ModelReport:
    """Everything the report says about the models; ``missing`` names what could not be shown."""

    version: str | None = None
    model_type: str | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    scores: list[ScoreRow] = field(default_factory=list)
    held_out: HeldOut | None = None
    missing: list[str] = field(default_factory=list)


def load_model_report(settings: Settings, data: ReportData) -> ModelReport:
    """The promoted model's report, or one whose ``missing`` says why there is none."""
    from punkml.ml.registry import load_model, promoted_version, resolve_model_dir

    report = ModelReport(scores=registry_scores(settings.models_dir))
    version = promoted_version(settings.models_dir)
    if version is None:
        report.missing.append(NO_MODEL)
        return report
    try:
        model, manifest = load_model(resolve_model_dir(settings.models_dir))
    except PunkmlError as exc:
        report.missing.append(f"the promoted model {version} cannot be loaded ({exc})")
        return report
    report.version, report.manifest = version, manifest
    report.model_type = str(manifest.get("model_type", model.model_type))
    if not report.scores:
        report.missing.append(f"no evaluation scores in the registry: {TRAIN_WITH_CV}")
    if not data.has_beers:
        report.missing.append("no beers to evaluate the model on")
        return report
    try:
        report.held_out = held_out_predictions(settings, data, report.model_type, version)
    except (PunkmlError, ValueError) as exc:
        report.missing.append(f"held-out predictions could not be computed ({exc})")
    return report


# -- the model table -----------------------------------------------------------------------------


def registry_scores(models_dir: Path) -> list[ScoreRow]:
    """Seed and CV scores of the newest version of each model type that has them."""
    from punkml.ml.registry import list_models

    try:
        infos = list_models(models_dir)
    except (PunkmlError, OSError, ValueError):  # an unreadable registry: no table, no crash
        return []
    newest: dict[tuple[str, str], ScoreRow] = {}
    for info in infos:  # oldest first, so newer versions overwrite older ones
        for row in scores_from_metrics(info.metrics, info.version):
            newest[(row.model_type, row.protocol)] = row
    return sorted(newest.values(), key=lambda r: (not r.protocol.startswith("seed"), r.model_type))


def scores_from_metrics(metrics: dict[str, Any], version: str) -> list[ScoreRow]:
    """Rows from one ``metrics.json``: its ``seed`` and ``cv`` entries (a list of per-model
    results, or a mapping model type → result), in ``punkml evaluate``'s JSON shape."""
    rows = []
    for protocol in ("seed", "cv"):
        for result in _results(metrics.get(protocol)):
            model_type = str(result.get("model_type", "?"))
            if protocol == "seed":
                row = ScoreRow(
                    model_type=model_type,
                    protocol="seed split (106 test beers)",
                    mae=_number(result, "mae"),
                    mae_sd=None,
                    coverage=_number(result, "coverage"),
                    width=_number(result, "mean_interval_width"),
                    version=version,
                )
            else:
                row = ScoreRow(
                    model_type=model_type,
                    protocol=f"repeated 5-fold CV ({result.get('folds', 25)} folds)",
                    mae=_number(result, "mae_mean"),
                    mae_sd=_number(result, "mae_sd"),
                    coverage=_number(result, "coverage_mean"),
                    width=_number(result, "mean_interval_width"),
                    version=version,
                )
            rows.append(row)
    return rows


def _results(entry: Any) -> list[dict[str, Any]]:
    if isinstance(entry, dict):
        if "model_type" in entry:
            return [entry]
        return [
            {"model_type": key, **value} for key, value in entry.items() if isinstance(value, dict)
        ]
    if isinstance(entry, list):
        return [item for item in entry if isinstance(item, dict)]
    return []


def _number(result: dict[str, Any], key: str) -> float | None:
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else None


# -- held-out predictions and importances --------------------------------------------------------


def held_out_predictions(
    settings: Settings, data: ReportData, model_type: str, version: str
) -> HeldOut:
    """Seed-protocol test predictions of a model of ``model_type`` (cached per version + data)."""
    tables = recipe_tables(data)
    cache = _cache_path(settings, version, tables.fingerprint())
    cached = _read_cache(cache)
    if cached is not None:
        return cached
    held_out = compute_held_out(tables, model_type)
    _write_cache(cache, held_out)
    return held_out


def recipe_tables(data: ReportData) -> RecipeTables:
    """The model's view of the report's tables: only its input columns, so the fingerprint
    depends on the recipes, not on when they were ingested."""
    from punkml.ml.data import BEER_COLUMNS, HOP_COLUMNS, MALT_COLUMNS, RecipeTables

    return RecipeTables(
        beers=data.beers[list(BEER_COLUMNS)].reset_index(drop=True),
        hop_additions=data.hop_additions[list(HOP_COLUMNS)].reset_index(drop=True),
        malts=data.malts[list(MALT_COLUMNS)].reset_index(drop=True),
    )


def compute_held_out(tables: RecipeTables, model_type: str) -> HeldOut:
    """Refit ``model_type`` on the seed protocol's training beers; predict its test beers."""
    from punkml.ml.evaluate import fit_on, labelled, seed_split

    data = labelled(tables)
    train, test = seed_split(len(data))
    model = fit_on(data, model_type, train)
    test_tables = data.take(test)
    actual = test_tables.target()
    predicted, low, high = model.predict_interval(test_tables)
    return HeldOut(
        ids=[int(i) for i in test_tables.beers["id"]],
        actual=[float(v) for v in actual],
        predicted=[float(v) for v in predicted],
        low=[float(v) for v in low],
        high=[float(v) for v in high],
        n_train=int(model.n_train_),
        importances=permutation_importances(model, test_tables, actual),
    )


def permutation_importances(
    model: IbuModel, tables: RecipeTables, actual: np.ndarray
) -> list[tuple[str, float]]:
    """Mean rise in MAE (IBU) when each feature column is shuffled, largest first."""
    import numpy as np

    features = model.features_.transform(tables)
    unflagged = np.asarray(tables.beers["ibu_flag"].isna(), dtype=bool)
    features, actual = features[unflagged], np.asarray(actual, dtype=float)[unflagged]

    def mae(matrix: np.ndarray) -> float:
        predicted = np.clip(model.regressor_.predict(matrix), 0, None)
        return float(np.mean(np.abs(predicted - actual)))

    base = mae(features)
    rng = np.random.default_rng(PERMUTATION_SEED)
    rises = []
    for column, name in enumerate(model.feature_names_):
        shuffled = features.copy()
        total = 0.0
        for _ in range(PERMUTATION_REPEATS):
            shuffled[:, column] = rng.permutation(features[:, column])
            total += mae(shuffled) - base
        rises.append((str(name), total / PERMUTATION_REPEATS))
    return sorted(rises, key=lambda item: item[1], reverse=True)


def _cache_path(settings: Settings, version: str, fingerprint: str) -> Path:
    return settings.report_cache_dir / f"held-out-{version}-{fingerprint[:16]}.json"


def _read_cache(path: Path) -> HeldOut | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("cache_version") != CACHE_VERSION:
        return None
    try:
        return HeldOut(
            ids=[int(v) for v in payload["ids"]],
            actual=[float(v) for v in payload["actual"]],
            predicted=[float(v) for v in payload["predicted"]],
            low=[float(v) for v in payload["low"]],
            high=[float(v) for v in payload["high"]],
            n_train=int(payload["n_train"]),
            importances=[(str(n), float(v)) for n, v in payload["importances"]],
        )
    except (KeyError, TypeError, ValueError):
        return None


def _write_cache(path: Path, held_out: HeldOut) -> None:
    from dataclasses import asdict

    try:
        payload = {"cache_version": CACHE_VERSION, **asdict(held_out)}
        atomic_write(path, json.dumps(payload))
    except OSError:
        pass  # the cache only saves time; the report is right without it


# -- sections ------------------------------------------------------------------------------------


def model_sections(model: ModelReport) -> list[h.Section]:
    """The model table, predicted-vs-actual and residual plots, and feature importances."""
    return [_scores_section(model), _predictions_section(model), _importances_section(model)]


def _scores_section(model: ModelReport) -> h.Section:
    parts = []
    if model.version is None:
        parts.append(h.notice(f"No promoted model: {NO_MODEL.split(': ', 1)[1]}."))
    else:
        card = [
            ("Promoted version", model.version),
            ("Model type", model.model_type or "?"),
            ("Trained on (beers)", model.manifest.get("n_train", "?")),
            ("Interval", f"{float(model.manifest.get('interval', 0.9)) * 100:.0f}% prediction"),
            ("Created", model.manifest.get("created_at", "?")),
        ]
        parts.append(h.table(("", "value"), card))
    if model.scores:
        parts.append(
            h.paragraph(
                "Baseline (the original model: six numeric columns, XGBoost) against the recipe "
                "model under both protocols. MAE in IBU (lower is better); coverage is the share "
                "of held-out beers inside their 90% interval (aim: 88-92%)."
            )
        )
        rows = [
            (
                r.model_type,
                r.protocol,
                _fmt(r.mae, 2) + (f" ± {_fmt(r.mae_sd, 2)}" if r.mae_sd is not None else ""),
                _fmt(None if r.coverage is None else r.coverage * 100, 1, " %"),
                _fmt(r.width, 1),
                r.version,
            )
            for r in model.scores
        ]
        headers = ("model", "protocol", "MAE (IBU)", "coverage", "interval width (IBU)", "version")
        parts.append(h.table(headers, rows, (False, False, True, True, True, False)))
    else:
        parts.append(h.notice(f"No evaluation scores in the registry: {TRAIN_WITH_CV}."))
    present = {(r.model_type, r.protocol.split()[0]) for r in model.scores}
    absent = [
        f"{model_type} ({'seed split' if protocol == 'seed' else 'repeated CV'})"
        for model_type in ("baseline", "recipe")
        for protocol in ("seed", "repeated")
        if (model_type, protocol) not in present
    ]
    if model.scores and absent:
        parts.append(h.notice(f"Not in the registry yet: {', '.join(absent)}; {TRAIN_WITH_CV}."))
    return h.Section("model", "IBU model: scores", "".join(parts))


def _fmt(value: float | None, digits: int, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def _predictions_section(model: ModelReport) -> h.Section:
    from punkml.report import plots

    held = model.held_out
    if held is None:
        reason = "no promoted model" if model.version is None else "see the overview"
        return h.Section(
            "predictions", "Predicted against actual", h.notice(f"Not available: {reason}.")
        )
    import numpy as np

    flagged = np.asarray(held.actual) > 300  # entry errors: the target OG in the IBU field
    keep = ~flagged
    pick = lambda values: list(np.asarray(values)[keep])  # noqa: E731
    actual, predicted = pick(held.actual), pick(held.predicted)
    caption = (
        f"Seed protocol: a {model.model_type} model refitted on {held.n_train} training beers, "
        f"applied to the {len(held.actual)} test beers it never saw"
        + (f" ({int(flagged.sum())} flagged entry errors not drawn)." if flagged.any() else ".")
        + " Vertical lines are the 90% prediction intervals."
    )
    body = h.figure(
        plots.predicted_vs_actual_svg(
            actual, predicted, pick(held.low), pick(held.high), title=f"{model.model_type} model"
        ),
        caption,
    ) + h.figure(
        plots.residuals_svg(actual, predicted),
        "Residuals of the same test beers: a good model scatters evenly around zero at every "
        "level of bitterness.",
    )
    return h.Section("predictions", "Predicted against actual", body)


def _importances_section(model: ModelReport) -> h.Section:
    from punkml.report import plots

    held = model.held_out
    if held is None or not held.importances:
        return h.Section(
            "importances", "Feature importances", h.notice("Not available without held-out data.")
        )
    top = held.importances[:TOP_FEATURES]
    body = h.figure(
        plots.feature_importances_svg(
            [name for name, _ in top],
            [value for _, value in top],
            "Rise in MAE when the feature is shuffled (IBU)",
        ),
        f"Permutation importance of the {len(top)} most useful features on the seed protocol's "
        "test beers (3 shuffles each): how much worse the model gets without each feature.",
    )
    return h.Section("importances", "Feature importances", body)
