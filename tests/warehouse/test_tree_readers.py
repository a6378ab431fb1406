"""Every reader of the Parquet tree reads the catalog's rows, undated rows included with a null year
and month: DuckDB's glob, Polars, pyarrow's dataset and read_table (helpers.assert_tree_is_the_catalog),
and pandas and Spark in their own environments (installed by `make compat` into .tools/compat, from
tests/compat/python/pandas-*.txt and pyspark-*.txt; Spark needs a Java runtime). Checked after a
first run and after incremental ones, and on a lake whose tree parser 1.4.0 wrote in Hive folders
(with no year and month in the files), which the next run rebuilds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from flows.pipeline import RunRejected, Stages, run_pipeline
from flows.settings import Settings
from tests.conftest import ROOT
from tests.helpers import assert_same_lake, assert_tree_is_the_catalog, catalog, run
from transforms.version import PARSER_VERSION
from warehouse.catalog import publish_catalog
from warehouse.layout import UNDATED, stored_file, tree_file
from warehouse.state import load_state
from warehouse.storage import Storage

COMPAT = ROOT / ".tools" / "compat"
SCRIPT = ROOT / "tests" / "compat" / "read_tree.py"


def _changed(source: Path, corpus: list[Path], step: int) -> None:
    """The source after step incremental changes: files added, a title changed, one deleted."""
    if step == 0:
        for path in corpus[: len(corpus) // 2]:
            shutil.copy(path, source / path.name)
    elif step == 1:
        for path in corpus:
            shutil.copy(path, source / path.name)
        first = source / corpus[0].name
        first.write_bytes(first.read_bytes().replace(b"title: ", b"title: changed ", 1))
    else:
        (source / corpus[-1].name).unlink()
        undated = source / corpus[1].name
        text = undated.read_text(encoding="utf-8")
        undated.write_text(text.replace("\ndate:", "\ndate: Invalid Date\nold_date:", 1), encoding="utf-8")


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory, corpus: list[Path]) -> list[Path]:
    """Copies of one lake after each of three runs (a first run, then two incremental ones)."""
    root = tmp_path_factory.mktemp("tree-readers")
    source, lake = root / "src", root / "lake"
    source.mkdir()
    copies = []
    for step in range(3):
        _changed(source, corpus, step)
        run(source, lake)
        copy = root / f"after-run-{step}"
        shutil.copytree(lake, copy, symlinks=True)
        _republished(copy)  # the copy's catalog names its own files
        copies.append(copy)
    return copies


def _republished(lake: Path) -> None:
    storage = Storage(str(lake), None)
    publish_catalog(storage, load_state(storage, "_state.json"), lake / "warehouse.duckdb")


def _catalog_articles(lake: Path) -> list[list[object]]:
    with catalog(lake) as con:
        rows = con.execute("SELECT article_id, year, month FROM articles ORDER BY ALL").fetchall()
    assert any(year is None for _, year, _ in rows), "no undated row to read"
    return [list(r) for r in rows]


def _catalog_counts(lake: Path) -> dict[str, int]:
    with catalog(lake) as con:
        return {
            view: int(con.execute(f"SELECT count(*) FROM {view}").fetchone()[0])  # type: ignore[index]
            for view in ("articles", "quarantine", "runs", "boilerplate")
        }


@pytest.mark.parametrize("step", [0, 1, 2])
def test_python_readers_of_the_tree_read_the_catalogs_rows(lakes: list[Path], step: int) -> None:
    assert_tree_is_the_catalog(lakes[step])


def _reader_env(name: str) -> Path:
    folders = sorted(COMPAT.glob(f"{name}-*"))
    if not folders or not (folders[-1] / ".ok").exists():
        message = f"{name} is not installed in {COMPAT}: run `make compat` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folders[-1] / "bin" / "python"


def _read_tree(reader: str, python: Path, lake: Path) -> dict[str, object]:
    done = subprocess.run(
        [str(python), str(SCRIPT), reader, str(lake)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("step", [0, 2])
def test_pandas_reads_every_folder_of_the_tree(lakes: list[Path], step: int) -> None:
    """`pd.read_parquet("LAKE/articles")` as an analyst types it (pyarrow engine, defaults)."""
    got = _read_tree("pandas", _reader_env("pandas"), lakes[step])
    assert sorted(got["articles"], key=str) == sorted(_catalog_articles(lakes[step]), key=str)  # type: ignore[arg-type]
    assert got["rows"] == _catalog_counts(lakes[step])


def test_spark_reads_every_folder_of_the_tree(lakes: list[Path]) -> None:
    """`spark.read.parquet("LAKE/articles")` in local mode, after the incremental runs."""
    python = _reader_env("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(
            "Spark needs a Java runtime: no `java` on PATH and no JAVA_HOME (apt-get install openjdk-17-jre-headless)"
        )
    got = _read_tree("spark", python, lakes[-1])
    assert sorted(got["articles"], key=str) == sorted(_catalog_articles(lakes[-1]), key=str)  # type: ignore[arg-type]
    assert got["rows"] == _catalog_counts(lakes[-1])


def _as_parser_1_4(lake: Path) -> None:
    """Turn a lake into what parser 1.4.0 wrote: files without the year and month columns (the
    keys only in the store's Hive folder names) and a Hive tree of the same paths."""
    state_file = lake / "_state.json"
    state = json.loads(state_file.read_text())
    for rel in (rel for files in state["partitions"].values() for rel in files):
        stored = lake / stored_file(rel)
        table = pq.read_table(stored, partitioning=None).drop(["year", "month"])
        stored.unlink()
        pq.write_table(table, stored)
        state["sizes"][rel] = stored.stat().st_size
        (lake / tree_file(rel)).unlink()
        (lake / rel).parent.mkdir(parents=True, exist_ok=True)
        os.link(stored, lake / rel)
    state["parser_version"] = "1.4.0"
    state_file.write_text(json.dumps(state))
    _republished(lake)


def test_a_lake_of_parser_1_4_gets_the_new_tree_from_the_next_run(
    tmp_path: Path, corpus: list[Path], lakes: list[Path]
) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    for step in range(3):
        _changed(source, corpus, step)
    shutil.copytree(lakes[-1], lake, symlinks=True)
    _republished(lake)
    want = _catalog_articles(lake)
    _as_parser_1_4(lake)
    assert (lake / "articles" / f"year={UNDATED}").is_dir()
    assert _catalog_articles(lake) == want  # the catalog reads the keys from the store's folder names

    # A rebuild that fails (a bad file above max_bad_ratio) commits nothing but its runs row: the
    # tree keeps its Hive folders, which DuckDB's glob still reads with the keys.
    bad = source / "bad.txt"
    bad.write_bytes(b"\x00\xff not an article \x00" * 100)
    failing = Settings(
        source=source, lake=lake, workers=1, batch_size=7, retain_seconds=0.0, max_bad_ratio=0.0
    )
    with pytest.raises(RunRejected):
        run_pipeline(failing)
    bad.unlink()
    assert (lake / "articles" / f"year={UNDATED}").is_dir()
    glob = lake / "articles" / "**" / "*.parquet"
    by_glob = duckdb.sql(
        f"SELECT article_id, year, month FROM read_parquet('{glob}', hive_partitioning = true)"
    )
    got = [
        [a, None if y is None else int(y), None if m is None else int(m)] for a, y, m in by_glob.fetchall()
    ]
    assert sorted(got, key=str) == sorted(want, key=str)

    said: list[str] = []
    settings = Settings(source=source, lake=lake, workers=1, batch_size=7, retain_seconds=0.0)
    summary = run_pipeline(settings, Stages(log=said.append))
    assert summary.status == "succeeded"
    assert any(f"parsed by 1.4.0; parser {PARSER_VERSION} parses every file again" in line for line in said)
    assert not [p for p in (lake / "articles").iterdir() if p.is_dir()]  # the old folders are gone
    assert not list((lake / "articles").glob("year=*"))
    assert _catalog_articles(lake) == want
    assert_tree_is_the_catalog(lake)
    assert run(source, lake).status == "no_changes"
    assert_same_lake(lake, lakes[-1])
