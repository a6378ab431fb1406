"""Real servers on loopback for integration tests, started and stopped by the tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prefect_env(home: Path, api_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
        PREFECT_RUNNER_POLL_FREQUENCY="2",
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _started(cmd: list[str], log: BinaryIO, **kwargs: object) -> subprocess.Popen[bytes]:
    """A server process in its own session (so stop() can signal its children), logging to log."""
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs)  # type: ignore[call-overload]


@contextmanager
def prefect_server(home: Path) -> Iterator[str]:
    """`prefect server start` on a free loopback port with its own PREFECT_HOME; yields the API URL."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = _started(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        log,
        env=prefect_env(home),
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("prefect server did not answer /api/health in 120 s")
            time.sleep(0.5)
        yield api
    finally:
        stop(proc)
        log.close()


def api_post(url: str, body: dict[str, object], attempts: int = 6) -> httpx.Response:
    """POST to the Prefect API, retrying 503s as Prefect's own client does: its SQLite database
    answers "database is locked" (503) while the server's services write (PrefectHQ/prefect#18934)."""
    for attempt in range(attempts):
        response = httpx.post(url, json=body, timeout=10)
        if response.status_code != 503 or attempt == attempts - 1:
            break
        time.sleep(0.5 * 2**attempt)
    response.raise_for_status()
    return response


def flow_runs(api: str, deployment_id: str) -> list[dict[str, object]]:
    body = {"deployments": {"id": {"any_": [deployment_id]}}}
    return list(api_post(f"{api}/flow_runs/filter", body).json())


def wait_for_deployment(api: str, flow: str, name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(f"{api}/deployments/name/{flow}/{name}", timeout=10)
        if response.status_code == 200:
            return str(response.json()["id"])
        time.sleep(0.5)
    raise TimeoutError(f"deployment {flow}/{name} did not appear")


@contextmanager
def moto_s3(home: Path) -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port; yields the endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(home / "moto.log", "wb")  # noqa: SIM115 - closed below
    proc = _started([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log)
    try:
        _wait_http(f"{endpoint}/moto-api/", proc, "moto_server")
        yield endpoint
    finally:
        stop(proc)
        log.close()


@contextmanager
def dask_cluster(home: Path, workers: int = 2) -> Iterator[str]:
    """A Dask scheduler and worker processes on loopback; yields the scheduler address."""
    port, dashboard = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(home / "dask.log", "wb")  # noqa: SIM115 - closed below
    scheduler = _started(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", f"127.0.0.1:{dashboard}"],
        log,
    )  # fmt: skip
    worker = _started(
        [str(BIN / "dask"), "worker", address, "--nworkers", str(workers), "--nthreads", "1",
         "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(home / "dask-worker")],
        log, cwd=str(Path(__file__).resolve().parents[1]),
    )  # fmt: skip
    try:
        from distributed import Client

        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout=5) as client:
                    if len(client.scheduler_info()["workers"]) >= workers:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"dask cluster not ready: {(home / 'dask.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield address
    finally:
        stop(worker)
        stop(scheduler)
        log.close()


def _wait_http(url: str, proc: subprocess.Popen[bytes], name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} did not answer at {url}") from None
            time.sleep(0.3)
