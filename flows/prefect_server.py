"""A temporary Prefect API server for `newslake run --prefect` when no PREFECT_API_URL is set.

Prefect's own temporary server shares the run's process group (a terminal's Ctrl-C kills it
while the run still reports to it, which hangs the run for minutes) and gives up after 20 s,
which a first database migration on a busy machine exceeds. This one is `prefect server start`
in a session of its own, given a start-up allowance, and stopped with the run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

STARTUP_ALLOWANCE_S = 300.0  # a first migration of a fresh PREFECT_HOME on a loaded 2-core machine


class ServerDidNotStart(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _dies_with_its_parent() -> None:
    """In the server's process, before exec: Linux sends it SIGTERM if the run that started it
    dies, even by SIGKILL, so no server outlives its run."""
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stopped(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def temporary_prefect_server(allowance_s: float = STARTUP_ALLOWANCE_S) -> Iterator[str]:
    """Start a Prefect API server on a free loopback port; yield its API URL; stop it."""
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    log = tempfile.NamedTemporaryFile(prefix="newslake-prefect-server-", suffix=".log", delete=False)  # noqa: SIM115
    prefect = Path(sys.executable).with_name("prefect")
    command = [str(prefect)] if prefect.exists() else [sys.executable, "-m", "prefect"]
    process = subprocess.Popen(
        [*command, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services", "--no-ui"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C is the run's to handle, not the server's
        preexec_fn=_dies_with_its_parent if sys.platform == "linux" else None,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"},
    )
    log.close()
    try:
        deadline = time.monotonic() + allowance_s
        while not _healthy(api):
            if process.poll() is not None or time.monotonic() > deadline:
                why = "exited" if process.poll() is not None else f"did not answer in {allowance_s:.0f} s"
                raise ServerDidNotStart(
                    f"the temporary Prefect server {why} (log: {log.name}); start one with "
                    "`prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api, "
                    "or run without --prefect"
                )
            time.sleep(0.2)
        yield api
    finally:
        _stopped(process)
    Path(log.name).unlink(missing_ok=True)
