"""Where a run's batch jobs execute: inline, on a local process pool, or on a Dask cluster (the
Prefect flow submits the same jobs as tasks). Each takes the jobs, and optionally a function
giving the jobs that follow them (a sample's, then the rest's), run on the same pool or client;
it reports progress as (batches done, batches) per phase; an interruption cancels what has not
run and stops what runs."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from flows.batch_job import BatchJob, transformed_batch

Progress = Callable[[int, int], None]
BatchCounts = dict[str, int]
# The jobs that follow a first set of jobs, made once those have run (the batches after a sample
# parse with what the sample taught): submitted to the same pool, whose workers have started.
NextJobs = Callable[[], Sequence[BatchJob]]


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


def in_phases(
    submitted: Callable[[BatchJob], _Future],
    jobs: Sequence[BatchJob],
    then: NextJobs | None,
    progress: Progress | None,
    cancel: Callable[[], None],
) -> list[BatchCounts]:
    """The jobs' results, then those of the jobs `then` gives once they are in (submitted alike)."""
    results = collected([submitted(job) for job in jobs], progress, cancel)
    if then is not None:
        try:
            more = then()
        except BaseException:
            cancel()
            raise
        results += collected([submitted(job) for job in more], progress, cancel)
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


@dataclass(frozen=True)
class _Inline:
    """A batch run in this process when its result is asked for (in order, as progress goes)."""

    job: BatchJob

    def result(self) -> BatchCounts:
        return transformed_batch(self.job)


def pool_size(workers: int, batches: int) -> int:
    """Worker processes for a run's batches: none (they run inline) when one suffices."""
    return min(workers, batches) if workers > 1 and batches > 1 else 0


def batches_in_processes(
    jobs: Sequence[BatchJob], workers: int, then: NextJobs | None = None, progress: Progress | None = None
) -> list[BatchCounts]:
    """Run batch jobs on a local process pool (inline when one worker or one batch suffices),
    then the jobs `then` gives on the same pool."""
    size = pool_size(workers, len(jobs) + (workers if then is not None else 0))
    if not size:
        return in_phases(_Inline, jobs, then, progress, lambda: None)
    pool = process_pool(size)
    results = in_phases(
        lambda job: pool.submit(transformed_batch, job), jobs, then, progress, lambda: stopped_pool(pool)
    )
    pool.shutdown()
    return results


def batches_on_dask(
    jobs: Sequence[BatchJob], address: str, then: NextJobs | None = None, progress: Progress | None = None
) -> list[BatchCounts]:
    """Run batch jobs on the Dask cluster at address, then the jobs `then` gives, through one
    client; cancelled there if this run is interrupted."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        futures: list[Any] = []

        def submitted(job: BatchJob) -> Any:
            futures.append(client.submit(transformed_batch, job, pure=False))
            return futures[-1]

        return in_phases(submitted, jobs, then, progress, lambda: client.cancel(futures))
