"""The data dictionary (docs/data-dictionary.md), generated from the declared tables (TABLES)."""

from __future__ import annotations

from transforms.reasons import Reason
from warehouse.catalog import duckdb_type, mart_sql
from warehouse.tables import ARTICLE_STOCKS_DESCRIPTION, LAKE_VIEW_DESCRIPTION, TABLES


def data_dictionary_markdown() -> str:
    lines = [
        "# Data dictionary",
        "",
        "Generated from `transforms/schema.py` and `warehouse/tables.py` by `make docs`; a test fails when "
        "this file is stale.",
        "Types are DuckDB's, as the catalog's views show them.",
        "",
    ]
    for table in TABLES:
        lines += [f"## {table.name}", "", table.description, ""]
        lines += ["| column | type | nullable | description |", "| --- | --- | --- | --- |"]
        for c in table.columns:
            key = " (partition key)" if c.partition else ""
            nullable = "yes" if c.nullable else "no"
            rules = f" Values: {'; '.join(c.value_rules)}." if c.value_rules else ""
            lines.append(
                f"| `{c.name}` | {duckdb_type(c.dtype)} | {nullable} | {c.description}{key}{rules} |"
            )
        lines.append("")
    lines += ["## Views over the datasets", "", f"- `newslake_lake`: {LAKE_VIEW_DESCRIPTION}"]
    lines.append(f"- `article_stocks`: {ARTICLE_STOCKS_DESCRIPTION}")
    for name, sql in mart_sql():
        comment = next((ln[2:].strip() for ln in sql.splitlines() if ln.startswith("--")), "")
        if name != "article_stocks":
            lines.append(f"- `{name}`: {comment}")
    lines += ["", "## Quarantine reasons", "", "| reason | meaning |", "| --- | --- |"]
    lines += [f"| `{reason}` | {reason.description} |" for reason in Reason]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(data_dictionary_markdown(), end="")
