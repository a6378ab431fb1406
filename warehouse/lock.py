"""One writer per lake: an exclusive advisory lock on LAKE/.lock, released by the OS on death."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class LakeBusy(RuntimeError):
    pass


@contextmanager
def lake_lock(path: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """Hold the lake's writer lock file; wait up to timeout_s for another run, then give up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lake = path.parent
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another run"
                    raise LakeBusy(
                        f"lake {lake} is locked by {holder}; try again later or raise --lock-timeout"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)
