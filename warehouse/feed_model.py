"""The per-feed boilerplate model as frames in and frames out: the next line counts, the lines
learned from them, and what changed between two models (no storage here)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from transforms.boilerplate import FEED_TOTAL, LearningRule
from transforms.schema import BOILERPLATE, LINE_COUNTS, LINE_KEY

Model = dict[str, frozenset[int]]  # feed_key -> learned line hashes


def next_line_counts(old: pl.DataFrame, leaving: pl.DataFrame, incoming: pl.DataFrame) -> pl.DataFrame:
    """LINE_COUNTS after a run: the old counts, less the lines of the rows that leave the lake,
    plus those of the rows that enter it (article lines: one row per article and line, and one
    with line_hash FEED_TOTAL per article)."""
    keys = LINE_KEY
    delta = [
        leaving.group_by(keys).len().select(*keys, articles=-pl.col("len").cast(pl.Int64())),
        incoming.group_by(keys).len().select(*keys, articles=pl.col("len").cast(pl.Int64())),
    ]
    return LINE_COUNTS.conform(
        pl.concat([LINE_COUNTS.conform(old), *(LINE_COUNTS.conform(d) for d in delta)])
        .group_by(keys)
        .agg(pl.col("articles").sum())
        .filter(pl.col("articles") > 0)
        .sort(keys)
    )


def learned_lines(counts: pl.DataFrame, rule: LearningRule) -> pl.DataFrame:
    """(feed_key, line_hash, articles, feed_articles) of every line some feed has learned."""
    totals = counts.filter(pl.col("line_hash") == FEED_TOTAL).select("feed_key", feed_articles="articles")
    thresholds = {
        key: threshold
        for key, total in totals.iter_rows()
        if (threshold := rule.threshold(int(total))) is not None
    }
    if not thresholds:
        return pl.DataFrame(schema={**LINE_COUNTS.polars_schema, "feed_articles": pl.Int64()})
    limits = pl.DataFrame(
        {"feed_key": list(thresholds), "_threshold": list(thresholds.values())},
        schema={"feed_key": pl.String(), "_threshold": pl.Int64()},
    )
    return (
        counts.filter(pl.col("line_hash") != FEED_TOTAL)
        .join(limits, on="feed_key")
        .filter(pl.col("articles") >= pl.col("_threshold"))
        .join(totals, on="feed_key")
        .drop("_threshold")
        .sort("feed_key", "line_hash")
    )


def model_of(learned: pl.DataFrame) -> Model:
    """The learned line hashes of each feed, from learned_lines (or a BOILERPLATE frame with a
    feed_key column)."""
    return {
        str(key[0]): frozenset(rows["line_hash"].to_list())
        for key, rows in learned.partition_by("feed_key", as_dict=True).items()
    }


def changed_lines(before: Mapping[str, frozenset[int]], after: Mapping[str, frozenset[int]]) -> Model:
    """Per feed, the lines learned or unlearned between two models (only feeds with a change)."""
    out = {}
    for key in set(before) | set(after):
        diff = before.get(key, frozenset()) ^ after.get(key, frozenset())
        if diff:
            out[key] = diff
    return out


def boilerplate_rows(learned: pl.DataFrame, texts: Mapping[tuple[str, int], str]) -> pl.DataFrame:
    """The BOILERPLATE dataset: each learned line with its text, counts and share of its feed."""
    frame = learned.with_columns(
        line=pl.Series(
            [texts.get((k, h), "") for k, h in learned.select("feed_key", "line_hash").iter_rows()],
            dtype=pl.String(),
        ),
        source=pl.col("feed_key").str.split_exact("\x1f", 1).struct.field("field_0"),
        feed=pl.col("feed_key").str.split_exact("\x1f", 1).struct.field("field_1"),
        share=(pl.col("articles") / pl.col("feed_articles")).round(4),
    ).with_columns(
        source=pl.when(pl.col("source") == "").then(None).otherwise(pl.col("source")),
        feed=pl.when(pl.col("feed") == "").then(None).otherwise(pl.col("feed")),
    )
    return BOILERPLATE.conform(frame).sort(
        "source", "feed", "articles", "line", descending=[False, False, True, False]
    )


def model_of_boilerplate(rows: pl.DataFrame) -> Model:
    """The model a BOILERPLATE dataset describes."""
    with_key = rows.with_columns(
        feed_key=pl.col("source").fill_null("") + pl.lit("\x1f") + pl.col("feed").fill_null("")
    )
    return model_of(with_key)
