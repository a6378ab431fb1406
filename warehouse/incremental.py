"""Which source files a run must read: the manifest against the current listing."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from transforms.schema import LISTING_SCHEMA, FileStatus


@dataclass
class Plan:
    """What a run has to do. `candidates` are read; the rest is known from the manifest."""

    candidates: pl.DataFrame  # LISTING_SCHEMA + known_sha256 (null when new or forced)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    new: int = 0
    seen: int = 0


def listing_frame(rows: list[tuple[str, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LISTING_SCHEMA, orient="row")


def planned_changes(listing: pl.DataFrame, manifest: pl.DataFrame, full_refresh: bool = False) -> Plan:
    """Compare size and mtime first; only files that may have changed are read (and hashed).

    Files quarantined as duplicates of an article whose kept file is going away are read
    again, so that one of them can take its place.
    """
    if full_refresh or manifest.is_empty():
        candidates = listing.with_columns(known_sha256=pl.lit(None, pl.String()))
        present = set(listing["source_path"].to_list())
        known = set(manifest["source_path"].to_list())
        deleted = sorted(known - present)
        new = len(present - known)
        return Plan(candidates=candidates, deleted=deleted, new=new, seen=listing.height)

    joined = listing.join(
        manifest.select(*LISTING_SCHEMA.names(), "source_sha256"),
        on="source_path",
        how="left",
        suffix="_old",
    )
    is_new = pl.col("size_bytes_old").is_null()
    same = (pl.col("size_bytes") == pl.col("size_bytes_old")) & (pl.col("mtime_ns") == pl.col("mtime_ns_old"))
    maybe_changed = joined.filter(~same.fill_null(False))
    present = set(listing["source_path"].to_list())
    deleted = sorted(set(manifest["source_path"].to_list()) - present)

    leaving = set(deleted) | set(maybe_changed.filter(~is_new)["source_path"].to_list())
    leaving_ids = manifest.filter(
        pl.col("source_path").is_in(list(leaving)) & (pl.col("status") == FileStatus.LOADED)
    )["article_id"]
    promoted = manifest.filter(
        (pl.col("status") == FileStatus.DUPLICATE)
        & pl.col("article_id").is_in(leaving_ids.to_list())
        & pl.col("source_path").is_in(list(present))
        & ~pl.col("source_path").is_in(list(leaving))
    )["source_path"].to_list()

    candidates = pl.concat(
        [
            maybe_changed.select(*LISTING_SCHEMA.names(), known_sha256=pl.col("source_sha256")),
            joined.filter(pl.col("source_path").is_in(promoted)).select(
                *LISTING_SCHEMA.names(), known_sha256=pl.lit(None, pl.String())
            ),
        ]
    ).sort("source_path")
    return Plan(
        candidates=candidates,
        deleted=deleted,
        unchanged=listing.height - candidates.height,
        new=int(maybe_changed.select(is_new.sum()).item()),
        seen=listing.height,
    )
