"""Text measures over a batch: counts, reading time, language and keywords."""

from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.keyword_table import jieba_keyword_weights
from transforms.keywords import WORD_SEPARATOR, keyword_tokens, top_keywords
from transforms.measures import CJK, LATIN_WORD, WHITESPACE, with_text_measures


def _measured(
    bodies: list[str], titles: list[str | None] | None = None, keywords: bool = False
) -> pl.DataFrame:
    titles = titles or [None] * len(bodies)
    frame = pl.DataFrame(
        {"title": titles, "body_text": bodies}, schema={"title": pl.String, "body_text": pl.String}
    )
    tokens = [keyword_tokens(t, b) for t, b in zip(titles, bodies, strict=True)] if keywords else None
    return with_text_measures(frame, tokens, jieba_keyword_weights())


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("中国制造业采购经理指数继续低于临界点", "zh"),
        ("There is no stopping the iPhone supercycle, says analyst", "en"),
        ("苹果 Apple 发布 iPhone 新品 today in Cupertino 加州", "mixed"),
        ("眠すぎて字が糞", "unknown"),
        ("12345 !!!", "unknown"),
        ("", "unknown"),
    ],
)
def test_language(text: str, language: str) -> None:
    assert _measured([text])["language"].item() == language


def test_the_title_counts_towards_the_language() -> None:
    assert _measured(["12345"], ["中国制造业采购经理指数"])["language"].item() == "zh"


def test_counts_and_reading_time() -> None:
    row = _measured(["A股3500点，基金", "字" * 800, "word " * 100]).to_dicts()
    assert row[0]["cjk_char_count"] == 4 and row[0]["char_count"] == 10
    assert row[1]["reading_minutes"] == 2.0
    assert row[2]["reading_minutes"] == 0.5 and row[2]["char_count"] == 400


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_counts_agree_with_python(bodies: list[str]) -> None:
    got = _measured(bodies)
    assert got["cjk_char_count"].to_list() == [len(re.findall(CJK, b)) for b in bodies]
    assert got["char_count"].to_list() == [sum(not c.isspace() for c in b) for b in bodies]
    words = [len(re.findall(LATIN_WORD, b)) for b in bodies]
    cjk = got["cjk_char_count"].to_list()
    assert got["reading_minutes"].to_list() == pytest.approx(
        [c / 400 + w / 200 for c, w in zip(cjk, words, strict=True)], abs=0.051
    )
    # The class the count uses is Python's isspace(), spelled out: the same characters, no more.
    every_char = "".join(map(chr, range(0x3100)))
    assert re.findall(WHITESPACE, every_char) == [c for c in every_char if c.isspace()]


def test_keywords_are_weighted_terms_best_first() -> None:
    body = "央行宣布降息。降息将降低企业融资成本，央行表示货币政策保持稳健。" * 3
    got = _measured([body, "", "the and for"], ["央行降息", None, None], keywords=True)["keywords"].to_list()
    assert got[0][:2] == ["降息", "央行"]
    assert len(got[0]) <= 8 and len(set(got[0])) == len(got[0])
    assert got[1] == [] and got[2] == []


def test_keyword_ties_do_not_depend_on_order() -> None:
    tokens = [WORD_SEPARATOR.join(["银行", "证券", "基金"]), WORD_SEPARATOR.join(["基金", "证券", "银行"])]
    first, second = top_keywords(tokens, jieba_keyword_weights()).to_list()
    assert first == second


def test_no_tokens_means_no_keywords() -> None:
    assert _measured(["文本"])["keywords"].to_list() == [[]]
