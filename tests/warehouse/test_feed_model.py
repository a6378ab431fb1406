"""The boilerplate model's rules on frames alone (warehouse/feed_model.py)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.boilerplate import FEED_TOTAL, LearningRule
from transforms.schema import ARTICLE_LINES_SCHEMA, LINE_COUNTS
from warehouse.feed_model import changed_lines, learned_lines, model_of, next_line_counts

# An article: (path, feed, its distinct lines)
article_st = st.tuples(st.integers(0, 30), st.integers(1, 2), st.frozensets(st.integers(1, 6), max_size=4))


def _lines(articles: dict[int, tuple[int, frozenset[int]]]) -> pl.DataFrame:
    rows = [(f"p{p}", feed, h, False) for p, (feed, lines) in articles.items() for h in (FEED_TOTAL, *lines)]
    return pl.DataFrame(rows, schema=ARTICLE_LINES_SCHEMA, orient="row")


@settings(max_examples=150, deadline=None)
@given(first=st.lists(article_st, max_size=25), second=st.lists(article_st, max_size=25))
def test_counts_kept_run_by_run_equal_counts_of_the_final_lake(first: list, second: list) -> None:
    lake = {p: (feed, lines) for p, feed, lines in first}
    counts = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(lake))
    # The second run: some articles change (leave and come back), some are new, some go.
    after = dict(lake)
    for p, feed, lines in second:
        after[p] = (feed, lines)
    gone = {p for p, _, _ in second if p % 3 == 0}
    for p in gone:
        after.pop(p, None)
    leaving = {p: lake[p] for p in lake if p in gone or p in {q for q, _, _ in second}}
    entering = {p: after[p] for p in after if p not in lake or p in {q for q, _, _ in second}}
    counts = next_line_counts(counts, _lines(leaving), _lines(entering))
    clean = next_line_counts(LINE_COUNTS.empty_frame(), _lines({}), _lines(after))
    assert counts.equals(clean)
    rule = LearningRule(min_share=0.3, min_articles=2, min_feed_articles=3)
    assert model_of(learned_lines(counts, rule)) == model_of(learned_lines(clean, rule))


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
