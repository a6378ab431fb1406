from __future__ import annotations

import unicodedata

from hypothesis import given, settings
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


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000\u200b\ufeffa字")))
def test_whitespace_is_what_the_regex_calls_whitespace(text: str) -> None:
    import re

    assert clean_text(text) == re.sub(r"\s+", " ", text).strip("\u3000 \t\n\xa0")


def test_str_split_and_the_regex_agree_on_every_code_point() -> None:
    import re

    space = re.compile(r"\s")
    assert all((space.fullmatch(chr(c)) is not None) == chr(c).isspace() for c in range(0x110000))
