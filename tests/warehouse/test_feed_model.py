"""The boilerplate model's rules on frames alone (warehouse/feed_model.py)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.boilerplate import FEED_TOTAL, LearningRule, learnable_hashes, line_hash, line_key
from transforms.schema import ARTICLE_LINES_SCHEMA
from warehouse.feed_model import (
    SIGHTING_BUCKETS,
    changed_lines,
    learned_lines,
    line_count_changes,
    model_of,
    next_bucket_counts,
    next_line_counts,
    sighting_bucket,
)
from warehouse.tables import LINE_COUNTS, LINE_SIGHTINGS

# An article: (path, feed, its distinct lines)
article_st = st.tuples(st.integers(0, 30), st.integers(1, 2), st.frozensets(st.integers(1, 6), max_size=4))


def _lines(articles: dict[int, tuple[int, frozenset[int]]]) -> pl.DataFrame:
    rows = [(f"p{p}", feed, h, False) for p, (feed, lines) in articles.items() for h in (FEED_TOTAL, *lines)]
    return pl.DataFrame(rows, schema=ARTICLE_LINES_SCHEMA, orient="row")


def _second_run(lake: dict, second: list) -> tuple[dict, dict, dict]:
    """The lake after a second run (some articles change, some are new, a third of those named
    go), and the articles that leave and enter it."""
    after = dict(lake)
    for p, feed, lines in second:
        after[p] = (feed, lines)
    gone = {p for p, _, _ in second if p % 3 == 0}
    for p in gone:
        after.pop(p, None)
    changed = {q for q, _, _ in second}
    leaving = {p: lake[p] for p in lake if p in gone or p in changed}
    entering = {p: after[p] for p in after if p not in lake or p in changed}
    return after, leaving, entering


@settings(max_examples=150, deadline=None)
@given(first=st.lists(article_st, max_size=25), second=st.lists(article_st, max_size=25))
def test_counts_kept_run_by_run_equal_counts_of_the_final_lake(first: list, second: list) -> None:
    lake = {p: (feed, lines) for p, feed, lines in first}
    counts = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(lake))
    after, leaving, entering = _second_run(lake, second)
    counts = next_line_counts(counts, _lines(leaving), _lines(entering))
    clean = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(after))
    assert counts.equals(clean)
    rule = LearningRule(min_share=0.3, min_articles=2, min_feed_articles=3)
    assert model_of(learned_lines(counts, rule)) == model_of(learned_lines(clean, rule))


def _bucketed(
    counts: pl.DataFrame, once: dict[int, pl.DataFrame], leaving: pl.DataFrame, incoming: pl.DataFrame
) -> tuple[pl.DataFrame, dict[int, pl.DataFrame]]:
    """The counts and sightings after a run, bucket by bucket, as the learn stage keeps them."""
    change = line_count_changes(leaving, incoming).with_columns(_b=sighting_bucket())
    old = counts.with_columns(_b=sighting_bucket())
    out, once = [LINE_COUNTS.empty_frame()], dict(once)
    # Buckets with nothing old and no change stay empty: only the others are computed, as in the stage.
    held = (
        {b for b, frame in once.items() if frame.height}
        | set(old["_b"].to_list())
        | set(change["_b"].to_list())
    )
    # The held buckets in one query, as the stage counts a group of them, then split by bucket.
    part, seen = next_bucket_counts(
        old.filter(pl.col("_b").is_in(sorted(held))).drop("_b"),
        pl.concat([LINE_SIGHTINGS.empty_frame(), *(once[b] for b in sorted(held) if b in once)]),
        change.filter(pl.col("_b").is_in(sorted(held))).drop("_b"),
    )
    out.append(part)
    by_bucket = seen.with_columns(_b=sighting_bucket()).partition_by("_b", as_dict=True, include_key=False)
    for bucket in held:
        once[bucket] = by_bucket.get((bucket,), LINE_SIGHTINGS.empty_frame())
    return pl.concat(out).sort("feed_key", "line_hash"), once


# Line hashes spread over every bucket, a few of them shared by several articles.
spread_article_st = st.tuples(
    st.integers(0, 30), st.integers(1, 2), st.frozensets(st.integers(1, 3 * SIGHTING_BUCKETS), max_size=6)
)


@settings(max_examples=100, deadline=None)
@given(first=st.lists(spread_article_st, max_size=25), second=st.lists(spread_article_st, max_size=25))
def test_counts_kept_in_buckets_are_the_counts_of_the_lake_split_at_two_articles(
    first: list, second: list
) -> None:
    lake = {p: (feed, lines) for p, feed, lines in first}
    counts, once = _bucketed(LINE_COUNTS.empty_frame(), {}, _lines({}), _lines(lake))
    after, leaving, entering = _second_run(lake, second)
    counts, once = _bucketed(counts, once, _lines(leaving), _lines(entering))
    whole = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(after))
    # Two or more articles (and every feed's total) in the counts, one in the sightings.
    kept = (pl.col("articles") > 1) | (pl.col("line_hash") == FEED_TOTAL)
    assert counts.equals(whole.filter(kept))
    seen_once = pl.concat([LINE_SIGHTINGS.empty_frame(), *once.values()]).sort("feed_key", "line_hash")
    assert seen_once.equals(whole.filter(~kept).select("feed_key", "line_hash"))
    for bucket, frame in once.items():  # each line in its own bucket's file
        assert frame.select(sighting_bucket()).to_series().is_in([bucket]).all()
    rule = LearningRule(min_share=0.3, min_articles=2, min_feed_articles=3)
    assert model_of(learned_lines(counts, rule)) == model_of(learned_lines(whole, rule))


def test_a_line_is_learned_at_the_threshold_of_its_feed_and_not_below() -> None:
    articles = {i: (1, frozenset({7} if i < 3 else set())) for i in range(10)}
    articles.update({100 + i: (2, frozenset({7})) for i in range(2)})  # a feed of two: learns nothing
    counts = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(articles))
    rule = LearningRule(min_share=0.3, min_articles=3, min_feed_articles=5)
    assert model_of(learned_lines(counts, rule)) == {1: frozenset({7})}
    assert (
        model_of(learned_lines(counts, LearningRule(min_share=0.4, min_articles=3, min_feed_articles=5)))
        == {}
    )
    assert changed_lines({1: frozenset({7, 8})}, {1: frozenset({7}), 2: frozenset({9})}) == {
        1: frozenset({8}),
        2: frozenset({9}),
    }


# Lines of a feed of twenty articles as an article has them (in order), and what a reader takes out.
INTRO = "这里记录每周值得分享的科技内容，周五发布。"  # a weekly column's template intro
CALL = ["欢迎投稿", "投稿方式", "感谢支持"]  # its call for submissions: short lines, as a block
TABS = ["首页", "1", "归档"]  # a blog's tabs, a page number between them
QUOTE = "“正义已经得到伸张，这位恐怖分子头目已不复存在。”"  # one statement quoted across the news
FIGURES = "道指开盘下跌22.46点，纳指下跌39.46点，标普下跌3点"  # a line of figures


def _feed(extra: dict[int, list[str]]) -> dict[int, tuple[int, frozenset[int]]]:
    """Twenty articles of feed 1: a text of their own (no line alike), and the extra lines."""
    out = {}
    for i in range(20):
        own = [chr(0x4E00 + 40 * i + j) * 12 for j in range(4)]
        lines = [own[0], *extra.get(i, []), *own[1:]]
        out[i] = (1, frozenset(learnable_hashes(lines)))
    return out


def _learned_keys(articles: dict[int, tuple[int, frozenset[int]]], rule: LearningRule) -> set[str]:
    counts = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(articles))
    named = {
        line_hash(line_key(x)): line_key(x)
        for x in [INTRO, *CALL, *TABS, QUOTE, FIGURES, "摘要", "风险提示", "(半岛电视台)", "长" * 30]
    }
    return {named.get(h, str(h)) for h in model_of(learned_lines(counts, rule)).get(1, frozenset())}


def test_a_template_is_learned_from_a_sub_series_and_the_traps_are_not() -> None:
    rule = LearningRule()
    extra = {i: [INTRO, *CALL, *TABS] for i in range(3)}  # a sub-series: 3 of 20
    # A heading, then a text of its own.
    extra.update({i: ["摘要", f"{'甲乙丙'[i - 5]}的摘要" * 3] for i in range(5, 8)})
    extra.update({i: ["(半岛电视台)"] for i in range(8, 11)})  # a photo credit, 7 characters
    extra.update({i: [QUOTE, FIGURES] for i in range(11, 15)})  # a quotation and figures, in 4
    extra.update({15: ["风险提示"], 16: ["风险提示"], 17: ["风险提示"]})
    assert _learned_keys(_feed(extra), rule) == {INTRO, *CALL, "首页", "归档", "(半岛电视台)"}
    # Two articles of the sub-series are too few; so is a template in a feed of 9.
    assert _learned_keys(_feed({i: [INTRO, *CALL, *TABS] for i in range(2)}), rule) == set()
    small = {i: a for i, a in _feed(extra).items() if i < 9}
    assert _learned_keys(small, rule) == set()
    # The thresholds are the rule's: longer lines only, 4 articles, or 20% of the feed's.
    assert _learned_keys(_feed(extra), LearningRule(long_chars=8)) == {INTRO, *CALL, "首页", "归档"}
    assert _learned_keys(_feed(extra), LearningRule(template_min_articles=4)) == set()
    assert _learned_keys(_feed(extra), LearningRule(template_min_share=0.2)) == set()
    # The share rule learns any line, guarded or short, once 30% and 5 articles carry it.
    common = {i: [QUOTE, "摘要", "长" * 30] for i in range(6)}
    assert _learned_keys(_feed(common), rule) == {QUOTE, "摘要", "长" * 30}


line_st = st.sampled_from([INTRO, *CALL, *TABS, QUOTE, FIGURES, "摘要", "长" * 40, "短" * 8])


@settings(max_examples=100, deadline=None)
@given(
    lake=st.dictionaries(st.integers(0, 40), st.tuples(st.integers(1, 2), st.lists(line_st, max_size=6))),
    second=st.dictionaries(st.integers(0, 60), st.tuples(st.integers(1, 2), st.lists(line_st, max_size=6))),
)
def test_a_model_of_templates_and_blocks_is_the_same_run_by_run(lake: dict, second: dict) -> None:
    """Lines with their lengths, guards and pairs: learned from counts kept run by run as from the
    counts of the final lake (a clean build)."""

    def lines_of(articles: dict) -> pl.DataFrame:
        return _lines(
            {p: (feed, frozenset(learnable_hashes(lines))) for p, (feed, lines) in articles.items()}
        )

    after = {**lake, **second}
    gone = {p for p in after if p % 7 == 0}
    for p in gone:
        after.pop(p)
    leaving = {p: lake[p] for p in lake if p in second or p in gone}
    entering = {p: after[p] for p in after if p not in lake or p in second}
    first = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), lines_of(lake))
    counts = next_line_counts(first, lines_of(leaving), lines_of(entering))
    clean = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), lines_of(after))
    assert counts.equals(clean)
    rule = LearningRule(min_feed_articles=4, template_min_articles=2)
    assert model_of(learned_lines(counts, rule)) == model_of(learned_lines(clean, rule))
