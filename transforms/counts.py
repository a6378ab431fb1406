"""The counts the store keeps (line_counts, name_counts): a run moves them by the rows that leave
the lake and those that enter it, never recounting the lake."""

from __future__ import annotations

import polars as pl

from transforms.schema import Table


def next_counts(
    table: Table, keys: list[str], old: pl.DataFrame, leaving: pl.LazyFrame, incoming: pl.LazyFrame
) -> pl.DataFrame:
    """The table's counts (keys, articles) after a run: the old counts, less one for each row of
    leaving, plus one for each row of incoming (a row: one article with that key); zeros dropped."""
    counted = [
        frame.group_by(keys).agg(articles=pl.len().cast(pl.Int64()) * sign)
        for frame, sign in ((leaving, -1), (incoming, 1))
    ]
    return table.conform(
        pl.concat([table.conform(old).lazy(), *counted])
        .group_by(keys)
        .agg(pl.col("articles").sum())
        .filter(pl.col("articles") > 0)
        .sort(keys)
        .collect(engine="streaming")
    )
