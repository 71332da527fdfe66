"""The Punk API v2 ``/beers`` query: validation, filters and pagination as pure functions.

Everything here reproduces the original server (``punkapi-server`` with ``punkapi-lib``, Node/
Express, express-validator's legacy schema checks) decision by decision; ``docs/api.md`` lists each rule and the few
deliberate deviations (regex-like characters are literal here, where the original crashed).
No HTTP in this module: the server, the tests and the benchmark all call these functions.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
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


class BeerQuery(NamedTuple):
    """A validated ``/beers`` query. Numbers are floats (JavaScript numbers); text is raw.

    A named tuple rather than a frozen dataclass: it is built on every uncached request, and a
    tuple of 16 fields is built several times faster.
    """

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
    pieces = [piece for piece in text.split("&") if piece][:MAX_QUERY_PARAMS]
    if text.isascii() and "%" not in text and "+" not in text:  # nothing to decode
        for piece in pieces:
            key, _, value = piece.partition("=")
            params[key] = value
        return params
    for piece in pieces:
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


def _plain_digits(value: str) -> bool:
    """Only ASCII digits, at least one: the common case, where ``Number()`` is ``float()``."""
    return value.isdigit() and value.isascii()


def _read_page(value: str) -> object:
    if len(value) <= 18 and _plain_digits(value):  # the common case, without regex or float
        number = int(value)
        return number if number >= 1 else _INVALID
    return _page_number(value) if _is_int(value, 1) else _INVALID


def _read_per_page(value: str) -> object:
    if len(value) <= 18 and _plain_digits(value):
        number = int(value)
        return number if 1 <= number <= MAX_PER_PAGE else _INVALID
    # Validated as 1..80, so its value is small however many leading zeros it has.
    return int(js_number(value)) if _is_int(value, 1, MAX_PER_PAGE) else _INVALID


def _read_number(value: str) -> object:
    """A number ≥ 0 in validator.js's float syntax, as JavaScript's ``Number(value)``."""
    if _plain_digits(value.replace(".", "", 1)):  # digits with at most one point: ≥ 0, float()
        return float(value)
    if not value or not _FLOAT.fullmatch(value):  # the pattern accepts "", which Number() reads 0
        return _INVALID
    number = js_number(value)
    return number if number >= 0 else _INVALID  # NaN (".", "-", "e5") compares False, as in JS


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


def _read_as_is(value: str) -> object:
    return value


# The original declared a pattern for the dates, in a form express-validator 5 read as "no
# pattern": every value passed (`2012-11` answered 200 with []); moment.js decides. `ids` was
# never validated either.
_READER_OF = {
    name: (position, read, msg)
    for position, (name, read, msg) in enumerate(
        (*_READERS, *((name, _read_as_is, "") for name in (*DATE_FILTERS, "ids")))
    )
}


def parse_beer_query(params: Mapping[str, str]) -> BeerQuery:
    """Validate the ``/beers`` query parameters; unknown parameters are ignored.

    Raises ``InvalidParams`` listing every bad parameter, in the original's order.
    """
    failed: dict[int, ParamError] = {}  # by the parameter's position in the original's schema
    fields: dict[str, Any] = {}
    for name, value in params.items():  # the few given, not every known parameter
        known = _READER_OF.get(name)
        if known is None:
            continue
        position, read, msg = known
        converted = read(value)
        if converted is _INVALID:
            failed[position] = ParamError("query", name, msg, value)
        else:
            fields[name] = converted
    if failed:
        raise InvalidParams([failed[position] for position in sorted(failed)])
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


# A set of beers is a bit mask in a Python int: bit i is the beer at position i. Intersecting two
# sets is one `&` of small integers, cheaper than any array operation on a few hundred beers.
BeerSet = int


def bits_of(flags: npt.NDArray[np.bool_]) -> BeerSet:
    """The set of the positions where ``flags`` is true."""
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


def positions_of(beers: BeerSet, size: int) -> npt.NDArray[np.intp]:
    """The positions in a set, ascending (``size``: how many beers there are; a set holds no
    position past them, so the padding bits of the last byte are zeros)."""
    packed = np.frombuffer(beers.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(packed, bitorder="little").nonzero()[0]


class ThresholdColumn:
    """One numeric value per beer, with the set of beers past each threshold computed ahead.

    ``beyond(v)`` is the set where ``value > v`` (``greater``) or ``value < v``; NaN (a value
    JavaScript cannot compare) is never in it. A threshold falls between two of the column's
    distinct values, so there are only as many different answers as distinct values plus one,
    and a bisection picks the right one.
    """

    def __init__(self, values: npt.NDArray[np.float64], *, greater: bool) -> None:
        cuts = np.unique(values[~np.isnan(values)])  # ascending
        self._cuts: list[float] = cuts.tolist()
        self._greater = greater
        if greater:  # answer k: the values above the k smallest distinct values (0: every one)
            numbers = bits_of(~np.isnan(values))
            self._answers = [numbers, *(bits_of(values > cut) for cut in self._cuts)]
        else:  # answer k: the values below the k-th distinct value (all of them past the last)
            self._answers = [bits_of(values < bound) for bound in self._cuts]
            self._answers.append(bits_of(~np.isnan(values)))

    def beyond(self, threshold: float) -> BeerSet:
        if math.isnan(threshold):
            return 0
        if self._greater:
            return self._answers[bisect_right(self._cuts, threshold)]
        return self._answers[bisect_left(self._cuts, threshold)]


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

    def beers_where(self, test: Callable[[str, str], bool], key: str) -> BeerSet:
        """The beers that hold at least one text for which ``test(key, text)`` is true."""
        hit = np.fromiter((test(key, text) for text in self.texts), bool, len(self.texts))
        mask = np.zeros(self._size, dtype=bool)
        mask[self._owners[hit[self._codes]]] = True
        return bits_of(mask)


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
    lower-cased once. Sets of beers are bit masks (``BeerSet``): a numeric or date filter picks
    a set computed ahead (``ThresholdColumn``), and the set for a text filter depends only on
    its text, so it is kept in a bounded least-recently-used map: a repeated ``hops=citra``
    costs one lookup.
    """

    def __init__(self, beers: Sequence[Mapping[str, Any]]) -> None:
        self.size = len(beers)
        self._thresholds: dict[str, ThresholdColumn] = {}
        for field in ("abv", "ibu", "ebc"):
            values = np.array([_js_number_field(b, field) for b in beers])  # floats: float64
            self._thresholds[f"{field}_gt"] = ThresholdColumn(values, greater=True)
            self._thresholds[f"{field}_lt"] = ThresholdColumn(values, greater=False)
        brewed = np.array([_brewed(b) for b in beers])
        self._brewed_after = ThresholdColumn(brewed, greater=True)
        self._brewed_before = ThresholdColumn(brewed, greater=False)
        self._id_sets: dict[float, BeerSet] = {}
        for position, beer in enumerate(beers):
            beer_id = _id_number(beer)
            if not math.isnan(beer_id):  # NaN equals nothing (not even as a dict key here)
                self._id_sets[beer_id] = self._id_sets.get(beer_id, 0) | 1 << position
        self._text = {
            "beer_name": TextColumn([_texts(b.get("name")) for b in beers]),
            "hops": TextColumn([_ingredient_names(b, "hops") for b in beers]),
            "malt": TextColumn([_ingredient_names(b, "malt") for b in beers]),
            "yeast": TextColumn([_yeast(b) for b in beers]),
            "food": TextColumn([_food_pairings(b) for b in beers]),
        }
        self._masks: OrderedDict[tuple[str, str], BeerSet] = OrderedDict()
        self._everyone: BeerSet = (1 << self.size) - 1

    def matching(self, query: BeerQuery) -> npt.NDArray[np.intp]:
        """Positions of the beers that pass every filter of ``query``, ascending."""
        return positions_of(self.matching_set(query), self.size)

    def matching_set(self, query: BeerQuery) -> BeerSet:
        """The set of the beers that pass every filter of ``query``."""
        found = self._everyone
        for name, column in self._thresholds.items():
            threshold = getattr(query, name)
            if threshold is not None:
                found &= column.beyond(threshold)
        if query.brewed_after is not None:
            found &= self._brewed_after.beyond(
                _month_number(moment_month_year(query.brewed_after, "-"))
            )
        if query.brewed_before is not None:
            found &= self._brewed_before.beyond(
                _month_number(moment_month_year(query.brewed_before, "-"))
            )
        if query.ids is not None:
            found &= self._with_ids(query.ids)
        for name in self._text:
            text = getattr(query, name)
            if text is not None:
                found &= self._text_mask(name, text_key(text))
        return found

    def _with_ids(self, ids: str) -> BeerSet:
        found = 0
        for wanted in set(_ids_wanted(ids)):
            found |= self._id_sets.get(wanted, 0)
        return found

    def _text_mask(self, name: str, key: str) -> BeerSet:
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
