from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from transforms.text import clean_text


def test_clean_text_unescapes_collapses_and_strips_full_width_indent() -> None:
    assert clean_text("　　央行&nbsp;宣布\n  降息&amp;降准 ") == "央行 宣布 降息&降准"


def test_clean_text_keeps_full_width_punctuation() -> None:
    assert clean_text("涨幅（约）：3%！") == "涨幅（约）：3%！"


def test_clean_text_is_nfc() -> None:
    assert clean_text("Cafe\u0301") == "Café"


@given(st.text())
def test_clean_text_is_idempotent_nfc_and_single_line(value: str) -> None:
    once = clean_text(value)
    assert clean_text(once) == once or "&" in once  # a second unescape may decode text like '&amp;lt;'
    assert "\n" not in once and "  " not in once
    assert unicodedata.is_normalized("NFC", once)
