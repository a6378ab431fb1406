"""Shared test helpers: runs without Prefect and lake snapshots that ignore run metadata."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from flows.pipeline import RunSummary, run_pipeline
from flows.settings import Settings

VOLATILE = {"run_id", "ingested_at", "seen_at"}


def run(source: Path | str, lake: Path | str, **overrides: object) -> RunSummary:
    options: dict[str, object] = {"workers": 1, "batch_size": 7, "retain_seconds": 0.0}
    options.update(overrides)
    return run_pipeline(Settings(source=source, lake=lake, **options))  # type: ignore[arg-type]


def snapshot(lake: Path) -> dict[str, pl.DataFrame]:
    """The lake's content as its readers see it through the catalog."""
    con = duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True)
    try:
        out = {}
        for view, key in (("articles", "article_id"), ("quarantine", "source_path")):
            frame = con.sql(f"SELECT * FROM {view}").pl()
            out[view] = frame.drop([c for c in frame.columns if c in VOLATILE]).sort(key)
        return out
    finally:
        con.close()


def assert_same_lake(a: Path, b: Path) -> None:
    left, right = snapshot(a), snapshot(b)
    for view in left:
        assert left[view].equals(right[view]), f"{view} differs:\n{left[view]}\n{right[view]}"


def parquet_files(lake: Path) -> dict[str, int]:
    return {
        p.relative_to(lake).as_posix(): p.stat().st_mtime_ns for p in (lake / "articles").rglob("*.parquet")
    }
