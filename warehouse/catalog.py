"""The DuckDB catalog: a file of views over the lake's current Parquet files, nothing else.

It is rebuilt into a new file and renamed over the old one, so a BI tool that opens it
read-only sees either the previous or the new catalog, never a half-built one.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl
from polars._typing import PolarsDataType

from transforms.schema import ARTICLES, QUARANTINE, Table
from warehouse.layout import UNDATED, stored_file
from warehouse.state import LakeState
from warehouse.storage import Storage
from warehouse.tables import BOILERPLATE, RUNS

STORAGE_COMPATIBILITY = "v1.0.0"

_DUCKDB_TYPES: dict[PolarsDataType, str] = {
    pl.String: "VARCHAR",
    pl.Boolean: "BOOLEAN",
    pl.Int32: "INTEGER",
    pl.Int64: "BIGINT",
    pl.Float64: "DOUBLE",
    pl.Date: "DATE",
}


def duckdb_type(dtype: PolarsDataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP WITH TIME ZONE" if dtype.time_zone else "TIMESTAMP"
    if isinstance(dtype, pl.List):
        return duckdb_type(dtype.inner) + "[]"
    if isinstance(dtype, pl.Struct):
        return "STRUCT(" + ", ".join(f"{f.name} {duckdb_type(f.dtype)}" for f in dtype.fields) + ")"
    if dtype == pl.Binary:
        return "BLOB"
    return _DUCKDB_TYPES[dtype.base_type()]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _select_list(table: Table) -> str:
    """The table's columns; partition keys come from the folder names as text, the undated
    folder mapped to NULL (DuckDB before 1.5 fails to cast __HIVE_DEFAULT_PARTITION__ to INTEGER,
    and some of its streaming readers then drop rows without an error)."""
    keys = set(table.partition_keys)
    return ", ".join(
        f'CAST(NULLIF("{c.name}", {_quoted(UNDATED)}) AS {duckdb_type(c.dtype)}) AS "{c.name}"'
        if c.name in keys
        else f'"{c.name}"'
        for c in table.columns
    )


def _empty_select(table: Table) -> str:
    cols = ", ".join(f'CAST(NULL AS {duckdb_type(c.dtype)}) AS "{c.name}"' for c in table.columns)
    return f"SELECT {cols} WHERE false"


def _parquet_select(table: Table, uris: list[str]) -> str:
    if not uris:
        return _empty_select(table)
    files = "[" + ", ".join(_quoted(u) for u in uris) + "]"
    if table.partition_keys:
        types = ", ".join(f"'{k}': VARCHAR" for k in table.partition_keys)
        source = f"read_parquet({files}, hive_partitioning = true, hive_types = {{{types}}})"
    else:
        source = f"read_parquet({files})"
    return f"SELECT {_select_list(table)} FROM {source}"


def view_statements(storage: Storage, state: LakeState) -> list[tuple[str, str]]:
    """(view name, CREATE VIEW statement) for the base views and the marts, in order.

    The base views list the state's stored files (immutable, kept retain_seconds after a run
    supersedes them), so a connection opened before a run keeps answering during and after it.
    """

    def stored(*rels: str | None) -> list[str]:
        return [storage.uri(stored_file(rel)) for rel in rels if rel]

    partitions = stored(*(rel for _, files in sorted(state.partitions.items()) for rel in files))
    base = [
        ("articles", _parquet_select(ARTICLES, partitions)),
        ("quarantine", _parquet_select(QUARANTINE, stored(state.quarantine))),
        ("runs", _parquet_select(RUNS, stored(state.runs))),
        ("boilerplate", _parquet_select(BOILERPLATE, stored(state.boilerplate))),
    ]
    statements = [(name, f"CREATE VIEW {name} AS {sql}") for name, sql in base]
    # Readers need to know where the lake is to reach a remote one (see warehouse.readonly), and
    # the zone its dates are in to show times as published_date counts them (the report).
    tz = (state.row_settings or {}).get("tz")
    statements.append(
        (
            "newslake_lake",
            f"CREATE VIEW newslake_lake AS SELECT {_quoted(storage.root)} AS lake_uri, "
            f"{_quoted(tz) if tz else 'CAST(NULL AS VARCHAR)'} AS tz",
        )
    )
    for name, sql in mart_sql():
        statements.append((name, f"CREATE VIEW {name} AS {sql}"))
    return statements


def mart_sql() -> list[tuple[str, str]]:
    """The views in warehouse/sql/*.sql, named after their files, in file-name order."""
    folder = resources.files("warehouse") / "sql"
    marts = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name.removesuffix(".sql").split("_", 1)[1]
            marts.append((name, entry.read_text(encoding="utf-8").strip().rstrip(";")))
    return marts


def publish_catalog(storage: Storage, state: LakeState, catalog: Path) -> None:
    """Write the views into a new DuckDB file, then rename it over the catalog."""
    catalog.parent.mkdir(parents=True, exist_ok=True)
    tmp = catalog.with_name(f".{catalog.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    # The file format is fixed when the file is created: v1.0.0 is what the DuckDB versions BI
    # tools bundle (1.1 to 1.5) read; DuckDB 2.0's default format only 2.0 reads.
    try:
        con = duckdb.connect(str(tmp), config={"storage_compatibility_version": STORAGE_COMPATIBILITY})
        try:
            if storage.remote:
                con.register_filesystem(storage.fs)
            for _, statement in view_statements(storage, state):
                con.execute(statement)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, catalog)
    except BaseException as exc:  # a full disk, an interruption: the old catalog stays, no temp file does
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        if isinstance(exc, duckdb.Error):  # DuckDB's FatalException on a full disk, for one
            raise OSError(f"could not write the catalog {catalog}: {str(exc).splitlines()[0]}") from exc
        raise
