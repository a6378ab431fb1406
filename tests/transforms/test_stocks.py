"""Codes written in the text, in every feed's forms, normalised to Sina's; numbers that are not
codes (dates, amounts, phone numbers, funds, the NEEQ) stay numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.stocks import (
    Securities,
    listed_code,
    listed_name_mentions,
    name_spans,
    securities_pattern,
    stock_mentions_of,
    text_stock_mentions,
)

FORMS = [
    ("蔚蓝锂芯（002245.SZ）", "sz002245"),
    ("兆易创新（603986，SH）", "sh603986"),
    ("盐湖股份（000792）", "sz000792"),
    ("中国华融(02799.HK)", "hk02799"),
    ("$奥比中光(SH688322)$", "sh688322"),
    ("$阿里巴巴-SW(09988)$", "hk09988"),
    ("小鹏汽车-W(HK:09868)", "hk09868"),
    ("苹果(NASDAQ:AAPL)", "gb_aapl"),
    ("贝特瑞(835185.BJ)", "bj835185"),
    ("中芯国际（688981.SS）", "sh688981"),
]


@pytest.mark.parametrize(("written", "code"), FORMS)
def test_every_form_a_feed_writes_is_found_and_normalised(written: str, code: str) -> None:
    assert text_stock_mentions(f"据悉，{written}今日公告。") == [(code, written)]


@pytest.mark.parametrize(
    "text",
    [
        "营收（2021）同比增长",  # a year
        "日期（20210101）",
        "净利润（300000）万元",  # an amount
        "联系电话（13800138000）",
        "沪深300ETF（510300）",  # a fund
        "某公司（835185）挂牌新三板",  # the NEEQ's, or Beijing's without saying so
        "上涨（5.2%）",
        "（600519）",  # no name before it
    ],
)
def test_numbers_that_are_not_codes_stay_numbers(text: str) -> None:
    assert text_stock_mentions(text) == []


def test_the_name_starts_where_the_clause_before_it_ends() -> None:
    assert text_stock_mentions("除海尔生物（688139.SH）外") == [("sh688139", "海尔生物（688139.SH）")]
    assert text_stock_mentions("个股是凯普生物（300639.SZ）") == [("sz300639", "凯普生物（300639.SZ）")]


def test_quote_links_carry_codes() -> None:
    links = ["https://xueqiu.com/S/SZ002714", "https://finance.example.com/q?symbol=SH600519&t=1"]
    assert [code for code, _ in text_stock_mentions("", links)] == ["sz002714", "sh600519"]


def test_one_mention_per_code_markup_first() -> None:
    mentions = stock_mentions_of(["sz300750"], "宁德时代(300750.SZ)、比亚迪（002594.SZ）")
    assert mentions == [
        {"stock_code": "sz300750", "found_by": "markup", "written": "sz300750"},
        {"stock_code": "sz002594", "found_by": "code", "written": "比亚迪（002594.SZ）"},
    ]


LIST = Securities(
    {"中国动力": "sh600482", "宁德时代": "sz300750", "宁王": "sz300750", "中国平安": "sh601318"}
)


def test_a_listed_name_is_found_as_a_word_only() -> None:
    text = "中国动力电池产业创新联盟成立，宁德时代发布公告，宁王大涨。"
    assert listed_name_mentions(text, LIST.codes_by_name, LIST.pattern) == [
        ("sz300750", "宁德时代"),
        ("sz300750", "宁王"),
    ]
    mentions = stock_mentions_of([], "中国动力今日公告，宁德时代（300750.SZ）大涨", securities=LIST)
    assert [(m["stock_code"], m["found_by"], m["written"]) for m in mentions] == [
        ("sz300750", "code", "宁德时代（300750.SZ）"),
        ("sh600482", "list", "中国动力"),
    ]


@pytest.mark.parametrize(
    ("raw", "code"),
    [("600519", "sh600519"), ("600519.SH", "sh600519"), ("SZ300750", "sz300750"), ("700", "hk00700"),
     ("00700.HK", "hk00700"), ("AAPL.O", "gb_aapl"), ("835185", None), ("x", None)],
)  # fmt: skip
def test_a_lists_codes_in_any_form(raw: str, code: str | None) -> None:
    assert listed_code(raw) == code


# Few letters, and names cut from the text itself, so that names overlap, nest and repeat.
_LETTERS = st.sampled_from("中国平安银行动力")


@st.composite
def _text_and_names(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = draw(st.text(_LETTERS, max_size=40))
    cuts = st.tuples(st.integers(0, len(text)), st.integers(1, 6))
    names = [text[start : start + size] for start, size in draw(st.lists(cuts, max_size=6))]
    others = draw(st.lists(st.text(_LETTERS, min_size=1, max_size=6), max_size=3))
    return text, [name for name in names + others if name]


@given(_text_and_names())
def test_name_spans_are_where_the_names_pattern_matches(case: tuple[str, list[str]]) -> None:
    text, names = case
    pattern = securities_pattern(names)
    expected = [] if pattern is None else [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    assert name_spans(text, names) == expected
