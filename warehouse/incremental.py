"""Which source files a run must read: the manifest against the current listing."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from warehouse.tables import LISTING_SCHEMA, FileStatus


@dataclass
class Plan:
    """What a run has to do. `candidates` are read; the rest is known from the manifest."""

    candidates: pl.DataFrame  # LISTING_SCHEMA + known_sha256 (null when new or forced)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    new: int = 0
    seen: int = 0


def _paths(frame: pl.DataFrame) -> list[str]:
    return frame["source_path"].to_list()


def planned_changes(listing: pl.DataFrame, manifest: pl.DataFrame, full_refresh: bool = False) -> Plan:
    """Compare size and mtime first; only files that may have changed are read (and hashed).

    Files quarantined as duplicates of an article whose kept file is going away are read
    again, so that one of them can take its place. Joins throughout: a listing holds millions.
    """
    paths = listing.select("source_path")
    deleted = sorted(_paths(manifest.join(paths, on="source_path", how="anti")))
    if full_refresh or manifest.is_empty():
        candidates = listing.with_columns(known_sha256=pl.lit(None, pl.String()))
        new = listing.join(manifest.select("source_path"), on="source_path", how="anti").height
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
    candidates = maybe_changed.select(*LISTING_SCHEMA.names(), known_sha256=pl.col("source_sha256"))
    leaving = [*deleted, *_paths(maybe_changed.filter(~is_new))]
    if leaving:
        leaving_ids = manifest.filter(
            pl.col("source_path").is_in(leaving) & (pl.col("status") == FileStatus.LOADED)
        ).select("article_id")
        promoted = (
            manifest.filter(
                (pl.col("status") == FileStatus.DUPLICATE) & ~pl.col("source_path").is_in(leaving)
            )
            .join(leaving_ids, on="article_id", how="semi")
            .join(paths, on="source_path", how="semi")
            .select("source_path")
        )
        candidates = pl.concat(
            [
                candidates,
                joined.join(promoted, on="source_path", how="semi").select(
                    *LISTING_SCHEMA.names(), known_sha256=pl.lit(None, pl.String())
                ),
            ]
        )
    return Plan(
        candidates=candidates.sort("source_path"),
        deleted=deleted,
        unchanged=listing.height - candidates.height,
        new=int(maybe_changed.select(is_new.sum()).item()),
        seen=listing.height,
    )
