"""The newslake-etl Prefect flow: extract → transform (a task per batch) → load → publish."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.pipeline import (
    BatchJob,
    Stages,
    loaded_changes,
    planned_run,
    run_pipeline,
    transformed_batch,
)
from flows.settings import Settings
from warehouse.catalog import publish_catalog

# The process pool that batch tasks hand their CPU work to while a local flow runs; on a
# Dask worker it is None and the batch runs in the worker itself.
_POOL: Executor | None = None

extract_task = task(name="extract", cache_policy=NONE)(planned_run)
load_task = task(name="load", cache_policy=NONE)(loaded_changes)
publish_task = task(name="publish-catalog", cache_policy=NONE)(publish_catalog)


@task(name="transform-batch", cache_policy=NONE, task_run_name="transform-batch-{job.index}")
def transform_batch(job: BatchJob) -> dict[str, int]:
    if _POOL is not None:
        return _POOL.submit(transformed_batch, job).result()
    return transformed_batch(job)


def _batches_as_tasks(jobs: Sequence[BatchJob], workers: int) -> list[dict[str, int]]:
    global _POOL
    _POOL = (
        ProcessPoolExecutor(max_workers=min(workers, len(jobs))) if workers > 1 and len(jobs) > 1 else None
    )
    try:
        futures = [transform_batch.submit(job) for job in jobs]
        return [f.result() for f in futures]
    finally:
        if _POOL is not None:
            _POOL.shutdown(cancel_futures=True)
        _POOL = None


@flow(name="newslake-etl", flow_run_name="newslake-etl-{settings.lake.name}", log_prints=False)
def etl(settings: Settings) -> dict[str, Any]:
    """Load the source archive into the lake incrementally and publish the DuckDB catalog."""
    logger = get_run_logger()
    stages = Stages(
        extract=extract_task,
        transform=_batches_as_tasks,
        load=load_task,
        publish=publish_task,
        log=logger.info,
    )
    return run_pipeline(settings, stages).as_dict()
