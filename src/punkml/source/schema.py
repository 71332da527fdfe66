"""The Punk API v2 beer, declared once as pydantic v2 typed dicts: every field the API serves.

Typed dicts validated by a pydantic ``TypeAdapter`` keep the validation in pydantic's compiled
core without building an object per nested value, which makes them several times faster than
``BaseModel`` trees on the ingestion hot path; the validated value is a plain dict in the Punk API
shape. Numbers the dataset leaves empty are optional (``None``); unknown extra fields are ignored so
that newer DIY Dog editions still validate; strings and lists are bounded; types are strict (a
number given as a string is an error, not coerced) and numbers finite. ``validate_beer`` turns a
failure into a ``SchemaError`` whose message names the field path (``ingredients.hops.2.amount.value``).
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from punkml.errors import SchemaError

ShortText = Annotated[str, Field(max_length=500)]
LongText = Annotated[str, Field(max_length=20_000)]
Number = float | None
# Strict: a string where a number belongs ("4.5") is a wrong type, not something to coerce; and
# numbers must be finite (pydantic's JSON parser would otherwise read NaN, Infinity and 1e400).
_STRICT = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)


@with_config(_STRICT)
class Quantity(TypedDict):
    """A value with its unit, as the API writes volumes and ingredient amounts."""

    value: Number
    unit: Annotated[str, Field(max_length=64)]


@with_config(_STRICT)
class MashStep(TypedDict):
    temp: Quantity
    duration: NotRequired[Number]


@with_config(_STRICT)
class Fermentation(TypedDict):
    temp: Quantity


@with_config(_STRICT)
class Method(TypedDict):
    mash_temp: NotRequired[Annotated[list[MashStep], Field(max_length=100)]]
    fermentation: NotRequired[Fermentation | None]
    twist: NotRequired[LongText | None]


@with_config(_STRICT)
class Malt(TypedDict):
    name: ShortText
    amount: Quantity


@with_config(_STRICT)
class Hop(TypedDict):
    name: ShortText
    amount: Quantity
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
    abv: NotRequired[Number]
    ibu: NotRequired[Number]
    target_fg: NotRequired[Number]
    target_og: NotRequired[Number]
    ebc: NotRequired[Number]
    srm: NotRequired[Number]
    ph: NotRequired[Number]
    attenuation_level: NotRequired[Number]
    volume: Quantity
    boil_volume: Quantity
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
