"""A partition's files rewritten after a run: only the files whose rows change, each built from
at most one old file and the run's parsed rows of its range (the plan is warehouse.merge's)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from transforms.schema import ARTICLES, Table
from warehouse.layout import partition_file, partition_key, partition_name_expr
from warehouse.merge import SORT_KEY, NewFile, next_partition_files
from warehouse.validation import unique_articles

if TYPE_CHECKING:
    from warehouse.load import LoadResult


@dataclass(frozen=True)
class PartitionFiles:
    """Reads and writes data files through the lake writer (which records what it wrote)."""

    read: Callable[..., pl.DataFrame]  # (rel, table, columns=None) -> rows of a stored file
    write: Callable[[pl.DataFrame, Table, str], None]  # (rows, table, rel): a new stored file
    run_id: str
    rows_per_file: int

    def _partition_keys(self, files: list[str]) -> pl.DataFrame:
        """The sort keys of a partition's rows and the file of each (a few columns read)."""
        frames = [self.read(rel, ARTICLES, SORT_KEY).with_columns(file=pl.lit(rel)) for rel in files]
        if not frames:
            return ARTICLES.empty_frame().select(SORT_KEY).with_columns(file=pl.lit(None, pl.String()))
        return pl.concat(frames)

    def rewritten(
        self, partitions: dict[str, list[str]], winners: pl.DataFrame, removed: pl.DataFrame,
        parsed_rows: Callable[[str, list[str]], pl.DataFrame], result: LoadResult,
        regroup: Callable[[str, list[list[str]]], None] | None = None,
    ) -> dict[str, list[str]]:  # fmt: skip
        """The partitions' files after the run: in each partition that loses or gains rows, only
        the files whose rows change are rewritten (warehouse.merge.next_partition_files), each
        new file from at most one old file and the run's parsed rows of its range.

        Two files are built at a time: while one is read and sorted, the other is compressed and
        written (Polars does both outside the GIL). New rows were validated against the contract
        when they were parsed; here each file must hold one row per article_id (a violation
        raises, and the prepared files are never committed). regroup, when given, is told each
        partition's groups of parsed rows (one a file) before the files are built, so that each
        file reads its own rows, not all of its partition's.
        """
        incoming = {
            str(key[0]): rows
            for key, rows in winners.with_columns(_p=partition_name_expr())
            .partition_by("_p", as_dict=True)
            .items()
        }
        leaving: dict[str, set[str]] = {}
        for path, name in removed.select("source_path", partition_name_expr()).iter_rows():
            leaving.setdefault(name, set()).add(path)
        partitions = dict(partitions)
        to_write: list[tuple[str, str, NewFile]] = []
        for name in sorted(set(incoming) | set(leaving)):
            files = partitions.get(name, [])
            existing = self._partition_keys(files)
            gone = leaving.get(name, set())
            new_rows = incoming.get(name, winners.clear())
            layout = next_partition_files(
                files, existing, gone, new_rows.select(SORT_KEY), self.rows_per_file
            )
            result.rows_deleted += existing.filter(pl.col("source_path").is_in(list(gone))).height
            result.rows_written += new_rows.height
            names = []
            for entry in layout:
                if isinstance(entry, str):
                    names.append(entry)
                    continue
                rel = partition_file(name, self.run_id, len(to_write))
                to_write.append((name, rel, entry))
                names.append(rel)
            if names != files:
                result.partitions_rewritten.append(name)
            if names:
                partitions[name] = names
            else:
                partitions.pop(name, None)
        if regroup is not None:
            groups: dict[str, list[list[str]]] = {}
            for name, _rel, entry in to_write:
                groups.setdefault(name, []).append(entry.paths_from(None))
            for name, paths in groups.items():
                regroup(name, paths)
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="partition-file") as pool:
            list(pool.map(lambda job: self._written_file(job[0], job[1], job[2], parsed_rows), to_write))
        result.files_written = len(to_write)
        return partitions

    def _written_file(
        self, partition: str, rel: str, new: NewFile, parsed_rows: Callable[[str, list[str]], pl.DataFrame]
    ) -> None:
        year, month = partition_key(partition)
        keys = {"year": pl.lit(year, pl.Int32()), "month": pl.lit(month, pl.Int32())}
        parts = [
            ARTICLES.conform(
                self.read(origin, ARTICLES)
                .filter(pl.col("source_path").is_in(new.paths_from(origin)))
                .with_columns(**keys)
            )
            for origin in new.origins()
        ]
        parsed = new.paths_from(None)
        if parsed:
            parts.append(ARTICLES.conform(parsed_rows(partition, parsed)))
        rows = unique_articles(pl.concat(parts)).sort(SORT_KEY, nulls_last=True)
        if rows.height != new.rows.height:
            raise RuntimeError(f"{rel}: {rows.height} rows found of {new.rows.height} planned")
        self.write(rows, ARTICLES, rel)
