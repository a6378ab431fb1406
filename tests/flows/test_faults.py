"""Faults as a user meets them, through the real command line: hostile SQL, odd source entries,
a full disk, damaged and moved lakes. Each asserts the one line the user sees, that nothing is
left behind, and that the next run (or `newslake repair`) gives a clean build."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import assert_same_lake, assert_tree_is_the_catalog, newslake, run


def _newslake(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return newslake(args, cwd=cwd)


def _one_line_error(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == code, (done.returncode, done.stderr)
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _leftovers(lake: Path) -> list[Path]:
    return [p for p in lake.rglob("*") if "_staging" in p.parts or p.name.endswith((".tmp", ".wal"))]


@pytest.fixture()
def loaded(tmp_path: Path) -> tuple[Path, Path]:
    source, lake = tmp_path / "src", tmp_path / "lake"
    write_sample(source, 40)
    run(source, lake)
    return source, lake


def _runs(lake: Path) -> list[str]:
    con = duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT status FROM runs ORDER BY started_at").fetchall()]
    finally:
        con.close()


# --- queries cannot write, nor read outside the lake --------------------------------------------


@pytest.mark.parametrize(
    ("sql", "needle"),
    [
        ("COPY (SELECT 1) TO '{lake}/_state.json'", "COPY statements are refused"),
        ("COPY articles TO '{lake}/articles/year=2021/month=08/x.parquet'", "COPY statements are refused"),
        ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{lake}/x.csv'", "EXPLAIN statements are refused"),
        ("ATTACH '{lake}/new.duckdb' AS x", "ATTACH statements are refused"),
        ("INSTALL httpfs", "LOAD statements are refused"),
        ("SET enable_external_access = true", "SET statements are refused"),
        ("PRAGMA enable_profiling", "PRAGMA statements are refused"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
        ("SELECT * FROM glob('/root/*')", "Permission Error"),
        ("SELECT * FROM read_text('{lake}/../src/000000.md')", "Permission Error"),
        ("SELECT 1; COPY (SELECT 1) TO '/tmp/newslake-x.csv'", "COPY statements are refused"),
    ],
)
def test_a_query_can_neither_write_nor_read_outside_the_lake(
    loaded: tuple[Path, Path], sql: str, needle: str
) -> None:
    _, lake = loaded
    before = {p: p.stat().st_mtime_ns for p in lake.rglob("*") if p.is_file()}
    _one_line_error(_newslake("query", "--lake", str(lake), sql.format(lake=lake)), 1, needle)
    assert {p: p.stat().st_mtime_ns for p in lake.rglob("*") if p.is_file()} == before
    assert not Path("/tmp/newslake-x.csv").exists()
    ok = _newslake("query", "--lake", str(lake), "--format", "csv", "SELECT count(*) FROM daily_feed_stats")
    assert ok.returncode == 0 and int(ok.stdout.splitlines()[1]) > 0


def test_report_arguments_are_validated(loaded: tuple[Path, Path], tmp_path: Path) -> None:
    _, lake = loaded
    _one_line_error(_newslake("report", "--lake", str(lake), "--days", "-5"), 2, "--days", "1<=x<=36600")
    _one_line_error(_newslake("report", "--lake", str(lake), "--days", "x"), 2, "--days")
    _one_line_error(_newslake("sample", "--count", "-1", "--out", str(tmp_path / "s")), 2, "--count")
    (tmp_path / "a-file").write_text("x")
    src = str(tmp_path / "src")
    _one_line_error(
        _newslake("run", "--source", src, "--lake", str(tmp_path / "a-file")), 2, "is a file, not a folder"
    )
    _one_line_error(
        _newslake("run", "--source", src, "--lake", str(lake), "--catalog", str(tmp_path)), 2, "is a folder"
    )
    _one_line_error(
        _newslake("run", "--source", str(tmp_path / "a-file"), "--lake", str(lake)), 2, "is not a folder"
    )
    _one_line_error(
        _newslake("run", "--source", str(tmp_path / "src"), "--lake", str(lake), "--batch-size", "0"),
        2,
        "--batch-size",
    )
    _one_line_error(
        _newslake("run", "--source", str(tmp_path / "src"), "--lake", str(lake), "--max-bad-ratio", "2"),
        2,
        "--max-bad-ratio",
    )


# --- every source entry is a row or a quarantine record -----------------------------------------


def test_a_symlink_loop_is_one_quarantine_record(tmp_path: Path) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    write_sample(source, 10)
    os.symlink("loop.md", source / "loop.md")
    os.symlink("b.md", source / "a.md")
    os.symlink("a.md", source / "b.md")
    os.symlink("nowhere.md", source / "dangling.md")
    summary = run(source, lake, max_bad_ratio=0.5)
    assert summary.status == "succeeded" and summary.loaded.rows_written == 10
    con = duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT source_path, reason FROM quarantine ORDER BY 1").fetchall()
    finally:
        con.close()
    assert rows == [
        ("a.md", "unreadable"),
        ("b.md", "unreadable"),
        ("dangling.md", "unreadable"),
        ("loop.md", "unreadable"),
    ]


# --- a full disk --------------------------------------------------------------------------------


@contextmanager
def _tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}): the disk-full tests need root"
        )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _resize(folder: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


def test_a_full_disk_while_loading_leaves_the_lake_as_it_was(tmp_path: Path) -> None:
    source = tmp_path / "src"
    write_sample(source, 400)
    with _tmpfs(tmp_path / "small", "24m") as disk:
        lake = disk / "lake"
        first = sorted(source.iterdir())[:20]
        part = tmp_path / "part"
        part.mkdir()
        for f in first:
            shutil.copy(f, part / f.name)
        run(part, lake)
        before = _runs(lake)
        filler = disk / "filler"
        free = shutil.disk_usage(disk).free
        filler.write_bytes(b"\0" * max(free - 600_000, 0))  # room for staging a little, not for loading
        done = _newslake("run", "--source", str(source), "--lake", str(lake), "--workers", "1")
        line = _one_line_error(done, 1, "No space left on device")
        assert "failed" in line and ("transform" in line or "merge" in line or "commit" in line), line
        assert not _leftovers(lake), _leftovers(lake)
        filler.unlink()
        assert _runs(lake)[: len(before)] == before
        _resize(disk, "256m")
        again = _newslake("run", "--source", str(source), "--lake", str(lake), "--workers", "1")
        assert again.returncode == 0, again.stderr
        run(source, tmp_path / "clean")
        assert_same_lake(lake, tmp_path / "clean")
        assert_tree_is_the_catalog(lake)


def test_a_full_disk_while_publishing_says_the_run_committed_and_the_next_publishes(tmp_path: Path) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    write_sample(source, 30)
    with _tmpfs(tmp_path / "catalogs", "2m") as disk:
        catalog = disk / "warehouse.duckdb"
        run(source, lake, catalog=catalog)
        (disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(disk).free - 4096))
        write_sample(source, 40)  # ten more
        done = _newslake("run", "--source", str(source), "--lake", str(lake), "--catalog", str(catalog))
        _one_line_error(done, 1, "publish failed", "the run's changes were committed")
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "warehouse.duckdb"]
        (disk / "filler").unlink()
        again = _newslake(
            "run", "--source", str(source), "--lake", str(lake), "--catalog", str(catalog), "--json"
        )
        assert again.returncode == 0 and json.loads(again.stdout)["status"] == "no_changes"
        con = duckdb.connect(str(catalog), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM articles").fetchall() == [(40,)]
        finally:
            con.close()


# --- a damaged lake is named, and repaired --------------------------------------------------------


def _damage(lake: Path, how: str) -> None:
    state = lake / "_state.json"
    if how == "truncated partition":
        victim = sorted((lake / "_files" / "articles").rglob("*.parquet"))[0]
        victim.write_bytes(victim.read_bytes()[:100])
    elif how == "garbage state":
        state.write_text("{not json")
    elif how == "a list for a state":
        state.write_text("[]")
    elif how == "deleted state":
        state.unlink()
    elif how == "truncated manifest":
        victim = next((lake / "_files" / "_manifest").glob("*.parquet"))
        victim.write_bytes(victim.read_bytes()[:-50])


@pytest.mark.parametrize(
    "how",
    ["truncated partition", "garbage state", "a list for a state", "deleted state", "truncated manifest"],
)
def test_a_damaged_lake_is_named_in_one_line_and_repaired(
    loaded: tuple[Path, Path], tmp_path: Path, how: str
) -> None:
    source, lake = loaded
    run(source, lake, full_refresh=True)  # a history of two runs
    _damage(lake, how)
    line = _one_line_error(
        _newslake("run", "--source", str(source), "--lake", str(lake)), 1, "newslake repair"
    )
    assert str(lake) in line
    fixed = _newslake("repair", "--source", str(source), "--lake", str(lake))
    assert fixed.returncode == 0, fixed.stderr
    run(source, tmp_path / "clean")
    assert_same_lake(lake, tmp_path / "clean")
    assert_tree_is_the_catalog(lake)
    assert _runs(lake) == ["succeeded", "succeeded", "succeeded"]  # the history survived the damage
    assert not _leftovers(lake)


def test_a_moved_lake_is_named_and_served_from_where_it_is_after_a_run(
    loaded: tuple[Path, Path], tmp_path: Path
) -> None:
    source, lake = loaded
    moved = tmp_path / f"moved-{uuid.uuid4().hex[:6]}"
    shutil.copytree(lake, moved)
    shutil.rmtree(lake)
    _one_line_error(
        _newslake("query", "--lake", str(moved), "SELECT count(*) FROM articles"),
        1,
        "was built for the lake at",
    )
    assert _newslake("run", "--source", str(source), "--lake", str(moved)).returncode == 0
    done = _newslake("query", "--lake", str(moved), "--format", "csv", "SELECT count(*) FROM articles")
    assert done.returncode == 0 and done.stdout.splitlines()[1] == "40", done.stderr
