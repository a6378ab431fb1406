"""Top terms of an article: rjieba segments, an IDF table weighs (TF-IDF).

rjieba (Rust) cuts text ~40x faster than jieba's Python segmenter. The weights are handed in
by the caller (flows/keyword_table.py reads jieba's analyse/idf.txt once per process): this
module reads no file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import polars as pl

KEYWORD_COUNT = 8
# Terms are taken from the title and the opening of the body: what an article is about is
# there (title, lead, first paragraphs), and it bounds the cost on long articles.
KEYWORD_SCOPE_CHARS = 1500
TERM = r"^(?:[\u4e00-\u9fff]{2,}|[A-Za-z][A-Za-z0-9+.#-]{2,})$"
_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "have",
        "has",
        "are",
        "was",
        "were",
        "will",
        "would",
        "into",
        "about",
        "over",
        "after",
        "more",
        "than",
        "its",
        "their",
        "they",
        "them",
        "said",
        "says",
        "also",
        "been",
        "which",
        "what",
        "when",
        "where",
        "who",
        "how",
        "our",
        "your",
        "but",
        "not",
        "can",
        "could",
        "may",
        "might",
        "new",
        "以及",
        "我们",
        "他们",
        "你们",
        "这个",
        "那个",
        "一个",
        "没有",
        "因为",
        "所以",
        "但是",
        "如果",
        "还是",
        "或者",
        "已经",
        "可以",
        "进行",
        "表示",
        "认为",
        "目前",
        "今年",
        "去年",
        "记者",
        "报道",
        "有关",
        "相关",
        "方面",
        "其中",
        "同时",
        "此外",
        "通过",
        "对于",
        "由于",
        "之后",
        "之前",
        "一些",
        "这些",
        "那些",
        "什么",
        "怎么",
        "这样",
        "时候",
    ]
)


@dataclass(frozen=True, eq=False)
class KeywordWeights:
    """An IDF table as Polars columns sorted by term (looked up by binary search: a dict took
    100 MB a worker), and the weight of a term it does not list (its median)."""

    table: pl.DataFrame
    default: float


def keyword_weights(idf_text: bytes) -> KeywordWeights:
    """Weights from an IDF table in jieba's format: one `term weight` line per term."""
    table = pl.read_csv(
        io.BytesIO(idf_text),
        separator=" ",
        has_header=False,
        quote_char=None,
        new_columns=["term", "idf"],
        schema_overrides={"term": pl.String(), "idf": pl.Float64()},
    ).sort("term")  # a repeated term would take its first weight
    median = table["idf"].median()
    return KeywordWeights(table, float(median) if isinstance(median, (int, float)) else 0.0)


def _idf_of(terms: pl.Series, weights: KeywordWeights) -> pl.Series:
    """The IDF weight of each term (the table's median for a term it does not list)."""
    table, default = weights.table, weights.default
    if table.is_empty():
        return pl.Series("idf", [default] * terms.len(), dtype=pl.Float64())
    at = table["term"].search_sorted(terms).clip(upper_bound=table.height - 1)
    listed = table["term"].gather(at) == terms
    return pl.select(
        pl.when(listed).then(table["idf"].gather(at)).otherwise(default).alias("idf")
    ).to_series()


# Joins a text's words into one string: clean text never holds it (clean_text makes it a space).
WORD_SEPARATOR = "\x1f"


def keyword_tokens(title: str | None, body_text: str) -> str:
    """The words (rjieba) of the title and the opening of the body, where keywords are found,
    joined by WORD_SEPARATOR: one string per article moves into Polars far faster than a list."""
    text = f"{title or ''}\n{body_text}"[:KEYWORD_SCOPE_CHARS]
    if not text.strip():
        return ""
    import rjieba  # here, not at the top: a no-op run never parses, and start-up counts on schedules

    return WORD_SEPARATOR.join(rjieba.cut(text))


def top_keywords(tokens: list[str], weights: KeywordWeights, count: int = KEYWORD_COUNT) -> pl.Series:
    """Per row, the count highest TF-IDF terms (2+ CJK characters or 3+ Latin letters), best first.

    Ties go to the term that sorts first, so the result never depends on the order of counting.
    """
    rows = pl.DataFrame(
        {"row": pl.arange(0, len(tokens), dtype=pl.UInt32, eager=True), "token": tokens},
        schema={"row": pl.UInt32(), "token": pl.String()},
    )
    counts = (
        rows.lazy()
        .with_columns(pl.col("token").str.split(WORD_SEPARATOR))
        .explode("token")
        .filter(pl.col("token").str.len_chars() >= 2)  # most tokens are single characters: drop them first
        .filter(pl.col("token").str.contains(TERM))
        .with_columns(term=pl.col("token").str.to_lowercase())  # TERM admits only ASCII or CJK
        .filter(~pl.col("term").is_in(list(_STOP)))
        .group_by("row", "term")
        .agg(n=pl.len())
        .collect()
    )
    # A batch has a few thousand distinct terms: looking them up beats joining the 270k-term table.
    terms = counts["term"].unique()
    term_weights = pl.DataFrame({"term": terms, "idf": _idf_of(terms, weights)})
    ranked = pl.col("term").top_k_by(["score", "term"], count, reverse=[False, True])
    best = (
        counts.join(term_weights, on="term", how="left")
        .with_columns(score=pl.col("n") * pl.col("idf"))
        .group_by("row")
        .agg(ranked, pl.col("score").top_k_by(["score", "term"], count, reverse=[False, True]))
        .explode("term", "score")
        .sort(["row", "score", "term"], descending=[False, True, False])
        .group_by("row", maintain_order=True)
        .agg(keywords=pl.col("term"))
    )
    return (
        rows.select("row")
        .join(best, on="row", how="left", maintain_order="left")
        .select(pl.col("keywords").fill_null(pl.lit([], dtype=pl.List(pl.String()))))
        .to_series()
    )
