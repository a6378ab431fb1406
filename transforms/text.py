"""Text normalisation shared by titles and paragraphs."""

from __future__ import annotations

import html
import re
import unicodedata

# A decimal character reference of 8 or more digits: html.unescape turns one above U+10FFFF into
# U+FFFD, but reads it with int(), which refuses more than 4,300 digits (a ValueError).
_LONG_DECIMAL_REFERENCE = re.compile(r"&#([0-9]{8,})(;?)")


def _short_reference(match: re.Match[str]) -> str:
    """The same reference with its leading zeros dropped, or what html.unescape makes of it when
    it is past the last code point (U+FFFD), so that unescape never reads a huge number."""
    digits = match.group(1).lstrip("0") or "0"
    return "\ufffd" if len(digits) > 7 else "&#" + digits + match.group(2)


def clean_text(value: str) -> str:
    """Unescape entities, collapse whitespace, strip indentation, NFC. Full-width punctuation is kept."""
    if "&" in value:
        if "&#" in value:
            value = _LONG_DECIMAL_REFERENCE.sub(_short_reference, value)
        value = html.unescape(value)
    # Each run of whitespace one space, none at either end (the full-width U+3000 that indents a
    # paragraph included): str.split's whitespace is the regex \s, at half the cost of a sub.
    value = " ".join(value.split())
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value
