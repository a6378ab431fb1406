"""The gate before rows are staged for the lake: the frame is checked against the contract with pandera.

Each batch is checked where it was parsed (in parallel, on the workers); the one rule that spans
batches, one row per article_id, is checked on each partition as it is written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl

from transforms.schema import ARTICLES

if TYPE_CHECKING:
    import pandera.polars as pa


# The contract's value rules, declared once: pandera's checks and the one-query expression below
# are both built from them. A null passes a value rule (nullability is the column's own rule).
_BOUNDS: dict[str, tuple[int, int | None]] = {
    "year": (1, 9999),
    "month": (1, 12),
    **{
        name: (0, None)
        for name in ("char_count", "cjk_char_count", "paragraph_count", "image_count", "table_count",
                     "title_length", "reading_minutes")
    },
}  # fmt: skip
_ALLOWED = {"language": ["zh", "en", "mixed", "unknown"]}
_PATTERNS = {"article_id": r"^[0-9a-f]{32}$", "source_sha256": r"^[0-9a-f]{64}$"}


def _checks(name: str) -> list[Any]:
    import pandera.polars as pa

    checks = []
    if name in _BOUNDS:
        low, high = _BOUNDS[name]
        checks.append(pa.Check.ge(low) if high is None else pa.Check.in_range(low, high))
    if name in _ALLOWED:
        checks.append(pa.Check.isin(_ALLOWED[name]))
    if name in _PATTERNS:
        checks.append(pa.Check.str_matches(_PATTERNS[name]))
    return checks


def _every_rule_holds() -> pl.Expr:
    """Every rule of the contract on every row, as one boolean."""
    not_null = [pl.col(c.name).is_not_null() for c in ARTICLES.columns if not c.nullable]
    values = [
        *(
            pl.col(n) >= low if high is None else pl.col(n).is_between(low, high)
            for n, (low, high) in _BOUNDS.items()
        ),
        *(pl.col(name).is_in(allowed) for name, allowed in _ALLOWED.items()),
        *(pl.col(name).str.contains(pattern) for name, pattern in _PATTERNS.items()),
    ]
    return pl.all_horizontal(*not_null, *(rule.fill_null(True) for rule in values)).all()


class ContractViolation(ValueError):
    pass


@lru_cache(maxsize=1)
def _articles_schema() -> pa.DataFrameSchema:
    """The contract, column by column: names what breaks it."""
    # pandera is imported on first use: a run that loads nothing (a no-op rerun) never pays for it.
    import pandera.polars as pa

    columns = {
        c.name: pa.Column(c.dtype, nullable=c.nullable, checks=_checks(c.name)) for c in ARTICLES.columns
    }
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
