"""Scheduled runs on a real `prefect server start` on loopback, and overlap prevention."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from flows.cli import SERVE_STOP_SECONDS
from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import catalog
from tests.servers import BIN, api_post, flow_runs, prefect_env, stop, wait_for_deployment
from warehouse.lock import lake_lock

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(prefect_api: tuple[str, Path]) -> tuple[str, Path]:
    return prefect_api


def _serve(
    api: str, home: Path, name: str, cron: str, source: Path, lake: Path, *extra: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "newslake"), "serve", "--cron", cron, "--name", name, "--source", str(source), "--lake", str(lake), *extra],
        cwd=ROOT, env=prefect_env(home, api), start_new_session=True,
        stdout=open(home / f"serve-{name}.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_states(api: str, deployment: str, want: int, timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    final = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
    while time.monotonic() < deadline:
        runs = [r for r in flow_runs(api, deployment) if r["state_type"] in final]
        if len(runs) >= want:
            return runs
        time.sleep(1)
    raise TimeoutError(f"fewer than {want} finished runs: {flow_runs(api, deployment)}")


def test_serve_runs_on_schedule_and_loads_the_lake(server: tuple[str, Path], tmp_path: Path) -> None:
    api, home = server
    write_sample(tmp_path / "src", 60)
    lake = tmp_path / "lake"
    proc = _serve(api, home, "every-minute", "* * * * *", tmp_path / "src", lake)
    try:
        deployment = wait_for_deployment(api, "newslake-etl", "every-minute")
        runs = _wait_states(api, deployment, 1, timeout=180)
    finally:
        stop(proc, signal.SIGINT)
    assert runs[0]["state_type"] == "COMPLETED", runs[0]
    assert list((lake / "articles").rglob("*.parquet"))
    with catalog(lake) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchall() == [(60,)]
        assert con.execute("SELECT status FROM runs").fetchall()[0][0] == "succeeded"
    artifacts = api_post(f"{api}/artifacts/filter", {}).json()
    assert {"newslake-run", "newslake-run-counts"} <= {a["key"] for a in artifacts}


def _state_of(api: str, run_id: str) -> str:
    return str(httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state_type"])


def _until(api: str, run_id: str, states: set[str], timeout: float = 180) -> str:
    deadline = time.monotonic() + timeout
    while (state := _state_of(api, run_id)) not in states:
        assert time.monotonic() < deadline, f"flow run {run_id} still {state}"
        time.sleep(0.5)
    return state


def test_an_overlapping_run_is_cancelled(server: tuple[str, Path], tmp_path: Path) -> None:
    """The first run waits on the lake's lock, which the test holds, so the second is sure to
    arrive while the first runs: no timing decides the outcome."""
    api, home = server
    write_sample(tmp_path / "src", 30)
    lake = tmp_path / "lake"
    proc = _serve(api, home, "overlap", "0 0 1 1 *", tmp_path / "src", lake, "--lock-timeout", "300")
    try:
        deployment = wait_for_deployment(api, "newslake-etl", "overlap")
        with lake_lock(lake / ".lock"):
            first = api_post(f"{api}/deployments/{deployment}/create_flow_run", {}).json()["id"]
            assert _until(api, first, {"RUNNING", "FAILED", "CRASHED"}) == "RUNNING"
            second = api_post(f"{api}/deployments/{deployment}/create_flow_run", {}).json()["id"]
            assert _until(api, second, {"CANCELLED", "COMPLETED", "FAILED", "CRASHED"}) == "CANCELLED"
        assert _until(api, first, {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}) == "COMPLETED"
    finally:
        stop(proc, signal.SIGINT)


def _one_ctrl_c(proc: subprocess.Popen[bytes], bound: float) -> float:
    """Ctrl-C as a terminal sends it, once, to the process group; the seconds serve took to exit
    (the process is killed after bound, and the test fails)."""
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        stop(proc, signal.SIGKILL)
        pytest.fail(f"serve was still running {bound:.0f} s after one Ctrl-C")
    return time.monotonic() - started


@pytest.mark.parametrize("when", ["idle", "during a run"])
def test_serve_stops_at_the_first_ctrl_c(server: tuple[str, Path], tmp_path: Path, when: str) -> None:
    api, home = server
    write_sample(tmp_path / "src", 600)
    name = f"ctrl-c-{when.replace(' ', '-')}"
    proc = _serve(api, home, name, "0 0 1 1 *", tmp_path / "src", tmp_path / "lake")
    try:
        deployment = wait_for_deployment(api, "newslake-etl", name)
        if when == "during a run":
            run = api_post(f"{api}/deployments/{deployment}/create_flow_run", {}).json()["id"]
            assert _until(api, run, {"RUNNING", "COMPLETED", "FAILED", "CRASHED"}) == "RUNNING"
        else:
            time.sleep(2)  # the runner polling the server
        seconds = _one_ctrl_c(proc, bound=SERVE_STOP_SECONDS + 10)
    finally:
        stop(proc, signal.SIGKILL)
    assert seconds < SERVE_STOP_SECONDS + 10
    assert b"serve: stopping" in (home / f"serve-{name}.log").read_bytes()


def test_serve_without_a_server_says_what_to_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "newslake"), "serve", "--cron", "* * * * *", "--source", str(tmp_path)],
        env=prefect_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.strip().count("\n") == 0 and "prefect server start" in done.stderr
