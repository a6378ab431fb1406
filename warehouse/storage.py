"""File operations on the lake root: atomic writes of immutable files, listing, clean-up."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Final

import polars as pl

from transforms.schema import Table

PARQUET_COMPRESSION: Final = "zstd"
PARQUET_LEVEL = 6
ROW_GROUP_ROWS = 50_000


class Storage:
    """A local lake root. Every write goes to a temporary name, is fsynced, then renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path(self, rel: str) -> Path:
        target = (self.root / rel).resolve()
        if target != self.root and self.root not in target.parents:
            raise ValueError(f"{rel!r} escapes the lake root")
        return target

    def uri(self, rel: str) -> str:
        """Absolute location of a file, as DuckDB and BI tools will open it."""
        return self.path(rel).as_posix()

    def exists(self, rel: str) -> bool:
        return self.path(rel).exists()

    def read_bytes_if_exists(self, rel: str) -> bytes | None:
        try:
            return self.path(rel).read_bytes()
        except FileNotFoundError:
            return None

    def _fsync_dir(self, folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_bytes_atomic(self, rel: str, data: bytes) -> None:
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        self._fsync_dir(target.parent)

    def write_parquet(self, frame: pl.DataFrame, table: Table, rel: str) -> None:
        """Write a frame with the table's file schema (partition keys stay in the path)."""
        target = self.path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        frame.select(table.file_schema.names()).cast(table.file_schema).write_parquet(
            tmp,
            compression=PARQUET_COMPRESSION,
            compression_level=PARQUET_LEVEL,
            statistics=True,
            row_group_size=ROW_GROUP_ROWS,
        )
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        self._fsync_dir(target.parent)

    def read_parquet(self, rel: str, table: Table) -> pl.DataFrame:
        return pl.read_parquet(self.path(rel)).select(table.file_schema.names())

    def delete_except(self, folders: tuple[str, ...], keep: set[str]) -> int:
        """Delete every file under folders that is not in keep; remove emptied folders."""
        removed = 0
        for folder in folders:
            base = self.path(folder)
            if not base.exists():
                continue
            for file in sorted(p for p in base.rglob("*") if p.is_file()):
                if file.relative_to(self.root).as_posix() not in keep:
                    file.unlink(missing_ok=True)
                    removed += 1
            for sub in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()  # only succeeds when empty
        return removed
