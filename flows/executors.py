"""Where a run's batch jobs execute: inline, on a local process pool, or on a Dask cluster (the
Prefect flow submits the same jobs as tasks). Each takes the jobs and reports progress as
(batches done, batches); an interruption cancels what has not run and stops what runs."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Protocol

from flows.batch_job import BatchJob, transformed_batch

Progress = Callable[[int, int], None]
BatchCounts = dict[str, int]


class _Future(Protocol):
    def result(self) -> Any: ...


def collected(
    futures: Sequence[_Future], progress: Progress | None, cancel: Callable[[], None]
) -> list[BatchCounts]:
    """The futures' results in order, progress reported as each is in; cancel() on any
    failure or interruption, which is then raised."""
    results: list[BatchCounts] = []
    try:
        for future in futures:
            results.append(future.result())
            if progress is not None:
                progress(len(results), len(futures))
    except BaseException:
        cancel()
        raise
    return results


def _ignore_interrupts() -> None:
    """In a pool worker: a terminal's Ctrl-C reaches the whole process group, but only the
    parent decides what an interruption means (it stops the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Workers forked from a clean server process: forking this one (Polars, Prefect and their
    threads) can deadlock the children."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_ignore_interrupts,
    )


def stopped_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: queued batches cancelled, running ones killed (their output is staging,
    which the run discards), every worker reaped so that none outlives the run."""
    processes = list(getattr(pool, "_processes", {}).values())
    for process in processes:
        with contextlib.suppress(OSError):
            process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def pool_size(workers: int, batches: int) -> int:
    """Worker processes for a run's batches: none (they run inline) when one suffices."""
    return min(workers, batches) if workers > 1 and batches > 1 else 0


def batches_in_processes(
    jobs: Sequence[BatchJob], workers: int, progress: Progress | None = None
) -> list[BatchCounts]:
    """Run batch jobs on a local process pool (inline when one worker or one batch suffices)."""
    size = pool_size(workers, len(jobs))
    if not size:
        results: list[BatchCounts] = []
        for job in jobs:
            results.append(transformed_batch(job))
            if progress is not None:
                progress(len(results), len(jobs))
        return results
    pool = process_pool(size)
    results = collected(
        [pool.submit(transformed_batch, job) for job in jobs], progress, lambda: stopped_pool(pool)
    )
    pool.shutdown()
    return results


def batches_on_dask(
    jobs: Sequence[BatchJob], address: str, progress: Progress | None = None
) -> list[BatchCounts]:
    """Run batch jobs on the Dask cluster at address; cancelled there if this run is interrupted."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        futures = client.map(transformed_batch, list(jobs), pure=False)
        return collected(futures, progress, lambda: client.cancel(futures))
