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


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?")


_WHITESPACE_CHARS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
)
_DROP_WHITESPACE = str.maketrans("", "", _WHITESPACE_CHARS)


def cjk_char_count(text: str) -> int:
    return len(_CJK.findall(text))


def non_space_char_count(text: str) -> int:
    return len(text.translate(_DROP_WHITESPACE))


def latin_word_count(text: str) -> int:
    return len(_LATIN_WORD.findall(text))


def language_of(text: str, cjk: int | None = None, latin: int | None = None) -> str:
    """zh, en, mixed or unknown, by the share of CJK ideographs against Latin words.

    A CJK ideograph and a Latin word carry about the same meaning, so they are counted alike;
    kana and hangul count as other scripts, so Japanese or Korean text comes out unknown.
    Callers that already counted CJK ideographs and Latin words in text pass them in.
    """
    cjk = cjk_char_count(text) if cjk is None else cjk
    latin = latin_word_count(text) if latin is None else latin
    other = len(_KANA_HANGUL.findall(text))
    units = cjk + latin + other
    if units == 0:
        return "unknown"
    if cjk / units >= 0.8:
        return "zh"
    if latin / units >= 0.8:
        return "en"
    if (cjk + latin) / units >= 0.8:
        return "mixed"
    return "unknown"


def reading_minutes(cjk_chars: int, latin_words: int) -> float:
    """400 CJK characters or 200 words a minute, to a tenth of a minute."""
    return round(cjk_chars / 400 + latin_words / 200, 1)
