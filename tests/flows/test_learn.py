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
from transforms.relearn import article_lines
from transforms.schema import ARTICLE_LINES_SCHEMA
from warehouse.feed_model import SIGHTING_BUCKETS, sighting_bucket
from warehouse.layout import STATE_FILE
from warehouse.load import LakeWriter
from warehouse.state import commit_state
from warehouse.tables import LINE_COUNTS, LINE_SIGHTINGS

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


def _line_model(writer: LakeWriter) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A lake's line counts and its sightings, whole."""
    state = writer.state(reread=True)
    sightings = [writer.model_part(rel, LINE_SIGHTINGS) for rel in state.line_sightings.values()]
    return (
        writer.dataset("line_counts").sort("feed_key", "line_hash"),
        pl.concat([LINE_SIGHTINGS.empty_frame(), *sightings]).sort("feed_key", "line_hash"),
    )


def _feeds_source(tmp_path: Path) -> tuple[Path, list[Path]]:
    files = sorted(FEEDS.glob("*.txt")) if FEEDS.is_dir() else []
    if not files:
        pytest.skip(f"{FEEDS} not found (../shared beside the project)")
    source = tmp_path / "src"
    source.mkdir()
    for path in files[:-1]:
        shutil.copy(path, source / path.name)
    return source, files


def test_a_run_reads_and_writes_only_the_sighting_files_its_lines_fall_in(tmp_path: Path) -> None:
    source, files = _feeds_source(tmp_path)
    lake = tmp_path / "lake"
    settings = Settings(source=source, lake=lake, workers=1)
    writer, _ = run_through_writer(source, lake, "r1", settings)
    before = dict(writer.state().line_sightings)
    assert len(before) == SIGHTING_BUCKETS  # a few thousand lines seen once fill every bucket
    counts, _ = _line_model(writer)
    assert counts["articles"].filter(counts["line_hash"] != FEED_TOTAL).min() == 2

    shutil.copy(files[-1], source / files[-1].name)  # one more article
    writer, _ = run_through_writer(source, lake, "r2", settings)
    after = writer.state().line_sightings
    rewritten = {bucket for bucket, rel in after.items() if before.get(bucket) != rel}
    rows = pl.concat([writer.rows(rel) for files_ in writer.state().partitions.values() for rel in files_])
    its_lines = article_lines(rows.filter(pl.col("source_path") == files[-1].name))
    its_buckets = {str(b) for b in its_lines.select(sighting_bucket()).to_series().to_list()}
    assert rewritten and rewritten <= its_buckets < set(before)
    assert all("r2" in after[bucket] for bucket in rewritten)

    clean, _ = run_through_writer(source, tmp_path / "clean", "c1", settings)
    for kept, built in zip(_line_model(writer), _line_model(clean), strict=True):
        assert kept.equals(built)


def test_a_lake_that_counted_lines_of_one_article_moves_them_to_their_sightings(tmp_path: Path) -> None:
    source, files = _feeds_source(tmp_path)
    lake = tmp_path / "lake"
    settings = Settings(source=source, lake=lake, workers=1)
    writer, _ = run_through_writer(source, lake, "r1", settings)
    # As a lake written before sightings were kept apart: every count in one file, no sightings.
    counts, once = _line_model(writer)
    state = writer.state()
    legacy = pl.concat([counts, once.with_columns(articles=pl.lit(1, pl.Int64()))])
    state.line_counts = writer.stored_model_part(legacy, LINE_COUNTS, "_line_counts", "legacy", 0)
    state.line_sightings = {}
    state.sizes[state.line_counts] = (lake / "_files" / state.line_counts).stat().st_size
    commit_state(writer.storage, STATE_FILE, state)

    shutil.copy(files[-1], source / files[-1].name)
    writer, _ = run_through_writer(source, lake, "r2", settings)
    clean, _ = run_through_writer(source, tmp_path / "clean", "c1", settings)
    for kept, built in zip(_line_model(writer), _line_model(clean), strict=True):
        assert kept.equals(built)


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
