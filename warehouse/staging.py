"""A run's staging folder: what its batches parsed, written by the batch tasks and read back by
the learn stage and the merge. The only code that knows the folder's layout.

LAKE/_staging/<run>/articles/<partition>/<batch>.arrow   parsed rows, one file per batch and partition
LAKE/_staging/<run>/quarantine/<batch>.arrow             files that could not become rows
LAKE/_staging/<run>/processed/<batch>.arrow              every file read (PROCESSED_SCHEMA)
LAKE/_staging/<run>/lines/<batch>.arrow                  the parsed rows' lines (ARTICLE_LINES_SCHEMA)
LAKE/_staging/<run>/signatures/<batch>.arrow             the parsed rows' story signatures (STAGED_SIGNATURES)
LAKE/_staging/<run>/articles/<partition>/relearned-<n>.arrow  rows re-derived by the merge; they
                                                         take the place of their batch's rows
LAKE/_staging/<run>/grouped/<partition>/<group>-<n>.arrow  a partition's rows regrouped by the
                                                         file the merge writes them to
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.schema import ARTICLE_LINES_SCHEMA, ARTICLES, QUARANTINE
from warehouse.layout import STAGING_DIR, checked_run_id, partition_name_expr
from warehouse.storage import Storage
from warehouse.tables import ARTICLE_KEYS, ARTICLE_ORDER, PROCESSED_SCHEMA, STAGED_SIGNATURES

STAGED_KEYS = list(dict.fromkeys([*ARTICLE_KEYS, *ARTICLE_ORDER]))  # what the merge plans with

# body_text is its paragraphs joined by newlines (the contract): staged once, as paragraphs, and
# joined again when read (staged twice, the text was 45% of staging: 11 GB for a million articles)
_JOINED = {"body_text": pl.col("paragraphs").list.join("\n")}


def _staged_form(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.drop(*_JOINED, strict=False)


def _read_form(frame: pl.DataFrame, columns: list[str] | None = None) -> pl.DataFrame:
    """Staged rows as parsed: the joined columns back, in the order asked for (by default every
    column, in ARTICLES' order)."""
    if columns is None:
        columns = [name for name in ARTICLES.names if name in frame.columns or name in _JOINED]
        columns += [name for name in frame.columns if name not in columns]
    wanted = {name: expr for name, expr in _JOINED.items() if name in columns}
    return frame.with_columns(**wanted).select(columns) if wanted else frame


def _stored_columns(columns: list[str]) -> list[str]:
    """What to read from staging for these columns (paragraphs for body_text)."""
    needs = [name for name in columns if name not in _JOINED]
    if len(needs) < len(columns):
        needs += [name for name in ("paragraphs",) if name not in needs]
    return needs


def staging_folder(run_id: str) -> str:
    return f"{STAGING_DIR}/{checked_run_id(run_id)}"


@dataclass(frozen=True)
class BatchStaging:
    """A run's staging folder as the lake writer hands it out (LakeWriter.writing) to the batch
    tasks: the one thing a task writes in a lake. Picklable (a pool process or a Dask worker gets
    a copy); each task opens the lake's storage itself."""

    lake: str  # the lake's location (absolute path or URL)
    folder: str  # relative to the lake root
    storage_options: dict[str, Any] = field(default_factory=dict)

    def staged_batch(
        self,
        index: int,
        articles: pl.DataFrame,
        quarantine: pl.DataFrame,
        processed: pl.DataFrame,
        lines: pl.DataFrame,
        signatures: pl.DataFrame,
    ) -> None:
        """Write one batch's frames: its rows split by partition, so the merge reads one at a time."""
        storage, folder = Storage(self.lake, self.storage_options), self.folder
        name = f"{index:06d}.arrow"
        by_partition = articles.with_columns(_p=partition_name_expr()).partition_by(
            "_p", as_dict=True, include_key=False
        )
        for (partition,), rows in by_partition.items():
            storage.write_staged(_staged_form(rows), f"{folder}/articles/{partition}/{name}")
        storage.write_staged(quarantine, f"{folder}/quarantine/{name}")
        storage.write_staged(processed, f"{folder}/processed/{name}")
        storage.write_staged(lines, f"{folder}/lines/{name}")
        storage.write_staged(signatures, f"{folder}/signatures/{name}")


@dataclass
class StagedRun:
    """What a run's batches staged, read back: small frames whole, parsed rows on demand."""

    storage: Storage
    folder: str

    def __post_init__(self) -> None:
        self._files: dict[str, list[str]] = {}
        self._articles: dict[str, list[str]] = {}
        # partition -> (source path -> its group, each group's files): see regrouped
        self._groups: dict[str, tuple[dict[str, int], list[list[str]]]] = {}
        self._holders: dict[str, pl.DataFrame] = {}  # partition -> (source_path, file) of its rows
        self._relearned: dict[str, pl.Series] = {}  # a re-derived rows' file -> its source paths
        prefix = f"{self.folder}/"
        for rel in self.storage.files_under(self.folder):
            kind, _, rest = rel.removeprefix(prefix).partition("/")
            if kind == "articles":
                partition, _, _name = rest.partition("/")
                self._articles.setdefault(partition, []).append(rel)
            else:
                self._files.setdefault(kind, []).append(rel)

    def _read(self, kind: str, empty: pl.DataFrame) -> pl.DataFrame:
        files = self._files.get(kind)
        return self.storage.read_staged(files) if files else empty

    def quarantine(self) -> pl.DataFrame:
        return self._read("quarantine", QUARANTINE.empty_frame())

    def processed(self) -> pl.DataFrame:
        return self._read("processed", pl.DataFrame(schema=PROCESSED_SCHEMA))

    def signatures(self) -> pl.DataFrame:
        """The parsed rows' story signatures (source_path and STORY_SIGNATURES' columns)."""
        return self._read("signatures", pl.DataFrame(schema=STAGED_SIGNATURES))

    def lines(self) -> pl.LazyFrame:
        """The parsed rows' lines, scanned: a clean build stages millions (read as they are used)."""
        files = self._files.get("lines")
        if not files:
            return pl.LazyFrame(schema=ARTICLE_LINES_SCHEMA)
        if self.storage.remote:
            return self.storage.read_staged(files).lazy()
        return pl.scan_ipc([self.storage.path(rel) for rel in files], hive_partitioning=False, glob=False)

    def staged_relearned(self, rows: pl.DataFrame) -> None:
        """Stage rows the merge re-derived: they take the place of any staged row of their file."""
        by_partition = rows.with_columns(_p=partition_name_expr()).partition_by(
            "_p", as_dict=True, include_key=False
        )
        for (partition,), part in by_partition.items():
            files = self._articles.setdefault(str(partition), [])
            self._groups.pop(str(partition), None)  # its groups lack these rows
            rel = f"{self.folder}/articles/{partition}/relearned-{len(files):06d}.arrow"
            self.storage.write_staged(_staged_form(part), rel)
            files.append(rel)  # last: its rows win
            self._relearned[rel] = part["source_path"]

    def relearned_paths(self) -> pl.Series:
        """Source paths of every row staged again since the batches (staged_relearned)."""
        return pl.concat([pl.Series("source_path", [], pl.String()), *self._relearned.values()]).unique()

    def article_keys(self) -> pl.DataFrame:
        """STAGED_KEYS of every parsed row."""
        files = [f for partition in sorted(self._articles) for f in self._articles[partition]]
        if not files:
            return ARTICLES.empty_frame().select(STAGED_KEYS)
        return self.storage.read_staged(files, STAGED_KEYS)

    def article_columns(
        self, columns: list[str], files_at_once: int = 1
    ) -> Iterator[tuple[str, pl.DataFrame]]:
        """Some columns of the staged rows, files_at_once staged files of a partition at a time,
        with their partition (a file re-derived rows were staged to comes too: a row may come
        twice)."""
        for partition in sorted(self._articles):
            files = list(self._articles[partition])
            for start in range(0, len(files), files_at_once):
                frame = self.storage.read_staged(
                    files[start : start + files_at_once], _stored_columns(columns)
                )
                yield partition, _read_form(frame, columns)

    def articles(self, partition: str, paths: list[str]) -> pl.DataFrame:
        """The parsed rows of the given source paths in one partition (only those are held)."""
        files = self._articles.get(partition)
        if not files or not paths:
            return ARTICLES.empty_frame()
        if partition in self._groups:
            group_of, grouped = self._groups[partition]
            groups = sorted({group_of[p] for p in paths if p in group_of})
            files = [rel for g in groups for rel in grouped[g]]
            if not files:
                return ARTICLES.empty_frame()
        else:
            files = self._holding(partition, files, paths)
        if not files:
            return ARTICLES.empty_frame()
        rows = _read_form(self.storage.read_staged_rows(files, paths))
        if not rows["source_path"].is_duplicated().any():
            return rows
        return rows.unique("source_path", keep="last", maintain_order=True)

    def _holding(self, partition: str, files: list[str], paths: list[str]) -> list[str]:
        """Of a partition's staged files, in staging order, those holding rows of paths. Without
        it each call read every staged file of the partition (the learn stage calls it a file's
        worth of rows at a time: 20 calls read a 600-article run's staging 20 times over)."""
        if partition not in self._holders:  # one scan of a column; files staged later are known
            self._holders[partition] = self.storage.read_staged(files, ["source_path"], file_column="file")
        wanted = pl.Series(paths, dtype=pl.String()).implode()
        holding = set(self._holders[partition].filter(pl.col("source_path").is_in(wanted))["file"].to_list())
        return [
            rel
            for rel in files
            if rel in holding or (rel in self._relearned and bool(self._relearned[rel].is_in(wanted).any()))
        ]

    def regrouped(
        self,
        partition: str,
        groups: list[list[str]],
        flush_bytes: int = 16 << 20,
        held_bytes: int = 256 << 20,
    ) -> None:
        """Stage a partition's rows again, by group of source paths (the rows of each file the
        merge writes), reading each staged file once; `articles` then reads a group's own files.
        Without it every file the merge writes reads every staged file of its partition: a clean
        build of a million articles stages 2,000 small files a partition, read 8 times over.
        Held at once: under flush_bytes a group and held_bytes in all (a partition of a million
        articles has 67 groups: held up to 16 MB each, the merge of that build reached 3.7 GB).
        The partition's staged files are deleted as they are read; its rows outside every group
        (none of the merge's) are gone with them."""
        files = self._articles.get(partition)
        if not files or len(groups) < 2:
            return
        group_of = {path: g for g, paths in enumerate(groups) for path in paths}
        targets = pl.DataFrame(
            {"source_path": list(group_of), "_group": list(group_of.values())},
            schema={"source_path": pl.String(), "_group": pl.Int64()},
        )
        held: list[list[pl.DataFrame]] = [[] for _ in groups]
        sizes = [0] * len(groups)
        grouped: list[list[str]] = [[] for _ in groups]

        def flush(group: int) -> None:
            rel = f"{self.folder}/grouped/{partition}/{group:04d}-{len(grouped[group]):06d}.arrow"
            self.storage.write_staged(pl.concat(held[group]), rel)
            grouped[group].append(rel)
            held[group], sizes[group] = [], 0

        for rel in files:  # in staging order: a later copy of a row still wins
            rows = self.storage.read_staged([rel]).join(targets, on="source_path")
            for (group,), part in rows.partition_by("_group", as_dict=True, include_key=False).items():
                at = int(group)
                held[at].append(part)
                sizes[at] += int(part.estimated_size())
                if sizes[at] >= flush_bytes:
                    flush(at)
            if sum(sizes) >= held_bytes:
                for at in range(len(groups)):
                    if held[at]:
                        flush(at)
            # Read once, then gone: kept, the partition's staging was on disk twice (a clean build of
            # a million articles ran out of disk in the merge with 17 GB free).
            self.storage.delete_file(rel)
        for group in range(len(groups)):
            if held[group]:
                flush(group)
        self._groups[partition] = (group_of, grouped)
        self._articles[partition] = [rel for files_of_group in grouped for rel in files_of_group]
        self._holders.pop(partition, None)
