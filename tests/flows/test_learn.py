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
