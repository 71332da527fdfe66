"""Recipes as brewers have them: Punk API v2 JSON or BeerXML 1.0, completed with documented defaults.

    batch = read_recipes(body)          # bytes; the format is chosen by content, not by name
    batch = read_recipe_file(path)
    batch.recipes   # [Recipe(index, beer, warnings)]: beers in the Punk API v2 shape
    batch.refused   # [RefusedRecipe(index, problems)]: each problem names its field

A recipe needs only its hops, each with a name, an amount and when it goes in. Everything else is
optional (docs/recipes.md): no id numbers the recipe by position; no name names it
"Recipe N"; no batch volume is 20 l and no boil volume 1.25 x the batch (25 l for 20 l, as every
DIY Dog recipe); no OG is estimated from the ABV (and the FG, or the attenuation, else
``ASSUMED_ATTENUATION``), or else the model's default OG; ``null`` is accepted for a hop's
attribute, the yeast, the malts and the method. Each default or fallback that touches the
prediction (volumes, gravity, an unknown hop variety, an amount without a mass, an addition time
the model cannot place) is reported as a warning of that recipe.

BeerXML 1.0 (http://www.beerxml.com/beerxml.htm, "BeerXML: An XML Standard for Beer Brewing Data",
revision 1.0J): ``<RECIPES><RECIPE>…`` with ``BATCH_SIZE``/``BOIL_SIZE`` in litres, ``OG``/``FG``
as specific gravity, and per ``HOP`` its ``AMOUNT`` in kilograms, ``USE`` (Boil, Dry Hop, Mash,
First Wort, Aroma), ``TIME`` in minutes and ``ALPHA`` in percent. A stated alpha acid wins over the
variety table. The XML is parsed by the standard library behind defusedxml: no DTD (hence no
entity expansion and no external entities), at most ``MAX_BEERXML_BYTES``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeGuard
from xml.etree.ElementTree import Element, ParseError

import orjson
from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import fromstring as parse_xml
from pydantic import ValidationError

from punkml.errors import RecipeError, TooManyRecipesError
from punkml.ml.alpha import default_table
from punkml.ml.brewing import (
    ABV_PER_GRAVITY_POINT,
    BOIL_VOLUME_RATIO,
    DEFAULT_OG,
    DEFAULT_VOLUME_LITRES,
)
from punkml.pipeline.normalize import (
    alpha_from_attribute,
    boil_length_minutes,
    grams,
    is_hop,
    litres,
    normalize_stage,
)
from punkml.source.schema import BEER_ADAPTER

MAX_RECIPE_FILE_BYTES = 256 * 1024 * 1024
# ElementTree holds the whole document as objects (about ten times its size in memory).
MAX_BEERXML_BYTES = 16 * 1024 * 1024
MAX_RECIPES = 100_000
# Apparent attenuation assumed to estimate OG from ABV alone: the middle of the 70-80 % most
# ale yeasts reach (the DIY Dog recipes' median attenuation_level is 81.5 %).
ASSUMED_ATTENUATION = 0.75
# Worts above about 1.200 cannot be fermented by brewing yeast: a higher estimate from the ABV
# means the ABV came another way (End of History's 55 % was freeze-concentrated).
MAX_ESTIMATED_OG_POINTS = 200.0
# BeerXML hop USE (lower case) → the Punk API ``add`` text the cleaning understands; a boil
# addition becomes its TIME in minutes. "Aroma" is added after the boil (steeped).
BEERXML_HOP_USES = {
    "boil": "Boil",
    "first wort": "First Wort",
    "aroma": "Whirlpool",
    "dry hop": "Dry Hop",
    "mash": "Mash",
}
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")

FieldPath = tuple[str | int, ...]
Format = Literal["json", "beerxml"]


@dataclass(frozen=True)
class Problem:
    """Why a recipe is refused: the field (a path inside the recipe) and the reason."""

    path: FieldPath
    message: str
    kind: str = "value_error"


@dataclass(frozen=True)
class Recipe:
    """A usable recipe: its position in the input, the completed beer, the defaults it used."""

    index: int
    beer: dict[str, Any]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefusedRecipe:
    """A recipe that cannot be used, with every problem found."""

    index: int
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class RecipeBatch:
    """What a file or a body held: the usable recipes and the refused ones, in input order."""

    format: Format
    single: bool  # one JSON object rather than a list: field paths need no recipe index
    recipes: list[Recipe]
    refused: list[RefusedRecipe]

    def __len__(self) -> int:
        return len(self.recipes) + len(self.refused)

    @property
    def beers(self) -> list[dict[str, Any]]:
        return [recipe.beer for recipe in self.recipes]

    def field(self, index: int, path: FieldPath) -> str:
        """``recipes[2].ingredients.hops[0].amount.value`` (without the index for one object)."""
        inner = render_path(path)
        if self.single:
            return inner or "recipe"
        return f"recipes[{index}]" + (f".{inner}" if inner else "")

    def refusals(self) -> list[str]:
        """One line per problem of each refused recipe: ``<field>: <reason>``."""
        return [
            f"{self.field(refused.index, problem.path)}: {problem.message}"
            for refused in self.refused
            for problem in refused.problems
        ]


def render_path(path: FieldPath) -> str:
    """``("ingredients", "hops", 0, "amount")`` → ``"ingredients.hops[0].amount"``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def read_recipe_file(path: Path) -> RecipeBatch:
    """The recipes of a JSON or BeerXML file (``RecipeError`` when the file cannot be read)."""
    if not path.exists():
        raise RecipeError(f"recipe file not found: {path}")
    if path.is_dir():
        raise RecipeError(f"{path} is a directory: give a JSON or BeerXML recipe file")
    too_large = f"a recipe file may hold at most {MAX_RECIPE_FILE_BYTES} bytes"
    try:
        size = path.stat().st_size
        if size > MAX_RECIPE_FILE_BYTES:
            raise RecipeError(f"{path} is {size} bytes; {too_large}")
        # Read with a bound: a pipe or a device (/dev/stdin works) has no size to check first.
        with path.open("rb") as handle:
            data = handle.read(MAX_RECIPE_FILE_BYTES + 1)
    except OSError as exc:
        raise RecipeError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    if len(data) > MAX_RECIPE_FILE_BYTES:
        raise RecipeError(f"{path} holds more than {MAX_RECIPE_FILE_BYTES} bytes; {too_large}")
    try:
        return read_recipes(data)
    except RecipeError as exc:
        raise RecipeError(f"{path}: {exc}") from exc


def read_recipes(data: bytes, *, max_recipes: int = MAX_RECIPES) -> RecipeBatch:
    """The recipes of a JSON document (one beer or a list) or a BeerXML document, at most
    ``max_recipes`` of them (``TooManyRecipesError`` before any is validated)."""
    if data.startswith(UTF16_BOMS):  # some Windows brewing programs write XML in UTF-16
        return _read_beerxml(data, max_recipes)
    text = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        return _read_beerxml(text, max_recipes)
    if text.startswith((b"{", b"[")):
        return _read_json(text, max_recipes)
    if not text:
        raise RecipeError("empty: expected a JSON recipe (or a list of them) or a BeerXML file")
    raise RecipeError(
        "neither JSON (a recipe object or a list, starting with { or [) nor BeerXML "
        "(starting with <)"
    )


def _read_json(text: bytes, max_recipes: int) -> RecipeBatch:
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecipeError(f"not valid JSON: {exc}") from exc
    single = isinstance(payload, dict)
    items: list[Any] = [payload] if single else payload
    if not items:
        raise RecipeError("an empty list: there is no recipe to read")
    _check_count(len(items), max_recipes)
    return _batch("json", single, [(index, item, []) for index, item in enumerate(items)])


def _check_count(count: int, max_recipes: int) -> None:
    if count > max_recipes:
        raise TooManyRecipesError(f"{count} recipes; at most {max_recipes} are read at once")


def _batch(
    format: Format, single: bool, items: list[tuple[int, Any, list[Problem]]]
) -> RecipeBatch:
    recipes: list[Recipe] = []
    refused: list[RefusedRecipe] = []
    for index, raw, problems in items:
        outcome = complete_recipe(index, raw, problems)
        if isinstance(outcome, Recipe):
            recipes.append(outcome)
        else:
            refused.append(outcome)
    return RecipeBatch(format=format, single=single, recipes=recipes, refused=refused)


def complete_recipe(
    index: int, raw: Any, problems: list[Problem] | None = None
) -> Recipe | RefusedRecipe:
    """Fill the defaults of one recipe dict and validate it against the Punk API v2 schema.

    ``problems`` found earlier (while converting BeerXML) refuse the recipe without validation.
    """
    problems = list(problems or [])
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        return RefusedRecipe(
            index, (Problem((), f"expected a recipe object, not {kind}", "type_error"),)
        )
    beer, warnings = _with_defaults(raw, index, problems)
    if not problems:
        try:
            BEER_ADAPTER.validate_python(beer)
        except ValidationError as exc:
            problems += [
                Problem(tuple(err["loc"]), err["msg"], err["type"]) for err in exc.errors()
            ]
    if problems:
        return RefusedRecipe(index, tuple(problems))
    return Recipe(index, beer, tuple(warnings + _hop_warnings(beer)))


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _missing_quantity(quantity: Any) -> bool:
    return quantity is None or (isinstance(quantity, dict) and quantity.get("value") is None)


def _with_defaults(
    raw: dict[str, Any], index: int, problems: list[Problem]
) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``raw`` with the documented defaults filled in, and the warnings they raise."""
    beer = dict(raw)
    warnings: list[str] = []
    if beer.get("id") is None:
        beer["id"] = index + 1
    if beer.get("name") in (None, ""):
        beer["name"] = f"Recipe {index + 1}"
    batch_litres = _volume(beer, "volume", problems)
    if batch_litres is None and _missing_quantity(beer.get("volume")):
        beer["volume"] = {"value": DEFAULT_VOLUME_LITRES, "unit": "litres"}
        warnings.append(f"volume: not given, {DEFAULT_VOLUME_LITRES:g} litres assumed")
    _volume(beer, "boil_volume", problems)
    if _missing_quantity(beer.get("boil_volume")):
        boil = round((batch_litres or DEFAULT_VOLUME_LITRES) * BOIL_VOLUME_RATIO, 3)
        beer["boil_volume"] = {"value": boil, "unit": "litres"}
        warnings.append(
            f"boil_volume: not given, {boil:g} litres assumed ({BOIL_VOLUME_RATIO:g} x the batch)"
        )
    method = beer.get("method")
    if method is None:
        beer["method"] = {}
    elif isinstance(method, dict) and "mash_temp" in method and method["mash_temp"] is None:
        beer["method"] = {key: value for key, value in method.items() if key != "mash_temp"}
    _fill_ingredients(beer, problems, warnings)
    warnings += _fill_gravity(beer)
    return beer, warnings


def _volume(beer: dict[str, Any], field: str, problems: list[Problem]) -> float | None:
    """The volume ``field`` in litres when usable; a problem when given but not a volume."""
    quantity = beer.get(field)
    if not isinstance(quantity, dict) or not _is_number(quantity.get("value")):
        return None  # missing (a default follows) or of the wrong type (the schema says so)
    value, unit = quantity["value"], quantity.get("unit")
    volume = litres(value, unit) if isinstance(unit, str) else None
    if volume is None:
        problems.append(
            Problem(
                (field, "unit" if value > 0 else "value"),
                f"{value!r} {unit!r} is not a positive volume in litres, millilitres or gallons",
            )
        )
    return volume


def _fill_ingredients(beer: dict[str, Any], problems: list[Problem], warnings: list[str]) -> None:
    ingredients = beer.get("ingredients")
    hops_needed = "missing: a recipe needs its hops (each with a name, an amount and when added)"
    if ingredients is None:
        problems.append(Problem(("ingredients", "hops"), hops_needed, "missing"))
        return
    if not isinstance(ingredients, dict):
        return  # the schema names the wrong type
    ingredients = dict(ingredients)
    if ingredients.get("malt", []) is None:
        del ingredients["malt"]
    hops = ingredients.get("hops")
    if hops is None:
        problems.append(Problem(("ingredients", "hops"), hops_needed, "missing"))
    elif isinstance(hops, list):
        ingredients["hops"] = [_hop_with_defaults(j, hop, warnings) for j, hop in enumerate(hops)]
    beer["ingredients"] = ingredients


def _hop_with_defaults(position: int, hop: Any, warnings: list[str]) -> Any:
    """A hop whose amount is a bare number, or lacks its unit, in grams."""
    if not isinstance(hop, dict):
        return hop
    hop = dict(hop)
    amount = hop.get("amount")
    if _is_number(amount):
        hop["amount"] = {"value": amount, "unit": "grams"}
    elif (
        isinstance(amount, dict) and amount.get("unit") is None and _is_number(amount.get("value"))
    ):
        hop["amount"] = {**amount, "unit": "grams"}
        warnings.append(f"hops[{position}]: amount has no unit: grams assumed")
    return hop


def _fill_gravity(beer: dict[str, Any]) -> list[str]:
    """Estimate a missing OG from the ABV (see the module docstring); the warning it raises."""
    if beer.get("target_og") is not None:
        return []
    abv, fg = beer.get("abv"), beer.get("target_fg")
    if _is_number(abv) and _is_number(fg):
        return ["target_og: not given, estimated from target_fg and abv"]
    if _is_number(abv) and fg is None:
        stated = beer.get("attenuation_level")
        attenuation = (
            stated / 100 if _is_number(stated) and 30 <= stated <= 100 else ASSUMED_ATTENUATION
        )
        points = 1000.0 * abv / ABV_PER_GRAVITY_POINT / attenuation
        if points > MAX_ESTIMATED_OG_POINTS:
            return [
                f"target_og: not given, and abv {abv:g}% is beyond what a fermented wort "
                f"reaches (freeze-concentrated?): {DEFAULT_OG:.3f} assumed"
            ]
        beer["target_og"] = round(1000.0 + points, 1)
        return [
            f"target_og: not given, {beer['target_og']:g} estimated from abv {abv:g}% at "
            f"{attenuation:.0%} attenuation"
        ]
    return [f"target_og: not given (nor abv), {DEFAULT_OG:.3f} assumed"]


def _hop_warnings(beer: dict[str, Any]) -> list[str]:
    """Fallbacks the model takes for the hops of a validated beer."""
    hops = beer["ingredients"].get("hops", [])
    if not hops:
        return ["hops: none listed: the prediction rests on the rest of the recipe"]
    table = default_table()
    boil_total = boil_length_minutes(hop["add"] for hop in hops)
    warnings = []
    for position, hop in enumerate(hops):
        name, amount, add = hop["name"], hop["amount"], hop["add"]
        where = f"hops[{position}] {name!r}"
        known = table.lookup(name) is not None
        if not known and not is_hop(name):
            continue  # coffee, fruit, oak chips…: no alpha acid, no bitterness to place
        if not known and alpha_from_attribute(hop.get("attribute") or "") is None:
            warnings.append(
                f"{where}: unknown hop variety: alpha acid {table.default_pct:g}% assumed "
                "(state it: attribute '12% Alpha', or BeerXML ALPHA)"
            )
        if grams(amount["value"], amount["unit"]) is None:
            warnings.append(
                f"{where}: amount {amount['value']!r} {amount['unit']!r} is not a mass "
                "(g, kg, oz, lb, ml): counted as 0 g"
            )
        if normalize_stage(add, boil_total)[0] == "other":
            warnings.append(
                f"{where}: add {add!r} is neither boil minutes nor a stage (mash, first wort, "
                "boil, flame out, whirlpool, dry hop): not counted as boiled"
            )
    return warnings


# --- BeerXML -------------------------------------------------------------------------------


def _read_beerxml(text: bytes, max_recipes: int) -> RecipeBatch:
    if len(text) > MAX_BEERXML_BYTES:
        raise RecipeError(
            f"BeerXML of {len(text)} bytes; at most {MAX_BEERXML_BYTES} bytes are read"
        )
    root = _parse_beerxml(text)
    tag = _tag(root)
    if tag == "RECIPES":
        elements = _children(root, "RECIPE")
    elif tag == "RECIPE":
        elements = [root]
    else:
        raise RecipeError(
            f"BeerXML: the root element is <{root.tag}>; expected <RECIPES> (or one <RECIPE>)"
        )
    if not elements:
        raise RecipeError("BeerXML: <RECIPES> holds no <RECIPE>")
    _check_count(len(elements), max_recipes)
    items = []
    for index, element in enumerate(elements):
        problems: list[Problem] = []
        items.append((index, _beer_from_beerxml(element, index, problems), problems))
    return _batch("beerxml", False, items)


def _parse_beerxml(text: bytes) -> Element:
    """The document's root; refuses DTDs, entity declarations and external references."""
    try:
        return parse_xml(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as exc:
        raise RecipeError(
            "BeerXML: a document type declaration (<!DOCTYPE …>) is refused: BeerXML needs "
            "none, and a DTD can expand entities or fetch external files"
        ) from exc
    except EntitiesForbidden as exc:
        raise RecipeError("BeerXML: entity declarations are refused") from exc
    except ExternalReferenceForbidden as exc:
        raise RecipeError("BeerXML: external references are refused") from exc
    except DefusedXmlException as exc:
        raise RecipeError(f"BeerXML: refused: {exc}") from exc
    except ParseError as exc:
        raise RecipeError(f"BeerXML: not well-formed XML: {exc}") from exc


def _tag(element: Element) -> str:
    """The element's name without a namespace, upper case (some programs write lower case)."""
    return element.tag.rsplit("}", 1)[-1].upper() if isinstance(element.tag, str) else ""


def _children(element: Element | None, tag: str) -> list[Element]:
    return [] if element is None else [child for child in element if _tag(child) == tag]


def _fields(element: Element) -> dict[str, Element]:
    """A record's child elements by tag (the first of each), looked up once per record."""
    fields: dict[str, Element] = {}
    for child in element:
        fields.setdefault(_tag(child), child)
    return fields


def _text(fields: dict[str, Element], tag: str) -> str | None:
    child = fields.get(tag)
    text = (child.text or "").strip() if child is not None else ""
    return text or None


def _number(
    fields: dict[str, Element],
    tag: str,
    path: FieldPath,
    problems: list[Problem],
    *,
    display: bool = False,
) -> float | None:
    """A number tag; ``display`` tags (the spec's appendix: '5.2 %', '1.050 SG') may carry a
    unit after the number and are skipped, not refused, when unreadable."""
    text = _text(fields, tag)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        match = _LEADING_NUMBER.match(text) if display else None
        if match is not None:
            return float(match.group(1))
        if not display:
            problems.append(Problem((*path, tag), f"{text!r} is not a number"))
        return None
    if not math.isfinite(value):
        problems.append(Problem((*path, tag), f"{text!r} is not a finite number"))
        return None
    return value


def _gravity_points(specific_gravity: float | None) -> float | None:
    """1.050 → 1050.0, as the Punk API writes gravities (a value already in points is kept)."""
    if specific_gravity is None:
        return None
    return round(specific_gravity * 1000.0, 2) if specific_gravity < 2 else specific_gravity


def _beer_from_beerxml(element: Element, index: int, problems: list[Problem]) -> dict[str, Any]:
    """One ``<RECIPE>`` as a Punk API v2 beer (defaults come after, as for JSON)."""
    fields = _fields(element)
    number = lambda tag, **kw: _number(fields, tag, (), problems, **kw)  # noqa: E731
    beer: dict[str, Any] = {"id": index + 1, "name": _text(fields, "NAME"), "method": {}}
    for field, tag in (("volume", "BATCH_SIZE"), ("boil_volume", "BOIL_SIZE")):
        value = number(tag)
        if value is not None:
            beer[field] = {"value": value, "unit": "litres"}
    optional = {
        "target_og": _gravity_points(number("OG") or number("EST_OG", display=True)),
        "target_fg": _gravity_points(number("FG") or number("EST_FG", display=True)),
        "abv": number("ABV", display=True) or number("EST_ABV", display=True),
        "ibu": number("IBU", display=True),
    }
    beer.update({key: value for key, value in optional.items() if value is not None})
    hops_element = fields.get("HOPS")
    hops = [
        _hop_from_beerxml(hop, position, problems)
        for position, hop in enumerate(_children(hops_element, "HOP"))
    ]
    if hops_element is None:
        problems.append(
            Problem(("HOPS",), "missing: a recipe needs its hops (NAME, AMOUNT and USE)", "missing")
        )
    malts = []
    for position, fermentable in enumerate(_children(fields.get("FERMENTABLES"), "FERMENTABLE")):
        path: FieldPath = ("FERMENTABLES", "FERMENTABLE", position)
        malt = _fields(fermentable)
        kilograms = _number(malt, "AMOUNT", path, problems)
        name = _text(malt, "NAME") or f"Fermentable {position + 1}"
        malts.append({"name": name, "amount": {"value": kilograms, "unit": "kilograms"}})
    beer["ingredients"] = {"hops": hops, "malt": malts, "yeast": None}
    yeasts = fields.get("YEASTS")
    yeast_element = fields.get("YEAST") if yeasts is None else _fields(yeasts).get("YEAST")
    if yeast_element is not None:
        yeast = _fields(yeast_element)
        label = " ".join(
            part for part in (_text(yeast, "LABORATORY"), _text(yeast, "PRODUCT_ID")) if part
        )
        yeast_name = _text(yeast, "NAME")
        beer["ingredients"]["yeast"] = (
            " - ".join(part for part in (label, yeast_name) if part) or None
        )
        attenuation = _number(yeast, "ATTENUATION", ("YEASTS", "YEAST", 0), problems)
        if attenuation is not None:
            beer["attenuation_level"] = attenuation
    return beer


def _hop_from_beerxml(element: Element, position: int, problems: list[Problem]) -> dict[str, Any]:
    path: FieldPath = ("HOPS", "HOP", position)
    hop = _fields(element)
    name = _text(hop, "NAME")
    if name is None:
        problems.append(Problem((*path, "NAME"), "required: the hop's variety", "missing"))
    kilograms = _number(hop, "AMOUNT", path, problems)
    if kilograms is None and _text(hop, "AMOUNT") is None:
        problems.append(
            Problem((*path, "AMOUNT"), "required: the hop's mass in kilograms", "missing")
        )
    elif kilograms is not None and kilograms < 0:
        problems.append(Problem((*path, "AMOUNT"), f"{kilograms:g} kg: must not be negative"))
    use = _text(hop, "USE")
    add = BEERXML_HOP_USES.get((use or "").lower())
    if add is None:
        problems.append(
            Problem(
                (*path, "USE"),
                ("required" if use is None else f"{use!r} is not a BeerXML hop use")
                + ": Boil, Dry Hop, Mash, First Wort or Aroma",
                "missing" if use is None else "value_error",
            )
        )
    minutes = _number(hop, "TIME", path, problems)
    if add == "Boil" and minutes is not None:
        add = f"{minutes:g}"
    alpha = _number(hop, "ALPHA", path, problems)
    if alpha is not None and alpha < 0:
        problems.append(Problem((*path, "ALPHA"), f"{alpha:g} %: must not be negative"))
    # The Punk API states a hop's alpha acid in its attribute ('10% Alpha'): so does this one.
    attribute = ", ".join(
        part
        for part in (_text(hop, "TYPE"), f"{alpha:g}% Alpha" if alpha and alpha > 0 else None)
        if part
    )
    grams_value = None if kilograms is None else round(kilograms * 1000.0, 6)
    converted: dict[str, Any] = {
        "name": name or "",
        "amount": {"value": grams_value, "unit": "grams"},
        "add": add or "",
    }
    if attribute:
        converted["attribute"] = attribute
    return converted
