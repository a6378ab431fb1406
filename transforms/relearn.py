"""Article rows and what their feed has learned: the lines each row counts for, and the row again
after the feed's learned lines changed (its text, lead, measures and keywords re-derived)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms.boilerplate import (
    FEED_TOTAL,
    feed_key,
    is_notice,
    learnable_hashes,
    line_hash,
    line_key,
    restored_lines,
    split_lines,
)
from transforms.keywords import KEYWORD_SCOPE_CHARS, KeywordWeights, keyword_tokens, top_keywords
from transforms.measures import MEASURES, with_text_measures
from transforms.schema import ARTICLE_LINES, ARTICLE_LINES_SCHEMA, ARTICLES


def article_lines(articles: pl.DataFrame) -> pl.DataFrame:
    """One row per article and distinct learnable line or pair of neighbouring lines
    (ARTICLE_LINES_SCHEMA; transforms.boilerplate.learnable_hashes), over all the lines an article
    carries in their order (its paragraphs and the boilerplate taken out of them), and one with
    line_hash FEED_TOTAL per article of a feed."""
    paths: list[str] = []
    keys: list[int] = []
    hashes: list[int] = []
    learned: list[bool] = []
    for path, source, feed, paragraphs, removed, removed_at in articles.select(ARTICLE_LINES).iter_rows():
        key = feed_key(source, feed)
        if key is None:
            continue
        taken = {line_hash(line_key(line)) for line in removed if not is_notice(line)} if removed else set()
        # In the order the article has them: neighbouring lines are counted as pairs.
        lines = restored_lines(paragraphs, removed, removed_at) if removed else paragraphs
        found = [FEED_TOTAL, *learnable_hashes(lines)]
        paths.extend([path] * len(found))
        keys.extend([key] * len(found))
        hashes.extend(found)
        learned.extend(h in taken for h in found)
    return pl.DataFrame([paths, keys, hashes, learned], schema=ARTICLE_LINES_SCHEMA)


def relearned_articles(
    articles: pl.DataFrame, learned: Mapping[int, frozenset[int]], weights: KeywordWeights | None
) -> pl.DataFrame:
    """The rows with each feed's learned lines taken out of (or put back into) their text, and
    what derives from the text computed again."""
    if articles.is_empty():
        return articles
    kept, removed, removed_at = [], [], []
    columns = ["source", "feed", "paragraphs", "boilerplate_lines", "boilerplate_at"]
    for source, feed, paragraphs, lines_out, at in articles.select(columns).iter_rows():
        split = split_lines(
            restored_lines(paragraphs, lines_out, at), learned.get(feed_key(source, feed) or 0, frozenset())
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
    measured = with_text_measures(frame, None, None).with_columns(articles["keywords"])
    if weights is None:
        return ARTICLES.conform(measured.with_columns(keywords=pl.lit([], dtype=pl.List(pl.String()))))
    # Keywords come from the title and the opening of the text: most boilerplate closes an
    # article, so most rows keep theirs and only the rows whose opening changed are segmented.
    opening = (pl.col("title").fill_null("") + "\n" + pl.col("body_text")).str.slice(0, KEYWORD_SCOPE_CHARS)
    moved = articles.select(opening).to_series() != frame.select(opening).to_series()
    if moved.any():
        at = moved.arg_true()
        redo = frame[at]
        tokens = [
            keyword_tokens(title, body) for title, body in redo.select("title", "body_text").iter_rows()
        ]
        keywords = measured["keywords"].to_list()
        for index, found in zip(at.to_list(), top_keywords(tokens, weights).to_list(), strict=True):
            keywords[index] = found
        measured = measured.with_columns(pl.Series("keywords", keywords, ARTICLES.polars_schema["keywords"]))
    return ARTICLES.conform(measured)
