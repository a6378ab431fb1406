"""The newslake-etl Prefect flow: extract → transform (a task per batch) → load → publish."""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from flows.settings import Settings
from flows.source import listed_files, read_raw_file
from transforms.article import ParseOptions
from transforms.batch import parsed_batch
from transforms.schema import ARTICLES, QUARANTINE
from warehouse.catalog import publish_catalog
from warehouse.incremental import Plan, listing_frame, planned_changes
from warehouse.layout import STAGING_DIR, checked_run_id
from warehouse.lock import lake_lock
from warehouse.load import LakeWriter, LoadOptions, LoadResult, RunChanges
from warehouse.storage import Storage

PROCESSED_SCHEMA = pl.Schema(
    {
        "source_path": pl.String(),
        "size_bytes": pl.Int64(),
        "mtime_ns": pl.Int64(),
        "source_sha256": pl.String(),
        "touched": pl.Boolean(),
    }
)

# Set by the flow for its duration: the process pool the batch tasks hand their parsing to.
_POOL: Executor | None = None


@dataclass
class RunSummary:
    run_id: str
    status: str
    files_seen: int = 0
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    files_deleted: int = 0
    rows_written: int = 0
    rows_deleted: int = 0
    quarantined: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    partitions_rewritten: list[str] = field(default_factory=list)
    seconds: float = 0.0
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def new_run_id(now: dt.datetime) -> str:
    return checked_run_id(now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3))


def _transform_files(
    source: str, staging: str, index: int, rows: list[tuple[str, int, int, str | None]], settings: Settings,
    run_id: str, now: dt.datetime,
) -> dict[str, int]:
    """Read and parse one batch; write its frames to staging. Runs in a worker process."""
    root = Path(source)
    options = ParseOptions(timezone=settings.tz, run_id=run_id, now=now)
    processed: list[tuple[str, int, int, str | None, bool]] = []
    raws = []
    for rel, size, mtime, known_sha in rows:
        raw = read_raw_file(root, rel, size, settings.max_file_bytes)
        if known_sha is not None and raw.sha256 == known_sha:
            processed.append((rel, raw.size_bytes, mtime, raw.sha256, True))
            continue
        processed.append((rel, raw.size_bytes, mtime, raw.sha256, False))
        raws.append(raw)
    batch = parsed_batch(raws, options)
    out = Path(staging)
    batch.articles.write_parquet(out / f"articles-{index:06d}.parquet", compression="lz4")
    batch.quarantine.write_parquet(out / f"quarantine-{index:06d}.parquet", compression="lz4")
    pl.DataFrame(processed, schema=PROCESSED_SCHEMA, orient="row").write_parquet(
        out / f"processed-{index:06d}.parquet", compression="lz4"
    )
    return {"parsed": batch.articles.height, "quarantined": batch.quarantine.height, "touched": len(rows) - len(raws)}


@task(name="extract", cache_policy=NONE)
def extract(settings: Settings, writer: LakeWriter) -> Plan:
    """List the source and compare it with the manifest; only what may have changed is planned."""
    listing = listing_frame(listed_files(settings.source, settings.patterns))
    return planned_changes(listing, writer.manifest(), settings.full_refresh)


@task(name="transform-batch", cache_policy=NONE, task_run_name="transform-batch-{index}")
def transform_batch(
    index: int, rows: list[tuple[str, int, int, str | None]], settings: Settings, run_id: str,
    staging: str, now: dt.datetime,
) -> dict[str, int]:
    args = (str(settings.source.resolve()), staging, index, rows, settings, run_id, now)
    if _POOL is not None:
        return _POOL.submit(_transform_files, *args).result()
    return _transform_files(*args)


@task(name="load", cache_policy=NONE)
def load(
    writer: LakeWriter, plan: Plan, staging: str, settings: Settings, run_id: str, now: dt.datetime
) -> LoadResult:
    folder = Path(staging)

    def read_all(prefix: str, empty: pl.DataFrame) -> pl.DataFrame:
        files = sorted(folder.glob(f"{prefix}-*.parquet"))
        return pl.concat([pl.read_parquet(f) for f in files]) if files else empty

    changes = RunChanges(
        articles=read_all("articles", ARTICLES.empty_frame()),
        quarantine=read_all("quarantine", QUARANTINE.empty_frame()),
        processed=read_all("processed", pl.DataFrame(schema=PROCESSED_SCHEMA)),
        deleted=plan.deleted,
    )
    options = LoadOptions(
        run_id=run_id,
        full_refresh=settings.full_refresh,
        allow_mass_delete=settings.allow_mass_delete,
        max_bad_ratio=settings.max_bad_ratio,
    )
    return writer.apply(changes, options, now)


@task(name="publish-catalog", cache_policy=NONE)
def publish(writer: LakeWriter, settings: Settings) -> None:
    publish_catalog(writer.storage, writer.state(), settings.catalog_path)


def _batches(plan: Plan, size: int) -> list[list[tuple[str, int, int, str | None]]]:
    rows = list(plan.candidates.select("source_path", "size_bytes", "mtime_ns", "known_sha256").iter_rows())
    return [rows[i : i + size] for i in range(0, len(rows), size)]


@flow(name="newslake-etl", log_prints=False, flow_run_name="newslake-etl-{settings.lake.name}")
def etl(settings: Settings) -> dict[str, Any]:
    """Load the source archive into the lake incrementally and publish the catalog."""
    global _POOL
    logger = get_run_logger()
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    run_id = new_run_id(now)
    settings.lake.mkdir(parents=True, exist_ok=True)
    storage = Storage(settings.lake)
    writer = LakeWriter(storage)
    summary = RunSummary(run_id=run_id, status="failed")
    with lake_lock(settings.lake, settings.lock_timeout):
        staging_root = storage.path(STAGING_DIR)
        shutil.rmtree(staging_root, ignore_errors=True)  # leftovers of a killed run
        staging = staging_root / run_id
        staging.mkdir(parents=True)
        try:
            plan = extract(settings, writer)
            batches = _batches(plan, settings.batch_size)
            logger.info(
                "extract: %d files, %d to read in %d batches, %d unchanged, %d deleted",
                plan.seen, plan.candidates.height, len(batches), plan.unchanged, len(plan.deleted),
            )
            use_pool = settings.workers > 1 and len(batches) > 1
            _POOL = ProcessPoolExecutor(max_workers=min(settings.workers, len(batches))) if use_pool else None
            try:
                futures = [
                    transform_batch.submit(i, rows, settings, run_id, str(staging), now)
                    for i, rows in enumerate(batches)
                ]
                counts = [f.result() for f in futures]
            finally:
                if _POOL is not None:
                    _POOL.shutdown(cancel_futures=True)
                _POOL = None
            touched = sum(c["touched"] for c in counts)
            logger.info(
                "transform: %d parsed, %d quarantined, %d unchanged after hashing",
                sum(c["parsed"] for c in counts), sum(c["quarantined"] for c in counts), touched,
            )
            summary.files_seen = plan.seen
            summary.files_new = plan.new
            summary.files_changed = plan.candidates.height - plan.new - touched
            summary.files_unchanged = plan.unchanged + touched
            summary.files_deleted = len(plan.deleted)
            result = load(writer, plan, str(staging), settings, run_id, now)
            summary.rows_written = result.rows_written
            summary.rows_deleted = result.rows_deleted
            summary.quarantined = result.quarantined
            summary.quarantine_by_reason = result.quarantine_by_reason
            summary.partitions_rewritten = result.partitions_rewritten
            changed = bool(result.partitions_rewritten or result.quarantined or plan.deleted)
            summary.status = "succeeded" if changed else "no_changes"
        except Exception as exc:
            summary.status = "failed"
            summary.message = f"{type(exc).__name__}: {exc}"
            writer.discard()
            raise
        finally:
            summary.seconds = round(time.perf_counter() - started, 3)
            state = writer.commit(_run_row(summary, now))
            publish(writer, settings)
            shutil.rmtree(staging, ignore_errors=True)
            storage.delete_unreferenced(("articles", "quarantine", "_manifest", "runs"), state.referenced(), settings.retain_seconds)
        logger.info(
            "load: %d rows written, %d deleted, %d quarantined, %d partitions rewritten in %.2fs",
            summary.rows_written, summary.rows_deleted, summary.quarantined,
            len(summary.partitions_rewritten), summary.seconds,
        )
    return summary.as_dict()


def _run_row(summary: RunSummary, started: dt.datetime) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "started_at": started,
        "finished_at": dt.datetime.now(dt.UTC),
        "status": summary.status,
        "message": summary.message,
        "files_seen": summary.files_seen,
        "files_new": summary.files_new,
        "files_changed": summary.files_changed,
        "files_unchanged": summary.files_unchanged,
        "files_deleted": summary.files_deleted,
        "rows_written": summary.rows_written,
        "rows_deleted": summary.rows_deleted,
        "quarantined": summary.quarantined,
        "partitions_rewritten": len(summary.partitions_rewritten),
        "seconds": summary.seconds,
    }
