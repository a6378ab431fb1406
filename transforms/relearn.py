"""Article rows and what their feed has learned: the lines each row counts for, and the row again
after the feed's learned lines changed (its text, lead, measures and keywords re-derived)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms.boilerplate import FEED_TOTAL, feed_key, learnable_hashes, restored_lines, split_lines
from transforms.keywords import KeywordWeights, keyword_tokens
from transforms.measures import MEASURES, with_text_measures
from transforms.schema import ARTICLE_LINES_SCHEMA, ARTICLES

_TEXT_COLUMNS = ["source_path", "source", "feed", "paragraphs", "boilerplate_lines"]


def article_lines(articles: pl.DataFrame) -> pl.DataFrame:
    """One row per article and distinct learnable line (ARTICLE_LINES_SCHEMA), over all the lines
    an article carries (its paragraphs and the boilerplate taken out of them), and one with
    line_hash FEED_TOTAL per article of a feed."""
    rows = []
    for path, source, feed, paragraphs, removed in articles.select(_TEXT_COLUMNS).iter_rows():
        key = feed_key(source, feed)
        if key is not None:
            rows.append((path, key, FEED_TOTAL))
            rows.extend((path, key, h) for h in learnable_hashes([*paragraphs, *removed]))
    return pl.DataFrame(rows, schema=ARTICLE_LINES_SCHEMA, orient="row")


def relearned_articles(
    articles: pl.DataFrame, learned: Mapping[str, frozenset[int]], weights: KeywordWeights | None
) -> pl.DataFrame:
    """The rows with each feed's learned lines taken out of (or put back into) their text, and
    what derives from the text computed again."""
    if articles.is_empty():
        return articles
    kept, removed, removed_at = [], [], []
    columns = ["source", "feed", "paragraphs", "boilerplate_lines", "boilerplate_at"]
    for source, feed, paragraphs, lines_out, at in articles.select(columns).iter_rows():
        split = split_lines(
            restored_lines(paragraphs, lines_out, at), learned.get(feed_key(source, feed) or "", frozenset())
        )
        kept.append(split.kept)
        removed.append(split.removed)
        removed_at.append(split.removed_at)
    frame = articles.drop(*MEASURES).with_columns(
        pl.Series("paragraphs", kept, ARTICLES.polars_schema["paragraphs"]),
        pl.Series("boilerplate_lines", removed, ARTICLES.polars_schema["boilerplate_lines"]),
        pl.Series("boilerplate_at", removed_at, ARTICLES.polars_schema["boilerplate_at"]),
    )
    frame = frame.with_columns(
        body_text=pl.col("paragraphs").list.join("\n"),
        lead=pl.col("paragraphs").list.first(),
        paragraph_count=pl.col("paragraphs").list.len().cast(ARTICLES.polars_schema["paragraph_count"]),
        empty_body=pl.col("paragraphs").list.len() == 0,
    )
    tokens = (
        [keyword_tokens(title, body) for title, body in frame.select("title", "body_text").iter_rows()]
        if weights
        else None
    )
    return ARTICLES.conform(with_text_measures(frame, tokens, weights))
