"""The model's input: the three cleaned tables of a set of beers, from the catalog or from beers.

A ``RecipeTables`` holds ``beers`` (one row per beer), ``hop_additions`` and ``malts`` as pandas
frames with the model's input columns of the cleaned tables (``punkml.pipeline.lake_schema``); child rows belong to the beer row
with the same ``seq`` (the stream sequence number, or the position in a JSON file). The same object
feeds training, evaluation, batch prediction, the API and a Lambda.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punkml.errors import ModelError
from punkml.ml.recipes import read_recipe_file
from punkml.pipeline.catalog import Catalog
from punkml.pipeline.cleaned import tables_from_beers as clean
from punkml.pipeline.lake_schema import BEERS, HOP_ADDITIONS, MALTS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from punkml.config import Settings

logger = logging.getLogger(__name__)
# The columns the model reads, declared with the tables (``punkml.pipeline.lake_schema``).
BEER_COLUMNS = BEERS.model_inputs
HOP_COLUMNS = HOP_ADDITIONS.model_inputs
MALT_COLUMNS = MALTS.model_inputs
# A fixed instant for cleaning files and API bodies: the timestamp is not a model input, and a
# constant keeps the cleaned tables (and so the data fingerprint) reproducible.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecipeTables:
    """Cleaned beers with their hop additions and malts (pandas frames, joined on ``seq``)."""

    beers: pd.DataFrame
    hop_additions: pd.DataFrame
    malts: pd.DataFrame

    def __len__(self) -> int:
        return len(self.beers)

    @classmethod
    def from_arrow(cls, tables: dict[str, pa.Table]) -> RecipeTables:
        """From Arrow tables named ``beers``, ``hop_additions`` and ``malts``."""
        try:
            frames = [
                _to_pandas(tables[name], columns)
                for name, columns in (
                    ("beers", BEER_COLUMNS),
                    ("hop_additions", HOP_COLUMNS),
                    ("malts", MALT_COLUMNS),
                )
            ]
        except KeyError as exc:
            raise ModelError(f"cleaned tables lack a table or column: {exc}") from exc
        return cls(*frames)

    def take(self, positions: Sequence[int] | np.ndarray) -> RecipeTables:
        """The beers at ``positions`` (row numbers of ``beers``) with their child rows."""
        beers = self.beers.iloc[list(positions)].reset_index(drop=True)
        keep = set(beers["seq"].tolist())
        return RecipeTables(
            beers=beers,
            hop_additions=self.hop_additions[self.hop_additions["seq"].isin(keep)].reset_index(
                drop=True
            ),
            malts=self.malts[self.malts["seq"].isin(keep)].reset_index(drop=True),
        )

    def target(self) -> np.ndarray:
        """The beers' IBU as floats (NaN where missing)."""
        import numpy as np

        return np.asarray(self.beers["ibu"], dtype=float)

    def fingerprint(self) -> str:
        """SHA-256 over the model inputs and the target, in beer order: identifies training data."""
        digest = hashlib.sha256()
        for frame in (self.beers, self.hop_additions, self.malts):
            digest.update(frame.to_csv(index=False, float_format="%.6g").encode("utf-8"))
        return digest.hexdigest()


SMALL_TABLE_ROWS = 256


def _to_pandas(table: pa.Table, columns: tuple[str, ...]) -> pd.DataFrame:
    """The ``columns`` of ``table`` as a pandas frame (small tables via Python lists: for one
    recipe this is several times faster than Arrow's converter, which matters for the API)."""
    import pandas as pd

    if table.num_rows <= SMALL_TABLE_ROWS:
        return pd.DataFrame(
            {name: table.column(name).to_pylist() for name in columns}, columns=list(columns)
        )
    return table.select(list(columns)).to_pandas()


def tables_from_beers(beers: Iterable[dict[str, Any]]) -> RecipeTables:
    """Validate and clean Punk API beer dicts (``SchemaError`` names the failing field path)."""

    return RecipeTables.from_arrow(clean(beers, ingested_at=_EPOCH))


def read_beers_file(path: Path) -> list[dict[str, Any]]:
    """The usable beers of a recipe file: Punk API v2 JSON (a list or one beer) or BeerXML 1.0,
    with the defaults of ``punkml.ml.recipes``. A refused recipe is set aside with a warning
    naming its field; a file with no usable recipe is an error."""
    batch = read_recipe_file(path)
    refusals = batch.refusals()
    for line in refusals:
        logger.warning("%s: set aside %s", path, line)
    if not batch.recipes:
        raise ModelError(f"no usable recipe in {path}: {refusals[0]}")
    return batch.beers


def tables_from_file(path: Path) -> RecipeTables:
    """Cleaned tables of the usable beers of a recipe file (see ``read_beers_file``)."""
    return tables_from_beers(read_beers_file(path))


def tables_from_catalog(settings: Settings) -> RecipeTables:
    """Cleaned tables of ``beers_latest`` and the child rows of those events, from the catalog."""

    beer_sql = f"SELECT {', '.join(BEER_COLUMNS)} FROM beers_latest ORDER BY id"
    child_sql = (
        "SELECT {columns} FROM {table} WHERE seq IN (SELECT seq FROM beers_latest) "
        "ORDER BY seq, position"
    )
    with Catalog(settings) as catalog:
        tables = {
            "beers": catalog.query(beer_sql),
            "hop_additions": catalog.query(
                child_sql.format(columns=", ".join(HOP_COLUMNS), table="hop_additions")
            ),
            "malts": catalog.query(
                child_sql.format(columns=", ".join(MALT_COLUMNS), table="malts")
            ),
        }
    return RecipeTables.from_arrow(tables)


def load_training_tables(settings: Settings, beers_file: Path | None = None) -> RecipeTables:
    """Training data: the ``--beers`` file when given, else the catalog; it must not be empty."""
    tables = tables_from_file(beers_file) if beers_file else tables_from_catalog(settings)
    if len(tables) == 0:
        where = str(beers_file) if beers_file else "the catalog's beers_latest"
        raise ModelError(
            f"no beers to train on in {where}: run `punkml ingest backfill` and "
            "`punkml deliver`, or pass --beers FILE"
        )
    return tables
