"""How a run's parsed files change the lake, as frames in and frames out: nothing here reads or
writes storage, so each rule is tested on its own (tests/warehouse/test_merge.py).

Every function is named after what it returns: the collisions, the duplicate records, the next
manifest, the next quarantine, and the files a partition is rewritten into.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import polars as pl

from transforms.reasons import Reason
from transforms.schema import QUARANTINE
from warehouse.tables import ARTICLE_KEYS, ARTICLE_ORDER, LISTING_SCHEMA, MANIFEST, FileStatus


@dataclass(frozen=True)
class Collisions:
    """Outcome of resolving article_id collisions between new and kept rows."""

    winners: pl.DataFrame  # the new rows that go into the lake (the columns of the keys given)
    losers: dict[str, tuple[str, str]]  # loser path -> (article_id, kept path)
    demoted: list[str]  # old loaded paths that lost to a new file


def resolved_collisions(new_keys: pl.DataFrame, kept: pl.DataFrame) -> Collisions:
    """One row per article_id: of all files with that id, the smallest source_path wins.

    The rule depends only on the set of files, never on the order runs saw them, so an
    incremental lake equals a clean build. `kept`: (article_id, source_path) of the unchanged
    loaded rows. Resolved by joins: a million new or kept rows held as Python dicts cost
    hundreds of MB for the rest of the run.
    """
    ordered = new_keys.sort("source_path")
    first = ordered.unique(subset="article_id", keep="first", maintain_order=True)
    # (loser, article_id, winner) rows: new files that lost to a smaller new path of their id...
    to_new = ordered.join(
        first.select("source_path"), on="source_path", how="anti", maintain_order="left"
    ).join(first.select("article_id", winner="source_path"), on="article_id", maintain_order="left")
    # ...then, in the order of the winning new files, a kept file and the new one of its id: the
    # smaller path wins
    met = first.select("source_path", "article_id").join(
        kept.select("article_id", old="source_path"), on="article_id", maintain_order="left"
    )
    new_wins = pl.col("source_path") < pl.col("old")
    duels = met.select(
        loser=pl.when(new_wins).then("old").otherwise("source_path"),
        article_id="article_id",
        winner=pl.when(new_wins).then("source_path").otherwise("old"),
    )
    losers: dict[str, tuple[str, str]] = {}
    for path, aid, winner in to_new.select("source_path", "article_id", "winner").iter_rows():
        losers[path] = (aid, winner)
    for path, aid, winner in duels.iter_rows():
        losers[path] = (aid, winner)
    for path, (aid, winner) in list(losers.items()):
        if winner in losers:  # a new file beat the one this loser lost to
            losers[path] = (aid, losers[winner][1])
    demoted = met.filter(new_wins)["old"].to_list()
    beaten = met.filter(~new_wins).select("source_path")
    return Collisions(first.join(beaten, on="source_path", how="anti"), losers, demoted)


def no_collisions(keys: pl.DataFrame) -> Collisions:
    """Collisions of a run that loads nothing (keys: an empty frame of the key columns)."""
    return Collisions(keys.clear(), {}, [])


def duplicate_records(
    collisions: Collisions, processed: pl.DataFrame, old_manifest: pl.DataFrame, run_id: str, now: dt.datetime
) -> pl.DataFrame:
    """QUARANTINE rows for the files that lost a collision, each naming the file that is kept."""
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
        schema=QUARANTINE.schema_of("source_path", "message"),
        orient="row",
    )
    return QUARANTINE.conform(
        rows.join(known, on="source_path", how="left").with_columns(
            reason=pl.lit(str(Reason.DUPLICATE_ARTICLE)),
            size_bytes=pl.col("size_bytes").fill_null(0),
            run_id=pl.lit(run_id),
            seen_at=pl.lit(now, QUARANTINE.polars_schema["seen_at"]),
        )
    )


def next_quarantine(old: pl.DataFrame, gone: pl.Series, *new: pl.DataFrame) -> pl.DataFrame:
    """The quarantine after a run: old records of files that are still there and still bad (gone:
    every file read again, deleted or resolved), then this run's records."""
    return QUARANTINE.conform(pl.concat([old.filter(~pl.col("source_path").is_in(gone.implode())), *new]))


def next_manifest(
    old: pl.DataFrame,
    processed: pl.DataFrame,
    winners: pl.DataFrame,
    collisions: Collisions,
    bad: pl.DataFrame,
    run_id: str,
) -> pl.DataFrame:
    """Old entries of files not read, refreshed entries of files read with the same bytes, new ones for the rest."""
    read = processed.filter(~pl.col("same_bytes")).drop("same_bytes")
    loaded = read.join(winners.select(ARTICLE_KEYS), on="source_path")
    dup_ids = pl.DataFrame(
        [(p, aid) for p, (aid, _) in collisions.losers.items()],
        schema=MANIFEST.schema_of("source_path", "article_id"),
        orient="row",
    )
    duplicates = read.join(dup_ids, on="source_path")
    quarantined = read.join(bad.select("source_path"), on="source_path")
    refreshed = old.join(
        processed.filter(pl.col("same_bytes")).select(LISTING_SCHEMA.names()),
        on="source_path",
        suffix="_now",
    ).with_columns(size_bytes=pl.col("size_bytes_now"), mtime_ns=pl.col("mtime_ns_now"))
    undated = {"year": pl.lit(None, pl.Int32()), "month": pl.lit(None, pl.Int32())}
    demoted = old.filter(pl.col("source_path").is_in(collisions.demoted)).with_columns(
        status=pl.lit(FileStatus.DUPLICATE.value), **undated
    )
    replaced = set(processed["source_path"].to_list()) | set(collisions.demoted)
    run = pl.lit(run_id)
    return pl.concat(
        [
            MANIFEST.conform(old.filter(~pl.col("source_path").is_in(list(replaced)))),
            MANIFEST.conform(loaded.with_columns(status=pl.lit(FileStatus.LOADED.value), run_id=run)),
            MANIFEST.conform(
                duplicates.with_columns(status=pl.lit(FileStatus.DUPLICATE.value), run_id=run, **undated)
            ),
            MANIFEST.conform(
                quarantined.with_columns(
                    status=pl.lit(FileStatus.QUARANTINED.value),
                    article_id=pl.lit(None, pl.String()),
                    run_id=run,
                    **undated,
                )
            ),
            MANIFEST.conform(refreshed),
            MANIFEST.conform(demoted),
        ]
    ).sort("source_path")


# A partition's files ---------------------------------------------------------------------------

ORIGIN = "origin"  # in a NewFile's rows: the old file a row is taken from, null for a parsed row
SORT_KEY = [*ARTICLE_ORDER, "source_path"]  # the order within and across a partition's files


@dataclass(frozen=True)
class NewFile:
    """A file to write: its rows in order, by source_path, each from an old file of the partition
    (origin) or from this run's parsed rows (origin null)."""

    rows: pl.DataFrame  # source_path, origin

    def paths_from(self, origin: str | None) -> list[str]:
        where = pl.col(ORIGIN).is_null() if origin is None else pl.col(ORIGIN) == origin
        return self.rows.filter(where)["source_path"].to_list()

    def origins(self) -> list[str]:
        return sorted(o for o in self.rows[ORIGIN].unique().to_list() if o is not None)


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    published_at, *rest = row
    return (published_at is None, published_at or dt.datetime.min, *rest)  # nulls last, as Polars


def _pieces(rows: pl.DataFrame, rows_per_file: int) -> list[NewFile]:
    """Sorted rows cut into the fewest files of at most rows_per_file rows, of near-equal sizes."""
    if rows.is_empty():
        return []
    count = -(-rows.height // rows_per_file)
    bounds = [rows.height * i // count for i in range(count + 1)]
    return [
        NewFile(rows.slice(start, end - start).select("source_path", ORIGIN))
        for start, end in itertools.pairwise(bounds)
    ]


def next_partition_files(
    files: list[str],
    existing: pl.DataFrame,
    removed: set[str],
    incoming: pl.DataFrame,
    rows_per_file: int,
) -> list[str | NewFile]:
    """The files a partition holds after a run, in order: an old file kept as it is (its name), or
    a NewFile to write. Only the old files that lose rows or gain some are rewritten.

    files: the partition's files now; existing: their rows' keys (`file` and SORT_KEY); removed:
    source paths whose rows leave; incoming: the keys (SORT_KEY) of this run's rows for it. Each
    file holds a contiguous range of the partition's order; a parsed row goes to the file whose
    range it falls in (the first one when it sorts before all), and a file that outgrows
    rows_per_file is cut in near-equal pieces, so no file of the partition grows unbounded.
    """
    parsed = incoming.select(*SORT_KEY, pl.lit(None, pl.String()).alias(ORIGIN))
    if not files:
        return list(_pieces(parsed.sort(SORT_KEY, nulls_last=True), rows_per_file))
    first_rows = existing.sort(SORT_KEY, nulls_last=True).unique("file", keep="first", maintain_order=True)
    starts = dict(zip(first_rows["file"].to_list(), first_rows.select(SORT_KEY).iter_rows(), strict=True))
    ordered = sorted((f for f in files if f in starts), key=lambda f: _sort_key(starts[f]))
    ordered += [f for f in files if f not in starts]  # an empty file (none is written) goes last
    bounds = [_sort_key(starts[f]) for f in ordered if f in starts]
    where = [
        max(0, bisect.bisect_right(bounds, _sort_key(key)) - 1) for key in parsed.select(SORT_KEY).iter_rows()
    ]
    parsed = parsed.with_columns(pl.Series("_file", where, pl.Int64()))
    losing = set(existing.filter(pl.col("source_path").is_in(list(removed)))["file"].to_list())
    gaining = set(parsed["_file"].unique().to_list())
    out: list[str | NewFile] = []
    for index, name in enumerate(ordered):
        if name not in losing and index not in gaining:
            out.append(name)
            continue
        kept = existing.filter((pl.col("file") == name) & ~pl.col("source_path").is_in(list(removed)))
        rows = pl.concat(
            [
                kept.select(*SORT_KEY, pl.lit(name).alias(ORIGIN)),
                parsed.filter(pl.col("_file") == index).drop("_file"),
            ]
        ).sort(SORT_KEY, nulls_last=True)
        out.extend(_pieces(rows, rows_per_file))
    return out
