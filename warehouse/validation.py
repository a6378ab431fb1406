"""The gate before rows are staged for the lake: the frame is checked against the contract with pandera.

Each batch is checked where it was parsed (in parallel, on the workers); the one rule that spans
batches, one row per article_id, is checked on each partition as it is written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl

from transforms.schema import ARTICLES, Column

if TYPE_CHECKING:
    import pandera.polars as pa


# The contract's value rules are declared on its columns (transforms/schema.py): pandera's checks
# and the one-query expression below are both built from them.
def _checks(column: Column) -> list[Any]:
    import pandera.polars as pa

    checks = []
    low, high = column.at_least, column.at_most
    if low is not None:
        checks.append(pa.Check.ge(low) if high is None else pa.Check.in_range(low, high))
    elif high is not None:
        checks.append(pa.Check.le(high))
    if column.allowed:
        checks.append(pa.Check.isin(list(column.allowed)))
    if column.pattern is not None:
        checks.append(pa.Check.str_matches(column.pattern))
    return checks


def _value_rules(column: Column) -> list[pl.Expr]:
    value = pl.col(column.name)
    rules = []
    if column.at_least is not None:
        rules.append(value >= column.at_least)
    if column.at_most is not None:
        rules.append(value <= column.at_most)
    if column.allowed:
        rules.append(value.is_in(list(column.allowed)))
    if column.pattern is not None:
        rules.append(value.str.contains(column.pattern))
    return rules


def _every_rule_holds() -> pl.Expr:
    """Every rule of the contract on every row, as one boolean (a null passes a value rule)."""
    not_null = [pl.col(c.name).is_not_null() for c in ARTICLES.columns if not c.nullable]
    values = [rule.fill_null(True) for c in ARTICLES.columns for rule in _value_rules(c)]
    return pl.all_horizontal(*not_null, *values).all()


class ContractViolation(ValueError):
    pass


@lru_cache(maxsize=1)
def _articles_schema() -> pa.DataFrameSchema:
    """The contract, column by column: names what breaks it."""
    # pandera is imported on first use: a run that loads nothing (a no-op rerun) never pays for it.
    import pandera.polars as pa

    columns = {c.name: pa.Column(c.dtype, nullable=c.nullable, checks=_checks(c)) for c in ARTICLES.columns}
    return pa.DataFrameSchema(columns, strict="filter", ordered=False)


@lru_cache(maxsize=1)
def _articles_schema_at_once() -> pa.DataFrameSchema:
    """The same contract, its value rules in one query: pandera runs a query per rule and column
    (~100 for this table, 40 ms a batch whatever its size); a batch that passes needs one."""
    import pandera.polars as pa

    columns = {c.name: pa.Column(c.dtype, nullable=True) for c in ARTICLES.columns}
    every_rule = pa.Check(lambda data: data.lazyframe.select(_every_rule_holds()), name="every_rule_holds")
    return pa.DataFrameSchema(columns, checks=[every_rule], strict="filter", ordered=False)


def unique_articles(frame: pl.DataFrame) -> pl.DataFrame:
    """Raise ContractViolation when an article_id appears twice; the frame otherwise."""
    repeated = frame.filter(pl.col("article_id").is_duplicated())["article_id"].unique().sort()
    if repeated.len():
        raise ContractViolation(
            f"articles break the contract: article_id not unique ({repeated.len()} ids, e.g. {repeated[0]})"
        )
    return frame


def validated_articles(frame: pl.DataFrame) -> pl.DataFrame:
    """Raise ContractViolation (one line) when the frame breaks the contract; extra columns pass through."""
    if frame.is_empty():
        return frame
    from pandera.errors import SchemaError, SchemaErrors

    columns = frame.select(ARTICLES.names)
    try:
        _articles_schema_at_once().validate(columns)
    except (SchemaError, SchemaErrors):
        try:  # which column breaks which rule
            _articles_schema().validate(columns, lazy=True)
        except (SchemaError, SchemaErrors) as exc:
            first = str(exc).strip().splitlines()
            summary = "; ".join(line.strip() for line in first[:6] if line.strip())
            raise ContractViolation(f"articles break the contract: {summary[:400]}") from None
        raise ContractViolation("articles break the contract: every_rule_holds") from None
    return frame
