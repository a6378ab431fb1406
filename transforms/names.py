"""Names the archive teaches: the model's arithmetic, frames in and frames out (no storage here).

Every article teaches (name, code) pairs (articles.stock_names). The lake counts, per pair, the
articles that teach it (NAME_COUNTS); a name is learned with a code when enough articles teach it
and that code has most of the name's evidence; a learned name is then matched as a word in every
article's text (stock_mentions, found_by "name"). The result is a function of the counts alone:
it never depends on the order files arrived in, so an incremental lake equals a clean build.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import polars as pl

from transforms.counts import next_counts
from transforms.schema import ARTICLES, NAME_COUNTS
from transforms.stocks import Securities, held_name_mentions

NAME_PAIRS_SCHEMA = pl.Schema(
    {**ARTICLES.schema_of("source_path"), **NAME_COUNTS.schema_of("name", "stock_code")}
)
NameModel = dict[str, str]  # a learned name -> its code


@dataclass(frozen=True)
class NameRule:
    """When a name is learned: taught by at least min_articles articles with one code, and that
    code carrying at least min_share of the name's evidence (else the name is ambiguous: a name
    taught with several codes, none dominant, is not matched). A name that is a common word of
    the segmenter's dictionary (太平洋, 老百姓, 太阳能: Sina links them to their companies) is not
    matched either: the common words are handed in (flows/keyword_table.py). The defaults are the
    settings' (flows/settings.py takes min_articles from here)."""

    # A name is learned from one article: on corpus + corpus-feeds every pair is taught once (29
    # pairs, all true when read: Sina's links and names anchored to a code are precise), so two
    # would learn nothing there. What guards the matches is the rest of the rule: one code with 80%
    # of a name's evidence, and no common word of the segmenter's dictionary (see docs/parsing.md).
    min_articles: int = 1
    min_share: float = 0.8


def name_pairs(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per article and pair it teaches (NAME_PAIRS_SCHEMA), from rows with stock_names."""
    return (
        rows.select("source_path", "stock_names")
        .explode("stock_names")
        .filter(pl.col("stock_names").is_not_null())
        .select(
            "source_path",
            pl.col("stock_names").struct.field("stock_name").alias("name"),
            pl.col("stock_names").struct.field("stock_code"),
        )
        .cast(dict(NAME_PAIRS_SCHEMA))  # type: ignore[arg-type]
    )


def next_name_counts(
    old: pl.DataFrame, leaving: pl.DataFrame | pl.LazyFrame, incoming: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """NAME_COUNTS after a run: the old counts, less the pairs of the rows that leave the lake, plus
    those of the rows that enter it (name pairs: one row per article and pair)."""
    keys = ["name", "stock_code"]
    leaving, incoming = (frame.lazy().unique(["source_path", *keys]) for frame in (leaving, incoming))
    return next_counts(NAME_COUNTS, keys, old, leaving, incoming)


def learned_names(counts: pl.DataFrame, rule: NameRule, common_words: Collection[str] = ()) -> NameModel:
    """Each learned name with its code (see NameRule)."""
    if counts.is_empty():
        return {}
    best = (
        counts.with_columns(total=pl.col("articles").sum().over("name"))
        .sort(["name", "articles", "stock_code"], descending=[False, True, False])
        .unique("name", keep="first", maintain_order=True)
        .filter(
            (pl.col("articles") >= rule.min_articles)
            & (pl.col("articles") >= pl.col("total") * rule.min_share)
        )
    )
    return {
        name: code for name, code in best.select("name", "stock_code").iter_rows() if name not in common_words
    }


def matched_names(learned: Mapping[str, str], listed: Mapping[str, str]) -> NameModel:
    """The learned names an article is matched against: the user's securities list wins, so a
    name it lists is its (found_by "list"), never the archive's."""
    return {name: code for name, code in learned.items() if name not in listed}


def changed_names(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """Names learned, unlearned or given another code between two models."""
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


def with_name_mentions(rows: pl.DataFrame, names: Securities) -> pl.DataFrame:
    """The rows with their "name" mentions found again in body_text with this model (the other
    mentions kept as they are, first; a code they carry is not a name's); stock_codes follow."""
    if rows.is_empty():
        return rows
    listed = list(names.codes_by_name)
    # Which names each text holds, by one Aho-Corasick pass over the column (an alternation of
    # thousands of names costs 30 ms a text in Python's re); the word match runs on those alone.
    held = (
        rows["body_text"].str.extract_many(listed, overlapping=True).to_list()
        if listed
        else [[]] * rows.height
    )
    mentions = []
    for (text, current), found in zip(
        rows.select("body_text", "stock_mentions").iter_rows(), held, strict=True
    ):
        kept = [m for m in current if m["found_by"] != "name"]
        codes = {m["stock_code"] for m in kept}
        # A name whose code another mention has is not looked for (nor the text segmented for it).
        held = [n for n in found if names.codes_by_name[n] not in codes]
        for code, name in held_name_mentions(text, names.codes_by_name, held):
            if code not in codes:
                codes.add(code)
                kept.append({"stock_code": code, "found_by": "name", "written": name})
        mentions.append(kept)
    return rows.with_columns(ARTICLES.series("stock_mentions", mentions)).with_columns(
        stock_codes=pl.col("stock_mentions").list.eval(pl.element().struct.field("stock_code"))
    )
