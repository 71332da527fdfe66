"""The /beers query as pure functions: validation, each filter, combinations, pagination.

Expected beers are computed here by plain reference filtering of the dataset (written separately
from the implementation), then compared id by id.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

import numpy as np
import pytest

from punkml.api import query as q
from punkml.api.jscompat import moment_month_year
from punkml.source.dataset import load_beers


@pytest.fixture(scope="module")
def beers() -> list[dict[str, Any]]:
    return load_beers()


def ids(beers: list[dict[str, Any]]) -> list[int]:
    return [beer["id"] for beer in beers]


def run(beers: list[dict[str, Any]], **params: str) -> list[int]:
    return ids(q.filter_beers(beers, q.parse_beer_query(params)))


# Reference semantics, spelled out directly.
def ref_in_order(name: str | None, text: str) -> bool:
    if name is None:
        return False
    pattern = ".*".join(re.escape(char) for char in text.lower().replace("_", " "))
    return re.search(pattern, name.lower(), flags=re.DOTALL) is not None


def ref_month(first_brewed: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d\d)/(\d{4})", first_brewed)
    return (int(match.group(2)), int(match.group(1))) if match else None


# --- numeric filters ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["abv", "ibu", "ebc"])
@pytest.mark.parametrize("bound", ["0", "4.5", "7", "60", "1000"])
def test_greater_than_is_strict_and_skips_missing(
    beers: list[dict[str, Any]], field: str, bound: str
) -> None:
    expected = [b["id"] for b in beers if b[field] is not None and b[field] > float(bound)]
    assert run(beers, **{f"{field}_gt": bound}) == expected


@pytest.mark.parametrize("field", ["abv", "ibu", "ebc"])
@pytest.mark.parametrize("bound", ["0", "1", "4.5", "7", "60"])
def test_less_than_counts_missing_as_zero(
    beers: list[dict[str, Any]], field: str, bound: str
) -> None:
    expected = [b["id"] for b in beers if (b[field] or 0) < float(bound)]
    assert run(beers, **{f"{field}_lt": bound}) == expected


def test_missing_values_match_lt_but_never_gt(beers: list[dict[str, Any]]) -> None:
    no_ibu = {b["id"] for b in beers if b["ibu"] is None}
    assert len(no_ibu) == 5
    assert no_ibu <= set(run(beers, ibu_lt="1"))
    assert not no_ibu & set(run(beers, ibu_gt="0"))


def test_numbers_accept_javascript_float_forms(beers: list[dict[str, Any]]) -> None:
    reference = run(beers, abv_gt="5")
    for spelled in ("5.", "5.0", "+5", "005", "0.5e1", "5e0"):
        assert run(beers, abv_gt=spelled) == reference


def test_signed_and_exponent_forms_down_to_zero_are_numbers() -> None:
    query = q.parse_beer_query({"abv_gt": "+0", "ibu_gt": "+0.5", "ebc_gt": "0e5"})
    assert (query.abv_gt, query.ibu_gt, query.ebc_gt) == (0.0, 0.5, 0.0)


def test_a_beer_without_the_field_never_compares() -> None:
    beers = [{"id": 1, "abv": 5}, {"id": 2}]
    assert run(beers, abv_lt="10") == [1]
    assert run(beers, abv_gt="1") == [1]


# --- text filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["punk", "PUNK_IPA", "ipa", "dog", "b_d", "elvis", "zzz", "a_", "_"]
)
def test_beer_name_is_an_in_order_match(beers: list[dict[str, Any]], text: str) -> None:
    assert run(beers, beer_name=text) == [b["id"] for b in beers if ref_in_order(b["name"], text)]


def test_fuzzy_name_matches_scattered_letters(beers: list[dict[str, Any]]) -> None:
    # "pnkip" is not a substring of "Punk IPA" but its letters appear in that order.
    assert "pnkip" not in "punk ipa"
    found = run(beers, beer_name="pnkip")
    assert {106, 192} <= set(found)
    assert all(ref_in_order(b["name"], "pnkip") for b in beers if b["id"] in found)


@pytest.mark.parametrize("text", ["citra", "SIMCOE", "east_kent", "amarillo", "cascade", "nope"])
def test_hops_match_any_hop_name(beers: list[dict[str, Any]], text: str) -> None:
    expected = [
        b["id"]
        for b in beers
        if any(ref_in_order(h["name"], text) for h in b["ingredients"]["hops"])
    ]
    assert run(beers, hops=text) == expected


@pytest.mark.parametrize("text", ["maris_otter", "crystal", "MUNICH", "wheat", "nope"])
def test_malt_matches_any_malt_name(beers: list[dict[str, Any]], text: str) -> None:
    expected = [
        b["id"]
        for b in beers
        if any(ref_in_order(m["name"], text) for m in b["ingredients"]["malt"])
    ]
    assert run(beers, malt=text) == expected


@pytest.mark.parametrize("text", ["wyeast", "american_ale", "wlp", "1056", "nope"])
def test_yeast_matches_and_skips_beers_without_yeast(
    beers: list[dict[str, Any]], text: str
) -> None:
    expected = [b["id"] for b in beers if ref_in_order(b["ingredients"]["yeast"], text)]
    assert run(beers, yeast=text) == expected


@pytest.mark.parametrize("text", ["chicken", "CHEESE", "spicy_food", "cake", "ken", "nope"])
def test_food_is_a_substring_of_any_pairing(beers: list[dict[str, Any]], text: str) -> None:
    needle = text.lower().replace("_", " ")
    expected = [b["id"] for b in beers if any(needle in f.lower() for f in b["food_pairing"])]
    assert run(beers, food=text) == expected


def test_food_is_not_fuzzy(beers: list[dict[str, Any]]) -> None:
    assert run(beers, food="chkn") == []
    assert run(beers, food="chicken")


def ref_expected(beers: list[dict[str, Any]], param: str, text: str) -> list[int]:
    """The reference answer of one text filter, spelled out per parameter."""
    needle = text.lower().replace("_", " ")
    if param == "food":
        return [b["id"] for b in beers if any(needle in f.lower() for f in b["food_pairing"])]
    if param == "beer_name":
        return [b["id"] for b in beers if ref_in_order(b["name"], text)]
    if param == "yeast":
        return [b["id"] for b in beers if ref_in_order(b["ingredients"]["yeast"], text)]
    return [
        b["id"]
        for b in beers
        if any(ref_in_order(i["name"], text) for i in b["ingredients"][param])
    ]


@pytest.mark.parametrize(
    "text", ["(", ")", "[", "]", "*", "+", "?", ".", "\\", "^", "$", "|", "{2}", ".*", "a(b", "'"]
)
@pytest.mark.parametrize("param", ["beer_name", "hops", "malt", "yeast", "food"])
def test_regex_like_characters_are_literal(
    beers: list[dict[str, Any]], param: str, text: str
) -> None:
    assert run(beers, **{param: text}) == ref_expected(beers, param, text)


# Queries whose characters appear in order in some names without being a substring of any of
# them: substring matching would find fewer beers (or none), so these catch that mistake.
SCATTERED = {
    "beer_name": ["pnkip", "hrdcr", "trpl"],
    "hops": ["cscd", "smc", "east_kt", "amrl"],
    "malt": ["mrs_ottr", "crstl", "xtr_pl"],
    "yeast": ["wy1056", "wlp_ale", "amrcn", "us05"],
}


@pytest.mark.parametrize(
    ("param", "text"), [(p, t) for p, texts in SCATTERED.items() for t in texts]
)
def test_fuzzy_filters_match_scattered_characters(
    beers: list[dict[str, Any]], param: str, text: str
) -> None:
    expected = ref_expected(beers, param, text)
    substring_only = [
        b["id"]
        for b in beers
        if any(text.lower().replace("_", " ") in name.lower() for name in ref_names(b, param))
    ]
    assert len(expected) > len(substring_only)  # the case really needs in-order matching
    assert run(beers, **{param: text}) == expected


def ref_names(beer: dict[str, Any], param: str) -> list[str]:
    if param == "beer_name":
        return [beer["name"]]
    if param == "yeast":
        return [beer["ingredients"]["yeast"]] if beer["ingredients"]["yeast"] else []
    return [item["name"] for item in beer["ingredients"][param]]


def test_fuzzy_match_is_in_order_not_any_order() -> None:
    beers = [{"id": 1, "name": "abc", "ingredients": {"yeast": "Wyeast 1056", "hops": []}}]
    assert run(beers, beer_name="ac") == [1]
    assert run(beers, beer_name="ca") == []
    assert run(beers, yeast="w1056") == [1]
    assert run(beers, yeast="6501w") == []
    assert run(beers, beer_name="abcc") == []  # each character of the name is used once


def test_dot_is_not_a_wildcard() -> None:
    beers = [{"id": 1, "name": "abc"}, {"id": 2, "name": "a.c"}]
    assert run(beers, beer_name="a.c") == [2]


# --- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("predicate", ["01-2008", "05-2010", "12-2011", "09-2007", "01-2030"])
def test_brewed_before_is_strict_by_month(beers: list[dict[str, Any]], predicate: str) -> None:
    month, year = (int(part) for part in predicate.split("-"))
    expected = [b["id"] for b in beers if (m := ref_month(b["first_brewed"])) and m < (year, month)]
    assert run(beers, brewed_before=predicate) == expected


@pytest.mark.parametrize("predicate", ["01-2008", "05-2010", "12-2011", "11-2016", "01-2000"])
def test_brewed_after_is_strict_by_month(beers: list[dict[str, Any]], predicate: str) -> None:
    month, year = (int(part) for part in predicate.split("-"))
    expected = [b["id"] for b in beers if (m := ref_month(b["first_brewed"])) and m > (year, month)]
    assert run(beers, brewed_after=predicate) == expected


def test_year_only_first_brewed_never_matches_a_date_filter(beers: list[dict[str, Any]]) -> None:
    year_only = {b["id"] for b in beers if re.fullmatch(r"\d{4}", b["first_brewed"])}
    assert year_only
    matched = set(run(beers, brewed_after="01-1900")) | set(run(beers, brewed_before="01-2100"))
    assert not matched & year_only
    assert len(matched) == len(beers) - len(year_only)


def test_the_same_month_is_neither_before_nor_after(beers: list[dict[str, Any]]) -> None:
    buzz = next(b for b in beers if b["id"] == 1)
    assert buzz["first_brewed"] == "09/2007"
    assert 1 not in run(beers, brewed_before="09-2007")
    assert 1 not in run(beers, brewed_after="09-2007")
    assert 1 in run(beers, brewed_before="11-2007")


def test_a_month_past_twelve_matches_nothing(beers: list[dict[str, Any]]) -> None:
    assert run(beers, brewed_after="19-2010") == []


# --- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1|2|3", [1, 2, 3]),
        ("3|1", [1, 3]),
        ("42", [42]),
        ("1|1|1", [1]),
        ("5|9999|abc", [5]),
        ("0x0A|+7| 8 ", [7, 8, 10]),
        ("2.0|3.5", [2]),
        ("", []),
        ("abc", []),
    ],
)
def test_ids(beers: list[dict[str, Any]], value: str, expected: list[int]) -> None:
    assert run(beers, ids=value) == expected


def test_ids_match_numeric_ids_only_as_javascript_compares_them() -> None:
    # `ids.includes(beer.id)`: a number equals a number (2.0 is 2); a text "3" or a boolean true
    # is not a number, and two beers with the same id both match.
    beers: list[dict[str, Any]] = [
        {"id": 2.0},
        {"id": "3"},
        {"id": True},
        {"id": 4},
        {"id": None},
        {"name": "no id"},
        {"id": 4, "name": "a duplicate"},
    ]
    matched = q.filter_beers(beers, q.parse_beer_query({"ids": "1|2|3|4"}))
    assert matched == [beers[0], beers[3], beers[6]]


# --- combined -----------------------------------------------------------------------------------


def test_filters_combine_as_and(beers: list[dict[str, Any]]) -> None:
    expected = [
        b["id"]
        for b in beers
        if b["abv"] > 6
        and (b["ibu"] or 0) < 100
        and any(ref_in_order(h["name"], "citra") for h in b["ingredients"]["hops"])
        and any("cheese" in f.lower() for f in b["food_pairing"])
    ]
    assert expected
    assert run(beers, abv_gt="6", ibu_lt="100", hops="citra", food="cheese") == expected


def test_everything_combined(beers: list[dict[str, Any]]) -> None:
    params = dict(
        abv_gt="4", abv_lt="12", ebc_gt="10", brewed_after="01-2010", brewed_before="01-2016",
        malt="extra_pale", yeast="wyeast", ids="|".join(str(i) for i in range(1, 200)),
    )  # fmt: skip
    expected = [
        b["id"]
        for b in beers
        if 4 < b["abv"] < 12
        and (b["ebc"] or 0) > 10
        and (m := ref_month(b["first_brewed"])) is not None
        and (2010, 1) < m < (2016, 1)
        and any(ref_in_order(x["name"], "extra pale") for x in b["ingredients"]["malt"])
        and ref_in_order(b["ingredients"]["yeast"], "wyeast")
        and b["id"] < 200
    ]
    assert expected
    assert run(beers, **params) == expected


def test_unknown_parameters_are_ignored(beers: list[dict[str, Any]]) -> None:
    assert run(beers, colour="red", beer_name="punk") == run(beers, beer_name="punk")


# --- pagination ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "per_page", "expected"),
    [
        (None, None, list(range(1, 26))),
        ("2", None, list(range(26, 51))),
        ("1", "80", list(range(1, 81))),
        ("5", "80", list(range(321, 326))),  # the last, partial page
        ("6", "80", []),  # past the end
        ("325", "1", [325]),
        ("326", "1", []),
        ("99999999999999999999999", "5", []),
        ("+2", "010", list(range(11, 21))),
        ("1", "+80", list(range(1, 81))),
        ("+1", "+1", [1]),  # the signed form's lower bounds
        ("1", "0000000000000000080", list(range(1, 81))),  # leading zeros: still 80 per page
    ],
)
def test_pagination(
    beers: list[dict[str, Any]], page: str | None, per_page: str | None, expected: list[int]
) -> None:
    params = {k: v for k, v in (("page", page), ("per_page", per_page)) if v is not None}
    assert ids(q.select_beers(beers, q.parse_beer_query(params))) == expected


def test_pagination_applies_after_filtering(beers: list[dict[str, Any]]) -> None:
    matching = [b["id"] for b in beers if b["abv"] > 8]
    page = q.select_beers(beers, q.parse_beer_query({"abv_gt": "8", "page": "2", "per_page": "10"}))
    assert ids(page) == matching[10:20]


# --- validation ---------------------------------------------------------------------------------


def errors_of(**params: str) -> list[dict[str, str]]:
    with pytest.raises(q.InvalidParams) as caught:
        q.parse_beer_query(params)
    return [error.as_json() for error in caught.value.errors]


@pytest.mark.parametrize("value", ["0", "-1", "", "abc", "1.5", "1e2", " 1"])
def test_bad_page(value: str) -> None:
    assert errors_of(page=value) == [
        {"location": "query", "param": "page", "msg": q.MSG_PAGE, "value": value}
    ]


@pytest.mark.parametrize("value", ["0", "81", "-5", "", "ten", "80.0", "+81", "+0"])
def test_bad_per_page(value: str) -> None:
    assert errors_of(per_page=value) == [
        {
            "location": "query",
            "param": "per_page",
            "msg": "Must be a number greater than 0 and less than 80",
            "value": value,
        }
    ]


@pytest.mark.parametrize("param", q.NUMERIC_FILTERS)
@pytest.mark.parametrize(
    "value", ["-1", "", "abc", "5%", "1,5", ".", "-", "+", "-.", "e5", "Infinity", "0x10"]
)
def test_bad_numbers(param: str, value: str) -> None:
    assert errors_of(**{param: value}) == [
        {
            "location": "query",
            "param": param,
            "msg": "Must be a number greater than 0",
            "value": value,
        }
    ]


@pytest.mark.parametrize("param", q.DATE_FILTERS)
@pytest.mark.parametrize(
    "value", ["", "2010", "1-2010", "01/2010", "10-2010", "00-2010", "01-201", "2012-11", "x"]
)
def test_dates_accept_what_the_original_accepted(
    beers: list[dict[str, Any]], param: str, value: str
) -> None:
    # The original's pattern never applied (express-validator 5 read it as no pattern): every
    # value is valid and moment.js decides. "2012-11" reads as month 20, invalid: [] (as the
    # original answered); "10-2010" is October 2010; "" is an invalid date.
    found = run(beers, **{param: value})
    wanted = moment_month_year(value, "-")
    before = param == "brewed_before"
    expected = [
        b["id"]
        for b in beers
        if wanted is not None
        and (m := ref_month(b["first_brewed"])) is not None
        and (m < wanted if before else m > wanted)
    ]
    assert found == expected
    if value in ("", "2012-11", "x", "00-2010"):
        assert found == []


def test_october_is_a_month_like_the_others(beers: list[dict[str, Any]]) -> None:
    october = set(run(beers, brewed_before="10-2010"))
    assert (
        set(run(beers, brewed_before="09-2010"))
        < october
        < set(run(beers, brewed_before="11-2010"))
    )


@pytest.mark.parametrize("param", q.TEXT_FILTERS)
def test_empty_text(param: str) -> None:
    assert errors_of(**{param: ""}) == [
        {"location": "query", "param": param, "msg": q.MSG_TEXT, "value": ""}
    ]


def test_white_space_is_a_value(beers: list[dict[str, Any]]) -> None:
    # express-validator's notEmpty only checks the length: " " looks for a space in the name.
    assert run(beers, beer_name=" ") == [b["id"] for b in beers if " " in b["name"]]
    assert run(beers, food="_") == run(beers, food=" ")


def test_every_bad_parameter_is_reported_in_the_original_order() -> None:
    errors = errors_of(food="", abv_gt="x", per_page="81", page="0", brewed_after="1", ids="")
    assert [e["param"] for e in errors] == ["page", "per_page", "abv_gt", "food"]


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "", " 3"])
def test_bad_beer_id(value: str) -> None:
    with pytest.raises(q.InvalidParams) as caught:
        q.parse_beer_id(value)
    assert [e.as_json() for e in caught.value.errors] == [
        {"location": "params", "param": "beerId", "msg": q.MSG_BEER_ID, "value": value}
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [("1", 1), ("042", 42), ("+7", 7), ("9" * 40, None)]
)
def test_beer_id(value: str, expected: int | None) -> None:
    assert q.parse_beer_id(value) == expected


def test_ingredient_names_match_one_name_at_a_time() -> None:
    beers = [
        {"id": 1, "ingredients": {"hops": [{"name": "Ab"}, {"name": "Cd"}], "malt": []}},
        {"id": 2, "ingredients": {"hops": [{"name": "Abcd"}], "malt": []}},
    ]
    # "a…c" spans two names in beer 1: that is not a match.
    assert run(beers, hops="ac") == [2]
    assert run(beers, hops="cd") == [1, 2]
    assert run(beers, hops="\x00") == []


def test_oddly_shaped_beers_do_not_crash_the_filters() -> None:
    beers: list[dict[str, Any]] = [
        {"id": 1, "name": None, "ingredients": {"hops": [{"name": None}, "x", {}], "yeast": None}},
        {"id": 2},
        {
            "id": 3,
            "name": "Hoppy",
            "ingredients": {"hops": [{"name": "Citra"}]},
            "food_pairing": None,
        },
    ]
    assert run(beers, hops="citra") == [3]
    assert run(beers, beer_name="hop", malt="x", yeast="y", food="z") == []
    assert run(beers, brewed_after="01-2000") == []


def test_dates_read_digits_as_javascript_does(beers: list[dict[str, Any]]) -> None:
    # Arabic-Indic digits are not digits for moment.js: no year, so the current year.
    this_year = f"01-{date.today().year}"
    assert run(beers, brewed_before="01-\u0662\u0660\u0661\u0660") == run(
        beers, brewed_before=this_year
    )
    assert run(beers, brewed_before="01-2010é") == run(beers, brewed_before="01-2010")


# --- the query string, the page numbers, the helpers the store uses --------------------------


def test_query_string_reads_as_express_qs_does() -> None:
    raw = b"page=2&&per_page=5&beer_name=a+b%20c&bare&x=1=2&page=3"
    assert q.parse_query_string(raw) == {
        "page": "3",  # a repeated parameter keeps its last value
        "per_page": "5",
        "beer_name": "a b c",
        "bare": "",
        "x": "1=2",  # only the first "=" separates the name from the value
    }


def test_a_plain_query_string_is_split_as_is() -> None:
    assert q.parse_query_string(b"page=2&per_page=5&bare&x=1=2") == {
        "page": "2",
        "per_page": "5",
        "bare": "",
        "x": "1=2",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"beer_name=%41le", {"beer_name": "Ale"}),  # an escape, no plus
        (b"beer_name=pale+ale", {"beer_name": "pale ale"}),  # a plus, no escape
        (b"beer_name=pale+ale&food=%41", {"beer_name": "pale ale", "food": "A"}),  # each decoded
    ],
)
def test_escapes_and_pluses_are_decoded_alone_or_together(
    raw: bytes, expected: dict[str, str]
) -> None:
    assert q.parse_query_string(raw) == expected


def test_query_string_decodes_escapes_and_raw_bytes_as_utf8() -> None:
    assert q.parse_query_string(b"hops=%C3%A9t%C3%A9&malt=\xc3\xa9") == {
        "hops": "\u00e9t\u00e9",
        "malt": "\u00e9",
    }
    # Bytes that are not UTF-8 become the replacement character instead of an error.
    assert q.parse_query_string(b"yeast=%FF&food=\xff") == {"yeast": "\ufffd", "food": "\ufffd"}


def test_query_string_keeps_the_first_thousand_parameters() -> None:
    raw = "&".join(f"p{n}=v" for n in range(q.MAX_QUERY_PARAMS + 5)).encode()
    params = q.parse_query_string(raw)
    assert len(params) == q.MAX_QUERY_PARAMS
    assert f"p{q.MAX_QUERY_PARAMS - 1}" in params
    assert f"p{q.MAX_QUERY_PARAMS}" not in params


def test_invalid_params_message_lists_each_parameter() -> None:
    with pytest.raises(q.InvalidParams) as caught:
        q.parse_beer_query({"page": "0", "per_page": "81"})
    assert str(caught.value) == f"page: {q.MSG_PAGE}; per_page: {q.MSG_PER_PAGE}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+2", 2),
        ("+" + "9" * 18, 10**18 - 1),  # the sign is not a digit
        ("9" * 18, 10**18 - 1),
        ("2" + "0" * 18, 10**18),  # past 18 digits: capped, the page is empty anyway
    ],
)
def test_page_numbers_are_read_whole_up_to_18_digits(value: str, expected: int) -> None:
    assert q.parse_beer_query({"page": value}).page == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+" + "9" * 18, 10**18 - 1), ("9" * 18, 10**18 - 1), ("2" + "0" * 18, None)],
)
def test_beer_ids_are_read_whole_up_to_18_digits(value: str, expected: int | None) -> None:
    assert q.parse_beer_id(value) == expected


def test_a_repeated_text_filter_is_answered_from_the_cache(
    beers: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(key: str, text: str) -> bool:
        calls.append(key)
        return q.is_subsequence(key, text)

    monkeypatch.setitem(q._TEXT_TESTS, "hops", counting)
    index = q.BeerIndex(beers)
    longest = "c" * q.MASK_CACHE_MAX_KEY_CHARS
    for text in ("citra", "simcoe", longest, longest + "c"):
        first = index.matching(q.BeerQuery(hops=text)).tolist()
        before = len(calls)
        assert index.matching(q.BeerQuery(hops=text)).tolist() == first
        cached = len(text) <= q.MASK_CACHE_MAX_KEY_CHARS  # longer keys are never kept
        assert (len(calls) == before) is cached
    positions = index.matching(q.BeerQuery(hops="citra")).tolist()
    assert [beers[i]["id"] for i in positions] == run(beers, hops="citra")


def test_the_text_cache_keeps_the_most_recently_used_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(key: str, text: str) -> bool:
        calls.append(key)
        return key in text

    monkeypatch.setitem(q._TEXT_TESTS, "food", counting)
    index = q.BeerIndex([{"id": 1, "food_pairing": ["cheese"]}])

    def tested(key: str) -> bool:
        """Whether answering ``food=key`` had to test the texts (it was not cached)."""
        before = len(calls)
        index.matching(q.BeerQuery(food=key))
        return len(calls) > before

    keys = [f"k{n}" for n in range(q.MASK_CACHE_ENTRIES)]
    assert all(tested(key) for key in keys)
    assert not tested(keys[0])  # a full cache still holds every key; k0 is now the newest
    assert tested("new")  # evicts the least recently used: k1
    assert not tested("new")
    assert not tested(keys[0])
    assert tested(keys[1])


def test_the_year_is_read_after_the_separator() -> None:
    beers = [{"id": 1, "first_brewed": "12x34/2010"}]
    assert run(beers, brewed_before="01-2011") == [1]
    assert run(beers, brewed_after="11-2010") == [1]
    # The filters' own dates too ("MM-YYYY"): the digits before the "-" are not the year.
    assert run(beers, brewed_before="01x99-2011") == [1]
    assert run(beers, brewed_after="11x20-2010") == [1]


def test_threshold_sets_are_the_direct_comparisons() -> None:
    values = [5.0, math.nan, 0.0, 5.0, 7.5, math.inf, 2.0, math.nan, 0.0]
    column = np.array(values)
    greater = q.ThresholdColumn(column, greater=True)
    less = q.ThresholdColumn(column, greater=False)
    thresholds = [-1.0, 0.0, 1e-9, 1.9, 2.0, 4.99, 5.0, 5.01, 7.5, 8.0, 1e308, math.inf]
    for threshold in thresholds:
        above = [i for i, value in enumerate(values) if value > threshold]
        below = [i for i, value in enumerate(values) if value < threshold]
        assert q.positions_of(greater.beyond(threshold), len(values)).tolist() == above
        assert q.positions_of(less.beyond(threshold), len(values)).tolist() == below
    assert greater.beyond(math.nan) == less.beyond(math.nan) == 0  # an invalid date: nothing


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"abv_gt": "5."}, {"abv_gt": 5.0}),
        ({"abv_gt": ".5"}, {"abv_gt": 0.5}),
        ({"abv_lt": "0012.50"}, {"abv_lt": 12.5}),
        ({"page": "007", "per_page": "080"}, {"page": 7, "per_page": 80}),
        ({"page": "+2", "ibu_gt": "1e1"}, {"page": 2, "ibu_gt": 10.0}),
    ],
)
def test_plain_and_other_number_spellings_read_alike(
    params: dict[str, str], expected: dict[str, object]
) -> None:
    query = q.parse_beer_query(params)
    assert {name: getattr(query, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("\u0663", ["per_page", "abv_gt"]),  # ARABIC-INDIC DIGIT THREE: not [0-9]
        ("1.2.3", ["per_page", "abv_gt"]),
        (".", ["per_page", "abv_gt"]),
        ("0", ["per_page"]),
        ("081", ["per_page"]),
    ],
)
def test_digits_outside_ascii_and_other_non_numbers_are_refused(
    value: str, refused: list[str]
) -> None:
    with pytest.raises(q.InvalidParams) as caught:
        q.parse_beer_query({"per_page": value, "abv_gt": value})
    assert [error.param for error in caught.value.errors] == refused
