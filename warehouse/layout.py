"""Where things live in a lake. Paths are built only from validated integers and run ids."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from warehouse.storage import is_remote

UNDATED = "__HIVE_DEFAULT_PARTITION__"
UNDATED_NAME = "undated"
STATE_FILE = "_state.json"
LOCK_FILE = ".lock"  # in a local lake root (lock_path)
STAGING_DIR = "_staging"
# A partition's files hold at most this many rows (about 45 MB in memory for real articles: what
# the merge holds while it rewrites one), each file a range of the partition sorted by published_at.
ROWS_PER_FILE = 5_000
# The datasets a state names files of, and those of them direct readers of the lake read.
DATA_DIRS = (
    "articles", "quarantine", "_manifest", "runs", "boilerplate", "_line_counts", "_line_sightings",
    "_story_signatures", "_story_edges", "_name_counts",
)  # fmt: skip
TREE_DIRS = ("articles", "quarantine", "runs", "boilerplate")
STORE_DIR = "_files"

_RUN_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_PARTITION_NAME = re.compile(r"^(\d{4})-(\d{2})$")


def checked_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r} is not [0-9A-Za-z_-]")
    return run_id


def partition_name(year: int | None, month: int | None) -> str:
    """'2021-03', or 'undated' for rows without a valid date."""
    if year is None or month is None:
        return UNDATED_NAME
    if not (isinstance(year, int) and isinstance(month, int) and 1 <= year <= 9999 and 1 <= month <= 12):
        raise ValueError(f"invalid partition key year={year!r} month={month!r}")
    return f"{year:04d}-{month:02d}"


def partition_name_expr() -> pl.Expr:
    """partition_name over the year and month columns of a frame, for grouping rows."""
    return (
        pl.when(pl.col("year").is_null())
        .then(pl.lit(UNDATED_NAME))
        .otherwise(
            pl.col("year").cast(pl.String).str.zfill(4) + "-" + pl.col("month").cast(pl.String).str.zfill(2)
        )
    )


def partition_key(name: str) -> tuple[int | None, int | None]:
    if name == UNDATED_NAME:
        return None, None
    match = _PARTITION_NAME.match(name)
    if not match:
        raise ValueError(f"invalid partition name {name!r}")
    year, month = int(match.group(1)), int(match.group(2))
    partition_name(year, month)  # validates the range
    return year, month


def partition_file(name: str, run_id: str, chunk: int = 0) -> str:
    """Relative path of a partition's chunk-th Parquet file written by run_id (Hive layout)."""
    year, month = partition_key(name)
    if year is None:
        folder = f"articles/year={UNDATED}/month={UNDATED}"
    else:
        folder = f"articles/year={year:04d}/month={month:02d}"
    if not 0 <= chunk < 1_000_000:
        raise ValueError(f"invalid chunk {chunk!r}")
    return f"{folder}/part-{checked_run_id(run_id)}-{chunk:03d}.parquet"


_HIVE_FILE = re.compile(r"^articles/year=([^/]+)/month=([^/]+)/(part-[^/]+\.parquet)$")


KEYS_IN_FILES_SINCE = (1, 6, 0)  # the parser version whose article files hold year and month


def keys_in_files(parser_version: str | None) -> bool:
    """Whether a lake's article files hold their partition keys: made by parser 1.6.0 or later.
    The tree of an older lake keeps its Hive folders (the keys only there) until the run that
    rebuilds it commits."""
    try:
        return (
            parser_version is not None and tuple(map(int, parser_version.split("."))) >= KEYS_IN_FILES_SINCE
        )
    except ValueError:
        return False


def tree_file(rel: str, keys_in_files: bool = True) -> str:
    """Where the tree links a file of the state: a partition's files side by side in articles/,
    named after it (articles/2021-03-part-….parquet, articles/undated-part-….parquet); any
    other file at its own path (quarantine/…, runs/…).

    The store keeps a partition's files in Hive folders (articles/year=2021/month=03/), for the
    catalog: DuckDB prunes a query's files by those names. The tree does not: pandas'
    read_parquet cannot read a Hive tree with a null partition (pyarrow infers the keys as
    dictionaries, the undated folder's holds a null value, and no dictionaries can be unified
    with one: ArrowInvalid: Cannot yet unify dictionaries with nulls, pandas-dev/pandas#55400);
    leaving the keys out of the undated path does for pyarrow, but DuckDB's hive_partitioning and
    Polars fail on files whose paths hold different keys; and Spark does not descend into
    folders that are not key=value. So the files hold year and month as columns (null for
    undated rows) and no path in the tree holds a key: every reader, with hive partitioning or
    without, pandas and Spark on the folder, reads the same rows and the same INTEGER keys.
    """
    match = _HIVE_FILE.match(rel)
    if not match or not keys_in_files:
        return rel
    year, month, name = match.groups()
    partition = UNDATED_NAME if year == UNDATED else partition_name(int(year), int(month))
    return f"articles/{partition}-{name}"


def dataset_file(dataset: str, run_id: str, part: int | None = None) -> str:
    """Relative path of a dataset's file written by run_id (part: one of the files of a dataset
    kept in several, such as _line_sightings' buckets)."""
    if dataset not in DATA_DIRS[1:]:
        raise ValueError(f"unknown dataset {dataset!r}")
    suffix = "" if part is None else f"-{part:03d}"
    if part is not None and not 0 <= part < 1000:
        raise ValueError(f"invalid part {part!r}")
    return f"{dataset}/{dataset.strip('_')}-{checked_run_id(run_id)}{suffix}.parquet"


def stored_file(rel: str) -> str:
    """Where a data file is kept: under _files/, which no Hive or glob reader of the tree looks
    into. The tree (TREE_DIRS) holds a link to each current file; the catalog reads the stored
    files, which stay for retain_seconds after a run supersedes them."""
    return f"{STORE_DIR}/{rel}"


def lock_path(lake: str, catalog: Path) -> Path:
    """The writer lock: in a local lake, beside the catalog for a remote one (S3 has no locks)."""
    if is_remote(lake):
        return catalog.with_name(catalog.name + ".lock")
    return Path(lake).resolve() / LOCK_FILE
