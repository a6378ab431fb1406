"""What the CLI prints is plain text, it stops on a signal even mid-query, and it refuses bad
arguments in one line: through the real command line, on a lake of the real corpus."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.flows.test_cli_end_to_end import NEWSLAKE, _env, _newslake
from tests.helpers import run

MARKUP_TITLE = "[直播] 发布会 [/] 实录"  # a real title's shape: rich reads "[/]" as a closing tag
MARKUP_FEED = "[直播] 财经 [/] 实录"
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b")  # ESC, BEL, CR, and C1's CSI
# A query DuckDB takes hours over: it is stopped long before.
ENDLESS_SQL = "SELECT count(*) FROM range(10000000000000) t(x) WHERE x % 7 = 3"


def _with_category(text: str, old: str, new: str) -> str:
    assert f"\n - {old}\n" in text
    return text.replace(f"\n - {old}\n", f"\n - {new}\n", 1)


def _sina_files(corpus: list[Path]) -> list[Path]:
    return [p for p in corpus if "\n - 新浪财经－国內\n" in p.read_text(encoding="utf-8")]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, corpus: list[Path]) -> Path:
    """The corpus, and one of its articles again under a title with markup and control characters."""
    root = tmp_path_factory.mktemp("cli-output")
    source = root / "src"
    source.mkdir()
    for path in corpus:
        shutil.copy(path, source / path.name)
    text = _sina_files(corpus)[0].read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n\n")
    head = "\n".join(
        f'title: "{MARKUP_TITLE} \\e[31m红\\a"' if line.startswith("title:") else line
        for line in head.split("\n")
    )
    (source / "hostile.txt").write_text(head + sep + body + "<p>直播实录：另一篇。</p>", encoding="utf-8")
    run(source, root / "lake")
    return root / "lake"


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newslake: error: "), done.stderr
    return lines[0]


@pytest.mark.parametrize("sql", ["", "   ", ";", " -- a comment only"])
def test_a_query_without_a_statement_is_a_usage_error(sql: str, lake: Path, tmp_path: Path) -> None:
    done = _newslake(["query", "--lake", str(lake), sql], _env(tmp_path), check=False)
    assert done.returncode == 2, done.stderr
    assert "SQL" in _one_error_line(done) and done.stdout == ""


def test_a_duckdb_error_is_one_line_with_its_hint(lake: Path, tmp_path: Path) -> None:
    done = _newslake(
        ["query", "--lake", str(lake), "SELECT titel FROM articles"], _env(tmp_path), check=False
    )
    assert done.returncode == 1
    line = _one_error_line(done)
    assert "Binder Error" in line and 'Candidate bindings: "title"' in line, line


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_output_is_plain_text_in_every_format(fmt: str, lake: Path, tmp_path: Path) -> None:
    sql = (
        "SELECT title, 'a' || chr(27) || '[2J' || chr(7) || chr(13) || chr(155) || 'b' AS \"[/] hostile\" "
        "FROM articles WHERE title LIKE '%[/]%'"
    )
    done = _newslake(["query", "--lake", str(lake), "--format", fmt, sql], _env(tmp_path), check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert not [c for c in RAW_CONTROLS if c in done.stdout], repr(done.stdout)
    if fmt == "json":  # escaped by JSON itself: the values come back whole
        [row] = json.loads(done.stdout)
        assert row["title"].startswith(MARKUP_TITLE)
        assert row["[/] hostile"] == "a\x1b[2J\x07\r\x9bb"
    else:
        assert MARKUP_TITLE in done.stdout and "[/] hostile" in done.stdout
        assert "a\\x1b[2J\\x07\\r\\x9bb" in done.stdout


def test_the_run_summary_prints_feed_names_as_text(corpus: list[Path], tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for path in _sina_files(corpus)[:3]:
        text = _with_category(path.read_text(encoding="utf-8"), "新浪财经－国內", f'"{MARKUP_FEED}\\e[2J\\a"')
        (source / path.name).write_text(text, encoding="utf-8")
    done = _newslake(["run", "--source", str(source), "--lake", str(tmp_path / "lake")], _env(tmp_path))
    assert "Traceback" not in done.stderr, done.stderr
    assert MARKUP_FEED in done.stdout, done.stdout
    assert not [c for c in RAW_CONTROLS if c in done.stdout], repr(done.stdout)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize(
    ("sig", "code", "inherited_sigint"),
    [
        (signal.SIGINT, 130, signal.SIG_DFL),
        (signal.SIGTERM, 143, signal.SIG_DFL),
        (signal.SIGINT, 130, signal.SIG_IGN),  # how a shell starts a background job
    ],
)
def test_a_signal_stops_a_running_query(
    sig: signal.Signals, code: int, inherited_sigint: signal.Handlers, lake: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [*NEWSLAKE, "query", "--lake", str(lake), ENDLESS_SQL],
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, inherited_sigint),
    )  # fmt: skip
    try:
        # Running the query: past the second of CPU its imports and the catalog's opening take.
        deadline = time.monotonic() + 120
        while _cpu_seconds(proc.pid) < 2.0:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the query never started"
            time.sleep(0.05)
        sent = time.monotonic()
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, stderr
    assert took < 5, f"{took:.1f} s to stop"
    assert stderr.strip().splitlines() == [f"newslake: interrupted by {sig.name}: the query was stopped"]
    assert stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--days", "1000000000"],
        ["report", "--days", "0"],
        ["report", "--out", ""],
        ["query", "--lake", "", "SELECT 1"],
        ["sample", "--count", "-1"],
        ["sample", "--count", "100000000000"],
        ["run", "--workers", "0"],
        ["run", "--workers", "100000000"],
        ["run", "--batch-size", "0"],
        ["run", "--batch-bytes", str(10**30)],
        ["run", "--max-file-bytes", str(10**30)],
        ["run", "--max-bad-ratio", "nan"],
        ["run", "--lock-timeout", "nan"],
        ["run", "--lock-timeout", "inf"],
        ["run", "--lock-timeout", "-1"],
        ["run", "--lake", ""],
        ["run", "--tz", " "],
        ["serve", "--lock-timeout", "1e400", "--cron", "0 * * * *"],
        ["serve", "--cron", "not a cron"],
    ],
    ids=" ".join,
)
def test_a_bad_argument_is_one_line_and_exit_2(args: list[str], lake: Path, tmp_path: Path) -> None:
    command, option = args[0], args[1]
    where = {  # the other arguments valid: the bad value is the reason to refuse
        "report": ["--lake", str(lake), "--out", str(tmp_path / "r.html")],
        "sample": ["--out", os.devnull + "/s"],  # a count let through fails here, not writing 10**11 files
        "run": ["--source", str(tmp_path), "--lake", str(tmp_path / "l")],
        "serve": ["--source", str(tmp_path), "--lake", str(tmp_path / "l")],
    }.get(command, [])
    env = _env(tmp_path)
    if command == "serve":  # which checks its arguments before it connects
        env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"
    done = _newslake([*args[:1], *where, *args[1:]], env, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert option in _one_error_line(done)
    assert done.stdout == ""
