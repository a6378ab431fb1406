"""Front-matter values to typed fields: title, dates, categories, image URLs, flags."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from transforms.text import clean_text

MAX_TITLE_CHARS = 1000
EARLIEST_PLAUSIBLE = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
LATEST_PLAUSIBLE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

# Sina's generic image (the QR code of its app) stands in for a missing head image.
PROMO_IMAGE_URLS = frozenset({"https://n.sinaimg.cn/finance/cece9e13/20200514/343233024.png"})
_PLACEHOLDER_HOSTS = ("picsum.photos",)
# A value that reads as text: a list, a mapping, a set, bytes (!!binary) are not one.
_SCALARS = (str, int, float, dt.date)

# The archive's dates: naive "2021-08-26 11:06:13" (in the configured zone), RFC 2822
# "Fri, 29 Apr 2022 07:51:46 GMT", or "Invalid Date". Both are read strictly: a value that is
# not a real instant is null (missing_date), never moved to a plausible one.
_NAIVE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$", re.ASCII
)
_RFC2822 = re.compile(
    r"^(?:(?P<weekday>[A-Za-z]{3})\s*,\s*|(?P<bare_weekday>[A-Za-z]{3})\s+)?"
    r"(?P<day>\d{1,2})\s+(?P<month>[A-Za-z]{3})\s+(?P<year>[+-]?\d+)\s+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<zone>[+-]\d{4}|[A-Za-z]+))?(?:\s*\([^()]*\))?$",
    re.ASCII,
)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# RFC 2822's zone names (obs-zone), in hours from UT. Military letters other than Z have no
# reliable meaning (RFC 2822 4.3): like any other name they make the date unreadable.
_ZONE_NAMES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "ast": -4, "adt": -3, "est": -5, "edt": -4,
    "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
}  # fmt: skip


def _text_of(value: Any) -> str | None:
    if not isinstance(value, _SCALARS):
        return None
    try:
        return value if isinstance(value, str) else str(value)
    except ValueError:  # an int of more than 4,300 digits
        return None


def title_of(value: Any, max_chars: int = MAX_TITLE_CHARS) -> tuple[str | None, bool]:
    """(clean title or None when blank, whether it was cut to max_chars)."""
    text = _text_of(value)
    if text is None:
        return None, False
    title = clean_text(text)
    if not title:
        return None, False
    if len(title) > max_chars:
        return title[:max_chars], True
    return title, False


def _rfc2822_year(digits: str) -> int:
    """RFC 2822: four or more digits are the year; an obsolete two-digit year is 1950-2049 and a
    three-digit one is 1900 plus it. A sign (JavaScript writes years before 1 AD as -0001 or
    0000) is no year a datetime holds: ValueError, as for year 0 or 10000."""
    if not digits.isdigit() or len(digits) > 9:
        raise ValueError(f"year {digits}")
    year = int(digits)
    if len(digits) == 2:
        return year + (2000 if year < 50 else 1900)
    return year + 1900 if len(digits) == 3 else year


def _rfc2822_zone(zone: str | None) -> dt.tzinfo | None:
    """The zone of an RFC 2822 date, None when absent (read in the configured zone); ValueError
    when unreadable (minutes past 59, an offset of a day or more, an unknown name)."""
    if zone is None:
        return None
    if zone[0] in "+-":
        hours, minutes = int(zone[1:3]), int(zone[3:5])
        if minutes > 59 or hours > 23:
            raise ValueError(f"zone {zone}")
        if zone == "-0000":  # "UT, with no information about the local zone" (RFC 2822 3.3)
            return dt.UTC
        offset = dt.timedelta(hours=hours, minutes=minutes)
        return dt.timezone(-offset if zone[0] == "-" else offset)
    return dt.timezone(dt.timedelta(hours=_ZONE_NAMES[zone.lower()]))  # KeyError: unknown


def _parsed_rfc2822(text: str) -> dt.datetime | None:
    match = _RFC2822.match(text)
    if match is None:
        return None
    try:
        parsed = dt.datetime(
            _rfc2822_year(match["year"]),
            _MONTHS.index(match["month"].lower()) + 1,
            int(match["day"]),
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"] or 0),  # second 60 (a leap second) is no datetime: null
            tzinfo=_rfc2822_zone(match["zone"]),
        )
    except (ValueError, KeyError):
        return None
    weekday = match["weekday"] or match["bare_weekday"]
    if weekday is not None and weekday.lower() != _WEEKDAYS[parsed.weekday()]:
        return None  # the date contradicts its own day of the week: which one is wrong is unknown
    return parsed


def _parsed_naive(text: str) -> dt.datetime | None:
    match = _NAIVE.match(text)
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups()[:6])
    fraction = match.group(7) or ""
    try:
        # Microseconds, the column's unit (as YAML reads a fraction: further digits are cut).
        return dt.datetime(y, mo, d, h, mi, s, int(fraction[:6].ljust(6, "0")))
    except ValueError:
        return None


def published_at_of(value: Any, zone: ZoneInfo) -> dt.datetime | None:
    """A front-matter date as an aware UTC datetime, or None when missing or unreadable.

    RFC 2822 strings carry their zone; naive values (YAML datetimes or strings) are read in `zone`.
    A date is kept exactly or not at all: None when it is no real instant (Feb 29 of 2021, 24:00,
    a leap second, a weekday the date contradicts, a local time a clock change skipped), or when
    it or its date in `zone` falls outside the years 1-9999 a datetime holds.
    """
    if isinstance(value, dt.datetime):
        parsed: dt.datetime | None = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        parsed = (_parsed_naive(text) or _parsed_rfc2822(text)) if text else None
    else:
        return None  # a number, a list, a mapping: not a date
    if parsed is None:
        return None
    try:
        if parsed.tzinfo is None:
            naive = parsed
            parsed = parsed.replace(tzinfo=zone)
            if parsed.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != naive:
                return None  # a local time that never was (the gap of a change to summer time)
        published_at = parsed.astimezone(dt.UTC)
        published_at.astimezone(zone)  # its local date must exist too (published_date, year, month)
    except (OverflowError, ValueError):
        return None
    return published_at


def is_plausible_date(published_at: dt.datetime) -> bool:
    """Within fixed bounds, never the clock's: a row's flags depend only on its file and the
    settings, so an incremental lake equals a clean build whenever it is built (a date in the
    future is the `quality` view's question, asked at query time)."""
    return EARLIEST_PLAUSIBLE <= published_at < LATEST_PLAUSIBLE


def categories_of(value: Any) -> list[str]:
    """categories as a list of clean strings: a string is one category; nested values are flattened."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, list):
            out.extend(categories_of(item))
            continue
        text = _text_of(item)
        if text is not None:
            text = clean_text(text)
            if text:
                out.append(text)
    return out


# What decorates a name in a category string without being part of it: dashes (ASCII, Unicode and
# full-width), bullets and middle dots, pipes, and whitespace (36kr's feed comes as both "资讯" and
# "— 资讯"). Only at either end: 新浪财经－国內 keeps its full-width dash.
_NAME_DECORATION = (
    " \t\u00a0\u3000"  # spaces, no-break and ideographic
    "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d"  # dashes
    "\u2022\u00b7\u2027\u2219\u25cf\u25e6\u2023\u2043\u30fb\uff65"  # bullets, middle dots
    "|\uff5c\u00a6\u2502"  # pipes
)
# Brackets that wrap a whole name: 【资讯】 is 资讯 (title marks 《》 name a publication: kept).
_WRAPPERS = {
    "[": "]",
    "(": ")",
    "{": "}",
    "【": "】",
    "（": "）",
    "「": "」",
    "『": "』",
    "〔": "〕",
    "〖": "〗",
    "［": "］",
}


def _wrapped_whole(name: str) -> bool:
    """The name's first character is an opening bracket whose match is its last character."""
    close = _WRAPPERS.get(name[0])
    if close is None or name[-1] != close or len(name) < 2:
        return False
    depth = 0
    for i, char in enumerate(name):
        if char == name[0]:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return i == len(name) - 1
    return False


def feed_name_of(category: str | None) -> str | None:
    """A feed's name from its category string: decoration at either end stripped (dashes, bullets,
    pipes, whitespace, a bracket pair around the whole name), repeatedly; null when nothing is
    left. The raw string stays in the categories column."""
    name = category
    while name:
        stripped = name.strip(_NAME_DECORATION)
        if stripped and _wrapped_whole(stripped):
            stripped = stripped[1:-1]
        if stripped == name:
            break
        name = stripped
    return name or None


def optional_text(value: Any) -> str | None:
    text = _text_of(value)
    if text is None:
        return None
    return clean_text(text) or None


def comments_enabled_of(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
    return None


def real_url(url: str) -> str:
    """Unwrap CORS-proxy URLs (https://proxy/?http://real/url) to the wrapped URL."""
    query_at = url.find("?")
    if query_at != -1:
        inner = url[query_at + 1 :]
        if inner.startswith(("http://", "https://")):
            return inner
    return url


def image_url_of(value: Any) -> str | None:
    """A usable image URL, or None for blanks, placeholders, promo images and data: URIs."""
    if not isinstance(value, str):
        return None
    url = real_url(value.strip())
    if not url or url.startswith("data:"):
        return None
    if url in PROMO_IMAGE_URLS:
        return None
    if (
        url.isascii()
        and "[" not in url
        and "]" not in url
        and not any(h in url.lower() for h in _PLACEHOLDER_HOSTS)
    ):
        # No placeholder host can be in it, and urlsplit refuses only a bracket (an IPv6 host) or a
        # host that is not ASCII: splitting it (a third of the walk's media time) would keep it.
        return url
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    if host.endswith(_PLACEHOLDER_HOSTS):
        return None
    return url
