"""The contract gate: pandera on each parsed batch, one row per article_id in each partition."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import polars as pl
import pytest

import warehouse.validation as validation
from flows.defaults import TZ
from flows.sample import sample_articles
from transforms.article import ParseOptions
from transforms.batch import RawFile, parsed_batch
from transforms.schema import ARTICLES, Table
from warehouse.validation import ContractViolation, unique_articles, validated_articles


def _articles(n: int) -> pl.DataFrame:
    files = [RawFile(name, len(data), None, data) for name, data in sample_articles(n, seed=3)]
    return parsed_batch(files, ParseOptions(timezone=TZ, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))).articles


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


# The contract's value rules, written out here rather than read from the declarations in
# transforms/schema.py: a rule deleted there must make this test fail, not vanish from it.
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


def test_the_declared_rules_are_the_ones_written_out_here() -> None:
    declared = {c.name: (c.at_least, c.at_most) for c in ARTICLES.columns if c.at_least is not None}
    assert declared == BOUNDS
    assert {c.name for c in ARTICLES.columns if c.allowed} == set(ALLOWED)
    assert {c.name for c in ARTICLES.columns if c.pattern} == set(PATTERNS)


@pytest.fixture
def paragraphs_at_most_five(monkeypatch: pytest.MonkeyPatch) -> Iterator[Table]:
    """The contract with one more rule, declared on its column: paragraph_count at most 5."""
    columns = tuple(
        dataclasses.replace(c, at_most=5) if c.name == "paragraph_count" else c for c in ARTICLES.columns
    )
    monkeypatch.setattr(validation, "ARTICLES", dataclasses.replace(ARTICLES, columns=columns))
    validation._articles_schema.cache_clear()
    validation._articles_schema_at_once.cache_clear()
    yield validation.ARTICLES
    validation._articles_schema.cache_clear()
    validation._articles_schema_at_once.cache_clear()


def test_a_rule_declared_on_a_column_is_enforced(paragraphs_at_most_five: Table) -> None:
    frame = _articles(3)
    assert validated_articles(frame.with_columns(pl.lit(5, pl.Int32()).alias("paragraph_count"))) is not None
    with pytest.raises(ContractViolation, match="paragraph_count"):
        validated_articles(frame.with_columns(pl.lit(6, pl.Int32()).alias("paragraph_count")))
