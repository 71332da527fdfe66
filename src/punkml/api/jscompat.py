"""The few JavaScript behaviours the original Punk API's answers depend on, reproduced exactly.

The original server (Node/Express) compared query strings with numbers using JavaScript's
``Number(...)`` coercion, and parsed ``mm-yyyy`` / ``mm/yyyy`` dates with moment.js in its lenient
(non-strict) mode. Both decide which beers a query returns, so they are reproduced here rather than
approximated with Python's own parsers.
"""

from __future__ import annotations

import math
import re
from datetime import date

# Characters JavaScript's String.prototype.trim (and so Number(...)) treats as white space.
_JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_JS_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_JS_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_JS_RADIX_DIGITS = {
    16: re.compile(r"[0-9a-fA-F]+"),
    8: re.compile(r"[0-7]+"),
    2: re.compile(r"[01]+"),
}

# moment.js lenient parsing: each format token takes the FIRST match of its pattern anywhere in
# the rest of the input (not anchored), literal separators likewise.
_MOMENT_MONTH = re.compile(r"\d\d?", re.ASCII)
_MOMENT_YEAR = re.compile(r"\d{1,4}", re.ASCII)


def js_number(text: str) -> float:
    """``Number(text)`` as JavaScript computes it (``nan`` where JavaScript gives ``NaN``)."""
    if text.isdigit() and text.isascii():  # the common case: plain decimal digits
        return float(text)
    s = text.strip(_JS_WHITESPACE)
    if s == "":
        return 0.0
    radix = _JS_RADIX.get(s[:2])
    if radix is not None:
        digits = s[2:]
        if not _JS_RADIX_DIGITS[radix].fullmatch(digits):
            return math.nan
        try:
            return float(int(digits, radix))
        except OverflowError:
            return math.inf
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    if _JS_DECIMAL.fullmatch(s):
        return float(s)
    return math.nan


def moment_month_year(
    text: str, separator: str, *, today: date | None = None
) -> tuple[int, int] | None:
    """Parse ``text`` like ``moment(text, "MM<sep>YYYY")`` in lenient mode.

    Returns ``(year, month)`` with month 1-12, or ``None`` where moment's date is invalid (no
    digits at all, or a month outside 1-12: "2008" parses as month 20 and is invalid). Two-digit
    years follow moment: 00-68 → 20xx, 69-99 → 19xx. A missing year is the current year.
    """
    rest = text
    month_match = _MOMENT_MONTH.search(rest)
    month: int | None = None
    if month_match is not None:
        month = int(month_match.group())
        rest = rest[month_match.end() :]
    at = rest.find(separator)
    if at >= 0:
        rest = rest[at + len(separator) :]
    year_match = _MOMENT_YEAR.search(rest)
    year: int | None = None
    if year_match is not None:
        digits = year_match.group()
        year = int(digits)
        if len(digits) == 2:
            year += 1900 if year > 68 else 2000
    if month is None and year is None:
        return None
    if month is None:
        month = 1
    if year is None:
        year = (today or date.today()).year
    if not 1 <= month <= 12:
        return None
    return year, month
