"""Text normalisation shared by titles and paragraphs."""

from __future__ import annotations

import html
import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")
# Full-width (U+3000) and ordinary spaces used to indent a paragraph's first line.
_INDENT = "\u3000 \t\n\xa0"


def clean_text(value: str) -> str:
    """Unescape entities, collapse whitespace, strip indentation, NFC. Full-width punctuation is kept."""
    if "&" in value:
        value = html.unescape(value)
    value = _WHITESPACE.sub(" ", value).strip(_INDENT)
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value
