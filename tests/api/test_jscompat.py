"""JavaScript ``Number(...)`` and lenient moment.js month parsing, case by case."""

from __future__ import annotations

import math
from datetime import date

import pytest

from punkml.api.jscompat import js_number, moment_month_year


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", 5.0),
        ("+5", 5.0),
        ("-0", 0.0),
        ("5.", 5.0),
        (".5", 0.5),
        ("1e1", 10.0),
        ("1E-1", 0.1),
        ("007", 7.0),
        (" 12 ", 12.0),
        ("\t3\n", 3.0),
        ("", 0.0),
        ("   ", 0.0),
        ("0x1F", 31.0),
        ("0b101", 5.0),
        ("0o17", 15.0),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
        ("1e999", math.inf),
    ],
)
def test_js_number_parses_like_javascript(text: str, expected: float) -> None:
    assert js_number(text) == expected


@pytest.mark.parametrize(
    "text", ["abc", "1,5", "5px", "-.", ".e5", "e5", "0x", "-0x10", "1_000", "inf", "nan", "++1"]
)
def test_js_number_is_nan_where_javascript_is(text: str) -> None:
    assert math.isnan(js_number(text))


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("09/2007", "/", (2007, 9)),
        ("12/2016", "/", (2016, 12)),
        ("01-2010", "-", (2010, 1)),
        ("x01-2010", "-", (2010, 1)),  # lenient: tokens are searched, not anchored
        ("5x01-2010", "-", (2010, 5)),  # the FIRST digits are the month
        ("03-15", "-", (2015, 3)),  # two-digit year 00-68 → 20xx
        ("03-69", "-", (1969, 3)),  # 69-99 → 19xx
        ("03-0001", "-", (1, 3)),
    ],
)
def test_moment_month_year(text: str, separator: str, expected: tuple[int, int]) -> None:
    assert moment_month_year(text, separator) == expected


@pytest.mark.parametrize("text", ["2008", "13/2010", "00/2010", "19-2010", "", "abc"])
def test_moment_month_year_invalid(text: str) -> None:
    # "2008" reads as month 20: moment calls such a date invalid, so it never compares.
    assert moment_month_year(text, "/") is None


def test_moment_month_year_missing_year_is_this_year() -> None:
    assert moment_month_year("04", "-", today=date(2031, 6, 1)) == (2031, 4)
