"""The Punk API v2 beer, declared once as pydantic v2 typed dicts: every field the API serves.

Typed dicts validated by a pydantic ``TypeAdapter`` keep the validation in pydantic's compiled
core without building an object per nested value, which makes them several times faster than
``BaseModel`` trees on the ingestion hot path; the validated value is a plain dict in the Punk API
shape. Numbers the dataset leaves empty are optional (``None``); unknown extra fields are ignored so
that newer DIY Dog editions still validate; strings and lists are bounded; types are strict (a
number given as a string is an error, not coerced) and numbers finite and within their plausible
range (``Bounds``, documented with their sources in docs/dataset.md). ``validate_beer`` turns a
failure into a ``SchemaError`` whose message names the field path (``ingredients.hops.2.amount.value``).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, NotRequired

import annotated_types
from pydantic import AfterValidator, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict, is_typeddict

from punkml.errors import SchemaError

ShortText = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=20_000)]
Unit = Annotated[str, Field(max_length=64)]
# Strict: a string where a number belongs ("4.5") is a wrong type, not something to coerce; and
# numbers must be finite (pydantic's JSON parser would otherwise read NaN, Infinity and 1e400).
_STRICT = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)


@dataclass(frozen=True)
class Bounds(annotated_types.GroupedMetadata):
    """The plausible range of a number (inclusive): values outside it are refused, naming the field.

    ``alternative`` is a second range for the same quantity written in another convention
    (gravities as 1.050 or as 1050). Bounds are wide on purpose: they refuse what no brewer and no
    typing error could mean (a negative amount, a volume of 1e-320 litres, a hop amount of 1e308
    grams) and keep the dataset's known entry errors, which the cleaning flags (``ibu_flag``).
    """

    low: float
    high: float
    unit: str
    why: str
    """The physical reason and the source of the bound (docs/dataset.md shows it)."""
    alternative: tuple[float, float] | None = None

    def __iter__(self) -> Iterator[Any]:
        # What pydantic applies: the hull of the ranges, and the gap between them when there are two.
        low, high = self.low, self.high
        if self.alternative is not None:
            low, high = min(low, self.alternative[0]), max(high, self.alternative[1])
        yield annotated_types.Ge(low)
        yield annotated_types.Le(high)
        if self.alternative is not None:
            yield AfterValidator(self.check)

    def contains(self, value: float) -> bool:
        ranges = [(self.low, self.high)]
        if self.alternative is not None:
            ranges.append(self.alternative)
        return any(low <= value <= high for low, high in ranges)

    def check(self, value: float) -> float:
        """``value`` if it is in range, else ``ValueError`` saying the range."""
        if not self.contains(value):
            raise ValueError(f"{value!r} is outside the plausible range {self.describe()}")
        return value

    def describe(self) -> str:
        """``"0 to 100 percent"``, ``"980 to 1250 or 0.98 to 1.25 (specific gravity)"``."""
        text = f"{_figure(self.low)} to {_figure(self.high)}"
        if self.alternative is not None:
            text += f" or {_figure(self.alternative[0])} to {_figure(self.alternative[1])}"
        return f"{text} {self.unit}"


def _figure(number: float) -> str:
    """``1000000`` → ``"1,000,000"``, ``0.98`` → ``"0.98"``."""
    return f"{int(number):,}" if float(number).is_integer() else f"{number:g}"


# The plausible ranges (docs/dataset.md explains each; tests/source/test_schema.py checks that
# every beer of the pinned dataset is inside them).
ABV = Bounds(0, 100, "percent", "alcohol by volume cannot exceed 100 %; the dataset's top is 55")
GRAVITY = Bounds(
    980,
    1250,
    "(specific gravity times 1000)",
    "water is 1.000; a fully fermented strong beer ends near 0.990 (ethanol is lighter than "
    "water) and worts above about 1.200 cannot be fermented by brewing yeast; the dataset writes "
    "1000-1157, recipe tools write 1.050",
    alternative=(0.98, 1.25),
)
IBU = Bounds(
    0,
    GRAVITY.high,
    "IBU",
    "iso-alpha acids stop dissolving near 100-120 IBU, but the dataset's known entry error, an OG "
    "copied into the IBU field (1085, 1157), must reach the cleaning to be flagged: the bound is "
    "the gravity's",
)
EBC = Bounds(
    0,
    1000,
    "EBC",
    "the darkest roasted malts are about 1,500 EBC, beers far below; the dataset's top is 600",
)
SRM = Bounds(0, 500, "SRM", "SRM is about EBC / 1.97 (the EBC bound); the dataset's top is 305")
PH = Bounds(
    0,
    100,
    "pH",
    "the pH scale is 0-14 and beer is near 4.2; one dataset beer (317) has 79, an entry error "
    "that is kept as it is, so only negative values and values beyond 100 are refused",
)
ATTENUATION = Bounds(
    0,
    120,
    "percent",
    "apparent attenuation passes 100 % when the beer ends below 1.000 (dataset: up to 102.3)",
)
VOLUME = Bounds(
    0.1,
    1_000_000,
    "in the stated unit",
    "from a tenth of a litre or gallon (a test batch) to a million litres (10,000 hl, beyond the "
    "largest brewery vessels) or millilitres; the dataset's batches are 20 l (boil 25 l)",
)
AMOUNT = Bounds(
    0,
    1_000_000,
    "in the stated unit",
    "an amount is never negative; a million grams of hops or kilograms of malt is beyond any "
    "batch the volume bound admits; the dataset's tops are 3,000 g of hops and 535 kg of malt",
)
TEMPERATURE = Bounds(
    -20,
    220,
    "°C or °F",
    "from a cold crash below freezing to boiling water in °F (212); the dataset's mash and "
    "fermentation temperatures are 9-99 °C",
)
STEP_MINUTES = Bounds(
    0, 1440, "minutes", "a mash step of a day at most; the dataset's longest is 175 minutes"
)


@with_config(_STRICT)
class Volume(TypedDict):
    """A batch or boil volume with its unit."""

    value: Annotated[float, VOLUME] | None
    unit: Unit


@with_config(_STRICT)
class Amount(TypedDict):
    """An ingredient's amount with its unit."""

    value: Annotated[float, AMOUNT] | None
    unit: Unit


@with_config(_STRICT)
class Temperature(TypedDict):
    value: Annotated[float, TEMPERATURE] | None
    unit: Unit


@with_config(_STRICT)
class MashStep(TypedDict):
    temp: Temperature
    duration: NotRequired[Annotated[float, STEP_MINUTES] | None]


@with_config(_STRICT)
class Fermentation(TypedDict):
    temp: Temperature


@with_config(_STRICT)
class Method(TypedDict):
    mash_temp: NotRequired[Annotated[list[MashStep], Field(max_length=100)]]
    fermentation: NotRequired[Fermentation | None]
    twist: NotRequired[LongText | None]


@with_config(_STRICT)
class Malt(TypedDict):
    name: ShortText
    amount: Amount


@with_config(_STRICT)
class Hop(TypedDict):
    name: ShortText
    amount: Amount
    add: Annotated[str, Field(max_length=200)]
    # None in newer DIY Dog recipes, where a hop has no bittering/aroma role written down.
    attribute: NotRequired[Annotated[str, Field(max_length=200)] | None]


@with_config(_STRICT)
class Ingredients(TypedDict):
    malt: NotRequired[Annotated[list[Malt], Field(max_length=200)]]
    hops: NotRequired[Annotated[list[Hop], Field(max_length=200)]]
    yeast: NotRequired[ShortText | None]


@with_config(_STRICT)
class Beer(TypedDict):
    """One beer in the Punk API v2 shape."""

    id: Annotated[int, Field(gt=0, lt=2**53)]
    name: Annotated[str, Field(min_length=1, max_length=500)]
    tagline: NotRequired[Annotated[str, Field(max_length=2_000)]]
    first_brewed: NotRequired[Annotated[str, Field(max_length=20)]]
    description: NotRequired[LongText]
    image_url: NotRequired[Annotated[str, Field(max_length=2_000)] | None]
    abv: NotRequired[Annotated[float, ABV] | None]
    ibu: NotRequired[Annotated[float, IBU] | None]
    target_fg: NotRequired[Annotated[float, GRAVITY] | None]
    target_og: NotRequired[Annotated[float, GRAVITY] | None]
    ebc: NotRequired[Annotated[float, EBC] | None]
    srm: NotRequired[Annotated[float, SRM] | None]
    ph: NotRequired[Annotated[float, PH] | None]
    attenuation_level: NotRequired[Annotated[float, ATTENUATION] | None]
    volume: Volume
    boil_volume: Volume
    method: Method
    ingredients: Ingredients
    food_pairing: NotRequired[Annotated[list[ShortText], Field(max_length=100)]]
    brewers_tips: NotRequired[LongText]
    contributed_by: NotRequired[ShortText]


BEER_ADAPTER: TypeAdapter[Beer] = TypeAdapter(Beer)


def field_path(location: tuple[int | str, ...]) -> str:
    """``("ingredients", "hops", 2, "name")`` → ``"ingredients.hops.2.name"``."""
    return ".".join(str(part) for part in location) or "<root>"


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every failing field path and why (at most five of them)."""
    errors = exc.errors()
    parts = [f"{field_path(err['loc'])}: {err['msg']}" for err in errors[:5]]
    if len(errors) > 5:
        parts.append(f"… and {len(errors) - 5} more")
    return "; ".join(parts)


def _invalid(exc: ValidationError, beer_id: Any) -> SchemaError:
    where = f"beer {beer_id}" if isinstance(beer_id, int) else "beer"
    return SchemaError(f"{where} is invalid: {describe_validation_error(exc)}")


def validate_beer(payload: Any) -> Beer:
    """Validate one beer given as a dict; raise ``SchemaError`` naming the field path."""
    try:
        return BEER_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        beer_id = payload.get("id") if isinstance(payload, dict) else None
        raise _invalid(exc, beer_id) from exc


def validate_beer_json(payload: bytes | str) -> Beer:
    """Validate one beer given as JSON text (the fast path for stream records)."""
    try:
        return BEER_ADAPTER.validate_json(payload)
    except ValidationError as exc:
        raise _invalid(exc, None) from exc


def beer_json_schema() -> dict[str, Any]:
    """The JSON Schema of a beer (for docs and the OpenAPI document)."""
    return BEER_ADAPTER.json_schema()


def plausible_ranges() -> dict[str, Bounds]:
    """Every bounded number of a beer by field path (``ingredients.hops.*.amount.value``), in
    schema order: for docs, error messages and callers that check values themselves."""
    found: dict[str, Bounds] = {}
    _collect_bounds(Beer, "", found)
    return found


def _collect_bounds(hint: Any, path: str, found: dict[str, Bounds]) -> None:
    origin = typing.get_origin(hint)
    if origin in (NotRequired, typing.Union) or isinstance(hint, type(int | None)):
        for arg in typing.get_args(hint):
            _collect_bounds(arg, path, found)
    elif origin is Annotated:
        base, *extras = typing.get_args(hint)
        for extra in extras:
            if isinstance(extra, Bounds):
                found[path] = extra
        _collect_bounds(base, path, found)
    elif origin is list:
        _collect_bounds(typing.get_args(hint)[0], f"{path}.*", found)
    elif is_typeddict(hint):
        for name, field_hint in typing.get_type_hints(hint, include_extras=True).items():
            _collect_bounds(field_hint, f"{path}.{name}" if path else name, found)
