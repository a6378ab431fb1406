"""The learn stage called directly (no pipeline run): a lake written through the writer alone,
batches staged by the transform, and learned_models between the merge plan and the merge."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.learn import sample_model
from flows.settings import Settings
from tests.conftest import CORPUS
from tests.helpers import run_through_writer
from transforms.boilerplate import FEED_TOTAL, LearningRule, feed_key, line_hash
from transforms.schema import ARTICLE_LINES_SCHEMA

FEEDS = CORPUS.parent / "corpus-feeds"
ZHIHU = "查看知乎讨论"


def _zhihu_key() -> int:
    key = feed_key("知乎", "知乎日报")
    assert key is not None
    return key


def _lines(rows: list[tuple[str, int, int]]) -> pl.LazyFrame:
    return pl.DataFrame(
        [(path, key, hashed, False) for path, key, hashed in rows], schema=ARTICLE_LINES_SCHEMA, orient="row"
    ).lazy()


def test_a_sample_teaches_what_it_repeats_at_the_rule_scaled_to_it() -> None:
    key, footer, other = 7, 101, 202
    rows = [(f"a{i}", key, FEED_TOTAL) for i in range(6)]
    rows += [(f"a{i}", key, footer) for i in range(4)] + [("a0", key, other)]
    rule = LearningRule(min_share=0.3, min_articles=5, min_feed_articles=10)
    hint = sample_model({9: frozenset({1})}, _lines(rows), share=0.5, rule=rule)
    # Scaled to half the run: 3 articles of a feed of 5 suffice; the lake's model is kept.
    assert hint == {9: frozenset({1}), key: frozenset({footer})}
    assert sample_model({}, _lines(rows), share=0.1, rule=LearningRule(0.9, 5, 10)) == {}


def test_the_stage_learns_a_feeds_footer_and_unlearns_it_when_the_feed_shrinks(tmp_path: Path) -> None:
    files = sorted(FEEDS.glob("*.txt")) if FEEDS.is_dir() else []
    if not files:
        pytest.skip(f"{FEEDS} not found (../shared beside the project)")
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    for path in files:
        shutil.copy(path, source / path.name)
    settings = Settings(source=source, lake=lake, workers=1)
    writer, learned = run_through_writer(source, lake, "r1", settings)
    assert learned is not None
    footer = line_hash(ZHIHU)
    assert footer in writer.boilerplate_model()[_zhihu_key()]
    assert learned.rederived.is_empty()  # a first build re-derives parsed rows, no lake rows
    assert ZHIHU in learned.boilerplate["line"].to_list()

    zhihu = [p for p in sorted(source.glob("*.txt")) if "知乎日报" in p.read_text(encoding="utf-8")[:300]]
    for path in zhihu[:15]:  # five left: too few to learn from
        path.unlink()
    writer, learned = run_through_writer(source, lake, "r2", settings)
    assert learned is not None
    assert _zhihu_key() not in writer.boilerplate_model()
    # The five rows that stay carried the footer as boilerplate: the stage re-derived them.
    assert learned.rederived.height == 5
    assert set(learned.rederived["source_path"].to_list()) == {p.name for p in zhihu[15:]}


def test_a_plan_that_loads_nothing_learns_nothing(tmp_path: Path) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    shutil.copy(sorted(CORPUS.glob("*.txt"))[0], source / "a.txt")
    settings = Settings(source=source, lake=lake, workers=1)
    run_through_writer(source, lake, "r1", settings)
    _, learned = run_through_writer(source, lake, "r2", settings)  # nothing changed
    assert learned is None


def _article(title: str, source: str, feed: str, date: str, body: str) -> str:
    return (
        f"---\ntitle: '{title}'\ncategories:\n - 金融\n - {source}\n - {feed}\nauthor: x\n"
        f"date: {date}\n---\n<div>{body}</div>\n"
    )


SINA_CATL = (
    '<p><span id="stock_sz300750"><a href="https://finance.sina.com.cn/realstock/company/sz300750/nc.shtml" '
    'class="keyword" target="_blank">宁德时代</a></span><span id="quote_sz300750"></span>今日发布公告。</p>'
)


def _names(lake: Path) -> dict[str, list[tuple[str, str]]]:
    """Each row's "name" mentions, by source path, read from the lake's files."""
    frame = pl.read_parquet(lake / "articles" / "**" / "*.parquet", hive_partitioning=False)
    return {
        path: [(m["stock_code"], m["written"]) for m in mentions if m["found_by"] == "name"]
        for path, mentions in frame.select("source_path", "stock_mentions").iter_rows()
    }


def test_a_name_a_second_feed_teaches_is_found_in_the_first_feeds_older_rows(tmp_path: Path) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    texts = {
        "a1.txt": "<p>宁德时代股价大涨，中国动力电池产业创新联盟成立。</p>",
        "a2.txt": "<p>分析师看好宁德时代的海外业务。</p>",
        "a3.txt": "<p>锂电池板块今日调整。</p>",
    }
    for i, (name, body) in enumerate(texts.items(), 1):
        (source / name).write_text(
            _article(f"t{i}", "格隆汇", "主题文章", f"2022-0{i}-01 10:00:00", body), encoding="utf-8"
        )
    settings = Settings(source=source, lake=lake, workers=1)
    run_through_writer(source, lake, "r1", settings)
    assert all(not found for found in _names(lake).values())

    # A Sina article links 宁德时代 to its code, and another anchors 中国动力 to its own.
    (source / "sina.txt").write_text(
        _article("s", "新浪财经", "新浪财经－国內", "2022-05-01 10:00:00", SINA_CATL), encoding="utf-8"
    )
    (source / "cls.txt").write_text(
        _article("c", "财联社", "深度", "2022-05-02 10:00:00", "<p>中国动力（600482.SH）签订合同。</p>"),
        encoding="utf-8",
    )
    _, learned = run_through_writer(source, lake, "r2", settings)
    assert learned is not None
    assert set(learned.name_counts.select("name", "stock_code").iter_rows()) == {
        ("宁德时代", "sz300750"),
        ("中国动力", "sh600482"),
    }
    found = _names(lake)
    assert found["a1.txt"] == [("sz300750", "宁德时代")]  # 中国动力 not inside 中国动力电池
    assert found["a2.txt"] == [("sz300750", "宁德时代")]
    assert found["a3.txt"] == [] and found["sina.txt"] == [] and found["cls.txt"] == []
    assert set(learned.rederived["source_path"].to_list()) == {"a1.txt", "a2.txt"}  # in the same run

    (source / "sina.txt").unlink()  # the only article teaching 宁德时代 leaves: so does the name
    _, learned = run_through_writer(source, lake, "r3", settings)
    assert learned is not None
    assert all(not found for found in _names(lake).values())
    assert set(learned.rederived["source_path"].to_list()) == {"a1.txt", "a2.txt"}
