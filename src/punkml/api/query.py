"""The Punk API v2 ``/beers`` query: validation, filters and pagination as pure functions.

Everything here reproduces the original server (``punkapi-server`` with ``punkapi-lib``, Node/
Express, express-validator's legacy schema checks) decision by decision; ``docs/api.md`` lists each rule and the few
deliberate deviations (regex-like characters are literal here, where the original crashed).
No HTTP in this module: the server, the tests and the benchmark all call these functions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from punkml.api.jscompat import js_number, moment_month_year

DEFAULT_PER_PAGE = 25
MAX_PER_PAGE = 80
# Pages beyond this are empty anyway; it keeps huge digit strings away from int().
_HUGE_PAGE = 10**18
_NAME_SEPARATOR = "\x00"

MAX_QUERY_PARAMS = 1000  # qs's parameterLimit: the rest is ignored, as in the original

MSG_PAGE = "Must be a number greater than 0"
MSG_PER_PAGE = "Must be a number greater than 0 and less than 80"
MSG_NUMBER = "Must be a number greater than 0"
MSG_DATE = "Must be in date format of mm/yyyy"
MSG_TEXT = "Must have a value and if you are using multiple words use underscores to separate"
MSG_BEER_ID = "beerId must be a number and greater than 0"

NUMERIC_FILTERS = ("abv_gt", "abv_lt", "ibu_gt", "ibu_lt", "ebc_gt", "ebc_lt")
DATE_FILTERS = ("brewed_before", "brewed_after")
TEXT_FILTERS = ("beer_name", "hops", "malt", "yeast", "food")

# validator.js patterns behind express-validator's isInt / isFloat (validator 8-10).
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?[0-9]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?")
# The original's date check: NOT anchored, and [1-9] means month 10 never passes. ASCII: \d and
# \b as JavaScript reads them.
_DATE = re.compile(r"[0-1][1-9]-\d{4}\b", re.ASCII)


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
    # are then decoded as UTF-8 together.
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


def _is_float(value: str, low: float) -> bool:
    if value in ("", ".", "-", "+") or not _FLOAT.fullmatch(value):
        return False
    return js_number(value) >= low  # NaN (e.g. "-." or "e5") compares False, as in JavaScript


def _is_not_empty(value: str) -> bool:
    # express-validator's notEmpty is a length check: white space is a value.
    return value != ""


def _page_number(value: str) -> int:
    """``parseInt`` of an already validated integer string, capped (pages past it are empty)."""
    digits = value.lstrip("+")
    return int(digits) if len(digits) <= 18 else _HUGE_PAGE


def parse_beer_query(params: Mapping[str, str]) -> BeerQuery:
    """Validate the ``/beers`` query parameters; unknown parameters are ignored.

    Raises ``InvalidParams`` listing every bad parameter, in the original's order.
    """
    errors: list[ParamError] = []
    fields: dict[str, Any] = {}

    def check(name: str, ok: Callable[[str], bool], msg: str) -> str | None:
        value = params.get(name)
        if value is None:
            return None
        if not ok(value):
            errors.append(ParamError("query", name, msg, value))
            return None
        return value

    page = check("page", lambda v: _is_int(v, 1), MSG_PAGE)
    per_page = check("per_page", lambda v: _is_int(v, 1, MAX_PER_PAGE), MSG_PER_PAGE)
    if page is not None:
        fields["page"] = _page_number(page)
    if per_page is not None:
        fields["per_page"] = _page_number(per_page)
    for name in NUMERIC_FILTERS:
        number = check(name, lambda v: _is_float(v, 0), MSG_NUMBER)
        if number is not None:
            fields[name] = js_number(number)
    for name in DATE_FILTERS:
        fields[name] = check(name, lambda v: _DATE.search(v) is not None, MSG_DATE)
    for name in TEXT_FILTERS:
        fields[name] = check(name, _is_not_empty, MSG_TEXT)
    fields["ids"] = params.get("ids")  # never validated by the original
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
# Filters (punkapi-lib semantics).


def _js_number_field(beer: Mapping[str, Any], field: str) -> float:
    """A numeric field as JavaScript sees it in a comparison: null → 0, absent → NaN."""
    if field not in beer:
        return math.nan
    value = beer[field]
    return 0.0 if value is None else float(value)


def _text_key(text: str) -> str:
    """Query text as the original compares it: lower case, underscores standing for spaces."""
    return text.lower().replace("_", " ")


def _in_order_search(key: str, separator: str = "") -> Callable[[str], re.Match[str] | None]:
    # Every character escaped: "(" or "." can neither crash nor act as a wildcard (the original
    # built its regular expression from the raw text). "[^c]*c" steps to the next c without
    # backtracking, so matching stays linear; excluding `separator` keeps a match in one name.
    parts = [re.escape(key[:1])]
    parts += [f"[^{re.escape(c + separator)}]*{re.escape(c)}" for c in key[1:]]
    return re.compile("".join(parts)).search


def in_order_matcher(query: str) -> Callable[[str | None], bool]:
    """A test of whether the query's characters appear in a name in order (case-insensitive)."""
    search = _in_order_search(_text_key(query))
    return lambda name: name is not None and search(name.lower()) is not None


def fuzzy_match(name: str | None, query: str) -> bool:
    """True when the query's characters appear in ``name`` in order (case-insensitive)."""
    return in_order_matcher(query)(name)


def substring_match(text: str | None, query: str) -> bool:
    """True when the query (lower case, underscores as spaces) is a substring of ``text``."""
    return text is not None and _text_key(query) in text.lower()


def _brewed(beer: Mapping[str, Any]) -> tuple[int, int] | None:
    first_brewed = beer.get("first_brewed")
    return moment_month_year(first_brewed, "/") if isinstance(first_brewed, str) else None


def _ids_wanted(ids: str) -> set[float]:
    # `ids.split("|").map(Number)`; a beer matches when its id equals one of those numbers.
    return {js_number(part) for part in ids.split("|")}


Check = Callable[[Mapping[str, Any]], bool]


def _numeric_check(field: str, bound: float, greater: bool) -> Check:
    if greater:
        return lambda beer: _js_number_field(beer, field) > bound
    return lambda beer: _js_number_field(beer, field) < bound


def _brewed_check(predicate: str, after: bool) -> Check:
    wanted = moment_month_year(predicate, "-")

    def check(beer: Mapping[str, Any]) -> bool:
        brewed = _brewed(beer)
        if wanted is None or brewed is None:  # moment: an invalid date is neither before nor after
            return False
        return brewed > wanted if after else brewed < wanted

    return check


def _ingredient_check(key: str, query: str) -> Check:
    """Some hop (or malt) of the beer has a name matching ``query`` in order."""
    text = _text_key(query)
    if _NAME_SEPARATOR in text:
        matches = in_order_matcher(query)
        return lambda beer: any(matches(name) for name in _ingredient_names(beer, key))
    # One search over all the beer's names joined, instead of one per name: same answer, since
    # a match may not cross the separator, at a fraction of the cost.
    search = _in_order_search(text, _NAME_SEPARATOR)
    return lambda beer: search(_joined_names(beer, key).lower()) is not None


def _ingredient_names(beer: Mapping[str, Any], key: str) -> list[str]:
    items = (beer.get("ingredients") or {}).get(key) or []
    return [
        item["name"]
        for item in items
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]


def _joined_names(beer: Mapping[str, Any], key: str) -> str:
    try:  # the hot path, for beers shaped like the dataset's
        return _NAME_SEPARATOR.join([item["name"] for item in beer["ingredients"][key]])
    except (KeyError, TypeError):
        return _NAME_SEPARATOR.join(_ingredient_names(beer, key))


def _checks(query: BeerQuery) -> list[Check]:
    """One predicate per given filter, each computed once per query, not once per beer."""
    checks: list[Check] = []
    for name in NUMERIC_FILTERS:
        bound: float | None = getattr(query, name)
        if bound is not None:
            checks.append(_numeric_check(name[:3], bound, name.endswith("_gt")))
    if query.brewed_before is not None:
        checks.append(_brewed_check(query.brewed_before, after=False))
    if query.brewed_after is not None:
        checks.append(_brewed_check(query.brewed_after, after=True))
    if query.beer_name is not None:
        name_matches = in_order_matcher(query.beer_name)
        checks.append(lambda beer: name_matches(beer.get("name")))
    if (food := query.food) is not None:
        checks.append(
            lambda beer: any(substring_match(f, food) for f in beer.get("food_pairing") or [])
        )
    for key in ("hops", "malt"):
        wanted: str | None = getattr(query, key)
        if wanted is not None:
            checks.append(_ingredient_check(key, wanted))
    if query.yeast is not None:
        yeast_matches = in_order_matcher(query.yeast)
        checks.append(lambda beer: yeast_matches((beer.get("ingredients") or {}).get("yeast")))
    if query.ids is not None:
        wanted_ids = _ids_wanted(query.ids)
        checks.append(lambda beer: beer.get("id") in wanted_ids)
    return checks


def beer_matches(beer: Mapping[str, Any], query: BeerQuery) -> bool:
    """Whether one beer passes every filter of ``query`` (pagination aside)."""
    return all(check(beer) for check in _checks(query))


def filter_beers(beers: Iterable[dict[str, Any]], query: BeerQuery) -> list[dict[str, Any]]:
    """The beers (in the given order, ascending id for the API) that pass every filter."""
    selected = list(beers)
    for check in _checks(query):  # cheap numeric checks first, each narrowing the next one's work
        selected = [beer for beer in selected if check(beer)]
    return selected


def paginate(beers: Sequence[dict[str, Any]], query: BeerQuery) -> list[dict[str, Any]]:
    """The requested page: ``per_page`` beers from offset ``(page - 1) * per_page``."""
    offset = (query.page - 1) * query.per_page
    return list(beers[offset : offset + query.per_page])


def select_beers(beers: Sequence[dict[str, Any]], query: BeerQuery) -> list[dict[str, Any]]:
    """What ``GET /v2/beers`` answers for ``query``: the filtered beers' requested page."""
    return paginate(filter_beers(beers, query), query)
