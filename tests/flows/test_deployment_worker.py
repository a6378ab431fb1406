"""prefect.yaml as production uses it, on a real `prefect server start` on loopback: `prefect deploy`
with the archive and the lake in the environment (nothing edited), a process work pool and a
worker started in another folder; a run loads the lake, and a run whose source folder is gone or
whose NEWSLAKE_LAKE was not set at deploy time fails with one line (its state's message)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import catalog
from tests.servers import BIN, api_post, prefect_env, stop, wait_for_deployment

pytestmark = pytest.mark.integration


def _prefect(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(BIN / "prefect"), "--no-prompt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def _finished(api: str, run_id: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()
        if run["state_type"] in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}:
            return dict(run)
        time.sleep(1)
    raise TimeoutError(f"flow run {run_id} did not finish")


def _run(api: str, deployment: str) -> dict[str, object]:
    return _finished(api, api_post(f"{api}/deployments/{deployment}/create_flow_run", {}).json()["id"])


def test_prefect_deploy_and_a_worker_with_nothing_edited(
    prefect_api: tuple[str, Path], tmp_path: Path
) -> None:
    api, home = prefect_api
    source, lake = tmp_path / "archive", tmp_path / "lake"
    write_sample(source, 30)
    env = prefect_env(home, api) | {"NEWSLAKE_SOURCE": str(source), "NEWSLAKE_LAKE": str(lake)}
    _prefect(env, "work-pool", "create", "newslake-pool", "--type", "process", "--overwrite")
    _prefect(env, "deploy", "-n", "newslake-hourly")
    deployment = wait_for_deployment(api, "newslake-etl", "newslake-hourly")
    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed below
    worker = subprocess.Popen(
        [str(BIN / "prefect"), "worker", "start", "--pool", "newslake-pool"],
        cwd=elsewhere, env={k: v for k, v in env.items() if not k.startswith("NEWSLAKE_")},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        first = _run(api, deployment)
        assert first["state_type"] == "COMPLETED", first["state"]
        with catalog(lake) as con:
            assert con.execute("SELECT count(*) FROM articles").fetchall() == [(30,)]

        shutil.rmtree(source)
        gone = _run(api, deployment)
        assert gone["state_type"] == "FAILED"
        message = str(gone["state"]["message"])  # type: ignore[index]
        assert message == f"source {source} is not a folder (missing, or not mounted on this worker?)"

        del env["NEWSLAKE_LAKE"]
        _prefect(env, "deploy", "-n", "newslake-hourly")
        source.mkdir()
        unset = _run(api, deployment)
        assert unset["state_type"] == "FAILED"
        assert "NEWSLAKE_LAKE was not set when `prefect deploy` ran" in str(unset["state"]["message"])  # type: ignore[index]
    finally:
        stop(worker, signal.SIGINT)
        log.close()
    # The runs' own line is in their logs and states. Prefect 3.9's engine still logs its own
    # traceback for any failed deployed run (run_flow's error_logger, ending in FailedRun: <that
    # line>); none runs through newslake's code, as the FileNotFoundError of a missing checkout did.
    output = (tmp_path / "worker.log").read_text(errors="replace")
    ours = [line for line in output.splitlines() if line.strip().startswith("File ") and "/flows/" in line]
    assert not ours, output[-3000:]
    assert f"FailedRun: source {source} is not a folder" in output
