"""Feature steps: scikit-learn transformers from ``RecipeTables`` to a numeric matrix.

``SeedFeatures`` are the original model's six columns. ``RecipeFeatures`` reads the whole recipe:
hop additions per stage (grams and alpha acid per litre), a Tinseth bitterness estimate, the malt
bill, gravities, colour and the yeast family. Both are stateless (``fit`` learns nothing), so the
same object gives the same row for a beer in training, batch prediction, the API and a Lambda.
Nothing here reads the ``ibu`` column.

Defaults for partial recipes (documented in docs/model.md): volume 20 l, boil volume 1.25 x volume,
original gravity from FG and ABV when missing or implausible, else 1.050; a hop addition without a
usable mass counts 0 g; the alpha acid comes from the attribute ('10% Alpha'), else the variety
table, else ``DEFAULT_ALPHA_PCT`` for a hop of unknown variety, 0 for a non-hop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sklearn.base import BaseEstimator, TransformerMixin

from punkml.ml.alpha import DEFAULT_ALPHA_PCT, AlphaTable, default_table
from punkml.ml.brewing import (
    ABV_PER_GRAVITY_POINT,
    BOIL_VOLUME_RATIO,
    DEFAULT_OG,
    DEFAULT_VOLUME_LITRES,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from punkml.ml.data import RecipeTables

SEED_COLUMNS = ("abv", "target_fg", "target_og", "ebc", "srm", "ph")
# Stage buckets by minutes in the boiling wort (additions at 0 min and whirlpool: "hot").
BITTERING_MINUTES = 45.0
FLAVOUR_MINUTES = 15.0
STAGE_BUCKETS = ("bittering", "flavour", "late", "hot", "dry", "mash", "other")
# Cumulative boil buckets: alpha acid (and hop mass) boiled at least this many minutes. A longer
# boil or a larger amount can only raise them, so the served model may be monotone in each.
CUMULATIVE_MINUTES = (60, 45, 30, 15, 5)
DARK_MALT_WORDS = (
    "crystal",
    "cara",
    "chocolate",
    "black",
    "roast",
    "brown",
    "dark",
    "amber",
    "special b",
    "coffee",
    "midnight",
)
YEAST_FAMILIES = {
    "lager": ("lager", "pils", "saflager", "w-34", "34/70", "bohemian", "budvar"),
    "belgian": ("belg", "saison", "trapp", "abbey", "monast", "ardennes", "wit", "brett"),
    "wheat": ("wheat", "weizen", "hefe", "weiss"),
}


def tinseth_utilisation(boil_gravity: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Tinseth's hop utilisation: 1.65 x 0.000125^(G - 1) x (1 - e^(-0.04 t)) / 4.15."""
    import numpy as np

    bigness = 1.65 * np.power(0.000125, boil_gravity - 1.0)
    return bigness * (1.0 - np.exp(-0.04 * minutes)) / 4.15


class SeedFeatures(TransformerMixin, BaseEstimator):
    """The original model's inputs: abv, target_fg, target_og, ebc, srm, ph (NaN where missing)."""

    def fit(self, X: RecipeTables, y: Any = None) -> SeedFeatures:
        return self

    def transform(self, X: RecipeTables) -> np.ndarray:
        import numpy as np

        return np.asarray(X.beers[list(SEED_COLUMNS)], dtype=float)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        import numpy as np

        return np.asarray(SEED_COLUMNS, dtype=object)


class RecipeFeatures(TransformerMixin, BaseEstimator):
    """Whole-recipe features (see the module docstring); ``alpha_acids`` maps folded variety
    names to percent (default: the shipped table), ``extract_alpha_pct`` is for hop extracts."""

    def __init__(
        self,
        alpha_acids: dict[str, float] | None = None,
        extract_alpha_pct: float | None = None,
        default_alpha_pct: float = DEFAULT_ALPHA_PCT,
    ) -> None:
        self.alpha_acids = alpha_acids
        self.extract_alpha_pct = extract_alpha_pct
        self.default_alpha_pct = default_alpha_pct

    def fit(self, X: RecipeTables, y: Any = None) -> RecipeFeatures:
        # Freeze the table into the estimator so a stored model keeps the values it was trained on.
        table = default_table()
        if self.alpha_acids is None:
            self.alpha_acids = dict(table.by_name)
        if self.extract_alpha_pct is None:
            self.extract_alpha_pct = table.extract_pct
        return self

    def __getstate__(self) -> dict[str, Any]:
        # The looked-up table is a cache rebuilt from the parameters; it is not stored.
        state: dict[str, Any] = super().__getstate__()
        state.pop("_alpha_table", None)
        return state

    def _table(self) -> AlphaTable:
        cached: AlphaTable | None = getattr(self, "_alpha_table", None)
        if cached is None:
            base = default_table()
            cached = AlphaTable(
                by_name=dict(self.alpha_acids or base.by_name),
                extract_pct=float(self.extract_alpha_pct or base.extract_pct),
                default_pct=float(self.default_alpha_pct),
            )
            self._alpha_table = cached
        return cached

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        import numpy as np

        return np.asarray(feature_names(), dtype=object)

    def transform(self, X: RecipeTables) -> np.ndarray:
        """One row per beer of ``X.beers`` (same order), columns ``feature_names()``."""
        import numpy as np

        beers = X.beers
        n = len(beers)
        columns: dict[str, np.ndarray] = {}
        gravity = _gravities(beers)
        columns.update(gravity)
        volume = _volumes(beers)
        boil_gravity = 1.0 + (gravity["og"] - 1.0) * volume["litres"] / volume["boil_litres"]
        row_of = _row_index(beers, X.hop_additions)
        columns.update(self._hop_columns(X.hop_additions, row_of, n, volume, boil_gravity))
        columns.update(_malt_columns(X.malts, _row_index(beers, X.malts), n, volume["litres"]))
        columns.update(_yeast_columns(beers))
        columns["boil_minutes"] = _float_column(beers, "boil_minutes", 60.0)
        names = feature_names()
        return (
            np.column_stack([columns[name] for name in names]) if n else np.empty((0, len(names)))
        )

    def _hop_columns(
        self,
        hops: pd.DataFrame,
        row_of: np.ndarray,
        n: int,
        volume: dict[str, np.ndarray],
        boil_gravity: np.ndarray,
    ) -> dict[str, np.ndarray]:
        import numpy as np

        valid = row_of >= 0
        hops, row_of = hops[valid], row_of[valid]
        litres = volume["litres"][row_of]
        grams = np.nan_to_num(np.asarray(hops["grams"], dtype=float), nan=0.0)
        is_hop = np.asarray(hops["is_hop"], dtype=bool)
        alpha = self._alpha_pct(hops, is_hop)
        hop_grams = np.where(alpha > 0, grams, 0.0)
        # mg of alpha acid per litre of beer: alpha% / 100 x grams x 1000 / litres
        alpha_mg_l = alpha * 10.0 * hop_grams / litres
        minutes = np.nan_to_num(np.asarray(hops["boil_minutes"], dtype=float), nan=0.0)
        stage = np.asarray(hops["stage"], dtype=object)
        bucket = _stage_bucket(stage, minutes)
        out: dict[str, np.ndarray] = {}
        utilisation = tinseth_utilisation(boil_gravity[row_of], minutes)
        boiled = (stage == "boil") | (stage == "first-wort")
        out["tinseth_ibu"] = _sum_by_row(row_of, np.where(boiled, utilisation * alpha_mg_l, 0), n)
        out["log_tinseth_ibu"] = np.log1p(out["tinseth_ibu"])
        for name in STAGE_BUCKETS:
            mask = bucket == name
            out[f"alpha_mg_l_{name}"] = _sum_by_row(row_of, np.where(mask, alpha_mg_l, 0), n)
            out[f"hop_g_l_{name}"] = _sum_by_row(row_of, np.where(mask, hop_grams / litres, 0), n)
        # First-wort hops stay in the wort for the whole boil: they count as boiled the longest.
        boiled_minutes = np.where(stage == "first-wort", np.inf, minutes)
        hot_side = boiled | (stage == "whirlpool")
        for label, mask in self._cumulative_masks(boiled, boiled_minutes, hot_side):
            out[f"alpha_mg_l_{label}"] = _sum_by_row(row_of, np.where(mask, alpha_mg_l, 0), n)
            out[f"hop_g_l_{label}"] = _sum_by_row(row_of, np.where(mask, hop_grams / litres, 0), n)
        bittering = np.asarray(hops["attribute"], dtype=object) == "bittering"
        out["alpha_mg_l_attr_bittering"] = _sum_by_row(
            row_of, np.where(bittering, alpha_mg_l, 0), n
        )
        out["nonhop_g_l"] = _sum_by_row(row_of, np.where(alpha > 0, 0.0, grams / litres), n)
        out["hop_additions"] = _sum_by_row(row_of, (alpha > 0).astype(float), n)
        out["stated_alpha_share"] = _sum_by_row(
            row_of, np.asarray(hops["alpha_acid_pct"].notna(), dtype=float), n
        ) / np.maximum(_sum_by_row(row_of, np.ones(len(row_of)), n), 1.0)
        return out

    @staticmethod
    def _cumulative_masks(
        boiled: np.ndarray, boiled_minutes: np.ndarray, hot_side: np.ndarray
    ) -> list[tuple[str, np.ndarray]]:
        masks = [(f"boil_ge{m}", boiled & (boiled_minutes >= m)) for m in CUMULATIVE_MINUTES]
        return [*masks, ("boiled", boiled), ("hot_side", hot_side)]

    def _alpha_pct(self, hops: pd.DataFrame, is_hop: np.ndarray) -> np.ndarray:
        import numpy as np

        table = self._table()
        looked_up = _map_distinct(hops["hop_name"], table.lookup, float)  # None → NaN
        fallback = np.where(is_hop, table.default_pct, 0.0)
        alpha = np.where(np.isnan(looked_up), fallback, looked_up)
        stated = np.asarray(hops["alpha_acid_pct"], dtype=float)
        return np.where(np.isnan(stated) | (stated <= 0), alpha, stated)


def feature_names() -> list[str]:
    """The columns ``RecipeFeatures`` produces, in order."""
    names = ["tinseth_ibu", "log_tinseth_ibu"]
    for bucket in STAGE_BUCKETS:
        names += [f"alpha_mg_l_{bucket}", f"hop_g_l_{bucket}"]
    names += ["alpha_mg_l_attr_bittering", "nonhop_g_l", "hop_additions", "stated_alpha_share"]
    names += [
        f"{kind}_{label}" for label in CUMULATIVE_LABELS for kind in ("alpha_mg_l", "hop_g_l")
    ]
    names += ["malt_kg_l", "dark_malt_share", "malts"]
    names += ["og", "fg", "abv", "attenuation", "ebc", "srm", "ph", "boil_minutes"]
    names += [f"yeast_{family}" for family in YEAST_FAMILIES]
    return names


CUMULATIVE_LABELS = (*(f"boil_ge{m}" for m in CUMULATIVE_MINUTES), "boiled", "hot_side")
# Features whose growth can only raise the bitterness (used as monotone constraints by the
# candidate learners of ``evaluate --protocol compare``).
INCREASING_FEATURES = ("tinseth_ibu", "log_tinseth_ibu", "alpha_mg_l_bittering")
# The served recipe model's inputs. Hop features are made cumulative in boil time and are only
# ever raised by more boil hops or a longer boil (the model is constrained to be non-decreasing in
# each); dry hops, addition counts and shares are left out, so a dry-hop-only change or a
# reshuffle of shares cannot move a prediction the wrong way.
MONOTONE_HOP_FEATURES = (
    "tinseth_ibu",
    "log_tinseth_ibu",
    *(f"{kind}_{label}" for label in CUMULATIVE_LABELS for kind in ("alpha_mg_l", "hop_g_l")),
    "boil_minutes",
)
FREE_RECIPE_FEATURES = (
    "malt_kg_l",
    "dark_malt_share",
    "og",
    "fg",
    "abv",
    "attenuation",
    "ebc",
    "srm",
    "ph",
    "nonhop_g_l",
    *(f"yeast_{family}" for family in YEAST_FAMILIES),
)


def _row_index(beers: pd.DataFrame, children: pd.DataFrame) -> np.ndarray:
    """For each child row, the position of its beer row (by ``seq``), -1 if none."""
    import numpy as np
    import pandas as pd

    if len(children) == 0:
        return np.empty(0, dtype=np.int64)
    index = pd.Index(np.asarray(beers["seq"], dtype=np.int64))
    return np.asarray(index.get_indexer(np.asarray(children["seq"], dtype=np.int64)))


def _sum_by_row(row_of: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    import numpy as np

    return np.bincount(row_of, weights=values, minlength=n).astype(float)


def _float_column(beers: pd.DataFrame, name: str, default: float | None = None) -> np.ndarray:
    import numpy as np

    values = np.asarray(beers[name], dtype=float)
    return values if default is None else np.where(np.isnan(values), default, values)


def _specific_gravity(values: np.ndarray) -> np.ndarray:
    """1044 (the API's points x 1000) or 1.044 → 1.044; implausible values → NaN."""
    import numpy as np

    sg = np.where(values > 100, values / 1000.0, values)
    return np.where((sg >= 0.98) & (sg <= 1.2), sg, np.nan)


def _gravities(beers: pd.DataFrame) -> dict[str, np.ndarray]:
    import numpy as np

    og = _specific_gravity(_float_column(beers, "target_og"))
    fg = _specific_gravity(_float_column(beers, "target_fg"))
    abv = _float_column(beers, "abv")
    estimated = fg + abv / ABV_PER_GRAVITY_POINT
    # An OG that disagrees with FG and ABV by more than 2 % ABV is a typo (e.g. 1013 for 1063).
    inconsistent = np.abs((og - fg) * ABV_PER_GRAVITY_POINT - abv) > 2.0
    og = np.where(np.isnan(og) | (inconsistent & ~np.isnan(estimated)), estimated, og)
    og = np.where(np.isnan(og), DEFAULT_OG, og)
    attenuation = _float_column(beers, "attenuation_level")
    return {
        "og": og,
        "fg": fg,
        "abv": abv,
        "attenuation": attenuation,
        "ebc": _float_column(beers, "ebc"),
        "srm": _float_column(beers, "srm"),
        "ph": _float_column(beers, "ph"),
    }


def _volumes(beers: pd.DataFrame) -> dict[str, np.ndarray]:
    import numpy as np

    litres = _float_column(beers, "volume_litres")
    litres = np.where(np.isnan(litres) | (litres <= 0), DEFAULT_VOLUME_LITRES, litres)
    boil = _float_column(beers, "boil_volume_litres")
    boil = np.where(np.isnan(boil) | (boil <= 0), litres * BOIL_VOLUME_RATIO, boil)
    return {"litres": litres, "boil_litres": np.maximum(boil, litres * 0.5)}


def _stage_bucket(stage: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    import numpy as np

    boiled = (stage == "boil") | (stage == "first-wort")
    return np.select(
        [
            boiled & ((minutes >= BITTERING_MINUTES) | (stage == "first-wort")),
            boiled & (minutes >= FLAVOUR_MINUTES),
            boiled & (minutes > 0),
            boiled | (stage == "whirlpool"),
            stage == "dry-hop",
            stage == "mash",
        ],
        ["bittering", "flavour", "late", "hot", "dry", "mash"],
        default="other",
    )


def _malt_columns(
    malts: pd.DataFrame, row_of: np.ndarray, n: int, litres: np.ndarray
) -> dict[str, np.ndarray]:
    import numpy as np

    valid = row_of >= 0
    malts, row_of = malts[valid], row_of[valid]
    kilograms = np.nan_to_num(np.asarray(malts["kilograms"], dtype=float), nan=0.0)
    dark = _map_distinct(
        malts["malt_name"], lambda name: any(w in name.lower() for w in DARK_MALT_WORDS), bool
    )
    total = _sum_by_row(row_of, kilograms, n)
    dark_kg = _sum_by_row(row_of, np.where(dark, kilograms, 0.0), n)
    return {
        "malt_kg_l": total / litres,
        "dark_malt_share": np.where(total > 0, dark_kg / np.maximum(total, 1e-9), 0.0),
        "malts": _sum_by_row(row_of, np.ones(len(row_of)), n),
    }


def _yeast_columns(beers: pd.DataFrame) -> dict[str, np.ndarray]:
    yeasts = beers["yeast"].fillna("")
    return {
        f"yeast_{family}": _map_distinct(
            yeasts, lambda y, words=words: any(w in y.lower() for w in words), float
        )
        for family, words in YEAST_FAMILIES.items()
    }


def _map_distinct(values: pd.Series, function: Any, dtype: type) -> np.ndarray:
    """``function`` of each value, computed once per distinct value (a batch repeats the same
    varieties, malts and yeasts many times); None becomes NaN for float results."""
    import numpy as np
    import pandas as pd

    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    results = [function(str(value)) for value in distinct]
    if dtype is float:
        table = np.asarray([np.nan if r is None else r for r in results], dtype=float)
    else:
        table = np.asarray(results, dtype=dtype)
    mapped: np.ndarray = table[codes] if len(distinct) else np.empty(0, dtype=dtype)
    return mapped
