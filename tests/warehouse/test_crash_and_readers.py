"""kill -9 at several moments of a run, and read-only readers during runs."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from flows.sample import sample_article
from tests.conftest import ROOT
from tests.helpers import assert_same_lake, assert_tree_is_the_catalog, catalog, run

# The run kills itself with SIGKILL at the N-th call of a Storage method (before or after it
# does its work): every moment of a run's writes is reached deterministically, none by timing.
RUNNER = """
import os, signal, sys, threading
from pathlib import Path
from tests.helpers import run
from warehouse.storage import Storage

method, nth, when, only = sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
original = getattr(Storage, method)
calls = 0
counting = threading.Lock()  # the learn stage writes its sighting buckets from several threads

def dying(self, *args, **kwargs):
    global calls
    if only and only not in str(args[0]):
        return original(self, *args, **kwargs)
    with counting:
        calls += 1
        mine = calls
    if mine == nth and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(self, *args, **kwargs)
    if mine == nth and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result

setattr(Storage, method, dying)
if sys.argv[7] == "repair":
    from flows.pipeline import repaired_lake
    from flows.settings import Settings

    repaired_lake(Settings(source=sys.argv[1], lake=sys.argv[2], workers=1, batch_size=40))
else:
    run(Path(sys.argv[1]), Path(sys.argv[2]), batch_size=40, allow_mass_delete=True)
"""

READER = """
import sys, time, duckdb
catalog, stop = sys.argv[1], sys.argv[2]
from pathlib import Path
ok = failed = 0
last = ""
while not Path(stop).exists():
    try:
        con = duckdb.connect(catalog, read_only=True)
        try:
            n = con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchall()[0]
            assert n[0] == n[1], f"duplicate rows {n}"
            con.execute("SELECT count(*) FROM quarantine").fetchall()
            con.execute("SELECT count(*) FROM runs").fetchall()
            con.execute("SELECT count(*) FROM daily_feed_stats").fetchall()
        finally:
            con.close()
        ok += 1
    except Exception as exc:
        failed += 1
        last = repr(exc)
print(ok, failed, last)
"""


def _write(source: Path, start: int, stop: int, seed: int = 5) -> None:
    source.mkdir(parents=True, exist_ok=True)
    for i in range(start, stop):
        name, data = sample_article(i, seed)
        (source / name).write_bytes(data)


MOMENTS = [
    ("write_staged", 2, "after", ""),  # while batches are staged
    ("write_parquet", 1, "before", ""),  # the load's first data file
    ("write_parquet", 4, "after", ""),  # midway through the load
    ("write_bytes_atomic", 1, "after", "_state.json"),  # just after the commit point
    ("link", 1, "after", "articles"),  # while the commit links files into the tree
    ("link", 6, "before", "articles"),
    ("delete_file", 1, "after", ""),  # while superseded links leave the tree
    ("write_bytes_atomic", 1, "before", "_state.json"),  # just before the commit point
    ("delete_file", 3, "before", "_files"),  # while the store forgets what no state needs
]


def _after_the_killed_run(source: Path) -> None:
    _write(source, 150, 600)  # new work for the killed run
    (source / "000003.md").unlink()


def _clean_build(root: Path, source_of: Callable[[Path], None]) -> Path:
    """A lake built in one run from a source made by source_of: what every moment's lake must
    equal (the source is written the same way in each test, so one build serves them all)."""
    source, lake = root / "src", root / "lake"
    source_of(source)
    run(source, lake)
    return lake


def _source_of_the_killed_run(source: Path) -> None:
    _write(source, 0, 150)
    _after_the_killed_run(source)


@pytest.fixture(scope="module")
def clean_after_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clean_build(tmp_path_factory.mktemp("clean-run"), _source_of_the_killed_run)


@pytest.fixture(scope="module")
def clean_after_repair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clean_build(tmp_path_factory.mktemp("clean-repair"), lambda source: _write(source, 0, 250))


@pytest.mark.parametrize(("method", "nth", "when", "only"), MOMENTS)
def test_kill_9_at_any_moment_then_a_run_equals_a_clean_build(
    tmp_path: Path, clean_after_run: Path, method: str, nth: int, when: str, only: str
) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    _write(source, 0, 150)
    run(source, lake)
    _after_the_killed_run(source)
    args = [str(source), str(lake), method, str(nth), when, only, "run"]
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=ROOT, timeout=300)
    assert proc.returncode == -signal.SIGKILL, "the run never reached the moment to kill it"
    run(source, lake, allow_mass_delete=True)
    assert_same_lake(lake, clean_after_run)
    assert_tree_is_the_catalog(lake)


REPAIR_MOMENTS = [
    ("write_parquet", 1, "before", ""),  # the salvaged run history
    ("write_parquet", 3, "after", ""),  # midway through the rebuild
    ("write_bytes_atomic", 1, "before", "_state.json"),  # just before the commit point
    ("write_bytes_atomic", 1, "after", "_state.json"),  # just after it
    ("link", 2, "after", "articles"),  # while the tree follows the new state
    ("delete_file", 2, "after", ""),  # while the old tree and store go
]


def _catalog_count(lake: Path) -> int:
    with catalog(lake) as con:
        (count,) = con.execute("SELECT count(*) FROM articles").fetchone() or (None,)
        con.execute("SELECT count(*) FROM runs").fetchall()
        return int(count)


@pytest.mark.parametrize(("method", "nth", "when", "only"), REPAIR_MOMENTS)
def test_kill_9_during_a_repair_leaves_the_old_lake_or_the_new_one(
    tmp_path: Path, clean_after_repair: Path, method: str, nth: int, when: str, only: str
) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    _write(source, 0, 150)
    run(source, lake)
    _write(source, 150, 250)  # what the repair adds: the new lake is told from the old one
    args = [str(source), str(lake), method, str(nth), when, only, "repair"]
    proc = subprocess.run([sys.executable, "-c", RUNNER, *args], cwd=ROOT, timeout=300)
    assert proc.returncode == -signal.SIGKILL, "the repair never reached the moment to kill it"
    assert _catalog_count(lake) in (150, 250)
    run(source, lake)
    assert_same_lake(lake, clean_after_repair)
    assert_tree_is_the_catalog(lake)


def test_readers_never_fail_during_runs(tmp_path: Path) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    _write(source, 0, 100)
    run(source, lake)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(lake / "warehouse.duckdb"), str(stop)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        for step in range(6):
            _write(source, 100 + step * 60, 160 + step * 60, seed=step)
            (source / f"{step:06d}.md").unlink()
            run(source, lake, batch_size=25, retain_seconds=3600)
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    ok, failed, last = out.split(" ", 2)
    assert int(failed) == 0, last
    assert int(ok) > 0, "the reader never completed a round"


def test_a_reader_holding_the_catalog_across_a_commit_reads_the_rows_it_opened(tmp_path: Path) -> None:
    """The moment the loop above can miss, forced: a connection opened before a commit queries
    after it (and after the tree moved on) and still reads the old version, whole."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    _write(source, 0, 100)
    run(source, lake, retain_seconds=3600)
    with catalog(lake) as before:
        assert before.execute("SELECT count(*) FROM articles").fetchall() == [(100,)]
        _write(source, 100, 160, seed=7)
        (source / "000001.md").unlink()
        assert run(source, lake, retain_seconds=3600).status == "succeeded"
        rows = before.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchall()
        assert rows == [(100, 100)]
        assert before.execute("SELECT count(*) FROM articles WHERE source_path = '000001.md'").fetchall() == [
            (1,)
        ]
    assert _catalog_count(lake) == 159
