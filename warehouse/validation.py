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


def _ranges() -> dict[str, list[Any]]:
    import pandera.polars as pa

    return {
        "year": [pa.Check.in_range(1, 9999)],
        "month": [pa.Check.in_range(1, 12)],
        "char_count": [pa.Check.ge(0)],
        "cjk_char_count": [pa.Check.ge(0)],
        "paragraph_count": [pa.Check.ge(0)],
        "image_count": [pa.Check.ge(0)],
        "table_count": [pa.Check.ge(0)],
        "title_length": [pa.Check.ge(0)],
        "reading_minutes": [pa.Check.ge(0)],
        "language": [pa.Check.isin(["zh", "en", "mixed", "unknown"])],
        "article_id": [pa.Check.str_matches(r"^[0-9a-f]{32}$")],
        "source_sha256": [pa.Check.str_matches(r"^[0-9a-f]{64}$")],
    }


class ContractViolation(ValueError):
    pass


@lru_cache(maxsize=1)
def _articles_schema() -> pa.DataFrameSchema:
    # pandera is imported on first use: a run that loads nothing (a no-op rerun) never pays for it.
    import pandera.polars as pa

    ranges = _ranges()
    columns = {
        c.name: pa.Column(
            c.dtype,
            nullable=c.nullable,
            checks=ranges.get(c.name, []),
        )
        for c in ARTICLES.columns
    }
    return pa.DataFrameSchema(columns, strict="filter", ordered=False)


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

    try:
        _articles_schema().validate(frame.select(ARTICLES.names), lazy=True)
    except (SchemaError, SchemaErrors) as exc:
        first = str(exc).strip().splitlines()
        summary = "; ".join(line.strip() for line in first[:6] if line.strip())
        raise ContractViolation(f"articles break the contract: {summary[:400]}") from None
    return frame
