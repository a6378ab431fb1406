"""Shared test helpers: runs without Prefect and lake snapshots that ignore run metadata."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from flows.pipeline import RunSummary, run_pipeline
from flows.settings import Settings
from tests.conftest import ROOT

if TYPE_CHECKING:
    from warehouse.load import LakeWriter, Learned

VOLATILE = {"run_id", "ingested_at", "seen_at"}
NEWSLAKE = [sys.executable, "-m", "flows.cli"]  # this checkout's CLI, as the tests run it


def cli_env(prefect_home: Path | None = None, **extra: str) -> dict[str, str]:
    """This environment without Prefect's or newslake's own variables (a developer's shell may set
    PREFECT_API_URL or NEWSLAKE_LAKE), this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSLAKE_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    if prefect_home is not None:
        env["PREFECT_HOME"] = str(prefect_home)
    env.update(extra)
    return env


def newslake(
    args: Sequence[str],
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    prefix: Sequence[str] = (),
    program: Sequence[str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """One `newslake ARGS` in a subprocess (prefix: a command to run it under, such as setpriv)."""
    done = subprocess.run(
        [*prefix, *(program or NEWSLAKE), *args],
        cwd=cwd, env=env if env is not None else cli_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def run(source: Path | str, lake: Path | str, **overrides: object) -> RunSummary:
    options: dict[str, object] = {"workers": 1, "batch_size": 7, "retain_seconds": 0.0}
    options.update(overrides)
    return run_pipeline(Settings(source=source, lake=lake, **options))  # type: ignore[arg-type]


@contextmanager
def catalog(lake: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake's catalog opened read-only, as BI tools and `newslake query` open it."""
    con = duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True)
    try:
        yield con
    finally:
        con.close()


def catalog_rows(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    with catalog(lake) as con:
        return con.execute(sql).fetchall()


def snapshot(lake: Path) -> dict[str, pl.DataFrame]:
    """The lake's content as its readers see it through the catalog."""
    with catalog(lake) as con:
        out = {}
        for view, key in (
            ("articles", ["article_id"]),
            ("quarantine", ["source_path"]),
            ("boilerplate", ["source", "feed", "line_hash"]),
        ):
            frame = con.sql(f"SELECT * FROM {view}").pl()
            out[view] = frame.drop([c for c in frame.columns if c in VOLATILE]).sort(key)
        return out


def assert_same_lake(a: Path, b: Path) -> None:
    left, right = snapshot(a), snapshot(b)
    for view in left:
        assert left[view].equals(right[view]), f"{view} differs:\n{left[view]}\n{right[view]}"


def parquet_files(lake: Path) -> dict[str, int]:
    return {
        p.relative_to(lake).as_posix(): p.stat().st_mtime_ns for p in (lake / "articles").rglob("*.parquet")
    }


def assert_tree_is_the_catalog(lake: Path) -> None:
    """Readers of the Parquet tree (DuckDB's glob with hive_partitioning, Polars' scan_parquet with
    hive partitioning, pyarrow's dataset with hive partitioning, pyarrow's read_table on the folder
    as pandas' read_parquet calls it, and pandas itself when it is installed) see exactly the
    catalog's rows, with the same year and month (null for undated rows)."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    Key = tuple[str, int | None, int | None]
    columns = ["article_id", "year", "month"]
    with catalog(lake) as con:
        want: list[Key] = sorted(
            con.execute("SELECT article_id, year, month FROM articles").fetchall(), key=str
        )
        files = list((lake / "articles").glob("**/*.parquet"))
        glob = str(lake / "articles" / "**" / "*.parquet")
        by_duckdb = (
            sorted(
                con.execute(
                    f"SELECT article_id, year, month FROM read_parquet('{glob}', hive_partitioning = true)"
                ).fetchall(),
                key=str,
            )
            if files
            else []
        )
    readers: dict[str, list[Key]] = {"DuckDB glob": by_duckdb}
    if files:
        readers["Polars scan_parquet"] = sorted(
            pl.scan_parquet(glob, hive_partitioning=True).select(columns).collect().rows(), key=str
        )
        arrow = ds.dataset(lake / "articles", format="parquet", partitioning="hive").to_table(columns=columns)
        readers["pyarrow dataset"] = sorted(
            zip(*(arrow[c].to_pylist() for c in columns), strict=True), key=str
        )
        # What pandas' read_parquet (pyarrow engine) does: read_table on the folder (Hive discovery
        # with dictionaries), then one dictionary per column for its categoricals.
        table = pq.read_table(lake / "articles", columns=columns).unify_dictionaries()
        readers["pyarrow read_table"] = sorted(
            zip(*(table[c].to_pylist() for c in columns), strict=True), key=str
        )
        with contextlib.suppress(ImportError):
            import pandas as pd

            frame = pd.read_parquet(lake / "articles", columns=columns, dtype_backend="numpy_nullable")
            readers["pandas read_parquet"] = sorted(
                (
                    (a, None if pd.isna(y) else int(y), None if pd.isna(m) else int(m))
                    for a, y, m in frame.itertuples(index=False)
                ),
                key=str,
            )
    for reader, got in readers.items():
        assert got == want, f"{reader}: {len(got)} rows, catalog {len(want)}; first difference " + str(
            next((g, w) for g, w in zip([*got, None], [*want, None], strict=False) if g != w)
        )
    for folder in ("quarantine", "runs", "boilerplate"):
        if any((lake / folder).glob("*.parquet")):
            pq.read_table(lake / folder).unify_dictionaries()  # pandas reads every folder of the tree
    leftovers = [
        p for p in lake.rglob("*") if p.is_file() and ("_staging" in p.parts or p.name.endswith(".tmp"))
    ]
    assert not leftovers, leftovers


def assert_partition_files_bounded(lake: Path, rows_per_file: int) -> None:
    """Each partition's files hold at most rows_per_file rows, each sorted by the partition order,
    and their ranges follow one another (the order the state lists them in)."""
    import json

    from warehouse.merge import SORT_KEY

    state = json.loads((lake / "_state.json").read_text())
    for name, files in state["partitions"].items():
        previous_last = None
        for rel in files:
            frame = pl.read_parquet(lake / "_files" / rel, columns=SORT_KEY)
            assert 0 < frame.height <= rows_per_file, f"{rel}: {frame.height} rows"
            assert frame.equals(frame.sort(SORT_KEY, nulls_last=True)), f"{rel} is not sorted"
            first = frame.head(1)
            if previous_last is not None:
                pair = pl.concat([previous_last, first])
                assert pair.equals(pair.sort(SORT_KEY, nulls_last=True)), (
                    f"{name}: {rel} overlaps the file before"
                )
            previous_last = frame.tail(1)


NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def run_through_writer(
    source: Path, lake: Path, run_id: str, settings: Settings
) -> tuple[LakeWriter, Learned | None]:
    """One run driven by hand through the lake writer and the learn stage, as flows.pipeline
    orders them (no pipeline, no pool): the lake object and the stage tested directly."""
    from flows.batch_job import BATCH_ROW_COLUMNS, BatchJob, transformed_batch
    from flows.learn import lake_names, learned_models
    from flows.pipeline import merge_options
    from flows.source import Source
    from warehouse.incremental import planned_changes
    from warehouse.load import LakeWriter, RunChanges
    from warehouse.staging import BatchStaging, StagedRun, staging_folder
    from warehouse.storage import Storage

    storage = Storage(lake)
    writer = LakeWriter(storage)
    writer.recovered()
    plan = planned_changes(Source(source).listing(settings.patterns), writer.manifest())
    staging = BatchStaging(str(lake), staging_folder(run_id))
    rows = plan.candidates.select(BATCH_ROW_COLUMNS)
    job = BatchJob(
        index=0, rows=rows, source=str(source), staging=staging, run_id=run_id, now=NOW,
        tz=settings.tz, max_file_bytes=settings.max_file_bytes, storage_options={},
        learned_lines={k: sorted(v) for k, v in writer.boilerplate_model().items()},
        learned_names=lake_names(writer, settings.name_rule, settings.securities_names),
    )  # fmt: skip
    if not rows.is_empty():
        transformed_batch(job)
    staged = StagedRun(storage, staging.folder)
    changes = RunChanges(
        staged.article_keys(),
        staged.articles,
        staged.quarantine(),
        staged.processed(),
        plan.deleted,
        staged.regrouped,
    )
    options = merge_options(settings.model_copy(update={"allow_mass_delete": True}), run_id)
    merge = writer.planned_merge(changes, options)
    learned = learned_models(
        writer, staged, merge, settings.learning_rule, settings.rows_per_file, settings.story_min_similarity,
        name_rule=settings.name_rule, listed=settings.securities_names,
    )  # fmt: skip
    writer.prepare(merge, learned, options, NOW)
    writer.commit({"run_id": run_id}, retain_seconds=0.0)
    storage.delete_tree(staging.folder)
    return writer, learned
