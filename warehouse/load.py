"""Merge a run's parsed files into the lake: upsert by article_id, delete, commit atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import polars as pl

from transforms.reasons import Reason
from transforms.schema import ARTICLE_KEYS, ARTICLES, MANIFEST, QUARANTINE, RUNS, FileStatus, Table
from warehouse.layout import (
    ROWS_PER_FILE,
    STATE_FILE,
    STORE_DIR,
    TREE_DIRS,
    dataset_file,
    partition_file,
    partition_key,
    partition_name_expr,
    stored_file,
)
from warehouse.state import LakeDamaged, LakeState, commit_state, load_state
from warehouse.storage import Storage
from warehouse.validation import unique_articles


class MassDeleteRefused(RuntimeError):
    pass


@dataclass
class RunChanges:
    """What the transform stage produced, in frames of the declared schemas.

    Parsed rows are not held in memory as a whole: `article_keys` has the few columns needed to
    resolve collisions for every parsed file, and `articles_in(partition)` returns the full rows
    of one partition, so a load holds at most one partition at a time.
    """

    article_keys: pl.DataFrame  # ARTICLE_KEYS of every parsed row
    articles_in: Callable[[str], pl.DataFrame]  # partition name -> its parsed rows (ARTICLES)
    quarantine: pl.DataFrame  # files that could not become rows (QUARANTINE)
    processed: pl.DataFrame  # every file read: source_path, size_bytes, mtime_ns, source_sha256, touched
    deleted: list[str]


@dataclass
class LoadOptions:
    run_id: str
    parser_version: str  # of this run's rows; a full build records it in the state
    full_refresh: bool = False
    allow_mass_delete: bool = False
    max_bad_ratio: float = 1.0


@dataclass
class LoadResult:
    rows_written: int = 0
    rows_deleted: int = 0
    quarantined: int = 0
    partitions_rewritten: list[str] = field(default_factory=list)
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    rejected: str | None = None  # why nothing was loaded (too many bad files)


@dataclass(frozen=True)
class _Collisions:
    """Outcome of resolving article_id collisions between new and kept rows."""

    winners: pl.DataFrame
    losers: dict[str, tuple[str, str]]  # loser path -> (article_id, kept path)
    demoted: list[str]  # old loaded paths that lost to a new file


def resolved_collisions(new_rows: pl.DataFrame, kept: dict[str, str]) -> _Collisions:
    """One row per article_id: of all files with that id, the smallest source_path wins.

    The rule depends only on the set of files, never on the order runs saw them, so an
    incremental lake equals a clean build. `kept` maps ids of unchanged loaded rows to paths.
    """
    ordered = new_rows.sort("source_path")
    first = ordered.unique(subset="article_id", keep="first", maintain_order=True)
    first_path = dict(zip(first["article_id"].to_list(), first["source_path"].to_list(), strict=True))
    losers: dict[str, tuple[str, str]] = {}
    dropped = ordered.join(first.select("source_path"), on="source_path", how="anti")
    for path, aid in dropped.select("source_path", "article_id").iter_rows():
        losers[path] = (aid, first_path[aid])
    demoted, keep_new = [], []
    for aid, path in first_path.items():
        old_path = kept.get(aid)
        if old_path is None or path < old_path:
            keep_new.append(path)
            if old_path is not None:
                demoted.append(old_path)
                losers[old_path] = (aid, path)
        else:
            losers[path] = (aid, old_path)
    for path, (aid, winner) in list(losers.items()):
        if winner in losers:  # a new file beat the one this loser lost to
            losers[path] = (aid, losers[winner][1])
    return _Collisions(first.filter(pl.col("source_path").is_in(keep_new)), losers, demoted)


class LakeWriter:
    """The only code that changes a lake; callers hold the lake lock.

    `prepare` writes the new immutable files and keeps the state that would reference them;
    `commit` flips the state. Nothing a reader sees changes before `commit`.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._pending: LakeState | None = None
        self._state: LakeState | None = None

    def state(self, reread: bool = False) -> LakeState:
        """The committed state, read once: the writer holds the lake lock, so only it changes it
        (reread: after a commit that may have been interrupted)."""
        if self._state is None or reread:
            self._state = load_state(self.storage, STATE_FILE)
        return self._state

    def _committed(self, state: LakeState) -> None:
        commit_state(self.storage, STATE_FILE, state)
        self._state = state

    def _dataset(self, rel: str | None, table: Table) -> pl.DataFrame:
        return self._read(rel, table) if rel else table.empty_frame()

    def manifest(self, state: LakeState | None = None) -> pl.DataFrame:
        return self._dataset((state or self.state()).manifest, MANIFEST)

    def _write(self, frame: pl.DataFrame, table: Table, rel: str) -> None:
        """Write a new data file to the store; the tree links it only once the state is committed."""
        self.storage.write_parquet(frame, table, stored_file(rel))

    def _read(self, rel: str, table: Table) -> pl.DataFrame:
        try:
            return self.storage.read_parquet(stored_file(rel), table)
        except (pl.exceptions.ComputeError, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise LakeDamaged(
                    f"{self.storage.uri(stored_file(rel))} is missing: "
                    "run `newslake repair --lake LAKE --source SOURCE` to rebuild the lake"
                ) from None
            raise LakeDamaged(
                f"{self.storage.uri(stored_file(rel))} is damaged ({str(exc).splitlines()[0][:100]}): "
                "run `newslake repair --lake LAKE --source SOURCE` to rebuild the lake"
            ) from None

    def _partition(self, state: LakeState, name: str) -> pl.DataFrame:
        files = state.partitions.get(name)
        if not files:
            return ARTICLES.empty_frame()
        year, month = partition_key(name)
        frame = pl.concat([self._read(rel, ARTICLES) for rel in files])
        return ARTICLES.conform(
            frame.with_columns(year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32()))
        )

    def prepare(self, changes: RunChanges, options: LoadOptions, now: dt.datetime) -> LoadResult:
        state = self.state()
        fresh = options.full_refresh
        old_manifest = MANIFEST.empty_frame() if fresh else self.manifest(state)
        old_quarantine = QUARANTINE.empty_frame() if fresh else self._dataset(state.quarantine, QUARANTINE)
        processed = changes.processed
        touched = processed.filter(pl.col("touched"))
        deleted = set(changes.deleted)
        leaving = set(processed.filter(~pl.col("touched"))["source_path"].to_list()) | deleted
        old_loaded = old_manifest.filter(pl.col("status") == FileStatus.LOADED)

        # An unmounted or emptied source looks like a mass deletion: refuse it.
        deleted_rows = old_loaded.filter(pl.col("source_path").is_in(list(deleted))).height
        if not options.allow_mass_delete and deleted_rows * 2 > old_loaded.height > 0:
            raise MassDeleteRefused(
                f"run would delete {deleted_rows} of {old_loaded.height} rows (source missing or emptied?);"
                " nothing changed; pass --allow-mass-delete to proceed"
            )

        bad = changes.quarantine
        result = LoadResult(
            quarantine_by_reason=dict(bad.group_by("reason").len().sort("reason").iter_rows())
        )
        files_read = processed.height - touched.height
        if files_read and bad.height / files_read > options.max_bad_ratio:
            # Record why, load nothing: the scheduler sees a failed run with its reasons.
            result.rejected = (
                f"{bad.height} of {files_read} files quarantined (above --max-bad-ratio {options.max_bad_ratio}): "
                + ", ".join(f"{k} {v}" for k, v in result.quarantine_by_reason.items())
                + "; nothing loaded"
            )
            result.quarantined = bad.height
            old_manifest = self.manifest(state)  # a rejected full refresh keeps what is committed
            old_quarantine = self._dataset(state.quarantine, QUARANTINE)
            quarantine = pl.concat(
                [old_quarantine.filter(~pl.col("source_path").is_in(bad["source_path"].to_list())), bad]
            )
            # The bad files enter the manifest, so that their records go when they are fixed or removed.
            no_winners = ARTICLES.empty_frame().select(ARTICLE_KEYS)
            manifest = self._new_manifest(
                old_manifest,
                processed.filter(pl.col("source_path").is_in(bad["source_path"].to_list())),
                no_winners,
                _Collisions(no_winners, {}, []),
                bad,
                options,
            )
            self._pending = replace(state)
            self._pending.quarantine = self._write_if_changed(
                quarantine, old_quarantine, state.quarantine, QUARANTINE, "quarantine", options
            )
            self._pending.manifest = self._write_if_changed(
                manifest, old_manifest, state.manifest, MANIFEST, "_manifest", options
            )
            return result

        staying = old_loaded.filter(~pl.col("source_path").is_in(list(leaving)))
        kept = dict(zip(staying["article_id"].to_list(), staying["source_path"].to_list(), strict=True))
        collisions = resolved_collisions(changes.article_keys, kept)
        winners = collisions.winners.with_columns(_partition=partition_name_expr())
        removed = old_loaded.filter(pl.col("source_path").is_in(list(leaving | set(collisions.demoted))))

        partitions = {} if fresh else dict(state.partitions)
        self._rewrite_partitions(state, partitions, winners, changes.articles_in, removed, options, result)

        duplicates = self._duplicate_records(collisions, processed, old_manifest, options, now)
        gone = leaving | set(collisions.losers)
        quarantine = pl.concat(
            [old_quarantine.filter(~pl.col("source_path").is_in(list(gone))), bad, duplicates]
        )
        result.quarantined = bad.height + duplicates.height
        if duplicates.height:
            result.quarantine_by_reason[str(Reason.DUPLICATE_ARTICLE)] = duplicates.height

        manifest = self._new_manifest(old_manifest, processed, winners, collisions, bad, options)
        pending = replace(state, partitions=dict(sorted(partitions.items())))
        if fresh:  # every row is now this parser's
            pending.parser_version = options.parser_version
        pending.quarantine = self._write_if_changed(
            quarantine, old_quarantine, None if fresh else state.quarantine, QUARANTINE, "quarantine", options
        )
        pending.manifest = self._write_if_changed(
            manifest, old_manifest, None if fresh else state.manifest, MANIFEST, "_manifest", options
        )
        self._pending = pending
        return result

    def _write_if_changed(
        self, frame: pl.DataFrame, old: pl.DataFrame, old_rel: str | None, table: Table, dataset: str,
        options: LoadOptions,
    ) -> str:  # fmt: skip
        frame = table.conform(frame).sort(table.names[0])
        if old_rel is not None and frame.equals(table.conform(old).sort(table.names[0])):
            return old_rel
        rel = dataset_file(dataset, options.run_id)
        self._write(frame, table, rel)
        return rel

    def _rewrite_partitions(
        self, state: LakeState, partitions: dict[str, list[str]], winners: pl.DataFrame,
        articles_in: Callable[[str], pl.DataFrame], removed: pl.DataFrame, options: LoadOptions, result: LoadResult,
    ) -> None:  # fmt: skip
        """Rewrite only the partitions that lose or gain rows, each into one new sorted file.

        Two partitions are in memory at a time: while one is read and sorted, the other is
        compressed and written (Polars does both outside the GIL). Its new rows were validated
        against the contract when they were parsed; here the partition must hold one row per
        article_id (a violation raises and the prepared files are never committed).
        """
        incoming = {str(k[0]): v["source_path"] for k, v in winners.group_by("_partition")}
        leaving: dict[str, list[str]] = {}
        for path, name in removed.select("source_path", partition_name_expr()).iter_rows():
            leaving.setdefault(name, []).append(path)

        def rewritten(name: str) -> tuple[str, list[str], int, int]:
            """(partition, its new files (none when it is left empty), rows deleted, rows written)"""
            base = ARTICLES.empty_frame() if options.full_refresh else self._partition(state, name)
            deleted = written = 0
            if name in leaving:
                kept = base.filter(~pl.col("source_path").is_in(leaving[name]))
                deleted, base = base.height - kept.height, kept
            if name in incoming:
                fresh = articles_in(name).filter(pl.col("source_path").is_in(incoming[name].implode()))
                base = pl.concat([base, ARTICLES.conform(fresh)])
                written = fresh.height
            if base.is_empty():
                return name, [], deleted, written
            rows = unique_articles(base).sort(["published_at", "article_id"], nulls_last=True)
            files = []
            for chunk, start in enumerate(range(0, rows.height, ROWS_PER_FILE)):
                rel = partition_file(name, options.run_id, chunk)
                self._write(rows.slice(start, ROWS_PER_FILE), ARTICLES, rel)
                files.append(rel)
            return name, files, deleted, written

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="partition") as pool:
            for name, files, deleted, written in pool.map(rewritten, sorted(set(incoming) | set(leaving))):
                result.rows_deleted += deleted
                result.rows_written += written
                if not files:
                    partitions.pop(name, None)
                    continue
                partitions[name] = files
                result.partitions_rewritten.append(name)

    @staticmethod
    def _duplicate_records(
        collisions: _Collisions, processed: pl.DataFrame, old_manifest: pl.DataFrame, options: LoadOptions,
        now: dt.datetime,
    ) -> pl.DataFrame:  # fmt: skip
        if not collisions.losers:
            return QUARANTINE.empty_frame()
        known = pl.concat(
            [
                old_manifest.select("source_path", "source_sha256", "size_bytes"),
                processed.select("source_path", "source_sha256", "size_bytes"),
            ]
        ).unique("source_path", keep="last")
        rows = pl.DataFrame(
            [
                (path, f"same article_id {aid} as {winner}, which is kept")
                for path, (aid, winner) in sorted(collisions.losers.items())
            ],
            schema={"source_path": pl.String(), "message": pl.String()},
            orient="row",
        )
        return QUARANTINE.conform(
            rows.join(known, on="source_path", how="left").with_columns(
                reason=pl.lit(str(Reason.DUPLICATE_ARTICLE)),
                size_bytes=pl.col("size_bytes").fill_null(0),
                run_id=pl.lit(options.run_id),
                seen_at=pl.lit(now, QUARANTINE.polars_schema["seen_at"]),
            )
        )

    @staticmethod
    def _new_manifest(
        old: pl.DataFrame, processed: pl.DataFrame, winners: pl.DataFrame, collisions: _Collisions,
        bad: pl.DataFrame, options: LoadOptions,
    ) -> pl.DataFrame:  # fmt: skip
        """Old entries of untouched files, refreshed entries of touched ones, new ones for the rest."""
        read = processed.filter(~pl.col("touched")).drop("touched")
        loaded = read.join(winners.select("source_path", "article_id", "year", "month"), on="source_path")
        dup_ids = pl.DataFrame(
            [(p, aid) for p, (aid, _) in collisions.losers.items()],
            schema={"source_path": pl.String(), "article_id": pl.String()},
            orient="row",
        )
        duplicates = read.join(dup_ids, on="source_path")
        quarantined = read.join(bad.select("source_path"), on="source_path")
        touched = old.join(
            processed.filter(pl.col("touched")).select("source_path", "size_bytes", "mtime_ns"),
            on="source_path",
            suffix="_now",
        ).with_columns(size_bytes=pl.col("size_bytes_now"), mtime_ns=pl.col("mtime_ns_now"))
        demoted = old.filter(pl.col("source_path").is_in(collisions.demoted)).with_columns(
            status=pl.lit(FileStatus.DUPLICATE.value),
            year=pl.lit(None, pl.Int32()),
            month=pl.lit(None, pl.Int32()),
        )
        replaced = set(processed["source_path"].to_list()) | set(collisions.demoted)
        run = pl.lit(options.run_id)
        none_i = pl.lit(None, pl.Int32())
        return pl.concat(
            [
                MANIFEST.conform(old.filter(~pl.col("source_path").is_in(list(replaced)))),
                MANIFEST.conform(loaded.with_columns(status=pl.lit(FileStatus.LOADED.value), run_id=run)),
                MANIFEST.conform(
                    duplicates.with_columns(
                        status=pl.lit(FileStatus.DUPLICATE.value), year=none_i, month=none_i, run_id=run
                    )
                ),
                MANIFEST.conform(
                    quarantined.with_columns(
                        status=pl.lit(FileStatus.QUARANTINED.value),
                        article_id=pl.lit(None, pl.String()),
                        year=none_i,
                        month=none_i,
                        run_id=run,
                    )
                ),
                MANIFEST.conform(touched),
                MANIFEST.conform(demoted),
            ]
        ).sort("source_path")

    def has_pending_changes(self) -> bool:
        """Whether the prepared state changes what readers see (articles or quarantine)."""
        pending, current = self._pending, self.state()
        return pending is not None and (
            pending.partitions != current.partitions or pending.quarantine != current.quarantine
        )

    def discard(self) -> None:
        """Forget a prepared change; its files are never referenced and are deleted at commit."""
        self._pending = None

    def commit(self, run_row: dict[str, object], retain_seconds: float) -> LakeState:
        """Append the run to the runs dataset and flip the state: the one commit point.

        Then the tree is made to match the new state (links to its files in, others out). Files
        the new state no longer references stay in the store, retired: a reader holding the
        previous catalog may still read them. They are deleted once retired for longer than
        retain_seconds; files no state ever referenced (a killed run's) go at once.
        """
        previous = self.state()
        state = self._pending or replace(previous, retired=dict(previous.retired))
        state.version = previous.version + 1
        state.run_id = str(run_row["run_id"])
        runs = pl.concat(
            [
                self._dataset(previous.runs, RUNS),
                RUNS.conform(pl.DataFrame([run_row], schema=RUNS.polars_schema)),
            ]
        )
        state.runs = dataset_file("runs", state.run_id)
        self._write(runs, RUNS, state.runs)

        now = time.time()
        referenced = state.referenced()
        retired = {f: t for f, t in previous.retired.items() if f not in referenced}
        retired.update({f: now for f in previous.referenced() - referenced})
        state.retired = {f: t for f, t in sorted(retired.items()) if now - t < retain_seconds}
        self._deleted_from_store(referenced | set(state.retired) | previous.referenced())
        self._committed(state)
        self._pending = None
        self._synced_tree(state)
        self._deleted_from_store(referenced | set(state.retired))
        return state

    def _deleted_from_store(self, keep: set[str]) -> None:
        self.storage.delete_except((STORE_DIR,), {stored_file(rel) for rel in keep})

    def _synced_tree(self, state: LakeState) -> None:
        """Make the Hive tree hold a link to each file of the state and nothing else.

        New links go in before old ones go out: at the instant of a commit a reader of the tree
        may see both versions of a partition, never neither. Idempotent: a run that died here is
        finished by the next one.
        """
        current = state.referenced()
        for rel in sorted(current):
            if rel.startswith(tuple(f"{d}/" for d in TREE_DIRS)) and not self.storage.exists(rel):
                self.storage.link(stored_file(rel), rel)
        self.storage.delete_except(TREE_DIRS, current)
        self.storage.delete_except(("_manifest",), set())  # a lake from before the store kept it here

    def checked(self, state: LakeState) -> LakeState:
        """The state, once every file it names is there and is whole Parquet (locally: two small
        reads a file; on object storage a damaged file is named when it is read)."""
        if not self.storage.remote:
            for rel in sorted(state.referenced()):
                if not self.storage.looks_like_parquet(stored_file(rel)):
                    raise LakeDamaged(
                        f"{self.storage.uri(stored_file(rel))} is missing or not a whole Parquet file: "
                        "run `newslake repair --lake LAKE --source SOURCE` to rebuild the lake"
                    )
        return state

    def salvaged_runs(self) -> pl.DataFrame:
        """The longest run history still readable: the state's runs file, else the newest readable
        one in the store or the tree (a repair keeps the history even when the state is lost)."""
        try:
            named = [self.state().runs]
        except LakeDamaged:
            named = []
        found = self.storage.files_under(f"{STORE_DIR}/runs") + self.storage.files_under("runs")
        for rel in [
            *(stored_file(r) for r in named if r),
            *sorted(found, key=lambda f: f.rsplit("/", 1)[-1], reverse=True),
        ]:
            try:
                return RUNS.conform(self.storage.read_parquet(rel, RUNS))
            except (pl.exceptions.ComputeError, OSError):
                continue
        return RUNS.empty_frame()

    def reset(self, runs: pl.DataFrame, run_id: str) -> LakeState:
        """A state that names only the run history: every other file goes, and the next run (a
        full refresh) rebuilds the lake from the source."""
        previous_version = 0
        with contextlib.suppress(LakeDamaged):
            previous_version = self.state().version
        rel = dataset_file("runs", run_id)
        state = LakeState(version=previous_version + 1, run_id=run_id, runs=rel)
        self._write(runs, RUNS, rel)
        self._committed(state)
        self._synced_tree(state)
        self._deleted_from_store(state.referenced())
        return state

    def recovered(self) -> LakeState:
        """The committed state, its tree synced and a killed run's files gone: before a run."""
        if self.storage.read_bytes_if_exists(STATE_FILE) is None and self.storage.files_under(STORE_DIR):
            raise LakeDamaged(
                f"{self.storage.uri(STATE_FILE)} is missing but the lake holds data files: "
                "run `newslake repair --lake LAKE --source SOURCE` to rebuild it (the run history is kept)"
            )
        state = self.checked(self.state())
        for rel in sorted(state.referenced()):  # a lake written before the store: its files move in
            if not self.storage.exists(stored_file(rel)) and self.storage.exists(rel):
                self.storage.link(rel, stored_file(rel))
        self._synced_tree(state)
        self._deleted_from_store(state.referenced() | set(state.retired))
        return state
