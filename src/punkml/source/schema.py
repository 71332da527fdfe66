"""pydantic v2 models of a Punk API v2 beer: every field the API serves.

Numbers the dataset leaves empty are optional (``None``); unknown extra fields are ignored so that
newer DIY Dog editions still validate. ``validate_beer`` turns a validation failure into a
``SchemaError`` whose message names the field path (``ingredients.hops.2.amount.value``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from punkml.errors import SchemaError


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Quantity(_Model):
    """A value with its unit, as the API writes volumes and ingredient amounts."""

    value: float | None
    unit: str = Field(max_length=64)


class Temperature(_Model):
    value: float | None
    unit: str = Field(max_length=64)


class MashStep(_Model):
    temp: Temperature
    duration: float | None = None


class Fermentation(_Model):
    temp: Temperature


class Method(_Model):
    mash_temp: list[MashStep] = Field(default_factory=list, max_length=100)
    fermentation: Fermentation | None = None
    twist: str | None = Field(default=None, max_length=10_000)


class Malt(_Model):
    name: str = Field(max_length=500)
    amount: Quantity


class Hop(_Model):
    name: str = Field(max_length=500)
    amount: Quantity
    add: str = Field(max_length=200)
    attribute: str = Field(default="", max_length=200)


class Ingredients(_Model):
    malt: list[Malt] = Field(default_factory=list, max_length=200)
    hops: list[Hop] = Field(default_factory=list, max_length=200)
    yeast: str | None = Field(default=None, max_length=500)


class Beer(_Model):
    """One beer in the Punk API v2 shape."""

    id: int = Field(gt=0)
    name: str = Field(min_length=1, max_length=500)
    tagline: str = Field(default="", max_length=2_000)
    first_brewed: str = Field(default="", max_length=20)
    description: str = Field(default="", max_length=20_000)
    image_url: str | None = Field(default=None, max_length=2_000)
    abv: float | None = None
    ibu: float | None = None
    target_fg: float | None = None
    target_og: float | None = None
    ebc: float | None = None
    srm: float | None = None
    ph: float | None = None
    attenuation_level: float | None = None
    volume: Quantity
    boil_volume: Quantity
    method: Method
    ingredients: Ingredients
    food_pairing: list[str] = Field(default_factory=list, max_length=100)
    brewers_tips: str = Field(default="", max_length=20_000)
    contributed_by: str = Field(default="", max_length=500)


def field_path(location: tuple[int | str, ...]) -> str:
    """``("ingredients", "hops", 2, "name")`` → ``"ingredients.hops.2.name"``."""
    return ".".join(str(part) for part in location) or "<root>"


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming every failing field path and why."""
    parts = [f"{field_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
    return "; ".join(parts)


def validate_beer(payload: Any) -> Beer:
    """Validate one beer; raise ``SchemaError`` naming the field path on failure."""
    try:
        return Beer.model_validate(payload)
    except ValidationError as exc:
        beer_id = payload.get("id") if isinstance(payload, dict) else None
        where = f"beer {beer_id}" if beer_id is not None else "beer"
        raise SchemaError(f"{where} is invalid: {describe_validation_error(exc)}") from exc
