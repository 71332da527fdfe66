"""The Punk API v2 ``/beers`` query: validation, filters and pagination as pure functions.

Everything here reproduces the original server (``punkapi-server`` with ``punkapi-lib``, Node/
Express, express-validator's legacy schema checks) decision by decision; ``docs/api.md`` lists each rule and the few
deliberate deviations (regex-like characters are literal here, where the original crashed).
No HTTP in this module: the server, the tests and the benchmark all call these functions.
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

import numpy as np
import numpy.typing as npt

from punkml.api.jscompat import js_number, moment_month_year

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 80
# Pages beyond this are empty anyway; it keeps huge digit strings away from int().
_HUGE_PAGE = 10**18

MAX_QUERY_PARAMS = 1000  # qs's parameterLimit: the rest is ignored, as in the original

MSG_PAGE = "Must be a number greater than 0"
MSG_PER_PAGE = "Must be a number greater than 0 and less than 80"
MSG_NUMBER = "Must be a number greater than 0"
MSG_TEXT = "Must have a value and if you are using multiple words use underscores to separate"
MSG_BEER_ID = "beerId must be a number and greater than 0"

NUMERIC_FILTERS = ("abv_gt", "abv_lt", "ibu_gt", "ibu_lt", "ebc_gt", "ebc_lt")
DATE_FILTERS = ("brewed_before", "brewed_after")
TEXT_FILTERS = ("beer_name", "hops", "malt", "yeast", "food")

# validator.js patterns behind express-validator's isInt / isFloat (validator 8-10).
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?[0-9]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")


@dataclass(frozen=True)
class ParamError:
    """One entry of the ``data`` list of a 400 answer, in express-validator's shape."""

    location: str
    param: str
    msg: str
    value: str

    def as_json(self) -> dict[str, str]:
        return {
            "location": self.location,
            "param": self.param,
            "msg": self.msg,
            "value": self.value,
        }


class InvalidParams(ValueError):
    """The query (or path) parameters failed validation; ``errors`` lists each bad parameter."""

    def __init__(self, errors: Sequence[ParamError]) -> None:
        super().__init__("; ".join(f"{e.param}: {e.msg}" for e in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class BeerQuery:
    """A validated ``/beers`` query. Numbers are floats (JavaScript numbers); text is raw."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    abv_gt: float | None = None
    abv_lt: float | None = None
    ibu_gt: float | None = None
    ibu_lt: float | None = None
    ebc_gt: float | None = None
    ebc_lt: float | None = None
    brewed_before: str | None = None
    brewed_after: str | None = None
    beer_name: str | None = None
    hops: str | None = None
    malt: str | None = None
    yeast: str | None = None
    food: str | None = None
    ids: str | None = None


def parse_query_string(query_string: bytes) -> dict[str, str]:
    """Query parameters as Express's ``qs`` gives them: ``+`` is a space, a bare key is ``""``.

    A repeated parameter keeps its last value (the original turned it into an array, which its
    filters then mishandled).
    """
    params: dict[str, str] = {}
    text = query_string.decode("latin-1")
    for count, piece in enumerate(part for part in text.split("&") if part):
        if count >= MAX_QUERY_PARAMS:
            break
        key, _, value = piece.partition("=")
        params[_decode(key)] = _decode(value)
    return params


def _decode(text: str) -> str:
    # The query bytes were read as latin-1 to split them losslessly; percent-escapes and raw bytes
    # are then decoded as UTF-8 together. Plain ASCII without escapes is already decoded.
    if text.isascii() and "%" not in text and "+" not in text:
        return text
    raw = text.encode("latin-1")
    return unquote_plus(raw.decode("utf-8", errors="replace"))


# ---------------------------------------------------------------------------------------------
# Validation (express-validator semantics: "optional" skips only ABSENT parameters, so an empty
# value is validated and rejected; one error per bad parameter, in the schema's order).


def _is_int(value: str, low: int, high: int | None = None) -> bool:
    if not _INT.fullmatch(value):
        return False
    number = js_number(value)
    return number >= low and (high is None or number <= high)


def _page_number(value: str) -> int:
    """``parseInt`` of an already validated integer string, capped (pages past it are empty)."""
    digits = value.lstrip("+")
    return int(digits) if len(digits) <= 18 else _HUGE_PAGE


_INVALID = object()  # what a parameter reader returns for a value the original refused


def _read_page(value: str) -> object:
    return _page_number(value) if _is_int(value, 1) else _INVALID


def _read_per_page(value: str) -> object:
    return _page_number(value) if _is_int(value, 1, MAX_PER_PAGE) else _INVALID


def _read_number(value: str) -> object:
    """A number ≥ 0 in validator.js's float syntax, as JavaScript's ``Number(value)``."""
    if value in ("", ".", "-", "+") or not _FLOAT.fullmatch(value):
        return _INVALID
    number = js_number(value)
    return number if number >= 0 else _INVALID  # NaN ("-." or "e5") compares False, as in JS


def _read_text(value: str) -> object:
    # express-validator's notEmpty is a length check: white space is a value.
    return value if value != "" else _INVALID


# The validated parameters in the original's schema order (the order of the error entries), each
# with the reader that validates and converts it, and the message of its error entry.
_READERS: tuple[tuple[str, Callable[[str], object], str], ...] = (
    ("page", _read_page, MSG_PAGE),
    ("per_page", _read_per_page, MSG_PER_PAGE),
    *((name, _read_number, MSG_NUMBER) for name in NUMERIC_FILTERS),
    *((name, _read_text, MSG_TEXT) for name in TEXT_FILTERS),
)


def parse_beer_query(params: Mapping[str, str]) -> BeerQuery:
    """Validate the ``/beers`` query parameters; unknown parameters are ignored.

    Raises ``InvalidParams`` listing every bad parameter, in the original's order.
    """
    errors: list[ParamError] = []
    fields: dict[str, Any] = {}
    for name, read, msg in _READERS:
        value = params.get(name)
        if value is None:
            continue
        converted = read(value)
        if converted is _INVALID:
            errors.append(ParamError("query", name, msg, value))
        else:
            fields[name] = converted
    # The original declared a pattern for the dates, in a form express-validator 5 read as "no
    # pattern": every value passed (`2012-11` answered 200 with []); moment.js decides. `ids`
    # was never validated either.
    for name in (*DATE_FILTERS, "ids"):
        if (value := params.get(name)) is not None:
            fields[name] = value
    if errors:
        raise InvalidParams(errors)
    return BeerQuery(**fields)


def parse_beer_id(value: str) -> int | None:
    """Validate a ``/beers/{beerId}`` path segment; ``None`` for an integer no beer can have.

    Raises ``InvalidParams`` (location ``params``) unless it is an integer ≥ 1.
    """
    if not _is_int(value, 1):
        raise InvalidParams([ParamError("params", "beerId", MSG_BEER_ID, value)])
    digits = value.lstrip("+")
    return int(digits) if len(digits) <= 18 else None


# ---------------------------------------------------------------------------------------------
# Filters (punkapi-lib semantics), over the beers' values laid out once as columns.


def text_key(text: str) -> str:
    """Query text as the original compares it: lower case, underscores standing for spaces."""
    return text.lower().replace("_", " ")


def is_subsequence(key: str, text: str) -> bool:
    """True when the characters of ``key`` appear in ``text`` in order, not necessarily adjacent.

    Linear in ``len(text)``: each ``find`` resumes after the previous match, and a key longer
    than the text is refused before any search. Every character is literal.
    """
    if len(key) > len(text):
        return False
    at = 0
    find = text.find
    for char in key:
        at = find(char, at) + 1
        if at == 0:
            return False
    return True


def _js_number_field(beer: Mapping[str, Any], field: str) -> float:
    """A numeric field as JavaScript sees it in a comparison: null → 0, absent → NaN."""
    if field not in beer:
        return math.nan
    value = beer[field]
    if value is None:
        return 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan  # JavaScript: a non-numeric value compares false either way


def _month_number(month_year: tuple[int, int] | None) -> float:
    """``(year, month)`` as one comparable number; NaN (never compares) for an invalid date."""
    return math.nan if month_year is None else month_year[0] * 12.0 + month_year[1]


def _brewed(beer: Mapping[str, Any]) -> float:
    first_brewed = beer.get("first_brewed")
    if not isinstance(first_brewed, str):
        return math.nan
    return _month_number(moment_month_year(first_brewed, "/"))


def _id_number(beer: Mapping[str, Any]) -> float:
    beer_id = beer.get("id")
    if isinstance(beer_id, bool) or not isinstance(beer_id, int | float):
        return math.nan
    return float(beer_id)


def _ids_wanted(ids: str) -> list[float]:
    # `ids.split("|").map(Number)`; a beer matches when its id equals one of those numbers.
    return [js_number(part) for part in ids.split("|")]


def _texts(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else []


def _ingredient_names(beer: Mapping[str, Any], key: str) -> list[str]:
    ingredients = beer.get("ingredients")
    items = ingredients.get(key) if isinstance(ingredients, Mapping) else None
    if not isinstance(items, list):
        return []
    return [
        item["name"]
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    ]


def _yeast(beer: Mapping[str, Any]) -> list[str]:
    ingredients = beer.get("ingredients")
    return _texts(ingredients.get("yeast") if isinstance(ingredients, Mapping) else None)


def _food_pairings(beer: Mapping[str, Any]) -> list[str]:
    pairings = beer.get("food_pairing")
    return [f for f in pairings if isinstance(f, str)] if isinstance(pairings, list) else []


class TextColumn:
    """One text field of every beer, lower-cased, each distinct text kept (and tested) once."""

    def __init__(self, texts_per_beer: Sequence[Sequence[str]]) -> None:
        distinct: dict[str, int] = {}
        codes: list[int] = []
        owners: list[int] = []
        for beer_index, texts in enumerate(texts_per_beer):
            for text in texts:
                codes.append(distinct.setdefault(text.lower(), len(distinct)))
                owners.append(beer_index)
        self.texts = list(distinct)
        self._codes = np.array(codes, dtype=np.intp)
        self._owners = np.array(owners, dtype=np.intp)
        self._size = len(texts_per_beer)

    def beers_where(self, test: Callable[[str, str], bool], key: str) -> npt.NDArray[np.bool_]:
        """Which beers hold at least one text for which ``test(key, text)`` is true."""
        hit = np.fromiter((test(key, text) for text in self.texts), bool, len(self.texts))
        mask = np.zeros(self._size, dtype=bool)
        mask[self._owners[hit[self._codes]]] = True
        return mask


def _contains(key: str, text: str) -> bool:
    return key in text


# Which text filter reads which column, and how it compares (fuzzy in order, or substring).
_TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "beer_name": is_subsequence,
    "hops": is_subsequence,
    "malt": is_subsequence,
    "yeast": is_subsequence,
    "food": _contains,
}
MASK_CACHE_ENTRIES = 2048
MASK_CACHE_MAX_KEY_CHARS = 1024


class BeerIndex:
    """The filterable values of some beers, computed once, as columns; selects beers by query.

    Numbers keep JavaScript's comparison semantics (null → 0, absent → NaN, which never
    compares); dates are month numbers (NaN where moment.js saw an invalid date); text fields are
    lower-cased once. The answer for a text filter depends only on its text, so it is kept in a
    bounded least-recently-used map: a repeated ``hops=citra`` costs one lookup.
    """

    def __init__(self, beers: Sequence[Mapping[str, Any]]) -> None:
        self.size = len(beers)
        self._numbers = {
            field: np.array([_js_number_field(b, field) for b in beers], dtype=float)
            for field in ("abv", "ibu", "ebc")
        }
        self._brewed = np.array([_brewed(b) for b in beers], dtype=float)
        self._ids = np.array([_id_number(b) for b in beers], dtype=float)
        self._text = {
            "beer_name": TextColumn([_texts(b.get("name")) for b in beers]),
            "hops": TextColumn([_ingredient_names(b, "hops") for b in beers]),
            "malt": TextColumn([_ingredient_names(b, "malt") for b in beers]),
            "yeast": TextColumn([_yeast(b) for b in beers]),
            "food": TextColumn([_food_pairings(b) for b in beers]),
        }
        self._masks: OrderedDict[tuple[str, str], npt.NDArray[np.bool_]] = OrderedDict()
        self._everyone = np.ones(self.size, dtype=bool)
        self._numbers_of = {name: self._numbers[name[:3]] for name in NUMERIC_FILTERS}

    def matching(self, query: BeerQuery) -> npt.NDArray[np.intp]:
        """Positions of the beers that pass every filter of ``query``, ascending."""
        mask = self._everyone.copy()
        for name, value in vars(query).items():
            if value is None or name in ("page", "per_page"):
                continue
            if name in self._numbers_of:
                column = self._numbers_of[name]
                mask &= column > value if name.endswith("_gt") else column < value
            elif name in DATE_FILTERS:
                wanted = _month_number(moment_month_year(value, "-"))
                mask &= self._brewed > wanted if name == "brewed_after" else self._brewed < wanted
            elif name == "ids":
                mask &= np.isin(self._ids, _ids_wanted(value))
            else:
                mask &= self._text_mask(name, text_key(value))
        return mask.nonzero()[0]

    def _text_mask(self, name: str, key: str) -> npt.NDArray[np.bool_]:
        cache_key = (name, key)
        mask = self._masks.get(cache_key)
        if mask is not None:
            self._masks.move_to_end(cache_key)
            return mask
        mask = self._text[name].beers_where(_TEXT_TESTS[name], key)
        if len(key) <= MASK_CACHE_MAX_KEY_CHARS:
            self._masks[cache_key] = mask
            if len(self._masks) > MASK_CACHE_ENTRIES:
                self._masks.popitem(last=False)
        return mask


def page_slice(query: BeerQuery) -> slice:
    """The requested page of a filtered list: ``per_page`` items from ``(page - 1) * per_page``."""
    offset = (query.page - 1) * query.per_page
    return slice(offset, offset + query.per_page)


def filter_beers(beers: Sequence[dict[str, Any]], query: BeerQuery) -> list[dict[str, Any]]:
    """The beers (in the given order, ascending id for the API) that pass every filter."""
    return [beers[i] for i in BeerIndex(beers).matching(query).tolist()]


def paginate(beers: Sequence[dict[str, Any]], query: BeerQuery) -> list[dict[str, Any]]:
    """The requested page: ``per_page`` beers from offset ``(page - 1) * per_page``."""
    return list(beers[page_slice(query)])


def select_beers(beers: Sequence[dict[str, Any]], query: BeerQuery) -> list[dict[str, Any]]:
    """What ``GET /v2/beers`` answers for ``query``: the filtered beers' requested page."""
    return paginate(filter_beers(beers, query), query)
