"""Stock codes an article mentions: Sina's news_keyword_pub comments and quote_ spans,
normalised (sh600519, hk00700, gb_aapl), deduplicated, in order of appearance."""

from __future__ import annotations

import re

# Literal prefixes keep the scan fast; Sina writes both in lower case.
_STOCK_MENTION = re.compile(r"news_keyword_pub,stock,([^\s<>]*?)\s*-->|id=[\"']?quote_([A-Za-z0-9_.]+)")
_STOCK_PREFIXED = re.compile(r"^(sh|sz|bj)(\d{6})$")
_STOCK_SUFFIXED = re.compile(r"^(\d{6})\.(sh|sz|bj|ss)$")
_STOCK_HK = re.compile(r"^hk(\d{1,5})$")
_STOCK_US = re.compile(r"^(?:gb_|us)([a-z][a-z.\-]{0,9})$")


def normalised_stock_code(raw: str) -> str | None:
    """sh600519 / sz300059 / bj830799 / hk00700 / gb_aapl; None for anything else."""
    code = raw.strip().lower()
    if _STOCK_PREFIXED.match(code):
        return code
    suffixed = _STOCK_SUFFIXED.match(code)
    if suffixed:
        exchange = "sh" if suffixed.group(2) == "ss" else suffixed.group(2)
        return exchange + suffixed.group(1)
    hk = _STOCK_HK.match(code)
    if hk:
        return "hk" + hk.group(1).zfill(5)
    us = _STOCK_US.match(code)
    if us:
        return "gb_" + us.group(1)
    return None


def stock_codes_of(html: str) -> list[str]:
    """Codes from news_keyword_pub comments and quote_ spans, in order of appearance."""
    seen: dict[str, None] = {}
    for match in _STOCK_MENTION.finditer(html):
        listed, quoted = match.groups()
        for raw in listed.split("&") if listed is not None else [quoted]:
            code = normalised_stock_code(raw)
            if code is not None:
                seen.setdefault(code, None)
    return list(seen)
