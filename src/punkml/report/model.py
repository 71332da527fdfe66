"""What the report shows about the IBU model: scores, held-out predictions, importances.

Everything here is read from the registry, never refitted: the scores from each version's
``metrics.json``; the held-out predictions from ``out_of_fold.json`` (every labelled beer predicted
at train time by a model fitted without its group of near-duplicate recipes, with its interval)
and the permutation importances from ``importances.json`` (measured on those held-out folds), both
checked against the SHA-256 the manifest records. The promoted model's predictions are drawn
beside the newest baseline's, with a table of its 20 worst beers and the reason where one is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.config import Settings
from punkml.errors import PunkmlError
from punkml.ml.registry import (
    IMPORTANCES_FILE,
    OUT_OF_FOLD_FILE,
    list_models,
    load_model,
    promoted_version,
    read_manifest,
    read_verified_json,
    resolve_model_dir,
)
from punkml.report import html as h
from punkml.report import plots

if TYPE_CHECKING:
    from punkml.report.data import ReportData

TOP_FEATURES = 15
WORST_BEERS = 20
LABELLED_OUTLIERS = 6
# A stated IBU this many times above or below the Tinseth estimate of its own hop bill: the label
# and the recipe disagree (a design value from another recipe version, or a typo).
LABEL_RATIO = 3.0
NO_MODEL = "no promoted model: run `punkml train` then `punkml models promote VERSION`"
TRAIN_WITH_CV = (
    "train each model with `punkml train --cv` (and `punkml train --model-type baseline --cv`) "
    "to record its seed and repeated-CV scores"
)


@dataclass
class HeldOut:
    """A version's out-of-fold predictions (IBU) as training stored them, and its importances."""

    model_type: str
    version: str
    ids: list[int]
    names: list[str]
    actual: list[float]
    predicted: list[float]
    low: list[float]
    high: list[float]
    flags: list[str | None]
    tinseth: list[float | None]
    importances: list[tuple[str, float]] = field(default_factory=list)

    @property
    def unflagged(self) -> list[int]:
        """Positions of the beers whose IBU the cleaning did not flag."""
        return [i for i, flag in enumerate(self.flags) if flag is None]


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
    baseline: HeldOut | None = None
    missing: list[str] = field(default_factory=list)


def load_model_report(settings: Settings, data: ReportData) -> ModelReport:
    """The promoted model's report, or one whose ``missing`` says why there is none."""

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
    report.held_out = held_out_of(settings.models_dir, version, report)
    if report.held_out is None:
        report.missing.append(
            f"the promoted model {version} stores no out-of-fold predictions: retrain it with "
            "this version of punkml"
        )
    if report.model_type != "baseline":
        report.baseline = newest_baseline(settings.models_dir)
    return report


def held_out_of(
    models_dir: Path, version: str, report: ModelReport | None = None
) -> HeldOut | None:
    """A version's stored out-of-fold predictions and importances, or None (older version, or a
    file that fails its check: then ``report.missing`` says so)."""
    folder = models_dir / version
    try:
        manifest = read_manifest(folder)
        rows = read_verified_json(folder, OUT_OF_FOLD_FILE, manifest)
        importances = read_verified_json(folder, IMPORTANCES_FILE, manifest) or []
    except PunkmlError as exc:
        if report is not None:
            report.missing.append(f"the held-out predictions of {version} cannot be read ({exc})")
        return None
    if not isinstance(rows, list):
        return None
    try:
        return HeldOut(
            model_type=str(manifest.get("model_type", "?")),
            version=version,
            ids=[int(r["id"]) for r in rows],
            names=[str(r["name"]) for r in rows],
            actual=[float(r["actual"]) for r in rows],
            predicted=[float(r["ibu_pred"]) for r in rows],
            low=[float(r["ibu_low"]) for r in rows],
            high=[float(r["ibu_high"]) for r in rows],
            flags=[None if r.get("ibu_flag") is None else str(r["ibu_flag"]) for r in rows],
            tinseth=[_optional(r.get("tinseth_ibu")) for r in rows],
            importances=[(str(i["feature"]), float(i["mae_rise"])) for i in importances],
        )
    except (KeyError, TypeError, ValueError):
        return None


def newest_baseline(models_dir: Path) -> HeldOut | None:
    """The newest baseline version's out-of-fold predictions, if the registry has one."""

    try:
        versions = [i.version for i in list_models(models_dir) if i.model_type == "baseline"]
    except (PunkmlError, OSError, ValueError):
        return None
    for version in reversed(versions):
        held = held_out_of(models_dir, version)
        if held is not None:
            return held
    return None


def _optional(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def error_reason(held: HeldOut, index: int) -> str:
    """Why a beer's error is large, where the data says it: a flagged label, a stated IBU far from
    the Tinseth estimate of its own hop bill, or a value outside its interval."""
    flag = held.flags[index]
    if flag == "equals_target_og":
        return "flagged label: the target OG copied into the IBU field"
    if flag is not None:
        return f"flagged label ({flag})"
    actual, tinseth = held.actual[index], held.tinseth[index]
    if tinseth is not None and tinseth > 1 and actual > 0:
        ratio = actual / tinseth
        if ratio >= LABEL_RATIO or ratio <= 1 / LABEL_RATIO:
            return (
                f"stated IBU is {ratio:.2g}x the Tinseth estimate of its hop bill "
                f"({tinseth:.0f} IBU): label and recipe disagree"
            )
    if not held.low[index] <= actual <= held.high[index]:
        return "outside its 90% interval"
    return ""


# -- the model table -----------------------------------------------------------------------------


def registry_scores(models_dir: Path) -> list[ScoreRow]:
    """Seed and CV scores of the newest version of each model type that has them."""

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
    """Rows from one ``metrics.json``: its ``seed``, ``grouped`` and ``cv`` entries (a list of per-model
    results, or a mapping model type → result), in ``punkml evaluate``'s JSON shape."""
    rows = []
    for protocol in ("seed", "grouped", "cv"):
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
                kind = "grouped 5-fold CV" if protocol == "grouped" else "repeated 5-fold CV"
                folds = result.get("folds", 25)
                row = ScoreRow(
                    model_type=model_type,
                    protocol=f"{kind} ({folds} folds)",
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

    held = model.held_out
    if held is None:
        reason = "no promoted model" if model.version is None else "see the overview"
        return h.Section(
            "predictions", "Predicted against actual", h.notice(f"Not available: {reason}.")
        )
    body = _held_out_figure(held, labelled=True)
    if model.baseline is not None:
        body += _held_out_figure(model.baseline, labelled=False)
    keep = held.unflagged
    actual = [held.actual[i] for i in keep]
    predicted = [held.predicted[i] for i in keep]
    body += h.figure(
        plots.residuals_svg(actual, predicted),
        f"Residuals of the same out-of-fold predictions ({held.model_type} model): a good model "
        "scatters evenly around zero at every level of bitterness.",
    )
    body += h.paragraph(
        f"The {WORST_BEERS} beers the {held.model_type} model misses most when it has not seen "
        "them, with the reason where the data gives one:"
    )
    body += h.table(
        ("beer", "stated IBU", "predicted", "90% interval", "error", "reason"),
        worst_rows(held),
        (False, True, True, False, True, False),
    )
    return h.Section("predictions", "Predicted against actual", body)


def worst_rows(held: HeldOut, count: int = WORST_BEERS) -> list[tuple[object, ...]]:
    """The ``count`` beers with the largest out-of-fold errors, largest first."""
    order = sorted(
        range(len(held.ids)), key=lambda i: abs(held.predicted[i] - held.actual[i]), reverse=True
    )
    return [
        (
            f"#{held.ids[i]} {held.names[i]}",
            f"{held.actual[i]:.0f}",
            f"{held.predicted[i]:.0f}",
            f"{held.low[i]:.0f}-{held.high[i]:.0f}",
            f"{held.predicted[i] - held.actual[i]:+.0f}",
            error_reason(held, i),
        )
        for i in order[:count]
    ]


def _held_out_figure(held: HeldOut, *, labelled: bool) -> str:

    keep = held.unflagged
    pick = lambda values: [values[i] for i in keep]  # noqa: E731
    flagged = len(held.ids) - len(keep)
    caption = (
        f"{held.model_type.capitalize()} model {held.version}: each beer predicted by a model "
        "fitted without it (out-of-fold, stored at train time; beers with the same hop bill are "
        f"held out together), {len(keep)} beers"
        + (f" ({flagged} flagged entry errors not drawn)" if flagged else "")
        + ". Vertical lines are the 90% prediction intervals"
        + (f"; the {LABELLED_OUTLIERS} largest errors are named." if labelled else ".")
    )
    svg = plots.predicted_vs_actual_svg(
        pick(held.actual),
        pick(held.predicted),
        pick(held.low),
        pick(held.high),
        title=f"{held.model_type} model",
        names=pick(held.names) if labelled else None,
        label_worst=LABELLED_OUTLIERS if labelled else 0,
        figure_name=f"pred-actual-{held.model_type}",
    )
    return h.figure(svg, caption)


def _importances_section(model: ModelReport) -> h.Section:

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
        f"Permutation importance of the {len(top)} most useful features, measured at train time "
        "on the held-out folds of the out-of-fold predictions (3 shuffles each): how much worse "
        "the model gets without each feature.",
    )
    return h.Section("importances", "Feature importances", body)
