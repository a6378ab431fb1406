"""The real CLI and Prefect flow, end to end, into a temporary lake, queried through DuckDB."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import NEWSLAKE, assert_same_lake, catalog, cli_env, newslake


def _env(tmp: Path) -> dict[str, str]:
    return cli_env(prefect_home=tmp / "prefect-home")


def _newslake(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return newslake(args, env, check=check)


@pytest.mark.integration
def test_run_and_query_the_real_corpus(tmp_path: Path, corpus: list[Path]) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    for path in corpus:
        shutil.copy(path, source / path.name)
    env = _env(tmp_path)
    done = _newslake(["run", "--source", str(source), "--lake", str(lake)], env)
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "ERROR" not in output, output
    assert f"files seen {len(corpus)}" in done.stdout
    assert "quarantined 0" in done.stdout

    files = list((lake / "articles").glob("*-part-*.parquet"))
    assert files and {f.name[:4] for f in files} >= {"2022", "unda"}
    with catalog(lake) as con:
        assert con.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchall() == [
            (len(corpus), len(corpus))
        ]
        views = {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        assert {"articles", "quarantine", "runs", "article_stocks", "daily_feed_stats"} <= views
        tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()[0][0]
        assert tables == 0, "the catalog holds only views"

    q = _newslake(
        ["query", "--lake", str(lake), "--format", "json",
         "SELECT stock_code, count(*) AS n FROM article_stocks GROUP BY 1 ORDER BY n DESC, 1 LIMIT 3"],
        env,
    )  # fmt: skip
    rows = json.loads(q.stdout)
    # 天风证券: Sina links it in two articles, which teach the name that 财联社 and 格隆汇 write.
    assert rows[0] == {"stock_code": "sh601162", "n": 4}

    csv = _newslake(
        ["query", "--lake", str(lake), "--format", "csv", "SELECT count(*) AS n FROM articles"], env
    )
    assert csv.stdout.splitlines() == ["n", str(len(corpus))]

    bad = _newslake(["query", "--lake", str(lake), "SELECT * FROM nope"], env, check=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

    write = _newslake(["query", "--lake", str(lake), "CREATE TABLE x AS SELECT 1"], env, check=False)
    assert write.returncode != 0 and "read-only" in write.stderr.lower()


def test_bad_arguments_give_one_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    missing = _newslake(
        ["run", "--source", str(tmp_path / "nope"), "--lake", str(tmp_path / "l")], env, check=False
    )
    assert missing.returncode != 0
    assert missing.stderr.strip().splitlines() == [
        f"newslake: error: source {tmp_path / 'nope'} is not a folder"
    ]
    zone = _newslake(
        ["run", "--source", str(tmp_path), "--lake", str(tmp_path / "l"), "--tz", "Mars/Base"],
        env,
        check=False,
    )
    assert zone.returncode != 0 and "unknown time zone" in zone.stderr and "Traceback" not in zone.stderr


@pytest.mark.integration
def test_in_process_and_prefect_flow_give_the_same_lake(tmp_path: Path, corpus: list[Path]) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for path in corpus:
        shutil.copy(path, source / path.name)
    env = _env(tmp_path)  # no PREFECT_API_URL: the default run is in-process
    here = _newslake(["run", "--source", str(source), "--lake", str(tmp_path / "here"), "--json"], env)
    flow = _newslake(
        ["run", "--prefect", "--source", str(source), "--lake", str(tmp_path / "flow"), "--json"], env
    )
    assert json.loads(here.stdout)["status"] == json.loads(flow.stdout)["status"] == "succeeded"
    assert_same_lake(tmp_path / "here", tmp_path / "flow")
    # the flow run was recorded on the temporary server's database, and that server is gone
    assert any((tmp_path / "prefect-home").rglob("*.db"))
    leftover = subprocess.run(["pgrep", "-f", "prefect server start"], capture_output=True, text=True)
    assert str(tmp_path) not in leftover.stdout


def test_a_temporary_server_that_does_not_start_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.prefect_server import ServerDidNotStart, temporary_prefect_server

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    with pytest.raises(ServerDidNotStart) as caught, temporary_prefect_server(allowance_s=0.5):
        pass
    message = str(caught.value)
    assert "\n" not in message and "prefect server start" in message and "PREFECT_API_URL" in message


def _servers_of(home: Path) -> list[int]:
    """pids of `prefect server start` processes started with PREFECT_HOME=home."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if b"prefect" in (proc / "cmdline").read_bytes() and f"PREFECT_HOME={home}".encode() in (
                proc / "environ"
            ).read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.integration
def test_a_killed_run_leaves_no_temporary_prefect_server(tmp_path: Path) -> None:
    import signal
    import time

    from flows.sample import write_sample

    write_sample(tmp_path / "src", 20)
    env = _env(tmp_path)
    home = Path(env["PREFECT_HOME"])
    run = subprocess.Popen(
        [*NEWSLAKE, "run", "--prefect", "--source", str(tmp_path / "src"), "--lake", str(tmp_path / "lake")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not _servers_of(home):
        assert run.poll() is None and time.monotonic() < deadline, "no temporary server was seen"
        time.sleep(0.1)
    time.sleep(3)  # past its start-up
    run.send_signal(signal.SIGKILL)
    run.wait()
    deadline = time.monotonic() + 8  # it is told at once (SIGTERM on its parent's death)
    while _servers_of(home) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _servers_of(home) == [], "the temporary server outlived a run killed with SIGKILL"
