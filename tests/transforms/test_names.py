"""Names the archive teaches: the pairs an article teaches (links, codes after names, cashtags),
the counts over the lake and the rule that learns a name, and names matched as words."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from transforms.names import (
    NAME_PAIRS_SCHEMA,
    NameRule,
    changed_names,
    learned_names,
    matched_names,
    next_name_counts,
    with_name_mentions,
)
from transforms.schema import ARTICLES, NAME_COUNTS
from transforms.stocks import (
    Securities,
    linked_stock_names,
    stock_mentions_of,
    stock_names_of,
    taught_name,
    written_stock_names,
)

SINA_LINK = (
    '<span id="stock_sz300059"><a href="https://finance.sina.com.cn/realstock/company/sz300059/nc.shtml" '
    'class="keyword" target="_blank">东方财富</a></span><span id="quote_sz300059"></span>日前发布'
)


def test_a_sina_stock_link_teaches_its_name_and_an_index_link_does_not() -> None:
    assert linked_stock_names(SINA_LINK) == [("东方财富", "sz300059")]
    index = '<a href="https://finance.sina.com.cn/realstock/company/sh000300/nc.shtml">沪深300</a>'
    assert linked_stock_names(index) == []
    hk = '<a href="https://finance.sina.com.cn/realstock/company/hk00700/nc.shtml">腾讯控股</a>'
    assert linked_stock_names(hk) == [("腾讯控股", "hk00700")]


def test_a_code_after_a_name_teaches_the_name_it_is_anchored_to() -> None:
    text = (
        "随后紫金矿业（601899.SH）大涨；个股是凯普生物（300639.SZ），"
        "新东方在线(01797.HK)，$阿里巴巴-SW(09988)$，小鹏汽车-W(HK:09868)，净利润（300000）万元"
    )
    assert written_stock_names(text) == [
        ("紫金矿业", "sh601899"),  # the words before it are not the name
        ("凯普生物", "sz300639"),
        ("新东方在线", "hk01797"),  # a Hong Kong name may be longer than an A share's
        ("阿里巴巴", "hk09988"),  # the class mark goes
        ("小鹏汽车", "hk09868"),
    ]


def test_each_pair_once_links_first() -> None:
    pairs = stock_names_of([("东方财富", "sz300059")], "东方财富（300059）与宁德时代（300750.SZ）")
    assert pairs == [
        {"stock_name": "东方财富", "stock_code": "sz300059"},
        {"stock_name": "宁德时代", "stock_code": "sz300750"},
    ]


def test_names_are_normalised_and_some_are_never_taught() -> None:
    assert taught_name(" 万科Ａ ") == "万科A"  # full width to half width, no blanks
    assert taught_name("阿里巴巴 -SW") == "阿里巴巴"
    assert taught_name("美团-W") == "美团"
    assert taught_name("Tesla") == "Tesla"
    for never in ("茅", "600519", "AB", "NIO", "股票代码", "--", "Ａ"):
        assert taught_name(never) is None


@given(st.text(min_size=0, max_size=12))
def test_a_taught_name_is_its_own_normal_form(raw: str) -> None:
    name = taught_name(raw)
    if name is not None:
        assert taught_name(name) == name
        assert len(name) >= 2 and not name.isdigit()


def _counts(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=NAME_COUNTS.polars_schema, orient="row")


def test_a_name_is_learned_with_the_code_that_has_most_of_its_evidence() -> None:
    counts = _counts(
        [
            ("宁德时代", "sz300750", 9),
            ("宁德时代", "sz300751", 1),  # 90%: the first code wins
            ("中国动力", "sh600482", 3),
            ("中国动力", "sz000001", 2),  # 60%: ambiguous, not learned
            ("贵州茅台", "sh600519", 1),
            ("太平洋", "sh601099", 5),  # a common word: never matched
        ]
    )
    assert learned_names(counts, NameRule(), common_words={"太平洋"}) == {
        "宁德时代": "sz300750",
        "贵州茅台": "sh600519",
    }
    assert learned_names(counts, NameRule(min_articles=2), common_words={"太平洋"}) == {
        "宁德时代": "sz300750"
    }


def test_the_users_list_wins() -> None:
    assert matched_names({"宁德时代": "sz300750", "茅台": "sh600519"}, {"茅台": "sh600519"}) == {
        "宁德时代": "sz300750"
    }
    assert changed_names({"a": "x", "b": "y"}, {"a": "x", "b": "z", "c": "w"}) == ["b", "c"]


_PAIRS = st.lists(
    st.tuples(
        st.sampled_from([f"p{i}" for i in range(8)]),
        st.sampled_from(["宁德时代", "中国动力", "东方财富"]),
        st.sampled_from(["sz300750", "sh600482", "sz300059"]),
    ),
    max_size=30,
)


def _pairs(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=NAME_PAIRS_SCHEMA, orient="row")


@given(_PAIRS, st.sets(st.sampled_from([f"p{i}" for i in range(8)])))
def test_counts_do_not_depend_on_how_the_rows_arrived(
    rows: list[tuple[str, str, str]], first: set[str]
) -> None:
    empty = NAME_COUNTS.empty_frame()
    whole = next_name_counts(empty, _pairs([]), _pairs(rows))
    earlier = next_name_counts(empty, _pairs([]), _pairs([r for r in rows if r[0] in first]))
    later = _pairs([r for r in rows if r[0] not in first])
    assert next_name_counts(earlier, _pairs([]), later).equals(whole)  # an article is counted once
    # rows that leave take away what they brought
    assert next_name_counts(whole, _pairs(rows), _pairs([])).is_empty()
    learned = learned_names(whole, NameRule())
    totals = whole.group_by("name").agg(pl.col("articles").sum())
    for name, code in learned.items():
        carried = whole.filter((pl.col("name") == name) & (pl.col("stock_code") == code))["articles"][0]
        assert carried >= 0.8 * totals.filter(pl.col("name") == name)["articles"][0]


def _rows(texts: list[str], mentions: list[list[dict[str, str]]]) -> pl.DataFrame:
    dtype = ARTICLES.polars_schema
    return pl.DataFrame(
        {
            "body_text": texts,
            "stock_mentions": pl.Series(mentions, dtype=dtype["stock_mentions"]),
            "stock_codes": pl.Series(
                [[m["stock_code"] for m in ms] for ms in mentions], dtype=dtype["stock_codes"]
            ),
        }
    )


NAMES = Securities({"中国动力": "sh600482", "宁德时代": "sz300750"})


def test_learned_names_are_matched_as_words_after_the_other_mentions() -> None:
    markup = {"stock_code": "sz300750", "found_by": "markup", "written": "sz300750"}
    stale = {"stock_code": "sh600000", "found_by": "name", "written": "浦发银行"}
    rows = _rows(
        ["中国动力电池产业创新联盟成立", "中国动力今日公告，宁德时代大涨", "宁德时代大涨"],
        [[], [stale], [markup]],
    )
    again = with_name_mentions(rows, NAMES)
    assert again["stock_mentions"].to_list() == [
        [],  # not inside 中国动力电池
        [
            {"stock_code": "sh600482", "found_by": "name", "written": "中国动力"},
            {"stock_code": "sz300750", "found_by": "name", "written": "宁德时代"},
        ],
        [markup],  # a code the markup found is not a name's
    ]
    assert again["stock_codes"].to_list() == [[], ["sh600482", "sz300750"], ["sz300750"]]
    assert with_name_mentions(again, NAMES).equals(again)
    # at parse time, the same: names after the markup, codes and list
    assert (
        stock_mentions_of([], "中国动力今日公告，宁德时代大涨", names=NAMES)
        == again["stock_mentions"][1].to_list()
    )
