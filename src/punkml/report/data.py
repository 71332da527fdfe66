"""What the report shows about the data: the cleaned tables and their quality, read from the catalog.

``load_report_data(settings)`` reads ``beers_latest`` and its child tables through the pipeline's
catalog. When the catalog holds no beers yet, it falls back to the pinned dataset (cleaned with the
same ``tables_from_beers``) and says so, so a report can always be drawn; when neither exists it
returns empty tables and a note naming the command to run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from punkml.config import Settings
from punkml.errors import DatasetError, PunkmlError
from punkml.ml.data import RecipeTables
from punkml.ml.features import RecipeFeatures, feature_names
from punkml.pipeline.catalog import VIEWS, Catalog
from punkml.pipeline.cleaned import empty_tables, tables_from_beers
from punkml.pipeline.lake_schema import BEERS
from punkml.source.dataset import load_home_beers

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from punkml.pipeline.catalog import Catalog

TOP_DEAD_LETTER_ERRORS = 5

# Beers joined to their newest event's child rows (one ``seq`` per beer in ``beers_latest``).
LATEST_HOPS_SQL = (
    "SELECT h.* FROM hop_additions h JOIN beers_latest b ON h.seq = b.seq "
    "ORDER BY h.beer_id, h.position"
)
LATEST_MALTS_SQL = (
    "SELECT m.* FROM malts m JOIN beers_latest b ON m.seq = b.seq ORDER BY m.beer_id, m.position"
)


@dataclass(frozen=True)
class ColumnNulls:
    """Missing values of one column of ``beers_latest``."""

    column: str
    nulls: int
    rows: int

    @property
    def percent(self) -> float:
        return 100.0 * self.nulls / self.rows if self.rows else 0.0


@dataclass
class DataQuality:
    """Counts that tell whether the lake can be trusted."""

    view_rows: dict[str, int]
    nulls: list[ColumnNulls]
    ibu_flags: dict[str, int]
    dead_letters: int | None = None
    dead_letter_errors: list[tuple[str, int]] = field(default_factory=list)
    # Beer events superseded by a newer event of the same id (re-ingested beers).
    superseded_events: int | None = None
    # The same stream record delivered more than once (at-least-once delivery replays).
    duplicate_deliveries: int | None = None


@dataclass
class ReportData:
    """The cleaned tables the report draws, where they came from, and what is missing."""

    source: str
    beers: pd.DataFrame
    hop_additions: pd.DataFrame
    malts: pd.DataFrame
    quality: DataQuality
    missing: list[str] = field(default_factory=list)

    @property
    def has_beers(self) -> bool:
        return len(self.beers) > 0


def load_report_data(settings: Settings) -> ReportData:
    """The report's tables from the catalog, else from the pinned dataset, else empty."""
    missing: list[str] = []
    try:
        data = _from_catalog(settings)
    except PunkmlError as exc:
        data = None
        missing.append(f"the catalog could not be read ({exc})")
    if data is not None and data.has_beers:
        return data
    missing.append(
        "the catalog holds no beers yet: run `punkml ingest backfill` then `punkml deliver`"
    )
    fallback = _from_dataset(settings)
    if fallback is None:
        missing.append("the pinned dataset is not cached either: run `punkml data fetch`")
        fallback = _empty()
    fallback.missing = missing + fallback.missing
    return fallback


def _from_catalog(settings: Settings) -> ReportData | None:

    if "://" not in settings.lake_uri and not Path(settings.lake_uri).exists():
        return None  # nothing delivered yet; do not create an empty lake just to read it
    with Catalog(settings) as catalog:
        beers = catalog.query("SELECT * FROM beers_latest ORDER BY id").to_pandas()
        if beers.empty:
            return None
        hops = catalog.query(LATEST_HOPS_SQL).to_pandas()
        malts = catalog.query(LATEST_MALTS_SQL).to_pandas()
        quality = catalog_quality(catalog, beers)
    return ReportData(
        source=f"the catalog of {settings.home}",
        beers=beers,
        hop_additions=hops,
        malts=malts,
        quality=quality,
    )


def _from_dataset(settings: Settings) -> ReportData | None:

    try:
        beers = load_home_beers(settings)
    except DatasetError:
        return None
    tables = tables_from_beers(beers)
    frames = {name: table.to_pandas() for name, table in tables.items()}
    quality = DataQuality(
        view_rows={"dataset beers": len(beers), **{k: len(v) for k, v in frames.items()}},
        nulls=column_nulls(frames["beers"]),
        ibu_flags=ibu_flag_counts(frames["beers"]),
    )
    return ReportData(
        source="the pinned dataset (punkapi-db 2.6.0), cleaned in memory",
        beers=frames["beers"],
        hop_additions=frames["hop_additions"],
        malts=frames["malts"],
        quality=quality,
    )


def _empty() -> ReportData:

    frames = {name: table.to_pandas() for name, table in empty_tables().items()}
    return ReportData(
        source="nothing: no catalog and no cached dataset",
        beers=frames["beers"],
        hop_additions=frames["hop_additions"],
        malts=frames["malts"],
        quality=DataQuality(view_rows={}, nulls=[], ibu_flags={}),
    )


def catalog_quality(catalog: Catalog, beers: pd.DataFrame) -> DataQuality:
    """Rows per view, nulls per column, dead letters and duplicate events, from the catalog."""

    view_rows = {name: _count(catalog, f"SELECT count(*) FROM {name}") for name in VIEWS}
    errors = catalog.query(
        "SELECT error, count(*) AS n FROM dead_letters GROUP BY error ORDER BY n DESC, error "
        f"LIMIT {TOP_DEAD_LETTER_ERRORS}"
    ).to_pylist()
    return DataQuality(
        view_rows=view_rows,
        nulls=column_nulls(beers),
        ibu_flags=ibu_flag_counts(beers),
        dead_letters=view_rows["dead_letters"],
        dead_letter_errors=[(str(row["error"]), int(row["n"])) for row in errors],
        superseded_events=_count(catalog, "SELECT count(*) - count(DISTINCT id) FROM beers"),
        duplicate_deliveries=_count(catalog, "SELECT count(*) - count(DISTINCT seq) FROM beers"),
    )


def _count(catalog: Catalog, sql: str) -> int:
    table: pa.Table = catalog.query(sql)
    return int(table.column(0)[0].as_py() or 0)


def column_nulls(beers: pd.DataFrame) -> list[ColumnNulls]:
    """Missing values per column of a cleaned ``beers`` table, in schema order (blank text counts
    as missing)."""
    import pandas as pd

    rows = len(beers)
    out = []
    for column in (column.name for column in BEERS.columns if not column.bookkeeping):
        if column not in beers.columns:
            continue
        values = beers[column]
        nulls = int(values.isna().sum())
        if pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values):
            nulls += int((values.dropna().astype(str).str.strip() == "").sum())
        out.append(ColumnNulls(column=column, nulls=nulls, rows=rows))
    return out


def ibu_flag_counts(beers: pd.DataFrame) -> dict[str, int]:
    """How many beers carry each ``ibu_flag`` (an IBU that must not be trusted)."""
    if "ibu_flag" not in beers.columns:
        return {}
    counts = beers["ibu_flag"].dropna().value_counts()
    return {str(flag): int(n) for flag, n in counts.items()}


def trusted_ibu(beers: pd.DataFrame) -> pd.Series:
    """The IBU where it can be trusted as a bitterness (``ibu_flag`` empty), else NaN."""
    ibu = beers["ibu"].astype(float)
    if "ibu_flag" in beers.columns:
        ibu = ibu.where(beers["ibu_flag"].isna())
    return ibu


def hop_usage(hop_additions: pd.DataFrame, top: int = 20) -> pd.DataFrame:
    """The ``top`` hop varieties by number of beers using them, with their total grams.

    Columns: ``hop_name``, ``beers``, ``grams``. Names are grouped case-insensitively; non-hops
    (coffee, honey, …) are left out.
    """
    import pandas as pd

    if hop_additions.empty:
        return pd.DataFrame({"hop_name": [], "beers": [], "grams": []})
    hops = hop_additions[hop_additions["is_hop"].astype(bool)].copy()
    hops["key"] = hops["hop_name"].str.strip().str.lower()
    grouped = hops.groupby("key").agg(
        hop_name=("hop_name", lambda names: names.mode().iloc[0]),
        beers=("beer_id", "nunique"),
        grams=("grams", "sum"),
    )
    ordered = grouped.sort_values(["beers", "grams"], ascending=[False, False]).head(top)
    return ordered.reset_index(drop=True)


def tinseth_hop_load(data: ReportData) -> pd.Series:
    """Each beer's utilisation-weighted hop load (mg/L of iso-alpha-acids, Tinseth), indexed like beers.

    It is the recipe model's ``tinseth_ibu`` feature, computed by the model's own feature step.
    """
    import pandas as pd

    tables = RecipeTables(beers=data.beers, hop_additions=data.hop_additions, malts=data.malts)
    matrix = RecipeFeatures().fit(tables).transform(tables)
    column = feature_names().index("tinseth_ibu")
    return pd.Series(matrix[:, column], index=data.beers.index, name="hop_load")
