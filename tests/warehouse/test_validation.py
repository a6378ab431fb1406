"""The contract gate: pandera on each parsed batch, one row per article_id in each partition."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from flows.sample import sample_articles
from transforms.article import ParseOptions
from transforms.batch import RawFile, parsed_batch
from transforms.schema import ARTICLES
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


# The contract's value rules, written out here rather than read from warehouse/validation.py:
# a rule deleted there must make this test fail, not vanish from it.
BOUNDS = {"year": (1, 9999), "month": (1, 12)} | {
    name: (0, None)
    for name in ("char_count", "cjk_char_count", "paragraph_count", "image_count", "table_count",
                 "title_length", "reading_minutes")
}  # fmt: skip
ALLOWED = {"language": "klingon"}
PATTERNS = {"article_id": "XYZ", "source_sha256": "XYZ"}


def _every_broken_rule() -> list[tuple[str, pl.Expr]]:
    dtypes = ARTICLES.polars_schema
    broken = [(c.name, pl.lit(None, c.dtype)) for c in ARTICLES.columns if not c.nullable]
    broken += [(name, pl.lit(low - 1, dtypes[name])) for name, (low, _) in BOUNDS.items()]
    broken += [
        (name, pl.lit(high + 1, dtypes[name])) for name, (_, high) in BOUNDS.items() if high is not None
    ]
    broken += [(name, pl.lit(bad)) for name, bad in (ALLOWED | PATTERNS).items()]
    return broken


@pytest.mark.parametrize(
    ("column", "value"), _every_broken_rule(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_rule_is_checked_in_the_one_query_pass(column: str, value: pl.Expr) -> None:
    # A batch that passes is checked in one query; pandera's column-by-column pass names the culprit.
    broken = _articles(3).with_columns(value.alias(column))
    with pytest.raises(ContractViolation, match=column):
        validated_articles(broken)
