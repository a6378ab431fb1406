"""The declared contract is what gets written, what the catalog shows and what the docs say."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import catalog, run
from transforms.schema import ARTICLES, QUARANTINE
from warehouse.catalog import duckdb_type
from warehouse.dictionary import data_dictionary_markdown
from warehouse.tables import BOILERPLATE, RUNS, TABLES


def test_written_parquet_matches_the_declared_schema(tmp_path: Path) -> None:
    write_sample(tmp_path / "src", 30)
    run(tmp_path / "src", tmp_path / "lake")
    files = list((tmp_path / "lake" / "articles").rglob("*.parquet"))
    assert files
    for file in files:
        assert pl.read_parquet_schema(file) == dict(ARTICLES.file_schema)
        meta = pq.ParquetFile(file).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        published = pl.read_parquet(file)["published_at"]
        assert published.is_sorted(nulls_last=True)
    assert pl.read_parquet_schema(next((tmp_path / "lake" / "quarantine").glob("*.parquet"))) == dict(
        QUARANTINE.file_schema
    )
    assert pl.read_parquet_schema(next((tmp_path / "lake" / "runs").glob("*.parquet"))) == dict(
        RUNS.file_schema
    )


def test_catalog_views_have_the_declared_columns_and_types(tmp_path: Path) -> None:
    write_sample(tmp_path / "src", 10)
    run(tmp_path / "src", tmp_path / "lake")
    with catalog(tmp_path / "lake") as con:
        for table in (ARTICLES, QUARANTINE, RUNS, BOILERPLATE):  # the datasets the catalog shows
            described = con.execute(f"DESCRIBE {table.name}").fetchall()
            assert [(r[0], r[1]) for r in described] == [
                (c.name, duckdb_type(c.dtype)) for c in table.columns
            ]


def test_empty_lake_views_are_typed(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    run(tmp_path / "src", tmp_path / "lake")
    with catalog(tmp_path / "lake") as con:
        assert con.execute("SELECT count(*) FROM articles").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM daily_feed_stats").fetchall() == [(0,)]


def test_every_column_is_described() -> None:
    """Every column of every declared table says what it holds: a sentence of its own, not its
    name again, and no two columns of a table share one (a copied description)."""
    for table in TABLES:
        assert len(table.description.split()) >= 4, table.name
        seen: dict[str, str] = {}
        for column in table.columns:
            text = column.description.strip()
            words = text.replace("_", " ").split()
            assert len(words) >= 3, f"{table.name}.{column.name}: {text!r}"
            assert text.lower().rstrip(".") != column.name.replace("_", " "), f"{table.name}.{column.name}"
            assert text not in seen, f"{table.name}: {column.name} and {seen.get(text)} share {text!r}"
            seen[text] = column.name


def test_data_dictionary_is_current() -> None:
    on_disk = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert on_disk == data_dictionary_markdown(), "docs/data-dictionary.md is stale: run `make docs`"
