"""What the warehouse keeps about itself: its bookkeeping tables (manifest, runs, the learned
models' counts, story signatures), the column sets the lake's stages move, and TABLES, every
dataset newslake writes (the article contract, transforms/schema.py, included).

The frames are cast to these schemas, Parquet is written with them, the data dictionary
(docs/data-dictionary.md) is generated from them and the tests check them.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from transforms.schema import ARTICLES, NAME_COUNTS, QUARANTINE, UTC_MICROS, Column, Table


class RunStatus(StrEnum):
    """How a run ended (runs.status)."""

    SUCCEEDED = "succeeded"
    NO_CHANGES = "no_changes"  # nothing a reader sees changed
    REJECTED = "rejected"  # too many bad files: the quarantine was recorded, nothing loaded
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl-C or SIGTERM: nothing but the run's record changed


class FileStatus(StrEnum):
    """What a source file produced (manifest.status)."""

    LOADED = "loaded"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(m.value for m in enum)


MANIFEST = Table(
    name="manifest",
    description="Every source file seen, with what it produced: the basis of incremental runs.",
    columns=(
        Column("source_path", pl.String(), False, "Path of the raw file, relative to the source root."),
        Column("size_bytes", pl.Int64(), False, "File size when last processed."),
        Column("mtime_ns", pl.Int64(), False, "Modification time (ns since epoch) when last processed."),
        Column(
            "source_sha256",
            pl.String(),
            True,
            "sha256 of the bytes; null when the file was not read.",
        ),
        Column("status", pl.String(), False, f"What the file produced: {_choices(FileStatus)}."),
        Column("article_id", pl.String(), True, "article_id the file produced (loaded or duplicate)."),
        Column("year", pl.Int32(), True, "Partition year of the loaded row."),
        Column("month", pl.Int32(), True, "Partition month of the loaded row."),
        Column("run_id", pl.String(), False, "Run that last processed the file."),
    ),
)

RUNS = Table(
    name="runs",
    description="One row per run of the pipeline: what it saw, what it wrote, how it ended.",
    columns=(
        Column("run_id", pl.String(), False, "Run id (UTC start time and a random suffix)."),
        Column("started_at", UTC_MICROS, False, "Start of the run (UTC)."),
        Column("finished_at", UTC_MICROS, False, "End of the run (UTC)."),
        Column("status", pl.String(), False, f"How the run ended: {_choices(RunStatus)}."),
        Column("message", pl.String(), True, "One-line explanation when the run did not succeed."),
        Column("files_seen", pl.Int64(), False, "Files matched in the source."),
        Column("files_new", pl.Int64(), False, "Files not in the manifest."),
        Column("files_changed", pl.Int64(), False, "Files whose bytes changed since the last run."),
        Column("files_unchanged", pl.Int64(), False, "Files skipped as unchanged."),
        Column("files_deleted", pl.Int64(), False, "Manifest files no longer in the source."),
        Column("rows_written", pl.Int64(), False, "Article rows added or replaced."),
        Column("rows_deleted", pl.Int64(), False, "Article rows removed."),
        Column("quarantined", pl.Int64(), False, "Files quarantined by this run."),
        Column("partitions_rewritten", pl.Int64(), False, "Article partitions written by this run."),
        Column(
            "seconds", pl.Float64(), False, "Wall-clock seconds the run took, from its start to its commit."
        ),
    ),
)

BOILERPLATE = Table(
    name="boilerplate",
    description="One row per line a feed repeats across its articles: learned from the lake, taken "
    "out of those articles' text (articles.boilerplate_lines).",
    columns=(
        Column("source", pl.String(), True, "Publisher of the feed (second category)."),
        Column("feed", pl.String(), True, "Feed within the source (third category)."),
        Column(
            "line",
            pl.String(),
            False,
            "The line as it is matched: each run of digits '#' (so dates and counts vary).",
        ),
        Column("line_hash", pl.Int64(), False, "Hash of the line's normalised form (what is counted)."),
        Column("articles", pl.Int64(), False, "Loaded articles of the feed that carry the line."),
        Column("feed_articles", pl.Int64(), False, "Loaded articles of the feed."),
        Column("share", pl.Float64(), False, "articles / feed_articles."),
    ),
)

LINE_COUNTS = Table(
    name="line_counts",
    description="Per feed, how many loaded articles carry each learnable line that two or more of "
    "them carry (line_hash 0: the feed's article count). Kept in the store: what the boilerplate "
    "model is learned from (a line needs two articles to be learned).",
    columns=(
        Column(
            "feed_key",
            pl.Int64(),
            False,
            "Hash of the feed's source and feed (transforms.boilerplate.feed_key).",
        ),
        Column("line_hash", pl.Int64(), False, "Hash of the line's normalised form; 0 for the feed's total."),
        Column("articles", pl.Int64(), False, "Loaded articles of the feed carrying the line."),
    ),
)

LINE_SIGHTINGS = Table(
    name="line_sightings",
    description="The learnable lines exactly one loaded article of their feed carries: what a line "
    "seen again is counted from. Kept in the store in files by line_hash % 64, so a run reads and "
    "writes only the files its own lines fall in.",
    columns=(
        Column("feed_key", pl.Int64(), False, "Hash of the feed's source and feed, as in line_counts."),
        Column("line_hash", pl.Int64(), False, "Hash of the line's normalised form, as in line_counts."),
    ),
)

STORY_SIGNATURES = Table(
    name="story_signatures",
    description="What stories are found from: one row per article with enough text, its MinHash signature.",
    columns=(
        Column("article_id", pl.String(), False, "The article the signature is of."),
        Column(
            "published_at",
            UTC_MICROS,
            True,
            "The article's publication time: the earliest copy names a story.",
        ),
        Column(
            "signature",
            pl.Binary(),
            False,
            "b-bit MinHash of the cleaned text's 5-character shingles: 128 one-byte values "
            "(transforms/stories.py).",
        ),
    ),
)

STORY_EDGES = Table(
    name="story_edges",
    description="Pairs of distinct signatures whose texts are copies of each other: the links stories are made of.",
    columns=(
        Column(
            "a",
            pl.Binary(),
            False,
            "The smaller signature of the pair (the articles that share a signature are one node).",
        ),
        Column("b", pl.Binary(), False, "The larger signature of the pair."),
        Column("similarity", pl.Float64(), False, "Estimated Jaccard similarity of the two texts' shingles."),
    ),
)

TABLES = (
    ARTICLES, QUARANTINE, MANIFEST, RUNS, BOILERPLATE, LINE_COUNTS, LINE_SIGHTINGS, STORY_SIGNATURES, STORY_EDGES,
    NAME_COUNTS,
)  # fmt: skip

# Column sets the pipeline moves between stages, taken from the tables above.
LISTING_SCHEMA = MANIFEST.schema_of("source_path", "size_bytes", "mtime_ns")  # a source listing
LINE_KEY = ["feed_key", "line_hash"]  # a line of a feed, as the boilerplate counts key it
PROCESSED_SCHEMA = pl.Schema(  # a file read by a batch: what the next manifest records of it
    {
        **MANIFEST.schema_of("source_path", "size_bytes", "mtime_ns", "source_sha256"),
        "same_bytes": pl.Boolean(),
    }
)
ARTICLE_KEYS = ["source_path", "article_id", *ARTICLES.partition_keys]  # what resolves collisions
ARTICLE_ORDER = ["published_at", "article_id"]  # how a partition's files are sorted (nulls last)
ARTICLE_STOCKS_DESCRIPTION = (
    "One row per article and stock code (articles.stock_mentions exploded): how the code was found "
    "(found_by: markup, code, list or name: a name the archive teaches, matched as a word of the "
    "text) and the text as it appears (mention_text)."
)
LAKE_VIEW_DESCRIPTION = (
    "One row about the lake itself: where it is (lake_uri) and the time zone its naive dates were "
    "read in and published_date counts days in (tz; null for a lake built before it was recorded)."
)
STAGED_SIGNATURES = pl.Schema(  # a parsed row's signature, as its batch staged it
    {**ARTICLES.schema_of("source_path"), **STORY_SIGNATURES.polars_schema}
)
