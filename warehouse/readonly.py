"""Read-only access to the catalog for `newslake query`, `report` and the run summary.

Imports only DuckDB (no Polars, no settings model), so that `newslake query` costs little more
than DuckDB's import. A connection opened here can read the lake and nothing else, and runs
only statements that read: DuckDB's own sandbox (allowed directories, external access off,
configuration locked) keeps a query from reading or writing outside the lake, and the
statement check keeps it from writing inside it (COPY TO into the lake is inside the sandbox).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

_READING = {duckdb.StatementType.SELECT}
_EXPLAIN = re.compile(r"^\s*explain(\s+analyze)?\s+", re.IGNORECASE)


class QueryRefused(ValueError):
    """A statement that is not a read: the catalog is read-only for everyone but the writer."""


def _is_remote(location: str) -> bool:
    # warehouse.storage.is_remote's rule; that module imports Polars, which `query` must not
    return "://" in location and not location.startswith("file://")


def connect_read_only(
    catalog: Path, storage_options: dict[str, Any] | None = None, *, sandboxed: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open the catalog read-only; for a remote lake, register its fsspec filesystem first
    (DuckDB's httpfs extension is not bundled and cannot be downloaded here). Sandboxed, the
    connection can read files of the lake only."""
    if not catalog.is_file():
        raise FileNotFoundError(f"no catalog at {catalog}: run `newslake run` first")
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        rows = con.execute(
            "SELECT count(*) FROM duckdb_views() WHERE view_name = 'newslake_lake' AND NOT internal"
        ).fetchall()
        lake_uri = con.execute("SELECT lake_uri FROM newslake_lake").fetchall()[0][0] if rows[0][0] else None
        here = catalog.resolve().parent
        if (
            lake_uri
            and not _is_remote(lake_uri)
            and (here / "_state.json").exists()
            and Path(lake_uri) != here
        ):
            raise FileNotFoundError(
                f"the catalog {catalog} was built for the lake at {lake_uri}, not {here} (moved or copied?): "
                f"run `newslake run --lake {here} --source SOURCE` or `newslake repair` to rebuild it here"
            )
        if lake_uri and _is_remote(lake_uri):
            from warehouse.storage import Storage  # fsspec, only for a remote lake

            con.register_filesystem(Storage(lake_uri, storage_options).fs)
        if sandboxed and lake_uri:
            con.execute("SET allowed_directories = $dirs", {"dirs": [lake_uri.rstrip("/") + "/"]})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
    except Exception:
        con.close()
        raise
    return con


def checked_read_statements(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryRefused unless every statement of sql only reads (SELECT, or EXPLAIN of one)."""
    for statement in con.extract_statements(sql):
        kind = statement.type
        if kind == duckdb.StatementType.EXPLAIN:
            inner = _EXPLAIN.sub("", statement.query, count=1)
            kinds = {s.type for s in con.extract_statements(inner)} if inner.strip() else set()
            if kinds and kinds <= _READING:
                continue
        elif kind in _READING:
            continue
        raise QueryRefused(
            f"the catalog is read-only: {kind.name} statements are refused (only SELECT and EXPLAIN SELECT run)"
        )
