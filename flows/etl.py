"""The newslake-etl Prefect flow: plan → transform (a task per batch) → learn → merge → commit and publish."""

import datetime as dt
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import deployment
from prefect.states import Failed
from prefect.tasks import exponential_backoff

from flows.batch_job import BatchJob, transformed_batch
from flows.executors import NextJobs, in_phases, pool_size, process_pool, stopped_pool
from flows.pipeline import (
    RunRejected,
    RunSummary,
    Stages,
    learned_run,
    merged_run,
    planned_run,
    run_pipeline,
)
from flows.settings import Settings
from warehouse.load import LakeWriter
from warehouse.readonly import connect_read_only
from warehouse.storage import is_remote

_PERMANENT_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


def _is_transient(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry I/O hiccups (network, object storage, busy files), never a deterministic failure."""
    try:
        state.result()
    except (ConnectionError, TimeoutError):
        return True
    except OSError as exc:
        return not isinstance(exc, _PERMANENT_OS_ERRORS)
    except Exception:
        return False
    return False


_IO_RETRIES: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=1),
    "retry_condition_fn": _is_transient,
    "cache_policy": NONE,
}

plan_task = task(name="plan", **_IO_RETRIES)(planned_run)
learn_task = task(name="learn", **_IO_RETRIES)(learned_run)
merge_task = task(name="merge", **_IO_RETRIES)(merged_run)
publish_task = task(name="publish-catalog", **_IO_RETRIES)(LakeWriter.publish)


def _transform_task(pool: ProcessPoolExecutor | None) -> Task[[BatchJob], dict[str, int]]:
    """The transform-batch task, handing its CPU work to pool (a local flow's process pool) or,
    with none (on a Dask worker), running the batch where it is."""

    @task(name="transform-batch", task_run_name="transform-batch-{job.index}", **_IO_RETRIES)
    def transform_batch(job: BatchJob) -> dict[str, int]:
        """Parse one batch of files; parse failures are quarantined inside, so only I/O can fail here."""
        if pool is not None:
            return pool.submit(transformed_batch, job).result()
        return transformed_batch(job)

    return transform_batch


def _batches_as_tasks(
    jobs: Sequence[BatchJob], workers: int, then: NextJobs | None, local_pool: bool = True
) -> list[dict[str, int]]:
    size = pool_size(workers, len(jobs) + (workers if then is not None else 0)) if local_pool else 0
    pool = process_pool(size) if size else None
    transform_batch = _transform_task(pool)
    try:
        return in_phases(
            transform_batch.submit, jobs, then, None, lambda: stopped_pool(pool) if pool is not None else None
        )
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _run_name() -> str:
    from prefect.runtime import flow_run

    settings = flow_run.parameters.get("settings")
    lake = settings.get("lake") if isinstance(settings, dict) else getattr(settings, "lake", None)
    name = str(lake or "").rstrip("/").rsplit("/", 1)[-1] or "lake"
    return f"newslake-{name}-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"


def _publish_artifacts(summary: RunSummary, settings: Settings) -> None:
    feeds: list[tuple[Any, ...]] = []
    try:
        con = connect_read_only(settings.catalog_path)
        try:
            feeds = con.execute(
                "SELECT coalesce(source, '?'), coalesce(feed, '?'), count(*) FROM articles GROUP BY ALL ORDER BY 3 DESC LIMIT 20"
            ).fetchall()
        finally:
            con.close()
    except Exception as exc:  # artifacts are a report: never fail the run for them
        get_run_logger().warning("artifact: could not read the catalog (%s)", exc)
    reasons = (
        "".join(f"| {k} | {v} |\n" for k, v in summary.loaded.quarantine_by_reason.items()) or "| - | 0 |\n"
    )
    feed_rows = "".join(f"| {s} | {f} | {n} |\n" for s, f, n in feeds) or "| - | - | 0 |\n"
    partitions = ", ".join(summary.loaded.partitions_rewritten) or "none"
    create_markdown_artifact(
        key="newslake-run",
        description=f"newslake run {summary.run_id}",
        markdown=(
            f"# newslake run `{summary.run_id}`: {summary.status}\n\n"
            f"| files seen | new | changed | unchanged | deleted | rows written | rows deleted | quarantined | seconds |\n"
            f"|---|---|---|---|---|---|---|---|---|\n"
            f"| {summary.files_seen} | {summary.files_new} | {summary.files_changed} | {summary.files_unchanged} "
            f"| {summary.files_deleted} | {summary.loaded.rows_written} | {summary.loaded.rows_deleted} | {summary.loaded.quarantined} "
            f"| {summary.seconds:.2f} |\n\n"
            f"## Rows per feed (whole lake)\n\n| source | feed | articles |\n|---|---|---|\n{feed_rows}\n"
            f"## Quarantined by this run, by reason\n\n| reason | files |\n|---|---|\n{reasons}\n"
            f"## Partitions rewritten\n\n{partitions}\n"
        ),
    )
    create_table_artifact(
        key="newslake-run-counts",
        table=[
            {
                k: v
                for k, v in summary.run_row(dt.datetime.now(dt.UTC)).items()
                if k not in ("started_at", "finished_at")
            }
        ],
        description="Counts of the run",
    )


_UNFILLED = re.compile(r"\{\{\s*\$(\w+)\s*\}\}")


_DEPLOY_VARIABLES = {"source": "NEWSLAKE_SOURCE", "lake": "NEWSLAKE_LAKE"}  # prefect.yaml's


def deployment_problem(settings: Settings, deployed: bool) -> str | None:
    """Why a run cannot start, in one line, or None: a parameter prefect.yaml's template left
    empty or unfilled (its variable was not set when `prefect deploy` ran: Prefect puts "" in its
    place), a relative path in a deployed run (it starts in a folder of its own), a source folder
    that is not there."""
    for field, variable in _DEPLOY_VARIABLES.items():
        value = getattr(settings, field)
        unfilled = _UNFILLED.search(value)
        if unfilled or (deployed and not value.strip()):
            return (
                f"settings.{field} is {value!r}: {unfilled.group(1) if unfilled else variable} was not set "
                "when `prefect deploy` ran; export it and deploy again (or deploy with --params, see prefect.yaml)"
            )
        if deployed and not is_remote(value) and not Path(value).is_absolute():
            return f"settings.{field} {value!r} is relative: a deployed run starts elsewhere, give an absolute path"
    if not is_remote(settings.source) and not Path(settings.source).is_dir():
        return f"source {settings.source} is not a folder (missing, or not mounted on this worker?)"
    return None


@flow(name="newslake-etl", flow_run_name=_run_name, log_prints=False, validate_parameters=True)
def etl(settings: Settings) -> dict[str, Any]:
    """Load the source archive into the lake incrementally and publish the DuckDB catalog.

    With settings.dask_address, run_etl() runs this flow with a DaskTaskRunner on that cluster:
    the batch tasks run on its workers; plan, merge, commit and publish stay in the flow's process.
    """
    logger = get_run_logger()
    problem = deployment_problem(settings, deployed=deployment.id is not None)
    if problem:  # one line in the run's log and its state, not a traceback
        logger.error(problem)
        return Failed(message=problem)  # type: ignore[return-value]  # the run's final state
    on_dask = settings.dask_address is not None
    stages = Stages(
        plan=plan_task,
        transform=lambda jobs, workers, then: _batches_as_tasks(jobs, workers, then, local_pool=not on_dask),
        learn=learn_task,
        merge=merge_task,
        publish=publish_task,
        log=logger.info,
    )
    try:
        summary = run_pipeline(settings, stages)
    except RunRejected as exc:
        _publish_artifacts(exc.summary, settings)
        raise
    _publish_artifacts(summary, settings)
    return summary.as_dict()


def run_etl(settings: Settings, on_start: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the flow locally, or with its batch tasks on an existing Dask cluster; on_start is
    given the flow run's id once it runs."""
    options: dict[str, Any] = {}
    if settings.dask_address:
        from prefect_dask import DaskTaskRunner

        options["task_runner"] = DaskTaskRunner(address=settings.dask_address)
    if on_start is not None:

        def flow_run_started(_flow: Any, flow_run: Any, _state: Any) -> None:
            on_start(str(flow_run.id))

        options["on_running"] = [flow_run_started]
    return etl.with_options(**options)(settings) if options else etl(settings)
