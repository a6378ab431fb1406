"""Ctrl-C and SIGTERM during a real run: prompt, one line, the right exit code, no process left,
the lake unchanged, and the next run a clean build."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import NEWSLAKE, assert_same_lake, catalog, run


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("interrupts") / "src"
    write_sample(folder, 3000)
    return folder


def _session_processes(sid: int) -> list[str]:
    """Live processes of a session (zombies awaiting their reaper hold no resources)."""
    out = subprocess.run(["ps", "-eo", "sid=,stat=,pid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines()]
    return [" ".join(r) for r in rows if len(r) >= 3 and r[0] == str(sid) and not r[1].startswith("Z")]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_the_transform_stops_the_run_cleanly(
    source: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    lake = tmp_path / "lake"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    # Small batches on two workers: the transform lasts seconds, the signal comes at its first batch.
    proc = subprocess.Popen(
        [*NEWSLAKE, "run", "--source", str(source), "--lake", str(lake), "--workers", "2", "--batch-size", "20"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (lake / "_staging").is_dir() or not any((lake / "_staging").rglob("*.arrow")):
        assert proc.poll() is None, f"the run ended before its transform was seen: {proc.communicate()}"
        assert time.monotonic() < deadline, "the transform never started"
        time.sleep(0.02)
    sent = time.monotonic()
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - sent

    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert f"interrupted by {sig.name} during transform: the lake is unchanged" in lines[0]
    deadline = time.monotonic() + 10  # the forkserver's children exit with it, in their own time
    while (left := _session_processes(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == []
    assert not (lake / "_staging").exists()

    with catalog(lake) as con:
        assert con.execute("SELECT count(*) FROM articles").fetchall() == [(0,)]
        assert con.execute("SELECT status, files_seen FROM runs").fetchall() == [("interrupted", 0)]

    started = time.monotonic()
    again = run(source, lake, workers=2, batch_size=500)
    whole = time.monotonic() - started
    assert again.status == "succeeded" and again.loaded.rows_written == 3000
    # Prompt: the stop takes a fraction of what the whole run takes on this machine, now.
    assert took < max(1.0, whole / 2), f"{took:.1f} s to stop; the whole run takes {whole:.1f} s"
    run(source, tmp_path / "clean", workers=2, batch_size=500)
    assert_same_lake(lake, tmp_path / "clean")


HANGING_SHUTDOWN = """
import sys, threading, time
from flows.cli import _serve_stops_on_first_interrupt
_serve_stops_on_first_interrupt(grace=float(sys.argv[1]))
threading.Thread(target=time.sleep, args=(3600,)).start()  # what a shutdown may wait on forever
print("ready", flush=True)
try:
    time.sleep(3600)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("second", [False, True])
def test_serve_exits_after_one_ctrl_c_even_when_its_shutdown_hangs(second: bool) -> None:
    """serve's Ctrl-C handler: the interruption is raised as usual, and a shutdown that would wait
    forever on a thread ends grace seconds later (at once on a second Ctrl-C), exit code 130."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HANGING_SHUTDOWN, "2"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    if second:
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    seconds = time.monotonic() - started
    assert proc.returncode == 130 and "interrupted" in out
    assert "serve: stopping" in err
    if second:
        assert seconds < 1.9 and "second Ctrl-C" in err
    else:
        assert 1.9 < seconds < 10 and "not stopped 2 s after Ctrl-C" in err
