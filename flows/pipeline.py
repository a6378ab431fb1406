"""The run itself, stage by stage, without Prefect: the flow wraps these stages in tasks.

Keeping the stages plain functions lets the tests drive hundreds of incremental runs
quickly and lets the flow choose how batches run (process pool, Dask, inline).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from flows.batch_job import BATCH_ROW_COLUMNS, BatchJob
from flows.executors import NextJobs, batches_in_processes, pool_size
from flows.learn import lake_names, learned_models, learning_tables_loading, sample_model
from flows.settings import Settings
from flows.source import Source
from transforms.version import PARSER_VERSION
from warehouse.feed_model import Model
from warehouse.incremental import Plan, planned_changes
from warehouse.layout import checked_run_id
from warehouse.load import LakeWriter, Learned, LoadOptions, LoadResult, MergePlan, RunChanges
from warehouse.staging import BatchStaging, StagedRun
from warehouse.state import LakeState
from warehouse.storage import Storage, absolute_location
from warehouse.tables import RUNS, RunStatus

# What a summary reports of its merge's LoadResult (the rest is the merge's own bookkeeping).
_LOADED_FIELDS = (
    "rows_written",
    "rows_deleted",
    "quarantined",
    "quarantine_by_reason",
    "partitions_rewritten",
)


@dataclass
class RunSummary:
    run_id: str
    status: RunStatus = RunStatus.FAILED
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    loaded: LoadResult = field(default_factory=LoadResult)  # what the merge wrote
    seconds: float = 0.0
    message: str | None = None
    stage: str = "plan"  # the stage running, or the last one reached
    committed: bool = False  # whether the lake's state was committed (its data and its runs row)
    stage_seconds: dict[str, float] = field(default_factory=dict)  # each stage reached: its wall time
    _stage_started: float = field(default_factory=time.perf_counter, repr=False)

    def enter(self, stage: str) -> None:
        """The run moves on to stage: the one before it is timed."""
        self.lap(self.stage)
        self.stage = stage

    def lap(self, name: str) -> None:
        """Time since the last lap counted under name (commit and publish are timed so, without
        becoming the stage a failure or an interruption is reported in)."""
        now = time.perf_counter()
        self.stage_seconds[name] = round(self.stage_seconds.get(name, 0.0) + now - self._stage_started, 3)
        self._stage_started = now

    def as_dict(self) -> dict[str, Any]:
        """The summary as the CLI prints it (--json): flat, what was loaded beside what was seen."""
        out = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("stage", "committed", "_stage_started", "loaded")
        }
        loaded = {k: getattr(self.loaded, k) for k in _LOADED_FIELDS}
        return {**out, **loaded, "status": str(self.status)}

    def run_row(self, started: dt.datetime) -> dict[str, Any]:
        """The run's row of the runs dataset: its columns are RUNS's, filled from this summary."""
        values = {
            **self.as_dict(),
            "status": str(self.status),
            "started_at": started,
            "finished_at": dt.datetime.now(dt.UTC),
            "partitions_rewritten": len(self.loaded.partitions_rewritten),
        }
        return {name: values[name] for name in RUNS.names}


class RunInterrupted(Exception):
    """SIGINT or SIGTERM stopped the run; summary says at which stage and whether it committed."""

    def __init__(self, summary: RunSummary, cause: BaseException) -> None:
        super().__init__(summary.message or "interrupted")
        self.summary = summary
        self.cause = cause


class StageFailed(RuntimeError):
    """A stage failed on I/O, or commit or publish failed: reported with the stage and the path."""

    def __init__(self, stage: str, summary: RunSummary, cause: BaseException) -> None:
        what = f"{type(cause).__name__}: {cause}"
        if isinstance(cause, OSError) and cause.strerror:
            where = f" ({cause.filename})" if cause.filename else ""
            what = f"{cause.strerror}{where}"
        super().__init__(f"{stage} failed: {what}".splitlines()[0])
        self.stage = stage
        self.summary = summary
        self.cause = cause


class RunRejected(RuntimeError):
    """Too many bad files: the quarantine was recorded, nothing was loaded."""

    def __init__(self, summary: RunSummary) -> None:
        super().__init__(summary.message or "run rejected")
        self.summary = summary


def new_run_id(now: dt.datetime) -> str:
    return checked_run_id(now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3))


def planned_run(settings: Settings, writer: LakeWriter) -> Plan:
    """List the source and compare it with the manifest; only what may have changed is planned."""
    listing = Source(settings.source, settings.storage_options).listing(settings.patterns)
    return planned_changes(listing, writer.manifest(), settings.full_refresh)


def merge_options(settings: Settings, run_id: str) -> LoadOptions:
    return LoadOptions(
        run_id=run_id,
        parser_version=PARSER_VERSION,
        row_settings=settings.row_settings,
        full_refresh=settings.full_refresh,
        allow_mass_delete=settings.allow_mass_delete,
        max_bad_ratio=settings.max_bad_ratio,
        rows_per_file=settings.rows_per_file,
    )


def planned_merge(
    writer: LakeWriter, plan: Plan, staged: StagedRun, settings: Settings, run_id: str
) -> MergePlan:
    """Which of the staged rows enter the lake and which of its rows leave."""
    changes = RunChanges(
        article_keys=staged.article_keys(),
        parsed_rows=staged.articles,
        quarantine=staged.quarantine(),
        processed=staged.processed(),
        deleted=plan.deleted,
        regroup_rows=staged.regrouped,
    )
    return writer.planned_merge(changes, merge_options(settings, run_id))


def learned_run(
    writer: LakeWriter, merge: MergePlan, staged: StagedRun, settings: Settings
) -> Learned | None:
    """The learn stage: the lake's models after the run, the rows they change re-derived (staged
    in place of the parsed ones: `staged` is the merge plan's, whose parsed_rows returns them)."""
    return learned_models(
        writer, staged, merge, settings.learning_rule, settings.rows_per_file, settings.story_min_similarity,
        name_rule=settings.name_rule, listed=settings.securities_names,
    )  # fmt: skip


def merged_run(
    writer: LakeWriter,
    merge: MergePlan,
    learned: Learned | None,
    settings: Settings,
    run_id: str,
    now: dt.datetime,
) -> LoadResult:
    """The merge stage: the lake's new files written, its next state kept for the commit."""
    return writer.prepare(merge, learned, merge_options(settings, run_id), now)


def rebuild_reason(settings: Settings, state: LakeState) -> str | None:
    """Why every row of a lake must be made again, if it must: another parser version or other
    row settings made them (an incremental lake always equals a clean build with this run's)."""
    if state.parser_version != PARSER_VERSION:
        made_by = state.parser_version or "an older newslake"
        return f"the lake's rows were parsed by {made_by}; parser {PARSER_VERSION} parses every file again"
    if state.row_settings is None:
        return "the lake did not record the settings its rows were made with; every file is parsed again"
    changed = [
        f"{name} {state.row_settings.get(name, 'unset')} (now {value})"
        for name, value in settings.row_settings.items()
        if state.row_settings.get(name) != value
    ]
    if changed:
        return f"the lake's rows were made with {', '.join(changed)}; every file is parsed again"
    return None


def settings_for_lake(
    settings: Settings, state: LakeState, stale_models: Sequence[str] = ()
) -> tuple[Settings, str | None]:
    """The settings to run with, and why every file is parsed again if it is. A new lake is a
    full build too, so that it records the parser and the settings of its rows."""
    if settings.full_refresh:
        return settings, None
    why = rebuild_reason(settings, state) if state.manifest is not None else None
    if stale_models:
        why = (
            f"{', '.join(stale_models)} changed since it was committed: every file is parsed again "
            "to learn the lake's models anew"
        )
    if why is None and state.manifest is not None:
        return settings, None
    return settings.model_copy(update={"full_refresh": True}), why


def batch_slices(sizes: Sequence[int], max_files: int, max_bytes: int) -> list[tuple[int, int]]:
    """(offset, length) of consecutive runs of files, each at most max_files files and max_bytes
    listed bytes (a file larger than max_bytes makes a batch alone): a worker's memory follows
    the bytes it parses."""
    slices: list[tuple[int, int]] = []
    start, size = 0, 0
    for at, file_size in enumerate(sizes):
        if at > start and (at - start == max_files or size + file_size > max_bytes):
            slices.append((start, at - start))
            start, size = at, 0
        size += file_size
    if start < len(sizes):
        slices.append((start, len(sizes) - start))
    return slices


# A run that reads this many files or more parses a sample of SAMPLE_FILES first, spread over
# all of them, and learns from it which lines each feed repeats: the other batches parse with
# that model, so that the merge re-derives only the rows it got wrong (a clean build would
# otherwise re-derive every row that carries a feed's boilerplate).
SAMPLE_FILES = 2_000
SAMPLED_RUN_FILES = 5 * SAMPLE_FILES


def sampled_candidates(candidates: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(a sample of about SAMPLE_FILES files, the rest); no sample for a small run. Chosen by a
    hash of the path, not every n-th file: an archive's files can repeat with a period."""
    if candidates.height < SAMPLED_RUN_FILES:
        return candidates.clear(), candidates
    in_sample = pl.col("source_path").hash(seed=0) % (candidates.height // SAMPLE_FILES) == 0
    return candidates.filter(in_sample), candidates.filter(~in_sample)


def batch_jobs(
    candidates: pl.DataFrame,
    settings: Settings,
    staging: BatchStaging,
    run_id: str,
    now: dt.datetime,
    learned: Model,
    first_index: int = 0,
    names: dict[str, str] | None = None,
) -> list[BatchJob]:
    # A frame, not tuples: a million files' jobs held as Python tuples cost 220 MB.
    rows = candidates.select(BATCH_ROW_COLUMNS)
    lines = {key: sorted(hashes) for key, hashes in learned.items()}  # one copy for every job
    return [
        BatchJob(
            index=index,
            rows=rows.slice(offset, length),
            source=absolute_location(settings.source),
            staging=staging,
            run_id=run_id,
            now=now,
            tz=settings.tz,
            max_file_bytes=settings.max_file_bytes,
            storage_options=settings.storage_options,
            learned_lines=lines,
            securities=settings.securities_names,
            learned_names=names or {},
        )
        for index, (offset, length) in enumerate(
            batch_slices(rows["size_bytes"].to_list(), settings.batch_size, settings.batch_bytes), first_index
        )
    ]


@dataclass(frozen=True)
class Stages:
    """The stage functions of a run; the Prefect flow supplies task-wrapped versions."""

    plan: Callable[[Settings, LakeWriter], Plan] = planned_run
    transform: Callable[[Sequence[BatchJob], int, NextJobs | None], list[dict[str, int]]] = (
        batches_in_processes
    )
    learn: Callable[[LakeWriter, MergePlan, StagedRun, Settings], Learned | None] = learned_run
    merge: Callable[[LakeWriter, MergePlan, Learned | None, Settings, str, dt.datetime], LoadResult] = (
        merged_run
    )
    publish: Callable[[LakeWriter, LakeState, Path], None] = LakeWriter.publish
    log: Callable[[str], None] = lambda _message: None


def _is_interruption(exc: BaseException) -> bool:
    """Ctrl-C, the CLI's SIGTERM, or an orchestrator's termination signal (Prefect's is a
    BaseException too): whatever is not an Exception stops a run without being its error."""
    return not isinstance(exc, Exception)


def _committed_run(writer: LakeWriter, run_id: str) -> bool:
    try:
        return writer.state(reread=True).run_id == run_id
    except Exception:  # an unreadable state committed nothing of this run's
        return False


def repaired_lake(settings: Settings, stages: Stages | None = None) -> RunSummary:
    """Rebuild a damaged lake from the source: the run history that can be read is kept, every
    other file is dropped, and a full refresh rebuilds the rows, the quarantine, the manifest and
    the catalog (at the lake's present location, so a moved lake is served from where it is).
    One commit, as in any run: killed at any moment, the lake is the old one or the new one."""
    rebuild = settings.model_copy(update={"full_refresh": True, "allow_mass_delete": True})
    return run_pipeline(rebuild, stages, start_over=True)


def run_pipeline(settings: Settings, stages: Stages | None = None, start_over: bool = False) -> RunSummary:
    """One whole run under the lake lock: plan, parse batches, merge, commit, publish.

    Whatever happens before the commit, the run is recorded in the runs dataset and nothing
    else changes; an interruption (KeyboardInterrupt, which the CLI also raises for SIGTERM) is
    recorded as such and raised as RunInterrupted; an error in commit or publish as StageFailed.
    """
    stages = stages or Stages()
    say = stages.log
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    summary = RunSummary(run_id=new_run_id(now))
    storage = Storage(settings.lake, settings.storage_options)
    writer = LakeWriter(storage, settings.lock_path, settings.lock_timeout)
    failure: BaseException | None = None
    with writer.writing(summary.run_id, start_over) as staging:
        try:
            settings, rebuilt = settings_for_lake(settings, writer.state(), writer.stale_models)
            if rebuilt:
                say(rebuilt)
                summary.message = rebuilt
            plan = stages.plan(settings, writer)
            sample, rest = sampled_candidates(plan.candidates)
            model = writer.boilerplate_model()
            # The lake's names (none for a full build): the learn stage re-derives the rows whose
            # names its final model changes.
            names = (
                {}
                if settings.full_refresh or plan.candidates.is_empty()  # no batch to parse with them
                else lake_names(writer, settings.name_rule, settings.securities_names)
            )
            jobs = batch_jobs(sample, settings, staging, summary.run_id, now, model, names=names)
            say(
                f"plan: {plan.seen} files, {plan.candidates.height} to read ({sample.height} first, as a sample), "
                f"{plan.unchanged} unchanged, {len(plan.deleted)} deleted"
            )
            summary.enter("transform")
            loading: list[threading.Thread] = []

            def rest_jobs(hint: Model) -> list[BatchJob]:
                more = batch_jobs(rest, settings, staging, summary.run_id, now, hint, len(jobs), names)
                # This process waits while workers (a pool's or Dask's) transform: it loads what
                # learning needs meanwhile.
                if pool_size(settings.workers, len(more)) or (settings.dask_address and len(more) > 1):
                    loading.append(learning_tables_loading())
                return more

            def after_sample() -> list[BatchJob]:
                """The rest's jobs, parsed with the lines the sample repeats learned (on the
                sample's workers: they have started)."""
                sampled = writer.staged_run(staging).lines()
                share = sample.height / plan.candidates.height
                return rest_jobs(sample_model(model, sampled, share, settings.learning_rule))

            if jobs:
                counts = stages.transform(jobs, settings.workers, after_sample)
            else:
                counts = stages.transform(rest_jobs(model), settings.workers, None)
            for thread in loading:
                thread.join()
            same_bytes = sum(c["same_bytes"] for c in counts)
            say(
                f"transform: {sum(c['parsed'] for c in counts)} parsed, "
                f"{sum(c['quarantined'] for c in counts)} quarantined, {same_bytes} unchanged after hashing"
            )
            summary.files_seen = plan.seen
            summary.files_new = plan.new
            summary.files_changed = plan.candidates.height - plan.new - same_bytes
            summary.files_unchanged = plan.unchanged + same_bytes
            summary.files_deleted = len(plan.deleted)
            summary.enter("learn")
            staged = writer.staged_run(staging)
            merge = planned_merge(writer, plan, staged, settings, summary.run_id)
            learned = stages.learn(writer, merge, staged, settings)
            if learned is not None:
                say(
                    f"learn: {learned.boilerplate.height} boilerplate lines learned, "
                    f"{learned.rederived.height} lake rows re-derived"
                )
            summary.enter("merge")
            result = stages.merge(writer, merge, learned, settings, summary.run_id, now)
            summary.loaded = result
            if result.rejected:
                summary.status, summary.message = RunStatus.REJECTED, result.rejected
            else:
                summary.status = RunStatus.SUCCEEDED if writer.has_pending_changes() else RunStatus.NO_CHANGES
        except BaseException as exc:  # an interruption too: the run is recorded, nothing else changes
            interrupted = _is_interruption(exc)
            summary.status = RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED
            summary.message = (
                f"interrupted during {summary.stage}"
                if interrupted
                else f"{summary.stage}: {type(exc).__name__}: {exc}".splitlines()[0][:500]
            )
            writer.discard()
            # An I/O fault (a full disk, a vanished mount) is reported with its stage and path.
            failure = StageFailed(summary.stage, summary, exc) if isinstance(exc, OSError) else exc
        summary.seconds = round(time.perf_counter() - started, 3)
        stage = "commit"
        try:
            summary.lap(summary.stage)
            state = writer.commit(summary.run_row(now), settings.retain_seconds)
            summary.lap("commit")
            # A failed run commits its runs row only: its changes were not committed.
            summary.committed = failure is None
            stage = "publish"
            stages.publish(writer, state, settings.catalog_path)
            summary.lap("publish")
        except BaseException as exc:
            if failure is not None:
                if _is_interruption(exc):
                    raise RunInterrupted(summary, exc) from exc
                raise failure from exc  # the run's own error is the one to report
            summary.stage = stage
            # Whether the commit happened is what the state says, not how far the code got: the
            # state may be in place while what follows it (the tree, the clean-up) failed.
            summary.committed = _committed_run(writer, summary.run_id)
            if _is_interruption(exc):
                raise RunInterrupted(summary, exc) from exc
            raise StageFailed(stage, summary, exc) from exc
        if failure is not None and _is_interruption(failure):
            raise RunInterrupted(summary, failure) from failure
        if failure is not None:
            raise failure
        say(
            f"commit: {summary.loaded.rows_written} rows written, {summary.loaded.rows_deleted} deleted, "
            f"{summary.loaded.quarantined} quarantined, {len(summary.loaded.partitions_rewritten)} partitions rewritten "
            f"in {summary.seconds:.2f}s"
        )
    if summary.status is RunStatus.REJECTED:
        raise RunRejected(summary)
    return summary
