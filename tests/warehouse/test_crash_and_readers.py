"""kill -9 at several moments of a run, and read-only readers during runs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.sample import sample_article
from tests.conftest import ROOT
from tests.helpers import assert_same_lake, run

RUNNER = """
import sys
from pathlib import Path
from tests.helpers import run
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


def _appeared(lake: Path, pattern: str, before: set[Path]) -> bool:
    return any(p not in before for p in lake.glob(pattern))


@pytest.mark.parametrize(
    "moment",
    [
        "_staging/*/articles/*/*.arrow",
        "articles/*/*/part-*.parquet",
        "_manifest/*.parquet",
        "runs/*.parquet",
    ],
)
def test_kill_9_at_any_moment_then_a_run_equals_a_clean_build(tmp_path: Path, moment: str) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    _write(source, 0, 150)
    run(source, lake)
    _write(source, 150, 600)  # new work for the killed run
    (source / "000003.md").unlink()
    before = set(lake.glob(moment))
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(source), str(lake)], cwd=ROOT)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not _appeared(lake, moment, before):
        time.sleep(0.001)
    proc.kill()
    assert proc.wait() == -signal.SIGKILL, "the run ended before the moment to kill it came"
    run(source, lake, allow_mass_delete=True)
    clean = tmp_path / "clean"
    run(source, clean)
    assert_same_lake(lake, clean)


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
    assert int(ok) > 20
