"""File operations on the lake root: atomic writes of immutable files, listing, clean-up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl

from transforms.schema import Table

PARQUET_COMPRESSION = "zstd"
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
        frame.select(table.file_schema.names()).cast(dict(table.file_schema)).write_parquet(
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

    def delete_unreferenced(self, folders: tuple[str, ...], keep: set[str], older_than_s: float) -> int:
        """Delete data files no state references, once older than the readers' grace period."""
        cutoff = time.time() - older_than_s
        removed = 0
        for folder in folders:
            base = self.path(folder)
            if not base.exists():
                continue
            for file in sorted(base.rglob("*")):
                if not file.is_file():
                    continue
                rel = file.relative_to(self.root).as_posix()
                if rel in keep:
                    continue
                try:
                    if file.stat().st_mtime < cutoff:
                        file.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
            for sub in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
                try:
                    sub.rmdir()  # only succeeds when empty
                except OSError:
                    pass
        return removed
