"""`newslake run` without a Prefect API: the pipeline's stages in this process.

The same run_pipeline the newslake-etl flow calls, with the batches on a local process pool or,
with a Dask address, on that cluster through its own client: no orchestration tax for a one-off
run, and the run is recorded in the lake's runs dataset all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flows.batch_job import BatchJob
from flows.executors import NextJobs, Progress, batches_in_processes, batches_on_dask
from flows.pipeline import RunSummary, Stages, run_pipeline
from flows.settings import Settings


def run_in_process(
    settings: Settings, progress: Progress | None = None, log: Callable[[str], None] | None = None
) -> RunSummary:
    address = settings.dask_address

    def transform(jobs: Sequence[BatchJob], workers: int, then: NextJobs | None) -> list[dict[str, int]]:
        if address and jobs:
            return batches_on_dask(jobs, address, then, progress)
        return batches_in_processes(jobs, workers, then, progress)

    return run_pipeline(settings, Stages(transform=transform, log=log or (lambda _message: None)))
