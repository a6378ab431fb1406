"""Merge a run's parsed files into the lake: upsert by article_id, delete, commit atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from transforms.boilerplate import LearningRule
from transforms.reasons import Reason
from transforms.schema import ARTICLES, NAME_COUNTS, QUARANTINE, Table
from warehouse.feed_model import (
    Model,
    model_of_boilerplate,
)
from warehouse.layout import (
    ROWS_PER_FILE,
    STAGING_DIR,
    STATE_FILE,
    STORE_DIR,
    TREE_DIRS,
    dataset_file,
    keys_in_files,
    stored_file,
    tree_file,
)
from warehouse.lock import lake_lock
from warehouse.merge import (
    Collisions,
    duplicate_records,
    next_manifest,
    next_quarantine,
    no_collisions,
    resolved_collisions,
)
from warehouse.partition_files import PartitionFiles
from warehouse.staging import STAGED_KEYS, BatchStaging, StagedRun, staging_folder
from warehouse.state import REPAIR_HINT, LakeDamaged, LakeState, commit_state, load_state
from warehouse.storage import Storage, absolute_location
from warehouse.tables import (
    BOILERPLATE,
    LINE_COUNTS,
    MANIFEST,
    RUNS,
    STORY_EDGES,
    STORY_SIGNATURES,
    FileStatus,
)


class MassDeleteRefused(RuntimeError):
    pass


@dataclass
class RunChanges:
    """What the transform stage produced, in frames of the declared schemas.

    Parsed rows are not held in memory as a whole: `article_keys` has the few columns needed to
    resolve collisions and place rows in files (warehouse.staging.STAGED_KEYS), and
    `parsed_rows(partition, paths)` returns the full rows of those files only, so the merge holds
    one file's rows at a time.
    """

    article_keys: pl.DataFrame
    parsed_rows: Callable[[str, list[str]], pl.DataFrame]  # (partition, source paths) -> ARTICLES rows
    quarantine: pl.DataFrame  # files that could not become rows (QUARANTINE)
    processed: pl.DataFrame  # every file read (PROCESSED_SCHEMA)
    deleted: list[str]
    # (partition, groups of source paths): stage a partition's rows again by the file each goes to
    regroup_rows: Callable[[str, list[list[str]]], None] | None = None


@dataclass
class MergePlan:
    """Which rows a run puts into the lake and which it takes out, before anything is written."""

    changes: RunChanges
    result: LoadResult
    fresh: bool  # a full build: nothing of the committed lake stays
    noop: bool = False  # nothing read, nothing gone
    processed: pl.DataFrame = field(default_factory=pl.DataFrame)  # files that enter the manifest
    old_manifest: pl.DataFrame = field(default_factory=MANIFEST.empty_frame)
    old_loaded: pl.DataFrame = field(default_factory=MANIFEST.empty_frame)  # its loaded files
    collisions: Collisions | None = None
    removed: pl.DataFrame = field(default_factory=MANIFEST.empty_frame)  # loaded rows that leave
    # the paths whose quarantine records go
    gone: pl.Series = field(default_factory=lambda: pl.Series("source_path", [], pl.String()))
    run_id: str = ""  # the run that carries it out (what the files it writes are named after)

    def __post_init__(self) -> None:
        if self.processed.width == 0:
            self.processed = self.changes.processed

    @property
    def loads(self) -> bool:
        """Whether the plan changes rows (not an empty run, not a rejected one)."""
        return not self.noop and self.result.rejected is None

    @property
    def winners(self) -> pl.DataFrame:
        """STAGED_KEYS of the parsed rows that enter the lake."""
        assert self.collisions is not None, "a plan that loads has its collisions resolved"
        return self.collisions.winners


@dataclass(frozen=True)
class Learned:
    """What the learn stage gives the merge: lake rows it re-derived (staged in place of their
    old copies) and the next frames of each model's datasets."""

    rederived: pl.DataFrame  # STAGED_KEYS of the lake's rows re-derived
    line_counts: pl.DataFrame  # the next LINE_COUNTS
    old_line_counts: pl.DataFrame
    line_sightings: dict[str, str]  # the next LINE_SIGHTINGS files (bucket -> file), written already
    boilerplate: pl.DataFrame  # the next BOILERPLATE
    story_signatures: pl.DataFrame  # the next STORY_SIGNATURES
    old_story_signatures: pl.DataFrame
    story_edges: pl.DataFrame  # the next STORY_EDGES
    old_story_edges: pl.DataFrame
    name_counts: pl.DataFrame = field(default_factory=NAME_COUNTS.empty_frame)  # the next NAME_COUNTS
    old_name_counts: pl.DataFrame = field(default_factory=NAME_COUNTS.empty_frame)


@dataclass
class LoadOptions:
    run_id: str
    parser_version: str  # of this run's rows; a full build records it in the state
    row_settings: dict[str, str] = field(default_factory=dict)  # the same for the settings
    full_refresh: bool = False
    allow_mass_delete: bool = False
    max_bad_ratio: float = 1.0
    rows_per_file: int = ROWS_PER_FILE
    learning: LearningRule = field(default_factory=LearningRule)


@dataclass
class LoadResult:
    rows_written: int = 0
    rows_deleted: int = 0
    quarantined: int = 0
    partitions_rewritten: list[str] = field(default_factory=list)
    files_written: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    rejected: str | None = None  # why nothing was loaded (too many bad files)


def _damaged(storage: Storage, rel: str, exc: BaseException) -> LakeDamaged:
    if isinstance(exc, FileNotFoundError):
        return LakeDamaged(f"{storage.uri(rel)} is missing: {REPAIR_HINT}")
    return LakeDamaged(f"{storage.uri(rel)} is damaged ({str(exc).splitlines()[0][:100]}): {REPAIR_HINT}")


class LakeWriter:
    """The only code that changes a lake; callers hold the lake lock.

    `prepare` writes the new immutable files and keeps the state that would reference them;
    `commit` flips the state. Nothing a reader sees changes before `commit`.
    """

    def __init__(self, storage: Storage, lock: Path | None = None, lock_timeout: float = 0.0) -> None:
        self.storage = storage
        self._lock = lock
        self._lock_timeout = lock_timeout
        self._pending: LakeState | None = None
        self._state: LakeState | None = None
        self._manifest: tuple[str, pl.DataFrame] | None = None  # the last one read, by its file
        self._sizes: dict[str, int] = {}  # of the files this writer wrote
        # Model files that differ from what was committed (found by `recovered`): recomputed.
        self.stale_models: list[str] = []

    @contextlib.contextmanager
    def writing(self, run_id: str, start_over: bool = False) -> Iterator[BatchStaging]:
        """One write of the lake, start to end: the lock held, an interrupted commit finished (or,
        to start over, the run history salvaged and everything else retired), a killed run's
        staging gone; yields the run's staging folder for its batch tasks, which goes when the
        write ends."""
        if self._lock is None:
            raise ValueError("a lake write needs the lake's lock path")
        with lake_lock(self._lock, self._lock_timeout):
            if start_over:  # a repair: from the run history alone, whatever else is damaged
                self.storage.delete_tree(STAGING_DIR)
                self.started_over(self.salvaged_runs(), run_id)
            else:
                self.recovered()  # a killed run's commit finished, before its staging goes
                self.storage.delete_tree(STAGING_DIR)  # leftovers of a killed run
            try:
                yield BatchStaging(
                    absolute_location(self.storage.location),
                    staging_folder(run_id),
                    self.storage.storage_options,
                )
            finally:
                with contextlib.suppress(OSError):  # a full disk is no reason to keep what fills it
                    self.storage.delete_tree(STAGING_DIR)

    def staged_run(self, staging: BatchStaging) -> StagedRun:
        """What this write's batches staged, read back."""
        return StagedRun(self.storage, staging.folder)

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
        """The manifest of the state (read once: the plan and the merge both need it)."""
        rel = (state or self.state()).manifest
        if rel is None:
            return MANIFEST.empty_frame()
        if self._manifest is None or self._manifest[0] != rel:
            self._manifest = (rel, self._read(rel, MANIFEST))
        return self._manifest[1]

    def _write(self, frame: pl.DataFrame, table: Table, rel: str) -> None:
        """Write a new data file to the store; the tree links it only once the state is committed."""
        self._sizes[rel] = self.storage.write_parquet(frame, table, stored_file(rel))

    def _read(self, rel: str, table: Table, columns: list[str] | None = None) -> pl.DataFrame:
        try:
            if columns is not None:
                return self.storage.read_frame(stored_file(rel), columns)
            return self.storage.read_parquet(stored_file(rel), table)
        except (pl.exceptions.ComputeError, OSError) as exc:
            raise _damaged(self.storage, stored_file(rel), exc) from None

    def planned_merge(self, changes: RunChanges, options: LoadOptions) -> MergePlan:
        """Which rows enter the lake and which leave it (collisions resolved, mass deletions and
        too many bad files refused): what the learn stage learns from and the merge carries out."""
        state = self.state()
        if changes.processed.is_empty() and not changes.deleted and not options.full_refresh:
            return MergePlan(changes, LoadResult(), fresh=False, noop=True)  # the lake stays as it is
        processed, bad = changes.processed, changes.quarantine
        same_bytes = processed.filter(pl.col("same_bytes"))
        result = LoadResult(
            quarantine_by_reason=dict(bad.group_by("reason").len().sort("reason").iter_rows())
        )
        files_read = processed.height - same_bytes.height
        if files_read and bad.height / files_read > options.max_bad_ratio:
            # Record why, load nothing: the scheduler sees a failed run with its reasons.
            result.rejected = (
                f"{bad.height} of {files_read} files quarantined (above --max-bad-ratio {options.max_bad_ratio}): "
                + ", ".join(f"{k} {v}" for k, v in result.quarantine_by_reason.items())
                + "; nothing loaded"
            )
        # A rejected run, even a full refresh, keeps what is committed but the bad files' records.
        fresh = options.full_refresh and result.rejected is None
        plan = MergePlan(changes, result, fresh, run_id=options.run_id)
        plan.old_manifest = MANIFEST.empty_frame() if fresh else self.manifest(state)
        if result.rejected:
            # The bad files enter the manifest, so that their records go when they are fixed or removed.
            bad_paths = bad["source_path"].to_list()
            plan.processed = processed.filter(pl.col("source_path").is_in(bad_paths))
            plan.collisions = no_collisions(changes.article_keys)
            plan.gone = pl.Series("source_path", bad_paths, pl.String())
            return plan
        leaving = pl.concat(
            [
                processed.filter(~pl.col("same_bytes"))["source_path"],
                pl.Series("source_path", sorted(changes.deleted), pl.String()),
            ]
        ).unique()
        old_loaded = plan.old_manifest.filter(pl.col("status") == FileStatus.LOADED)
        self._refuse_mass_delete(old_loaded, set(changes.deleted), options)
        staying = old_loaded.filter(~pl.col("source_path").is_in(leaving.implode()))
        plan.collisions = collisions = resolved_collisions(changes.article_keys, staying)
        plan.old_loaded = old_loaded
        demoted = pl.Series("source_path", collisions.demoted, pl.String())
        plan.removed = old_loaded.filter(pl.col("source_path").is_in(pl.concat([leaving, demoted]).implode()))
        losers = pl.Series("source_path", list(collisions.losers), pl.String())
        plan.gone = pl.concat([leaving, losers]).unique()
        return plan

    def prepare(
        self, plan: MergePlan, learned: Learned | None, options: LoadOptions, now: dt.datetime
    ) -> LoadResult:
        """Write the new immutable files of a merge plan and of what the learn stage gives, and
        keep the state that references them (committed later)."""
        result = plan.result
        if plan.noop:
            self._pending = None
            return result
        state, fresh, changes = self.state(), plan.fresh, plan.changes
        old_quarantine = QUARANTINE.empty_frame() if fresh else self._dataset(state.quarantine, QUARANTINE)
        partitions = {} if fresh else dict(state.partitions)
        duplicates = QUARANTINE.empty_frame()
        collisions = plan.collisions
        assert collisions is not None, "a plan that is not a no-op has its collisions resolved"
        if plan.loads:
            if learned is None:
                raise ValueError("a merge that loads rows needs the learn stage's models")
            partitions = PartitionFiles(
                self._read, self._write, options.run_id, options.rows_per_file
            ).rewritten(
                partitions,
                pl.concat([plan.winners.select(STAGED_KEYS), learned.rederived]),
                pl.concat(
                    [
                        plan.removed,
                        plan.old_loaded.filter(
                            pl.col("source_path").is_in(learned.rederived["source_path"].implode())
                        ),
                    ]
                ),
                changes.parsed_rows,
                result,
                changes.regroup_rows,
            )
            duplicates = duplicate_records(collisions, plan.processed, plan.old_manifest, options.run_id, now)
            if duplicates.height:
                result.quarantine_by_reason[str(Reason.DUPLICATE_ARTICLE)] = duplicates.height
        bad = changes.quarantine
        result.quarantined = bad.height + duplicates.height
        quarantine = next_quarantine(old_quarantine, plan.gone, bad, duplicates)
        manifest = next_manifest(
            plan.old_manifest, plan.processed, collisions.winners, collisions, bad, options.run_id
        )

        pending = replace(state, partitions=dict(sorted(partitions.items())))
        if fresh:  # every row is now this parser's, made with these settings
            pending.parser_version = options.parser_version
            pending.row_settings = dict(options.row_settings)
        if learned is not None:
            pending.boilerplate = self._write_if_changed(
                learned.boilerplate, self._dataset(state.boilerplate, BOILERPLATE),
                None if fresh else state.boilerplate, BOILERPLATE, "boilerplate", options,
            )  # fmt: skip
            pending.line_counts = self._write_if_changed(
                learned.line_counts, learned.old_line_counts, None if fresh else state.line_counts, LINE_COUNTS,
                "_line_counts", options,
            )  # fmt: skip
            pending.line_sightings = dict(sorted(learned.line_sightings.items()))
            pending.story_signatures = self._write_if_changed(
                learned.story_signatures, learned.old_story_signatures, None if fresh else state.story_signatures,
                STORY_SIGNATURES, "_story_signatures", options,
            )  # fmt: skip
            pending.story_edges = self._write_if_changed(
                learned.story_edges, learned.old_story_edges, None if fresh else state.story_edges,
                STORY_EDGES, "_story_edges", options,
            )  # fmt: skip
            pending.name_counts = self._write_if_changed(
                learned.name_counts, learned.old_name_counts, None if fresh else state.name_counts,
                NAME_COUNTS, "_name_counts", options,
            )  # fmt: skip
        pending.quarantine = self._write_if_changed(
            quarantine, old_quarantine, None if fresh else state.quarantine, QUARANTINE, "quarantine", options
        )
        pending.manifest = self._write_if_changed(
            manifest, plan.old_manifest, None if fresh else state.manifest, MANIFEST, "_manifest", options
        )
        self._pending = pending
        return result

    @staticmethod
    def _refuse_mass_delete(old_loaded: pl.DataFrame, deleted: set[str], options: LoadOptions) -> None:
        """An unmounted or emptied source looks like a mass deletion: refuse it."""
        deleted_rows = old_loaded.filter(pl.col("source_path").is_in(list(deleted))).height
        if not options.allow_mass_delete and deleted_rows * 2 > old_loaded.height > 0:
            raise MassDeleteRefused(
                f"run would delete {deleted_rows} of {old_loaded.height} rows (source missing or emptied?);"
                " nothing changed; pass --allow-mass-delete to proceed"
            )

    def _write_if_changed(
        self, frame: pl.DataFrame, old: pl.DataFrame, old_rel: str | None, table: Table, dataset: str,
        options: LoadOptions,
    ) -> str:  # fmt: skip
        frame = table.conform(frame).sort(table.names)
        if old_rel is not None and frame.equals(table.conform(old).sort(table.names)):
            return old_rel
        rel = dataset_file(dataset, options.run_id)
        self._write(frame, table, rel)
        return rel

    def stored_model_part(
        self, frame: pl.DataFrame, table: Table, dataset: str, run_id: str, part: int
    ) -> str:
        """Write one file of a model kept in several (the learn stage writes them as it goes, to
        hold one at a time); it is the lake's once a committed state names it."""
        rel = dataset_file(dataset, run_id, part)
        self._write(table.conform(frame), table, rel)
        return rel

    def model_part(self, rel: str, table: Table) -> pl.DataFrame:
        """One file of a model kept in several, as the committed state names it."""
        return self._read(rel, table)

    def boilerplate_model(self) -> Model:
        """The lines each feed has learned, as the committed state records them."""
        return model_of_boilerplate(self._dataset(self.state().boilerplate, BOILERPLATE))

    def dataset(self, name: str) -> pl.DataFrame:
        """A model dataset of the committed state (boilerplate, line_counts, story_*, name_counts),
        empty if none."""
        table = {
            "boilerplate": BOILERPLATE,
            "line_counts": LINE_COUNTS,
            "story_signatures": STORY_SIGNATURES,
            "story_edges": STORY_EDGES,
            "name_counts": NAME_COUNTS,
        }[name]
        return self._dataset(getattr(self.state(), name), table)

    def rows(self, rel: str, columns: list[str] | None = None) -> pl.DataFrame:
        """The rows of one of the committed state's partition files (some columns, or all)."""
        return self._read(rel, ARTICLES, columns)

    def has_pending_changes(self) -> bool:
        """Whether the prepared state changes what readers see (articles or quarantine)."""
        pending, current = self._pending, self.state()
        return pending is not None and (
            pending.partitions != current.partitions
            or pending.quarantine != current.quarantine
            or pending.boilerplate != current.boilerplate
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
        known = {**previous.sizes, **self._sizes}
        state.sizes = {f: known[f] for f in sorted(referenced) if f in known}
        # Until the state is replaced, every file the committed one names must stay.
        self._deleted_from_store(
            referenced | set(state.retired) | previous.referenced() | set(previous.retired)
        )
        self._committed(state)
        self._pending = None
        self._synced_tree(state)
        self._deleted_from_store(referenced | set(state.retired))
        return state

    def publish(self, state: LakeState, catalog: Path) -> None:
        """Swap the DuckDB catalog at `catalog` for one over the committed state (after commit:
        a reader of the old catalog keeps reading the files it named, retired, not deleted)."""
        from warehouse.catalog import publish_catalog  # duckdb: imported when a run gets here

        publish_catalog(self.storage, state, catalog)

    def _deleted_from_store(self, keep: set[str]) -> None:
        self.storage.delete_except((STORE_DIR,), {stored_file(rel) for rel in keep})

    def _synced_tree(self, state: LakeState) -> None:
        """Make the tree hold a link to each file of the state (at layout.tree_file) and nothing else.

        New links go in before old ones go out: at the instant of a commit a reader of the tree
        may see both versions of a partition, never neither. Idempotent: a run that died here is
        finished by the next one.
        """
        current = state.referenced()
        flat = keys_in_files(state.parser_version)  # an older lake's tree stays Hive until rebuilt
        for rel in sorted(current):
            tree = tree_file(rel, flat)
            if rel.startswith(tuple(f"{d}/" for d in TREE_DIRS)) and not self.storage.exists(tree):
                self.storage.link(stored_file(rel), tree)
        self.storage.delete_except(TREE_DIRS, {tree_file(rel, flat) for rel in current})
        self.storage.delete_except(("_manifest",), set())  # a lake from before the store kept it here

    def checked(self, state: LakeState) -> LakeState:
        """The state, once every file it names is there, is whole Parquet and has the size it was
        written with (locally: two small reads a file; on object storage a damaged file is named
        when it is read). A model file that differs is listed in stale_models, to be recomputed
        from the rows; any other file that differs is damage."""
        self.stale_models = []
        if self.storage.remote:
            return state
        models = state.models()
        for rel in sorted(state.referenced()):
            size = self.storage.parquet_size(stored_file(rel))
            if size is None:
                raise LakeDamaged(
                    f"{self.storage.uri(stored_file(rel))} is missing or not a whole Parquet file: "
                    + REPAIR_HINT
                )
            committed = state.sizes.get(rel, size)
            if size == committed:
                continue
            if rel in models:
                self.stale_models.append(rel)
                continue
            raise LakeDamaged(
                f"{self.storage.uri(stored_file(rel))} has changed since it was committed "
                f"({size} bytes, {committed} when written): {REPAIR_HINT}"
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

    def started_over(self, runs: pl.DataFrame, run_id: str) -> LakeState:
        """The state a rebuild starts from, not committed: only the run history. The committed
        state's files are retired in it, so they stay until the rebuild commits (and for the grace
        period after): killed at any moment, the lake holds its old rows or its new ones."""
        try:
            committed = self.state(reread=True)
            old, version = committed.referenced() | set(committed.retired), committed.version
        except LakeDamaged:
            old, version = set(), 0
        rel = dataset_file("runs", f"{run_id}-salvaged")
        self._write(runs, RUNS, rel)
        now = time.time()
        self._state = LakeState(version=version, runs=rel, retired=dict.fromkeys(sorted(old), now))
        return self._state

    def recovered(self) -> LakeState:
        """The committed state, its tree synced and a killed run's files gone: before a run."""
        if self.storage.read_bytes_if_exists(STATE_FILE) is None and self.storage.files_under(STORE_DIR):
            raise LakeDamaged(
                f"{self.storage.uri(STATE_FILE)} is missing but the lake holds data files: "
                + REPAIR_HINT
                + " (the run history is kept)"
            )
        state = self.checked(self.state())
        for rel in sorted(state.referenced()):  # a lake written before the store: its files move in
            if not self.storage.exists(stored_file(rel)) and self.storage.exists(rel):
                self.storage.link(rel, stored_file(rel))
        self._synced_tree(state)
        self._deleted_from_store(state.referenced() | set(state.retired))
        return state
