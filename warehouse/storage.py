"""File operations on the lake root, local or object storage (fsspec): immutable files, atomic commits.

Locally a write goes to a temporary name, is fsynced and renamed. Object stores have no rename,
but a single PUT is atomic: every data file gets a new, unique name, so it is never visible half
written to anyone who finds it through the state; the state object itself is replaced by one PUT.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import polars as pl

from transforms.schema import Table

PARQUET_COMPRESSION: Final = "zstd"
PARQUET_LEVEL = 3  # zstd's default: level 6 wrote 4% smaller files in twice the time
ROW_GROUP_ROWS = 50_000


def _compacted(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in buffers of its own. A filtered string column still points into the buffers
    of the whole file it came from: a file's worth of rows taken from every staged file of a
    partition kept all of them in memory (1.4 GB at 200,000 articles)."""
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="uncompressed")
    buffer.seek(0)
    return pl.read_ipc(buffer)


def is_remote(location: str | os.PathLike[str]) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def absolute_location(location: str | os.PathLike[str]) -> str:
    """A local path made absolute (a scheduled or remote worker runs elsewhere); URLs as they are."""
    return str(location) if is_remote(location) else Path(location).resolve().as_posix()


class Storage:
    """A lake root: a local folder or an fsspec URL such as s3://bucket/prefix."""

    def __init__(self, root: str | os.PathLike[str], storage_options: dict[str, Any] | None = None) -> None:
        self.location = str(root)
        self.storage_options = storage_options or {}
        self.remote = is_remote(self.location)
        if self.remote:
            self.protocol = self.location.split("://", 1)[0]
            self.base = self.fs._strip_protocol(self.location).rstrip("/")
        else:
            self.protocol = "file"
            self.base = Path(self.location).resolve().as_posix()
            Path(self.base).mkdir(parents=True, exist_ok=True)

    @cached_property
    def fs(self) -> Any:
        """The fsspec filesystem; imported when first needed (a local lake's own operations use os)."""
        import fsspec

        if not self.remote:
            from fsspec.implementations.local import LocalFileSystem

            return LocalFileSystem()
        fs, _ = fsspec.core.url_to_fs(self.location, **self.storage_options)
        return fs

    @property
    def root(self) -> str:
        return self.uri("")

    def path(self, rel: str) -> str:
        """Filesystem path of rel under the root; rel may never climb out of it."""
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ValueError(f"{rel!r} escapes the lake root")
        return "/".join([self.base, *parts]) if parts else self.base

    def uri(self, rel: str) -> str:
        """Absolute location of a file, as DuckDB and BI tools will open it."""
        path = self.path(rel)
        return f"{self.protocol}://{path}" if self.remote else path

    def read_bytes_if_exists(self, rel: str) -> bytes | None:
        try:
            if not self.remote:
                return Path(self.path(rel)).read_bytes()
            return bytes(self.fs.cat_file(self.path(rel)))
        except FileNotFoundError:
            return None

    def _fsync_dir(self, folder: str) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_bytes_atomic(self, rel: str, data: bytes) -> None:
        target = self.path(rel)
        if self.remote:
            self.fs.pipe_file(target, data)
            return
        folder, name = target.rsplit("/", 1)
        os.makedirs(folder, exist_ok=True)
        tmp = f"{folder}/.{name}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:  # a full disk, an interruption: no half-written file stays behind
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._fsync_dir(folder)

    def looks_like_parquet(self, rel: str) -> bool:
        return self.parquet_size(rel) is not None

    def parquet_size(self, rel: str) -> int | None:
        """rel's size if it is there and starts and ends with Parquet's magic bytes (a truncated or
        overwritten file fails this before any reader does), else None. Costs two small reads."""
        path = self.path(rel)
        try:
            if self.remote:
                size = int(self.fs.size(path))
                head = self.fs.cat_file(path, start=0, end=4) if size >= 12 else b""
                tail = self.fs.cat_file(path, start=size - 4, end=size) if size >= 12 else b""
            else:
                with open(path, "rb") as handle:
                    head = handle.read(4)
                    size = os.fstat(handle.fileno()).st_size
                    handle.seek(max(size - 4, 0))
                    tail = handle.read(4)
        except FileNotFoundError:
            return None
        return size if size >= 12 and head == b"PAR1" and tail == b"PAR1" else None

    def exists(self, rel: str) -> bool:
        if not self.remote:
            return os.path.lexists(self.path(rel))
        return bool(self.fs.exists(self.path(rel)))

    def link(self, src: str, dst: str) -> None:
        """Make dst show src's file: a hard link locally (no copy; a reader that opened either name
        keeps reading after the other goes), a server-side copy on object storage."""
        source, target = self.path(src), self.path(dst)
        if self.remote:
            self.fs.copy(source, target)
            return
        folder = target.rsplit("/", 1)[0]
        os.makedirs(folder, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # a name is only ever given to one file
            os.link(source, target)

    def delete_file(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.remote:
                self.fs.rm_file(self.path(rel))
            else:
                os.unlink(self.path(rel))

    def write_frame(self, frame: pl.DataFrame, rel: str) -> int:
        """Write frame as Parquet at rel, atomically; its size in bytes."""
        buffer = io.BytesIO()
        frame.write_parquet(
            buffer,
            compression=PARQUET_COMPRESSION,
            compression_level=PARQUET_LEVEL,
            statistics=True,
            row_group_size=ROW_GROUP_ROWS,
        )
        self.write_bytes_atomic(rel, buffer.getvalue())
        return buffer.tell()

    def write_parquet(self, frame: pl.DataFrame, table: Table, rel: str) -> int:
        """Write a frame with the table's file schema (partition keys too); its size."""
        return self.write_frame(frame.select(table.file_schema.names()).cast(table.file_schema), rel)

    def read_frame(self, rel: str, columns: list[str] | None = None) -> pl.DataFrame:
        if self.remote:
            return pl.read_parquet(io.BytesIO(self.fs.cat_file(self.path(rel))), columns=columns)
        return pl.read_parquet(self.path(rel), columns=columns)

    def write_staged(self, frame: pl.DataFrame, rel: str) -> None:
        """A run's intermediate file: Arrow IPC, written plainly.

        Only the run that writes it reads it, and a run killed midway starts over, so it needs
        neither Parquet's encoding nor an fsync (either costs more than the write itself).
        """
        target = self.path(rel)
        if self.remote:
            buffer = io.BytesIO()
            frame.write_ipc(buffer, compression="lz4")  # it crosses the network twice
            self.fs.pipe_file(target, buffer.getvalue())
            return
        os.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        frame.write_ipc(target, compression="uncompressed")

    def read_staged(
        self, rels: list[str], columns: list[str] | None = None, file_column: str | None = None
    ) -> pl.DataFrame:
        """Staged files of one schema as one frame (local ones in one parallel scan); file_column:
        a column naming the file each row came from (its path relative to the root)."""
        if self.remote:
            frames = []
            for rel in rels:
                frame = pl.read_ipc(io.BytesIO(self.fs.cat_file(self.path(rel))), columns=columns)
                frames.append(frame.with_columns(pl.lit(rel).alias(file_column)) if file_column else frame)
            return pl.concat(frames)
        paths = {self.path(rel): rel for rel in rels}
        scan = pl.scan_ipc(list(paths), hive_partitioning=False, glob=False, include_file_paths=file_column)
        frame = scan.select(
            [*columns, file_column] if columns and file_column else columns or pl.all()
        ).collect()
        if file_column:
            frame = frame.with_columns(pl.col(file_column).replace_strict(paths, return_dtype=pl.String()))
        return frame

    def read_staged_rows(self, rels: list[str], source_paths: list[str]) -> pl.DataFrame:
        """The rows of the given source paths from staged files, one file at a time: what is held
        is one file and the rows asked for. (A scan memory-maps every file and keeps the pages it
        touched resident until it ends: a whole partition's staging, counted in the run's RSS.)"""
        wanted = pl.col("source_path").is_in(pl.Series(source_paths, dtype=pl.String()).implode())
        parts = []
        for rel in rels:
            data = self.fs.cat_file(self.path(rel)) if self.remote else Path(self.path(rel)).read_bytes()
            rows = pl.read_ipc(io.BytesIO(data))
            del data
            kept = rows.filter(wanted)
            # Every row kept (a file the merge regrouped holds only its own): the buffers are the
            # rows', no copy to make.
            parts.append(kept if kept.height == rows.height else _compacted(kept))
            del rows
        return pl.concat(parts)

    def read_parquet(self, rel: str, table: Table) -> pl.DataFrame:
        """A data file's columns of the table (files of parser 1.4.0 and older hold no partition keys)."""
        frame = self.read_frame(rel)
        return frame.select([name for name in table.file_schema.names() if name in frame.columns])

    def files_under(self, folder: str) -> list[str]:
        """Paths of the files under folder, relative to the root, sorted."""
        base = self.path(folder)
        prefix = self.base + "/"
        if not self.remote:
            found = [f"{top}/{name}" for top, _dirs, names in os.walk(base) for name in names]
            return sorted(f[len(prefix) :] for f in found)
        try:
            found = self.fs.find(base)
        except FileNotFoundError:
            return []
        return sorted(f[len(prefix) :] if f.startswith(prefix) else f for f in found)

    def delete_tree(self, folder: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.remote:
                self.fs.rm(self.path(folder), recursive=True)
            else:
                shutil.rmtree(self.path(folder))

    def delete_except(self, folders: tuple[str, ...], keep: set[str]) -> int:
        """Delete every file under folders that is not in keep; remove emptied local folders."""
        removed = 0
        for folder in folders:
            for rel in self.files_under(folder):
                if rel not in keep:
                    self.delete_file(rel)
                    removed += 1
            if not self.remote:
                base = Path(self.path(folder))
                for sub in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
                    with contextlib.suppress(OSError):
                        sub.rmdir()  # only succeeds when empty
        return removed
