"""The contract gate: pandera on each parsed batch, one row per article_id in each partition."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.sample import sample_articles
from transforms.article import ParseOptions
from transforms.batch import RawFile, parsed_batch
from warehouse.validation import ContractViolation, unique_articles, validated_articles


def _articles(n: int) -> pl.DataFrame:
    files = [RawFile(name, len(data), None, data) for name, data in sample_articles(n, seed=3)]
    return parsed_batch(files, ParseOptions(now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))).articles


def test_parsed_rows_pass() -> None:
    frame = _articles(20)
    assert validated_articles(frame) is frame
    assert unique_articles(frame) is frame


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("language", pl.lit("klingon"), "language"),
        ("month", pl.lit(13, pl.Int32()), "month"),
        ("article_id", pl.lit("not-a-hash"), "article_id"),
        ("char_count", pl.lit(-1, pl.Int32()), "char_count"),
        ("title_length", pl.lit(None, pl.Int32()), "title_length"),
    ],
)
def test_a_broken_rule_is_one_line_naming_the_column(column: str, value: pl.Expr, message: str) -> None:
    broken = _articles(5).with_columns(value.alias(column))
    with pytest.raises(ContractViolation, match=message) as raised:
        validated_articles(broken)
    assert "\n" not in str(raised.value)


def test_a_repeated_article_id_is_refused() -> None:
    frame = _articles(5)
    with pytest.raises(ContractViolation, match="article_id not unique"):
        unique_articles(pl.concat([frame, frame.head(1)]))
