"""The report's figures, each drawn with matplotlib (no pyplot state) and returned as inline SVG.

SVG keeps the report small and sharp at any zoom; text stays text (``svg.fonttype: none``), and
every figure gets its own id salt so several can live in one HTML document. Every axis names its
quantity and unit.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Typographic characters, written as escapes so the source stays ASCII-unambiguous.
ALPHA = "\N{GREEK SMALL LETTER ALPHA}"
RHO = "\N{GREEK SMALL LETTER RHO}"
MINUS = "\N{MINUS SIGN}"
TIMES = "\N{MULTIPLICATION SIGN}"
ISO_ALPHA = f"mg/L iso-{ALPHA}-acids"
ACCENT = "#0a6e6e"
AMBER = "#e59a00"
GREY = "#8a8f98"
_STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "font.size": 9.5,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 9.5,
    "axes.grid": True,
    "grid.color": "#e6e3dc",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "legend.frameon": False,
    # Names come from the data: a '$' in a hop name must stay a dollar, not start TeX math.
    "text.parse_math": False,
}
# Columns of the correlation heat map: (column, label with unit).
CORRELATION_COLUMNS = (
    ("abv", "ABV"),
    ("ibu", "IBU"),
    ("target_og", "OG"),
    ("target_fg", "FG"),
    ("ebc", "EBC"),
    ("ph", "pH"),
    ("attenuation_level", "Attenuation"),
    ("hop_load", "Hop load"),
)
_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
# ``id="x"`` attributes and the references to them: ``href="#x"``, ``url(#x)``.
_ID_ATTRIBUTE = re.compile(r'(\sid=)"([^"]+)"')
_ID_HREF = re.compile(r'(\s(?:xlink:)?href=)"#([^"]+)"')
_ID_URL = re.compile(r"url\(#([^)]+)\)")


@contextmanager
def _figure(name: str, width_inches: float, height_inches: float) -> Iterator[Figure]:
    """A figure styled for the report; ``name`` salts the SVG ids so they are unique per page."""
    import matplotlib
    from matplotlib.figure import Figure

    style: Any = {**_STYLE, "svg.hashsalt": f"punkml-{name}"}
    with matplotlib.rc_context(style):
        figure = Figure(figsize=(width_inches, height_inches), layout="constrained")
        yield figure


def to_svg(figure: Figure, prefix: str = "") -> str:
    """The figure as an ``<svg>`` element ready to inline (no XML prologue, no date).

    ``prefix`` is put before every id (and every reference to one), so that several figures'
    ids stay unique in one HTML document.
    """
    buffer = io.StringIO()
    # A tight box keeps rotated tick labels inside the drawing.
    figure.savefig(
        buffer,
        format="svg",
        bbox_inches="tight",
        pad_inches=0.06,
        metadata={"Date": None, "Creator": None},
    )
    svg = _XML_PROLOGUE.sub("", buffer.getvalue(), count=1).strip()
    svg = _METADATA.sub("", svg, count=1)  # RDF boilerplate: bytes and external namespaces
    if prefix:
        svg = _ID_ATTRIBUTE.sub(lambda m: f'{m.group(1)}"{prefix}-{m.group(2)}"', svg)
        svg = _ID_HREF.sub(lambda m: f'{m.group(1)}"#{prefix}-{m.group(2)}"', svg)
        svg = _ID_URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    return svg


def _svg(name: str, width: float, height: float, draw: object) -> str:
    """Draw with ``draw(figure)`` inside the report style and return the SVG text."""
    with _figure(name, width, height) as figure:
        draw(figure)  # type: ignore[operator]
        return to_svg(figure, prefix=name)


def distributions_svg(beers: pd.DataFrame, ibu: pd.Series) -> str:
    """Histograms of ABV, IBU (trusted values only), EBC and OG, with their medians."""
    panels = (
        (beers["abv"], "ABV (% vol.)", 30),
        (ibu, f"IBU ({ISO_ALPHA})", 30),
        (beers["ebc"], "Colour (EBC)", 30),
        (beers["target_og"], f"Original gravity (SG {TIMES} 1000)", 30),
    )

    def draw(figure: Figure) -> None:
        axes = figure.subplots(2, 2)
        for ax, (values, label, bins) in zip(axes.flat, panels, strict=True):
            _histogram(ax, values.dropna().astype(float), label, bins)

    return _svg("distributions", 8.0, 5.2, draw)


def _histogram(ax: Axes, values: pd.Series, label: str, bins: int) -> None:
    ax.set_xlabel(label)
    ax.set_ylabel("Beers")
    if values.empty:
        _no_data(ax)
        return
    ax.hist(values, bins=bins, color=ACCENT, alpha=0.85, edgecolor="white", linewidth=0.5)
    median = float(values.median())
    ax.axvline(median, color=AMBER, linewidth=1.5, label=f"median {median:g}")
    ax.legend(loc="upper right", fontsize=8.5, title=f"n = {len(values)}", title_fontsize=8.5)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def correlation_svg(table: pd.DataFrame) -> str:
    """Pearson correlation heat map of the numeric recipe columns (pairwise complete rows)."""
    columns = [(c, label) for c, label in CORRELATION_COLUMNS if c in table.columns]
    corr = table[[c for c, _ in columns]].astype(float).corr(min_periods=10)
    labels = [label for _, label in columns]

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.grid(False)
        image = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        for (row, col), value in _cells(corr.to_numpy()):
            colour = "white" if abs(value) > 0.6 else "#1d1d1f"
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8, color=colour)
        figure.colorbar(image, ax=ax, shrink=0.85, label="Pearson r (no unit)")

    return _svg("correlation", 6.6, 5.4, draw)


def _cells(matrix: np.ndarray) -> Iterator[tuple[tuple[int, int], float]]:
    import numpy as np

    for (row, col), value in np.ndenumerate(matrix):
        if not np.isnan(value):
            yield (int(row), int(col)), float(value)


def ibu_vs_hop_load_svg(hop_load: pd.Series, ibu: pd.Series) -> str:
    """Recipe IBU against the utilisation-weighted hop load (Tinseth), log-log, with the 1:1 line.

    Beers with no boiled hops (a load of 0) cannot sit on a log axis; the title counts them.
    """
    frame = _paired(hop_load, ibu)
    positive = frame[(frame["x"] > 0) & (frame["y"] > 0)]

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.set_xlabel(f"Utilisation-weighted hop load ({ISO_ALPHA}, Tinseth; log scale)")
        ax.set_ylabel(f"Recipe IBU ({ISO_ALPHA}; log scale)")
        if positive.empty:
            _no_data(ax)
            return
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        low = float(min(positive["x"].min(), positive["y"].min())) * 0.8
        high = float(max(positive["x"].max(), positive["y"].max())) * 1.25
        ax.plot(
            [low, high], [low, high], color=GREY, linestyle="--", linewidth=1, label="load = IBU"
        )
        ax.scatter(positive["x"], positive["y"], s=14, color=ACCENT, alpha=0.7, linewidths=0)
        rho = frame["x"].corr(frame["y"], method="spearman")
        left_out = len(frame) - len(positive)
        ax.set_title(
            f"{len(positive)} beers · Spearman {RHO} = {rho:.2f}"
            + (f" · {left_out} with a zero value not shown" if left_out else "")
        )
        ax.set_xlim(low, high)
        ax.set_ylim(low, high)
        ax.set_aspect("equal")
        ax.legend(loc="lower right")

    return _svg("hop-load", 6.0, 5.4, draw)


def _plain_log_ticks(ax: Axes) -> None:
    """Log axes labelled 1, 10, 100 rather than powers of ten."""
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _position: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)


def _paired(x: pd.Series, y: pd.Series) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame({"x": x.to_numpy(dtype=float), "y": y.to_numpy(dtype=float)})
    return frame.dropna()


def top_hops_svg(usage: pd.DataFrame) -> str:
    """The most used hop varieties: number of beers using each (``hop_usage`` output)."""
    height = 1.2 + 0.22 * max(len(usage), 3)

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.set_xlabel("Beers using the variety")
        if usage.empty:
            _no_data(ax)
            return
        ordered = usage.iloc[::-1]
        ax.barh(ordered["hop_name"], ordered["beers"], color=ACCENT, alpha=0.85)
        ax.grid(axis="y", visible=False)
        for y, (count, grams) in enumerate(zip(ordered["beers"], ordered["grams"], strict=True)):
            ax.text(count, y, f" {int(count)} · {grams / 1000:.1f} kg", va="center", fontsize=8)
        ax.set_xlim(0, float(usage["beers"].max()) * 1.3)

    return _svg("top-hops", 6.4, height, draw)


def predicted_vs_actual_svg(
    actual: Sequence[float],
    predicted: Sequence[float],
    low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
    title: str = "",
    names: Sequence[str] | None = None,
    label_worst: int = 0,
    figure_name: str = "pred-actual",
) -> str:
    """Predicted against actual IBU, with each 90% interval as a vertical line and the 1:1 line;
    the ``label_worst`` beers with the largest errors are labelled with their ``names``.
    ``figure_name`` keeps the SVG ids unique when the page shows several of these plots."""
    import numpy as np

    y = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    worst: list[int] = list(np.argsort(-np.abs(p - y))[:label_worst]) if names is not None else []

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.set_xlabel("Actual IBU (recipe)")
        ax.set_ylabel("Predicted IBU")
        if y.size == 0:
            _no_data(ax)
            return
        top = float(np.nanmax([y.max(), p.max()])) * 1.08
        if low is not None and high is not None:
            ax.vlines(y, low, high, color=ACCENT, alpha=0.18, linewidth=1.2, label="90% interval")
        ax.plot([0, top], [0, top], color=GREY, linestyle="--", linewidth=1, label="perfect")
        ax.scatter(y, p, s=14, color=ACCENT, alpha=0.8, linewidths=0, label="beer")
        for index in worst:
            ax.annotate(
                str(names[index])[:28] if names is not None else "",
                (y[index], p[index]),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=7,
                color=GREY,
            )
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.legend(loc="upper left")

    return _svg(figure_name, 5.2, 5.0, draw)


def residuals_svg(actual: Sequence[float], predicted: Sequence[float]) -> str:
    """Residuals (actual - predicted) against the prediction, and their histogram."""
    import numpy as np

    y = np.asarray(actual, dtype=float)
    p = np.asarray(predicted, dtype=float)
    residual = y - p

    def draw(figure: Figure) -> None:
        scatter_ax, hist_ax = figure.subplots(1, 2, width_ratios=(3, 2))
        scatter_ax.set_xlabel("Predicted IBU")
        scatter_ax.set_ylabel(f"Residual: actual {MINUS} predicted (IBU)")
        hist_ax.set_xlabel("Residual (IBU)")
        hist_ax.set_ylabel("Beers")
        if residual.size == 0:
            _no_data(scatter_ax)
            _no_data(hist_ax)
            return
        scatter_ax.axhline(0, color=GREY, linestyle="--", linewidth=1)
        scatter_ax.scatter(p, residual, s=14, color=ACCENT, alpha=0.75, linewidths=0)
        hist_ax.hist(residual, bins=30, color=ACCENT, alpha=0.85, edgecolor="white", linewidth=0.5)
        hist_ax.axvline(0, color=GREY, linestyle="--", linewidth=1)
        mae = float(np.mean(np.abs(residual)))
        hist_ax.set_title(f"MAE {mae:.1f} IBU · bias {float(np.mean(residual)):+.1f}")

    return _svg("residuals", 8.0, 3.6, draw)


def feature_importances_svg(names: Sequence[str], values: Sequence[float], label: str) -> str:
    """The model's most important features as horizontal bars; ``label`` names the measure."""
    height = 1.2 + 0.24 * max(len(names), 3)

    def draw(figure: Figure) -> None:
        ax = figure.subplots()
        ax.set_xlabel(label)
        if not names:
            _no_data(ax)
            return
        ax.barh(list(names)[::-1], list(values)[::-1], color=ACCENT, alpha=0.85)
        ax.grid(axis="y", visible=False)

    return _svg("importances", 6.4, height, draw)
