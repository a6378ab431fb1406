"""Measures derived from the articles' text, computed over a whole batch at once.

Counting ideographs, words and whitespace is a loop over every character; as Polars
expressions it runs in Rust over the batch's columns instead of in Python per article.
"""

from __future__ import annotations

import polars as pl

from transforms.keywords import KeywordWeights, top_keywords

# CJK unified ideographs (with extension A, compatibility and the supplementary planes).
CJK = "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]"
KANA_HANGUL = "[\u3040-\u30ff\uac00-\ud7af]"
LATIN_WORD = "[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)?"
# What Python's str.isspace() calls whitespace, spelled out so the count means the same everywhere.
WHITESPACE = "[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"

# The ARTICLES columns this module derives.
MEASURES = frozenset({"char_count", "cjk_char_count", "reading_minutes", "language", "keywords"})

CJK_PER_MINUTE = 400
WORDS_PER_MINUTE = 200
# A language is called when 80% of the text's units (ideographs, Latin words, kana/hangul) are its.
LANGUAGE_SHARE = 0.8


def language_expr(cjk: pl.Expr, latin: pl.Expr, other: pl.Expr) -> pl.Expr:
    """zh, en, mixed or unknown, by the share of CJK ideographs against Latin words.

    A CJK ideograph and a Latin word carry about the same meaning, so they are counted alike;
    kana and hangul count as other scripts, so Japanese or Korean text comes out unknown.
    """
    units = cjk + latin + other
    return (
        pl.when(units == 0)
        .then(pl.lit("unknown"))
        .when(cjk / units >= LANGUAGE_SHARE)
        .then(pl.lit("zh"))
        .when(latin / units >= LANGUAGE_SHARE)
        .then(pl.lit("en"))
        .when((cjk + latin) / units >= LANGUAGE_SHARE)
        .then(pl.lit("mixed"))
        .otherwise(pl.lit("unknown"))
    )


def with_text_measures(
    frame: pl.DataFrame, keyword_tokens: list[str] | None = None, weights: KeywordWeights | None = None
) -> pl.DataFrame:
    """Add char_count, cjk_char_count, reading_minutes, language and keywords.

    keyword_tokens holds each row's segmented opening text (keywords.keyword_tokens), weighed by
    weights; without both, keywords are left empty.
    """
    body = pl.col("body_text")
    title = pl.col("title").fill_null("")
    # Each count once (an eager frame does not share repeated expressions), then what derives from them.
    counted = frame.with_columns(
        char_count=body.str.len_chars() - body.str.count_matches(WHITESPACE),
        cjk_char_count=body.str.count_matches(CJK),
        _words=body.str.count_matches(LATIN_WORD),
        _title_cjk=title.str.count_matches(CJK),
        _title_words=title.str.count_matches(LATIN_WORD),
        _other=body.str.count_matches(KANA_HANGUL) + title.str.count_matches(KANA_HANGUL),
    )
    cjk, words = pl.col("cjk_char_count"), pl.col("_words")
    measured = counted.with_columns(
        reading_minutes=(cjk / CJK_PER_MINUTE + words / WORDS_PER_MINUTE).round(1),
        language=language_expr(cjk + pl.col("_title_cjk"), words + pl.col("_title_words"), pl.col("_other")),
    ).drop("_words", "_title_cjk", "_title_words", "_other")
    if keyword_tokens is None or weights is None:
        return measured.with_columns(keywords=pl.lit([], dtype=pl.List(pl.String)))
    return measured.with_columns(keywords=top_keywords(keyword_tokens, weights))
