"""Merge a run's parsed files into the lake: upsert by article_id, delete, commit atomically."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import polars as pl

from transforms.reasons import Reason
from transforms.schema import ARTICLES, MANIFEST, QUARANTINE, RUNS
from warehouse.layout import DATA_DIRS, STATE_FILE, dataset_file, partition_file, partition_name
from warehouse.state import LakeState, commit_state, load_state
from warehouse.storage import Storage
from warehouse.validation import validated_articles


class MassDeleteRefused(RuntimeError):
    pass


class TooManyBadFiles(RuntimeError):
    pass


@dataclass
class RunChanges:
    """What the transform stage produced, in frames of the declared schemas."""

    articles: pl.DataFrame  # parsed rows (ARTICLES)
    quarantine: pl.DataFrame  # files that could not become rows (QUARANTINE)
    processed: pl.DataFrame  # every file read: source_path, size_bytes, mtime_ns, source_sha256, touched
    deleted: list[str]


@dataclass
class LoadResult:
    rows_written: int = 0
    rows_deleted: int = 0
    quarantined: int = 0
    partitions_rewritten: list[str] = field(default_factory=list)
    committed: bool = False
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)


@dataclass
class LoadOptions:
    run_id: str
    full_refresh: bool = False
    allow_mass_delete: bool = False
    max_bad_ratio: float = 1.0


def _partition_of(frame: pl.DataFrame) -> pl.Expr:
    return (
        pl.when(pl.col("year").is_null())
        .then(pl.lit("undated"))
        .otherwise(
            pl.col("year").cast(pl.String).str.zfill(4) + "-" + pl.col("month").cast(pl.String).str.zfill(2)
        )
    )


def _pick_winners(
    new_rows: pl.DataFrame, kept_ids: dict[str, str]
) -> tuple[pl.DataFrame, list[tuple[str, str, str]], list[str]]:
    """Resolve article_id collisions: the file with the smallest source_path wins.

    Returns (winning new rows, losers as (loser_path, article_id, winner_path), old paths demoted).
    """
    if new_rows.is_empty():
        return new_rows, [], []
    ordered = new_rows.sort("source_path")
    first = ordered.unique(subset="article_id", keep="first", maintain_order=True)
    losers: list[tuple[str, str, str]] = []
    winner_path = dict(zip(first["article_id"].to_list(), first["source_path"].to_list(), strict=True))
    dropped = ordered.join(first.select("source_path"), on="source_path", how="anti")
    for path, aid in zip(dropped["source_path"].to_list(), dropped["article_id"].to_list(), strict=True):
        losers.append((path, aid, winner_path[aid]))
    demoted: list[str] = []
    keep_new: list[str] = []
    for aid, path in winner_path.items():
        old_path = kept_ids.get(aid)
        if old_path is None or path < old_path:
            keep_new.append(path)
            if old_path is not None:
                demoted.append(old_path)
                losers.append((old_path, aid, path))
        else:
            losers.append((path, aid, old_path))
    return first.filter(pl.col("source_path").is_in(keep_new)), losers, demoted


class LakeWriter:
    """The only code that changes a lake; callers hold the lake lock."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._pending: LakeState | None = None

    def state(self) -> LakeState:
        return load_state(self.storage, STATE_FILE)

    def manifest(self, state: LakeState | None = None) -> pl.DataFrame:
        state = state or self.state()
        if not state.manifest:
            return MANIFEST.empty_frame()
        return self.storage.read_parquet(state.manifest, MANIFEST)

    def _quarantine(self, state: LakeState) -> pl.DataFrame:
        if not state.quarantine:
            return QUARANTINE.empty_frame()
        return self.storage.read_parquet(state.quarantine, QUARANTINE)

    def _runs(self, state: LakeState) -> pl.DataFrame:
        if not state.runs:
            return RUNS.empty_frame()
        return self.storage.read_parquet(state.runs, RUNS)

    def _partition(self, state: LakeState, name: str) -> pl.DataFrame:
        rel = state.partitions.get(name)
        if rel is None:
            return ARTICLES.empty_frame()
        frame = self.storage.read_parquet(rel, ARTICLES)
        from warehouse.layout import partition_key

        year, month = partition_key(name)
        return ARTICLES.conform(
            frame.with_columns(year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32()))
        )

    def apply(self, changes: RunChanges, options: LoadOptions, now: dt.datetime) -> LoadResult:
        state = self.state()
        old_manifest = MANIFEST.empty_frame() if options.full_refresh else self.manifest(state)
        old_partitions = {} if options.full_refresh else dict(state.partitions)
        result = LoadResult()

        processed = changes.processed
        touched = processed.filter(pl.col("touched"))
        reparsed = set(processed.filter(~pl.col("touched"))["source_path"].to_list())
        deleted = set(changes.deleted)
        leaving = reparsed | deleted

        old_loaded = old_manifest.filter(pl.col("status") == "loaded")
        staying = old_loaded.filter(~pl.col("source_path").is_in(list(leaving)))
        kept_ids = dict(zip(staying["article_id"].to_list(), staying["source_path"].to_list(), strict=True))

        winners, losers, demoted = _pick_winners(changes.articles, kept_ids)
        removed_rows = old_loaded.filter(pl.col("source_path").is_in(list(leaving | set(demoted))))

        # Refuse runs that would empty most of the lake (an unmounted source looks like that).
        deleted_rows = old_loaded.filter(pl.col("source_path").is_in(list(deleted))).height
        if not options.allow_mass_delete and old_loaded.height > 0 and deleted_rows * 2 > old_loaded.height:
            raise MassDeleteRefused(
                f"run would delete {deleted_rows} of {old_loaded.height} rows (source missing or emptied?);"
                " nothing changed; pass --allow-mass-delete to proceed"
            )

        duplicate_rows = [
            {
                "source_path": loser,
                "reason": str(Reason.DUPLICATE_ARTICLE),
                "message": f"same article_id {aid} as {winner}, which is kept",
            }
            for loser, aid, winner in losers
        ]
        loser_ids = {loser: aid for loser, aid, _ in losers}

        # Quarantine: old records of files not touched by this run, plus this run's.
        bad = changes.quarantine
        files_read = processed.height - touched.height
        if files_read and bad.height / files_read > options.max_bad_ratio:
            raise TooManyBadFiles(
                f"{bad.height} of {files_read} files quarantined, above --max-bad-ratio {options.max_bad_ratio}"
            )

        # Partitions to rewrite.
        winners = validated_articles(winners.with_columns(_partition=_partition_of(winners)))
        by_partition: dict[str, pl.DataFrame] = (
            {str(k[0]): v.drop("_partition") for k, v in winners.group_by("_partition")}
            if not winners.is_empty()
            else {}
        )
        removed_parts: dict[str, list[str]] = {}
        for path, year, month in removed_rows.select("source_path", "year", "month").iter_rows():
            removed_parts.setdefault(partition_name(year, month), []).append(path)
        affected = sorted(set(by_partition) | set(removed_parts))

        new_partitions = dict(old_partitions)
        if options.full_refresh:
            new_partitions = {}
        for name in affected:
            base = ARTICLES.empty_frame() if options.full_refresh else self._partition(state, name)
            gone = removed_parts.get(name, [])
            if gone:
                before = base.height
                base = base.filter(~pl.col("source_path").is_in(gone))
                result.rows_deleted += before - base.height
            fresh = by_partition.get(name)
            if fresh is not None:
                base = pl.concat([base, ARTICLES.conform(fresh)])
                result.rows_written += fresh.height
            if base.is_empty():
                new_partitions.pop(name, None)
                continue
            base = base.sort(["published_at", "article_id"], nulls_last=True)
            rel = partition_file(name, options.run_id)
            self.storage.write_parquet(base, ARTICLES, rel)
            new_partitions[name] = rel
            result.partitions_rewritten.append(name)

        # Quarantine dataset.
        gone_from_quarantine = leaving | set(loser_ids) | set(demoted)
        old_q = QUARANTINE.empty_frame() if options.full_refresh else self._quarantine(state)
        sizes = dict(zip(processed["source_path"].to_list(), processed["size_bytes"].to_list(), strict=True))
        shas = dict(
            zip(
                processed["source_path"].to_list(),
                processed["source_sha256"].to_list(),
                strict=True,
            )
        )
        for name in demoted:
            row = old_manifest.filter(pl.col("source_path") == name)
            sizes.setdefault(name, int(row["size_bytes"][0]))
            shas.setdefault(name, row["source_sha256"][0])
        dup_frame = (
            pl.DataFrame(duplicate_rows).with_columns(
                source_sha256=pl.col("source_path").replace_strict(
                    shas, default=None, return_dtype=pl.String
                ),
                size_bytes=pl.col("source_path").replace_strict(sizes, default=0, return_dtype=pl.Int64),
                run_id=pl.lit(options.run_id),
                seen_at=pl.lit(now, ARTICLES.polars_schema["ingested_at"]),
            )
            if duplicate_rows
            else None
        )
        frames = [old_q.filter(~pl.col("source_path").is_in(list(gone_from_quarantine))), bad]
        if dup_frame is not None:
            frames.append(QUARANTINE.conform(dup_frame))
        quarantine = pl.concat(frames).sort("source_path")
        result.quarantined = bad.height + len(duplicate_rows)
        result.quarantine_by_reason = (
            dict(pl.concat(frames[1:]).group_by("reason").len().sort("reason").iter_rows())
            if result.quarantined
            else {}
        )

        # Manifest.
        status_rows = []
        winner_ids = dict(zip(winners["source_path"].to_list(), winners["article_id"].to_list(), strict=True))
        years = dict(
            zip(
                winners["source_path"].to_list(),
                zip(winners["year"].to_list(), winners["month"].to_list(), strict=True),
                strict=True,
            )
        )
        bad_paths = set(bad["source_path"].to_list())
        for path, size, mtime, sha, was_touched in processed.select(
            "source_path", "size_bytes", "mtime_ns", "source_sha256", "touched"
        ).iter_rows():
            if was_touched:
                continue
            if path in winner_ids:
                y, m = years[path]
                status_rows.append((path, size, mtime, sha, "loaded", winner_ids[path], y, m))
            elif path in loser_ids:
                status_rows.append((path, size, mtime, sha, "duplicate", loser_ids[path], None, None))
            elif path in bad_paths:
                status_rows.append((path, size, mtime, sha, "quarantined", None, None, None))
        fresh_manifest = pl.DataFrame(
            status_rows,
            schema=[c for c in MANIFEST.names if c != "run_id"],
            orient="row",
        ).with_columns(run_id=pl.lit(options.run_id))
        touched_manifest = old_manifest.join(
            touched.select("source_path", "size_bytes", "mtime_ns"),
            on="source_path",
            how="inner",
            suffix="_new",
        ).with_columns(size_bytes=pl.col("size_bytes_new"), mtime_ns=pl.col("mtime_ns_new"))
        demoted_manifest = old_manifest.filter(pl.col("source_path").is_in(demoted)).with_columns(
            status=pl.lit("duplicate"),
            year=pl.lit(None, pl.Int32()),
            month=pl.lit(None, pl.Int32()),
        )
        rewritten = leaving | set(touched["source_path"].to_list()) | set(demoted)
        manifest = pl.concat(
            [
                MANIFEST.conform(old_manifest.filter(~pl.col("source_path").is_in(list(rewritten)))),
                MANIFEST.conform(fresh_manifest),
                MANIFEST.conform(touched_manifest),
                MANIFEST.conform(demoted_manifest),
            ]
        ).sort("source_path")

        new_state = LakeState(
            version=state.version + 1,
            run_id=options.run_id,
            partitions=dict(sorted(new_partitions.items())),
            quarantine=state.quarantine,
            manifest=state.manifest,
            runs=state.runs,
            retired=dict(state.retired),
        )
        data_changed = bool(result.partitions_rewritten) or new_partitions != state.partitions
        quarantine_changed = options.full_refresh or not quarantine.equals(
            self._quarantine(state).sort("source_path")
        )
        if quarantine_changed or state.quarantine is None:
            new_state.quarantine = dataset_file("quarantine", options.run_id)
            self.storage.write_parquet(quarantine, QUARANTINE, new_state.quarantine)
        if data_changed or not manifest.equals(old_manifest) or state.manifest is None:
            new_state.manifest = dataset_file("_manifest", options.run_id)
            self.storage.write_parquet(manifest, MANIFEST, new_state.manifest)
        self._pending = new_state
        result.committed = False
        return result

    def has_pending_changes(self) -> bool:
        """Whether the prepared state changes what readers see (articles or quarantine)."""
        pending, current = self._pending, self.state()
        return pending is not None and (
            pending.partitions != current.partitions or pending.quarantine != current.quarantine
        )

    def discard(self) -> None:
        """Forget a prepared change; its files are never referenced and are collected later."""
        self._pending = None

    def commit(self, run_row: dict[str, object], retain_seconds: float) -> LakeState:
        """Append the run to the runs dataset and flip the state: the one commit point.

        Files the new state no longer references are retired, not deleted: a reader holding
        the previous catalog may still read them. They are deleted once retired for longer
        than retain_seconds; files no state ever referenced (a killed run's) go at once.
        """
        previous = self.state()
        state = self._pending or LakeState(**{**previous.__dict__, "retired": dict(previous.retired)})
        state.version = previous.version + 1
        runs = pl.concat(
            [self._runs(previous), RUNS.conform(pl.DataFrame([run_row], schema=RUNS.polars_schema))]
        )
        state.runs = dataset_file("runs", str(run_row["run_id"]))
        self.storage.write_parquet(runs, RUNS, state.runs)
        state.run_id = str(run_row["run_id"])

        now = time.time()
        referenced = state.referenced()
        retired = {f: t for f, t in previous.retired.items() if f not in referenced}
        retired.update({f: now for f in previous.referenced() - referenced})
        expired = {f for f, t in retired.items() if now - t >= retain_seconds}
        state.retired = {f: t for f, t in sorted(retired.items()) if f not in expired}
        self.storage.delete_except(DATA_DIRS, referenced | set(state.retired) | previous.referenced())
        commit_state(self.storage, STATE_FILE, state)
        self.storage.delete_except(DATA_DIRS, referenced | set(state.retired))
        self._pending = None
        return state
