"""Front-matter values to typed fields: title, dates, categories, image URLs, flags."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
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
_NAIVE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")


def title_of(value: Any, max_chars: int = MAX_TITLE_CHARS) -> tuple[str | None, bool]:
    """(clean title or None when blank, whether it was cut to max_chars)."""
    if value is None or isinstance(value, (list, dict)):
        return None, False
    title = clean_text(str(value))
    if not title:
        return None, False
    if len(title) > max_chars:
        return title[:max_chars], True
    return title, False


def published_at_of(value: Any, zone: ZoneInfo) -> dt.datetime | None:
    """A front-matter date as an aware UTC datetime, or None when missing or unreadable.

    RFC 2822 strings carry their zone; naive values (YAML datetimes or strings) are read in `zone`.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if not text:
            return None
        naive = _NAIVE.match(text)
        try:
            if naive:
                y, mo, d, h, mi, s = (int(g) if g else 0 for g in naive.groups())
                parsed = dt.datetime(y, mo, d, h, mi, s)
            else:
                parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    try:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


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
        if item is None or isinstance(item, dict):
            continue
        if isinstance(item, list):
            out.extend(categories_of(item))
            continue
        text = clean_text(str(item))
        if text:
            out.append(text)
    return out


def optional_text(value: Any) -> str | None:
    if value is None or isinstance(value, (list, dict)):
        return None
    text = clean_text(str(value))
    return text or None


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
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return None
    if host.endswith(_PLACEHOLDER_HOSTS):
        return None
    return url
