"""The per-feed boilerplate model as frames in and frames out: the next line counts, the lines
learned from them, and what changed between two models (no storage here)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

import polars as pl

from transforms.boilerplate import (
    FEED_TOTAL,
    GUARD_BIT,
    HALF_DIGEST,
    LENGTH_UNIT,
    PAIR_BIT,
    LearningRule,
    feed_key,
)
from transforms.counts import next_counts
from warehouse.tables import BOILERPLATE, LINE_COUNTS, LINE_KEY, LINE_SIGHTINGS

Model = dict[int, frozenset[int]]  # feed_key -> learned line hashes
LineText = tuple[str | None, str | None, str]  # source, feed, the line as an article carries it


def next_line_counts(
    old: pl.DataFrame, leaving: pl.DataFrame | pl.LazyFrame, incoming: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """LINE_COUNTS after a run: the old counts, less the lines of the rows that leave the lake,
    plus those of the rows that enter it (article lines: one row per article and line, and one
    with line_hash FEED_TOTAL per article)."""
    return next_counts(LINE_COUNTS, LINE_KEY, old, leaving.lazy(), incoming.lazy())


# Lines one article of their feed carries are most of an archive's lines (each article's own
# text) and can never be learned (a rule needs two articles): they are kept apart, in files by
# line_hash (its low bits are a digest's), so a run reads and writes only the files its lines hit.
SIGHTING_BUCKETS = 64


def sighting_bucket() -> pl.Expr:
    """The file of line sightings a line (line_hash) is kept in."""
    return (pl.col("line_hash") % SIGHTING_BUCKETS).cast(pl.Int32())


def line_count_changes(
    leaving: pl.DataFrame | pl.LazyFrame,
    incoming: pl.DataFrame | pl.LazyFrame,
    buckets: Collection[int] | None = None,
) -> pl.DataFrame:
    """(feed_key, line_hash, articles): per line, the articles entering the lake that carry it less
    those leaving it (lines whose count changes only); of the lines of some buckets, or all."""
    signed = [
        frame.lazy().select(*LINE_KEY, articles=pl.lit(sign, pl.Int64()))
        for frame, sign in ((leaving, -1), (incoming, 1))
    ]
    changes = pl.concat(signed)
    if buckets is not None:
        changes = changes.filter(sighting_bucket().is_in(sorted(buckets)))
    return LINE_COUNTS.conform(
        changes.group_by(LINE_KEY)
        .agg(pl.col("articles").sum())
        .filter(pl.col("articles") != 0)
        .collect(engine="streaming")
    )


def next_bucket_counts(
    counts: pl.DataFrame, seen_once: pl.DataFrame, change: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The lines of a bucket after a change (line_count_changes): the LINE_COUNTS of those two or
    more articles carry (and each feed's total), and the LINE_SIGHTINGS of those one carries; from
    the bucket's old counts (any count) and sightings."""
    now = (
        pl.concat(
            [
                LINE_COUNTS.conform(counts),
                LINE_SIGHTINGS.conform(seen_once).with_columns(articles=pl.lit(1, pl.Int64())),
                LINE_COUNTS.conform(change),
            ]
        )
        .group_by(LINE_KEY)
        .agg(pl.col("articles").sum())
        .filter(pl.col("articles") > 0)
        .sort(LINE_KEY)
    )
    counted = (pl.col("line_hash") == FEED_TOTAL) | (pl.col("articles") > 1)
    return LINE_COUNTS.conform(now.filter(counted)), LINE_SIGHTINGS.conform(now.filter(~counted))


def learned_lines(counts: pl.DataFrame, rule: LearningRule) -> pl.DataFrame:
    """(feed_key, line_hash, articles, feed_articles) of every line some feed has learned: by its
    share of the feed's articles, or as a template (rule.template_threshold): a long line, or one
    of a pair of neighbouring lines that recur together (their pair_hash counts). A guarded line
    (transforms.boilerplate.is_guarded) is learned by its share alone."""
    totals = counts.filter(pl.col("line_hash") == FEED_TOTAL).select("feed_key", feed_articles="articles")
    thresholds = {
        key: (threshold, rule.template_threshold(int(total)))
        for key, total in totals.iter_rows()
        if (threshold := rule.threshold(int(total))) is not None
    }
    if not thresholds:
        return pl.DataFrame(schema={**LINE_COUNTS.polars_schema, "feed_articles": pl.Int64()})
    limits = pl.DataFrame(
        {
            "feed_key": list(thresholds),
            "_share": [share for share, _ in thresholds.values()],
            "_template": [template for _, template in thresholds.values()],
        },
        schema={"feed_key": pl.Int64(), "_share": pl.Int64(), "_template": pl.Int64()},
    )
    hashed, articles = pl.col("line_hash"), pl.col("articles")
    meta = hashed // PAIR_BIT  # length, guard and pair bits
    counted = (
        counts.lazy()
        .filter(hashed != FEED_TOTAL)
        .join(limits.lazy(), on="feed_key")
        .filter((articles >= pl.col("_share")) | (articles >= pl.col("_template")))
        .with_columns(_meta=meta)
        .collect()
    )
    guarded = pl.col("_meta") // (GUARD_BIT // PAIR_BIT) % 2 == 1
    lines = counted.filter(pl.col("_meta") % 2 == 0)
    template = lines.filter(~guarded & (articles >= pl.col("_template")))
    by_length = template.filter(pl.col("_meta") // (LENGTH_UNIT // PAIR_BIT) >= rule.long_chars)
    # A pair recurring as a template teaches both its lines: the first by the high half of its
    # digest (and its length and guard), the second by the low half of its digest.
    pairs = counted.filter((pl.col("_meta") % 2 == 1) & (articles >= pl.col("_template"))).select(
        "feed_key",
        _pair="articles",
        _meta=pl.col("_meta") - 1,
        _high=hashed % HALF_DIGEST,
        _low=hashed // HALF_DIGEST % HALF_DIGEST,
    )
    candidates = template.select(
        "feed_key",
        "line_hash",
        "articles",
        "_meta",
        _high=hashed // HALF_DIGEST % HALF_DIGEST,
        _low=hashed % HALF_DIGEST,
    )
    first = pairs.join(candidates, on=["feed_key", "_meta", "_high"]).filter(articles >= pl.col("_pair"))
    second = pairs.drop("_meta").join(candidates, left_on=["feed_key", "_low"], right_on=["feed_key", "_low"])
    second = second.filter(articles >= pl.col("_pair"))
    keys = pl.concat(
        [
            frame.select(LINE_KEY)
            for frame in (lines.filter(articles >= pl.col("_share")), by_length, first, second)
        ]
    ).unique()
    return (
        lines.join(keys, on=LINE_KEY, how="semi")
        .join(totals, on="feed_key")
        .select(*LINE_COUNTS.polars_schema, "feed_articles")
        .sort("feed_key", "line_hash")
    )


def model_of(learned: pl.DataFrame) -> Model:
    """The learned line hashes of each feed, from learned_lines (or a BOILERPLATE frame with a
    feed_key column)."""
    return {
        int(key[0]): frozenset(rows["line_hash"].to_list())
        for key, rows in learned.partition_by("feed_key", as_dict=True).items()
    }


def changed_lines(before: Mapping[int, frozenset[int]], after: Mapping[int, frozenset[int]]) -> Model:
    """Per feed, the lines learned or unlearned between two models (only feeds with a change)."""
    out = {}
    for key in set(before) | set(after):
        diff = before.get(key, frozenset()) ^ after.get(key, frozenset())
        if diff:
            out[key] = diff
    return out


def boilerplate_rows(learned: pl.DataFrame, texts: Mapping[tuple[int, int], LineText]) -> pl.DataFrame:
    """The BOILERPLATE dataset: each learned line with its feed, text, counts and share."""
    named = [texts.get((k, h), (None, None, "")) for k, h in learned.select(LINE_KEY).iter_rows()]
    frame = learned.with_columns(
        source=pl.Series([n[0] for n in named], dtype=pl.String()),
        feed=pl.Series([n[1] for n in named], dtype=pl.String()),
        line=pl.Series([n[2] for n in named], dtype=pl.String()),
        share=(pl.col("articles") / pl.col("feed_articles")).round(4),
    )
    return BOILERPLATE.conform(frame).sort(
        "source", "feed", "articles", "line", descending=[False, False, True, False], nulls_last=True
    )


def model_of_boilerplate(rows: pl.DataFrame) -> Model:
    """The model a BOILERPLATE dataset describes."""
    keys = [feed_key(source, feed) for source, feed in rows.select("source", "feed").iter_rows()]
    return model_of(rows.with_columns(feed_key=pl.Series(keys, dtype=pl.Int64())))
