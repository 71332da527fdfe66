"""Turn the messy values of DIY Dog recipes into normalized ones.

The Punk API writes hop additions as free text ('start', 'Flame Out', 'Dry Hop', 'fv', '70',
'Dry Hop, at Day 8', 'WHP', …), amounts in several units, lists non-hops (coffee, honey, fruit…)
among the hops, and sometimes states the alpha acid in the attribute ('10% Alpha'). The rules below
are general (keywords and numbers, not a lookup of the spellings in one edition) and are documented
value by value in docs/normalization.md.

Stages: ``mash``, ``first-wort``, ``boil``, ``whirlpool``, ``dry-hop``, ``other``. ``boil_minutes``
is the time a hop spends in the boiling wort (None where it does not boil: mash, dry hop, other).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

DEFAULT_BOIL_MINUTES = 60.0
MAX_BOIL_MINUTES = 240.0
# An IBU far above what hops can give (about 120 is the solubility limit; DIY Dog's highest real
# claims are in the low hundreds) is flagged, not dropped.
IMPLAUSIBLE_IBU = 300.0

STAGES = ("mash", "first-wort", "boil", "whirlpool", "dry-hop", "other")
ATTRIBUTES = ("bittering", "flavour", "aroma", "twist", "other")

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_MINUTES = re.compile(rf"^(?:boil\s*)?@?\s*{_NUMBER}\s*(?:m|min|mins|minute|minutes)?\.?$")
_EMBEDDED_MINUTES = re.compile(rf"{_NUMBER}\s*(?:m|min|mins|minute|minutes)\b")
_ALPHA = re.compile(
    rf"{_NUMBER}\s*%?\s*(?:alpha|aa\b|a\.a\.)|(?:alpha(?:\s*acids?)?|aa)\s*[:=]?\s*{_NUMBER}\s*%"
)

# Keyword rules, checked in this order on the cleaned text; the first that matches wins.
_STAGE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "dry-hop",
        (
            "dry",
            "dh",
            "fv",
            "fermenter",
            "fermentor",
            "fermentation",
            "secondary",
            "maturation",
            "conditioning",
            "day",
            "days",
            "cask",
            "keg",
            "bright",
        ),
    ),
    ("first-wort", ("first wort", "fwh")),
    ("mash", ("mash",)),
    ("whirlpool", ("whirlpool", "whp", "wp", "hop stand", "hopstand", "steep")),
    ("flame-out", ("flame out", "flameout", "knockout", "knock out", "end", "finish", "last")),
    ("middle", ("middle", "mid", "half")),
    ("start", ("start", "kettle", "boil", "bittering", "beginning", "begin", "first")),
)

# Words that make an ingredient of the hops list a non-hop. Substrings are safe inside longer
# words; whole words are matched on word boundaries (so 'Mandarina Bavaria' stays a hop).
_NON_HOP_SUBSTRINGS = (
    "coffee",
    "honey",
    "ginger",
    "orange",
    "lemon",
    "peel",
    "zest",
    "juice",
    "concentrate",
    "puree",
    "berr",
    "cherr",
    "apricot",
    "peach",
    "plum",
    "mango",
    "pineapple",
    "tangerine",
    "grapefruit",
    "coconut",
    "vanilla",
    "cacao",
    "cacoa",
    "cocoa",
    "chocolate",
    "cinnamon",
    "cardamo",
    "coriander",
    "nutmeg",
    "clove",
    "anis",
    "pepper",
    "chill",
    "chili",
    "habanero",
    "habenero",
    "jalapeno",
    "chipotle",
    "juniper",
    "rosemary",
    "jasmine",
    "elderflower",
    "heather",
    "lavender",
    "hibiscus",
    "sugar",
    "muscavado",
    "muscovado",
    "demerara",
    "syrup",
    "lactose",
    "marshmallow",
    "sodium",
    "guarana",
    "kola",
    "poppy",
    "husk",
    "cascara",
    "seaweed",
    "spruce",
    "lemongrass",
    "yuzu",
    "bergamot",
    "pumpkin",
    "fruit",
    "spice",
    "strawberr",
    "currant",
    "whisky",
    "whiskey",
    "bourbon",
    "chips",
    "toast",
)
_NON_HOP_WORDS = re.compile(
    r"\b(?:tea|oak|wood|salt|milk|lime|bay|leaves|leaf|seeds?|nibs|powder|mandarin|apple|"
    r"cherry|rum|wine|sherry|brett|yeast)\b"
)


@lru_cache(maxsize=8192)
def _clean_text(text: str) -> str:
    """Lower case, accents removed, punctuation turned into single spaces.

    Cached: the same few units and spellings recur on every record of the delivery hot path.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z0-9.,%@ ]+", " ", ascii_text.lower()).split())


def _to_float(number: str) -> float:
    return float(number.replace(",", "."))


def _has_keyword(text: str, keyword: str) -> bool:
    return re.search(rf"\b{re.escape(keyword)}\b", text) is not None


@lru_cache(maxsize=4096)
def _stage_keyword(text: str) -> str | None:
    for stage, keywords in _STAGE_KEYWORDS:
        if any(_has_keyword(text, keyword) for keyword in keywords):
            return stage
    return None


@lru_cache(maxsize=4096)
def addition_minutes(add: str) -> float | None:
    """Minutes before the end of the boil when ``add`` is a time ('60', '10 min', '@15'), else None."""
    text = _clean_text(add)
    match = _MINUTES.match(text)
    if match is None:
        return None
    minutes = _to_float(match.group(1))
    return minutes if 0 <= minutes <= MAX_BOIL_MINUTES else None


def boil_length_minutes(adds: Iterable[str]) -> float:
    """The boil's length for a recipe: 60 minutes unless a timed addition says it is longer."""
    timed = [m for m in (addition_minutes(add) for add in adds) if m is not None]
    return max([DEFAULT_BOIL_MINUTES, *timed])


@lru_cache(maxsize=4096)
def normalize_stage(
    add: str, boil_minutes_total: float = DEFAULT_BOIL_MINUTES
) -> tuple[str, float | None]:
    """``(stage, boil_minutes)`` for one hop addition's ``add`` text.

    Timed additions ('60', '10 min') boil that long; 'start'/'kettle' boil the whole boil,
    'middle' half of it, 'end'/'flame out'/'0' and whirlpool additions are post-boil hot-side
    additions with 0 boil minutes ('end' and 'flame out' are in the kettle: stage ``boil``).
    Dry hop, FV, 'Day 8', secondary, maturation: ``dry-hop``. Unrecognised text: ``other``.
    """
    minutes = addition_minutes(add)
    if minutes is not None:
        return "boil", minutes
    text = _clean_text(add)
    keyword = _stage_keyword(text)
    if keyword == "start":
        return "boil", boil_minutes_total
    if keyword == "middle":
        return "boil", boil_minutes_total / 2
    if keyword == "flame-out":
        return "boil", 0.0
    if keyword == "whirlpool":
        return "whirlpool", 0.0
    if keyword == "first-wort":
        return "first-wort", boil_minutes_total
    if keyword in ("dry-hop", "mash"):
        return keyword, None
    embedded = _EMBEDDED_MINUTES.search(text)
    if embedded is not None and _to_float(embedded.group(1)) <= MAX_BOIL_MINUTES:
        return "boil", _to_float(embedded.group(1))
    return "other", None


@lru_cache(maxsize=1024)
def normalize_attribute(attribute: str) -> str:
    """'Bittering', 'bitter', 'Bitering' → ``bittering``; 'Aroma', ' aroma' → ``aroma``; …"""
    text = _clean_text(attribute)
    if text.startswith("bit"):
        return "bittering"
    if text.startswith("fla"):
        return "flavour"
    if text.startswith("aro"):
        return "aroma"
    if text.startswith("twist"):
        return "twist"
    return "other"


@lru_cache(maxsize=1024)
def alpha_from_attribute(attribute: str) -> float | None:
    """The alpha acid in percent when the attribute states it ('10% Alpha' → 10.0), else None."""
    match = _ALPHA.search(_clean_text(attribute))
    if match is None:
        return None
    value = _to_float(match.group(1) or match.group(2))
    return value if 0 < value <= 30 else None


@lru_cache(maxsize=4096)
def is_hop(name: str) -> bool:
    """False for the non-hops listed among the hops (coffee, honey, fruit, spices, oak chips…)."""
    text = _clean_text(name)
    if any(word in text for word in _NON_HOP_SUBSTRINGS):
        return False
    return _NON_HOP_WORDS.search(text) is None


_GRAMS_PER_UNIT = {
    "g": 1.0,
    "gram": 1.0,
    "grams": 1.0,
    "gr": 1.0,
    "kg": 1000.0,
    "kilogram": 1000.0,
    "kilograms": 1000.0,
    "kgs": 1000.0,
    "mg": 0.001,
    "milligram": 0.001,
    "milligrams": 0.001,
    "oz": 28.349523125,
    "ounce": 28.349523125,
    "ounces": 28.349523125,
    "lb": 453.59237,
    "lbs": 453.59237,
    "pound": 453.59237,
    "pounds": 453.59237,
    # Liquids (extracts, juices) are taken at the density of water: 1 g per ml.
    "ml": 1.0,
    "millilitre": 1.0,
    "milliliter": 1.0,
    "millilitres": 1.0,
    "milliliters": 1.0,
    "l": 1000.0,
    "litre": 1000.0,
    "liter": 1000.0,
    "litres": 1000.0,
    "liters": 1000.0,
}


def grams(value: float | None, unit: str) -> float | None:
    """An amount in grams; None for a missing value, a negative one or a unit without a mass
    ('total', 'pieces')."""
    if value is None or value < 0:
        return None
    factor = _GRAMS_PER_UNIT.get(_clean_text(unit).rstrip("."))
    return None if factor is None else float(value) * factor


def kilograms(value: float | None, unit: str) -> float | None:
    """An amount in kilograms (see ``grams``)."""
    amount = grams(value, unit)
    return None if amount is None else amount / 1000.0


_LITRES_PER_UNIT = {
    "l": 1.0,
    "litre": 1.0,
    "litres": 1.0,
    "liter": 1.0,
    "liters": 1.0,
    "ml": 0.001,
    "millilitres": 0.001,
    "milliliters": 0.001,
    "gallon": 3.785411784,
    "gallons": 3.785411784,
    "gal": 3.785411784,
    "us gallon": 3.785411784,
    "us gallons": 3.785411784,
}


def litres(value: float | None, unit: str) -> float | None:
    """A volume in litres; None when missing, not positive, or in an unknown unit."""
    if value is None or value <= 0:
        return None
    factor = _LITRES_PER_UNIT.get(_clean_text(unit).rstrip("."))
    return None if factor is None else float(value) * factor


def ibu_flag(ibu: float | None, target_og: float | None) -> str | None:
    """Why an IBU must not be trusted as a bitterness, or None when it can be.

    'missing' when absent; 'equals_target_og' for the entry error where the target OG was copied
    into the IBU field (beers 137 and 185); 'implausible' above ``IMPLAUSIBLE_IBU``.
    """
    if ibu is None:
        return "missing"
    if target_og is not None and target_og > 900 and abs(ibu - target_og) < 0.5:
        return "equals_target_og"
    if ibu > IMPLAUSIBLE_IBU or ibu < 0:
        return "implausible"
    return None


class HopFacts(NamedTuple):
    """Everything normalized about one hop spelling (fields named as hop_additions' columns)."""

    hop_name: str
    stage: str
    boil_minutes: float | None
    attribute: str
    alpha_acid_pct: float | None
    is_hop: bool
    grams_per_unit: float | None


@lru_cache(maxsize=16384)
def hop_facts(name: str, add: str, attribute: str, unit: str, boil_total: float) -> HopFacts:
    """The normalized name, stage, boil minutes, attribute, stated alpha acid, is-a-hop and grams
    per unit of the amount of one hop addition, in a recipe whose boil lasts ``boil_total``."""
    stage, minutes = normalize_stage(add, boil_total)
    return HopFacts(
        name.strip(),
        stage,
        minutes,
        normalize_attribute(attribute),
        alpha_from_attribute(attribute),
        is_hop(name),
        grams(1.0, unit),
    )
