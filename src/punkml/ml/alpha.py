"""Alpha acid (percent) of a hop variety named in a recipe, from the table kept as data.

``data/alpha_acids.csv`` holds one row per variety (``variety, alpha_acid_pct, aliases, source``):
the midpoint of the typical range the grower or supplier publishes, with that source named. Names
in recipes are matched robustly: case, accents and punctuation are ignored, plurals are folded
('Fuggles' = 'Fuggle'), and words that describe the form or origin rather than the variety are
dropped ('Pellets', 'Hops', 'T90', '2017', 'German', 'NZ', 'US', …). A name joining varieties
('Bramling Cross/ First Gold') gets the mean of its parts. '<variety> Extract' and 'CO2 Extract'
are hop extracts (the extract's row). Anything else is left to the caller: a hop of an unknown
variety gets ``DEFAULT_ALPHA_PCT``; a non-hop (coffee, honey, 'Vanilla Extract') gets 0.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from punkml.errors import ModelError

# Used for a hop whose variety is not in the table: about the median of the table's
# commercially common aroma and dual-purpose varieties (Cascade 5.75 … Citra 12).
DEFAULT_ALPHA_PCT = 8.0
EXTRACT_VARIETY = "CO2 Hop Extract"
TABLE_RESOURCE = "alpha_acids.csv"

# Words that say how a hop is sold, where it grew or which harvest: never part of the variety.
_NOISE_WORDS = frozenset(
    [
        "pellet",
        "pellets",
        "hop",
        "hops",
        "leaf",
        "whole",
        "cone",
        "cones",
        "flower",
        "flowers",
        "t90",
        "t45",
        "type",
        "plug",
        "plugs",
        "us",
        "usa",
        "american",
        "german",
        "germany",
        "nz",
        "new",
        "zealand",
        "uk",
        "english",
        "british",
        "czech",
        "french",
        "australian",
        "australia",
        "slovenian",
        "slovenia",
        "harvest",
        "crop",
        "fresh",
        "wet",
        "organic",
        "cv",
        "brand",
    ]
)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_PARTS = re.compile(r"\s*(?:/|&|\+|,|\band\b)\s*")


def fold_name(name: str) -> str:
    """The comparable form of a variety name: ascii, lower case, words singular, noise dropped."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").lower()
    text = _YEAR.sub(" ", text)
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    kept = [_singular(word) for word in words if word not in _NOISE_WORDS]
    return " ".join(kept)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


@dataclass(frozen=True, eq=False)
class AlphaTable:
    """Variety → alpha acid percent, with every alias folded to the same key."""

    by_name: dict[str, float]
    extract_pct: float
    default_pct: float = DEFAULT_ALPHA_PCT

    @classmethod
    def from_csv_text(cls, text: str) -> AlphaTable:
        """Parse the CSV (``variety, alpha_acid_pct, aliases, source``); every row needs a source."""
        by_name: dict[str, float] = {}
        for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            variety = (row.get("variety") or "").strip()
            if not variety or not (row.get("source") or "").strip():
                raise ModelError(f"alpha acid table line {line}: variety and source are required")
            try:
                pct = float(row["alpha_acid_pct"])
            except (TypeError, ValueError) as exc:
                raise ModelError(
                    f"alpha acid table line {line}: alpha_acid_pct is not a number"
                ) from exc
            if not 0 < pct <= 70:
                raise ModelError(f"alpha acid table line {line}: alpha_acid_pct {pct} out of range")
            for alias in [variety, *(row.get("aliases") or "").split("|")]:
                if alias.strip():
                    by_name[fold_name(alias)] = pct
        extract = by_name.get(fold_name(EXTRACT_VARIETY))
        if extract is None:
            raise ModelError(f"alpha acid table has no {EXTRACT_VARIETY!r} row")
        return cls(by_name=by_name, extract_pct=extract)

    def lookup(self, name: str) -> float | None:
        """Alpha acid percent of the variety ``name`` names, or None when it names none."""
        return _lookup(self, name)


@lru_cache(maxsize=8192)  # tables compare by identity (eq=False), so they can be cache keys
def _lookup(table: AlphaTable, name: str) -> float | None:
    key = fold_name(name)
    if key in table.by_name:
        return table.by_name[key]
    words = key.split()
    if "extract" in words:
        base = " ".join(word for word in words if word != "extract")
        # '<variety> Extract' is a hop extract; 'Vanilla Extract' names no variety: not a hop.
        return table.extract_pct if base == "" or base in table.by_name else None
    parts = [part for part in _PARTS.split(name) if part.strip()]
    if len(parts) > 1:
        values = [table.lookup(part) for part in parts]
        known = [value for value in values if value is not None]
        if known and len(known) == len(values):
            return sum(known) / len(known)
    return None


@lru_cache(maxsize=1)
def default_table() -> AlphaTable:
    """The table shipped in ``punkml/ml/data/alpha_acids.csv``."""
    text = resources.files("punkml.ml").joinpath("data", TABLE_RESOURCE).read_text("utf-8")
    return AlphaTable.from_csv_text(text)


def alpha_pct(
    name: str, *, is_hop: bool, stated_pct: float | None, table: AlphaTable | None = None
) -> float:
    """Alpha acid percent used for one addition.

    The attribute's stated alpha ('10% Alpha') wins; then the table; then ``DEFAULT_ALPHA_PCT`` for
    a hop of unknown variety; 0 for a non-hop. A table match overrides a 'non-hop' verdict from
    the name's words (the variety 'Lemondrop' contains 'lemon').
    """
    if stated_pct is not None and stated_pct > 0:
        return float(stated_pct)
    table = table or default_table()
    known = table.lookup(name)
    if known is not None:
        return known
    return table.default_pct if is_hop else 0.0
