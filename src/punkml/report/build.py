"""Build the analysis report: gather the data and the promoted model, draw, write one HTML file.

``write_report(settings, out)`` is what ``punkml report`` and ``punkml run`` call. Every part that
cannot be drawn (no catalog, no promoted model) is replaced by a notice naming the command that
fixes it, so the report always renders.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from punkml.atomic import atomic_write
from punkml.config import Settings
from punkml.errors import PunkmlError
from punkml.report import html as h
from punkml.report import plots
from punkml.report.data import hop_usage, load_report_data, tinseth_hop_load, trusted_ibu
from punkml.report.model import load_model_report
from punkml.report.model import model_sections as sections

if TYPE_CHECKING:
    import pandas as pd

    from punkml.report.data import ReportData
    from punkml.report.model import ModelReport

TITLE = "Punk ML: data and IBU model report"


class ReportError(PunkmlError):
    """The report could not be written."""


def write_report(settings: Settings, out: Path | None = None) -> Path:
    """Write the report to ``out`` (default ``<home>/report.html``) atomically; return its path."""
    target = (out or settings.report_path).expanduser()
    document = build_report(settings)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, document)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc.strerror or exc}") from exc
    return target


def build_report(settings: Settings) -> str:
    """The report as an HTML string (figures use matplotlib's Figure API: no GUI backend)."""

    data = load_report_data(settings)
    model = load_model_report(settings, data)
    hop_load = _hop_load(data)
    sections = [
        overview_section(data, model),
        quality_section(data),
        distributions_section(data, hop_load),
        hops_section(data, hop_load),
        *model_sections(model),
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return h.page(TITLE, f"Generated {generated} from {data.source}.", sections)


def _hop_load(data: ReportData) -> pd.Series | None:

    if not data.has_beers:
        return None
    try:
        return tinseth_hop_load(data)
    except (PunkmlError, KeyError, ValueError) as exc:
        data.missing.append(f"the hop load could not be computed ({exc})")
        return None


# -- sections ------------------------------------------------------------------------------------


def overview_section(data: ReportData, model: ModelReport) -> h.Section:
    """Where the data comes from, its size, and everything that is missing."""

    missing = [*data.missing, *model.missing]
    notices = "".join(h.notice(f"Missing: {item}.") for item in missing)
    beers = data.beers
    rows = [
        ("Source", data.source),
        ("Beers (latest event per id)", len(beers)),
        ("Beers with a trusted IBU", int(trusted_ibu(beers).notna().sum()) if len(beers) else 0),
        ("Hop additions", len(data.hop_additions)),
        ("Malt lines", len(data.malts)),
        ("Promoted model", model.version or "none"),
    ]
    return h.Section("overview", "Overview", notices + h.table(("", "value"), rows))


def quality_section(data: ReportData) -> h.Section:
    """Rows per view, missing values per column, dead letters, duplicate events, IBU flags."""
    q = data.quality
    parts = [h.paragraph("Row counts of the catalog views (or of the fallback tables).")]
    parts.append(h.table(("table", "rows"), sorted(q.view_rows.items()), (False, True)))
    events = [
        ("Dead letters (records that failed validation)", _or_na(q.dead_letters)),
        ("Superseded beer events (same id ingested again)", _or_na(q.superseded_events)),
        ("Duplicate deliveries (same stream record twice)", _or_na(q.duplicate_deliveries)),
    ]
    parts.append(h.table(("events", "count"), events, (False, True)))
    if q.dead_letter_errors:
        parts.append(h.paragraph("Most frequent dead-letter errors:"))
        parts.append(h.table(("error", "records"), q.dead_letter_errors, (False, True)))
    nulls = [(n.column, n.nulls, f"{n.percent:.1f} %") for n in q.nulls]
    parts.append(h.paragraph("Missing values per column of beers_latest:"))
    parts.append(h.table(("column", "nulls", "share"), nulls, (False, True, True)))
    flags = sorted(q.ibu_flags.items()) or [("none", 0)]
    parts.append(
        h.paragraph(
            "IBU values flagged by the cleaning (kept in the lake, left out of IBU plots and "
            "model targets): 'equals_target_og' is the target OG copied into the IBU field."
        )
    )
    parts.append(h.table(("ibu_flag", "beers"), flags, (False, True)))
    return h.Section("quality", "Data quality", "".join(parts))


def _or_na(value: int | None) -> object:
    return "n/a (no catalog)" if value is None else value


def distributions_section(data: ReportData, hop_load: pd.Series | None) -> h.Section:
    """Histograms of ABV/IBU/EBC/OG and the correlation heat map."""

    if not data.has_beers:
        return h.Section("distributions", "Distributions", h.notice("No beers to plot."))
    ibu = trusted_ibu(data.beers)
    table = data.beers.assign(ibu=ibu)
    if hop_load is not None:
        table = table.assign(hop_load=hop_load)
    body = h.figure(
        plots.distributions_svg(data.beers, ibu),
        "Distributions of ABV, IBU (flagged values left out), colour and original gravity; "
        "the amber line is the median.",
    ) + h.figure(
        plots.correlation_svg(table),
        "Pearson correlations between the beers' numeric columns (pairwise complete rows). "
        "Hop load is the utilisation-weighted hop load of the next section.",
    )
    return h.Section("distributions", "Distributions and correlations", body)


def hops_section(data: ReportData, hop_load: pd.Series | None) -> h.Section:
    """IBU against the hop load, and the most used hop varieties."""

    if not data.has_beers:
        return h.Section("hops", "Hops and bitterness", h.notice("No beers to plot."))
    parts = []
    if hop_load is not None:
        parts.append(
            h.figure(
                plots.ibu_vs_hop_load_svg(hop_load, trusted_ibu(data.beers)),
                "Each beer's stated IBU against its utilisation-weighted hop load: alpha acid "
                "per litre times Tinseth's utilisation for its boil time and boil gravity, the "
                "recipe model's main feature. Points on the dashed line agree exactly.",
            )
        )
    else:
        parts.append(h.notice("The hop load could not be computed; see the overview."))
    parts.append(
        h.figure(
            plots.top_hops_svg(hop_usage(data.hop_additions)),
            "The 20 hop varieties used by the most beers (non-hops such as coffee or honey left "
            "out); the label gives the beers and the total weight over all recipes.",
        )
    )
    return h.Section("hops", "Hops and bitterness", "".join(parts))


def model_sections(model: ModelReport) -> list[h.Section]:
    """The promoted model's evaluation, or a notice saying how to get one."""

    return sections(model)
