"""One transform task: read a batch of source files, parse, validate and stage them.

This is what runs on a worker (a local process or a Dask worker), so it imports only what a
worker needs: no settings model, no catalog, no Prefect.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from flows.source import Source
from warehouse.staging import BatchStaging
from warehouse.tables import PROCESSED_SCHEMA

# What a job knows of each of its files: from the plan's candidates (the hash is the manifest's).
BATCH_ROW_COLUMNS = ["source_path", "size_bytes", "mtime_ns", "known_sha256"]


@dataclass(frozen=True)
class BatchJob:
    """What one transform task needs: paths and hashes, never file contents or frames."""

    index: int
    rows: pl.DataFrame  # BATCH_ROW_COLUMNS of its files: a slice of the plan's candidates
    source: str
    staging: BatchStaging  # where it writes: the only place in the lake
    run_id: str
    now: dt.datetime
    tz: str
    max_file_bytes: int
    storage_options: dict[str, Any] = field(default_factory=dict)
    learned_lines: dict[int, list[int]] = field(default_factory=dict)  # the lake's model, by feed
    securities: dict[str, str] = field(default_factory=dict)  # the user's list: name -> code
    learned_names: dict[str, str] = field(default_factory=dict)  # names the archive teaches -> code


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch.

    Parsing allocates hundreds of objects per article and makes no cyclic garbage (a soup is taken
    apart after its walk), so the collector's passes over them are pure cost (~2% of a batch);
    what a batch leaves is bounded by the batch, and the collector runs again right after it.
    The switch is process-wide: on a Dask worker with several threads, tasks that run meanwhile
    run without it too; the batch that found it on turns it back on when it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def transformed_batch(job: BatchJob) -> dict[str, int]:
    """Read and parse one batch of files; write its frames to the run's staging folder in the lake."""
    # The parser (BeautifulSoup, lxml, the keyword table) and pandera load with the first batch,
    # so that a run with nothing to parse never imports them.
    from flows.keyword_table import jieba_keyword_weights
    from transforms.article import ParseOptions
    from transforms.batch import parsed_batch
    from transforms.relearn import article_lines
    from transforms.stocks import Securities
    from transforms.stories import signed_articles
    from warehouse.validation import validated_articles

    source = Source(job.source, job.storage_options)
    options = ParseOptions(
        timezone=job.tz,
        run_id=job.run_id,
        now=job.now,
        keyword_weights=jieba_keyword_weights(),
        learned_lines={key: frozenset(hashes) for key, hashes in job.learned_lines.items()},
        securities=Securities(job.securities) if job.securities else None,
        learned_names=Securities(job.learned_names) if job.learned_names else None,
    )
    processed: list[tuple[str, int, int, str | None, bool]] = []
    raws = []
    for rel, size, mtime, known_sha in job.rows.iter_rows():
        raw = source.raw_file(rel, size, job.max_file_bytes)
        same_bytes = known_sha is not None and raw.sha256 == known_sha
        processed.append((rel, raw.size_bytes, mtime, raw.sha256, same_bytes))
        if not same_bytes:
            raws.append(raw)
    with _collector_paused():
        batch = parsed_batch(raws, options)
    validated_articles(batch.articles)  # before anything is staged for the lake
    processed_frame = pl.DataFrame(processed, schema=PROCESSED_SCHEMA, orient="row")
    lines = article_lines(batch.articles)
    signatures = signed_articles(batch.articles)  # here, on the worker: a Dask run spreads them too
    job.staging.staged_batch(job.index, batch.articles, batch.quarantine, processed_frame, lines, signatures)
    return {
        "parsed": batch.articles.height,
        "quarantined": batch.quarantine.height,
        "same_bytes": job.rows.height - len(raws),
    }
