"""What the warehouse keeps about itself: its bookkeeping tables (manifest, runs, the learned
models' counts, story signatures), the column sets the lake's stages move, and TABLES, every
dataset newslake writes (the article contract, transforms/schema.py, included).

The frames are cast to these schemas, Parquet is written with them, the data dictionary
(docs/data-dictionary.md) is generated from them and the tests check them.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from transforms.schema import ARTICLES, NAME_COUNTS, QUARANTINE, declared


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


MANIFEST = declared(
    "manifest",
    "Every source file seen, with what it produced: the basis of incremental runs.",
    f"""
    source_path    string  no   -  Path of the raw file, relative to the source root.
    size_bytes     int64   no   -  File size when last processed.
    mtime_ns       int64   no   -  Modification time (ns since epoch) when last processed.
    source_sha256  string  yes  -  sha256 of the bytes; null when the file was not read.
    status         string  no   -  What the file produced: {_choices(FileStatus)}.
    article_id     string  yes  -  article_id the file produced (loaded or duplicate).
    year           int32   yes  -  Partition year of the loaded row.
    month          int32   yes  -  Partition month of the loaded row.
    run_id         string  no   -  Run that last processed the file.
    """,
)

RUNS = declared(
    "runs",
    "One row per run of the pipeline: what it saw, what it wrote, how it ended.",
    """
    run_id                string     no   -  Run id (UTC start time and a random suffix).
    started_at            timestamp  no   -  Start of the run (UTC).
    finished_at           timestamp  no   -  End of the run (UTC).
    status                string     no   -  How the run ended: succeeded, no_changes, rejected, failed,
        interrupted.
    message               string     yes  -  One-line explanation when the run did not succeed.
    files_seen            int64      no   -  Files matched in the source.
    files_new             int64      no   -  Files not in the manifest.
    files_changed         int64      no   -  Files whose bytes changed since the last run.
    files_unchanged       int64      no   -  Files skipped as unchanged.
    files_deleted         int64      no   -  Manifest files no longer in the source.
    rows_written          int64      no   -  Article rows added or replaced.
    rows_deleted          int64      no   -  Article rows removed.
    quarantined           int64      no   -  Files quarantined by this run.
    partitions_rewritten  int64      no   -  Article partitions written by this run.
    seconds               float64    no   -  Wall-clock seconds the run took, from its start to its commit.
    """,
)

BOILERPLATE = declared(
    "boilerplate",
    "One row per line a feed repeats across its articles: learned from the lake, taken "
    "out of those articles' text (articles.boilerplate_lines).",
    """
    source         string   yes  -  Publisher of the feed (second category).
    feed           string   yes  -  Feed within the source (third category).
    line           string   no   -  The line as it is matched: each run of digits '#' (so dates and counts
        vary).
    line_hash      int64    no   -  Hash of the line's normalised form (what is counted).
    articles       int64    no   -  Loaded articles of the feed that carry the line.
    feed_articles  int64    no   -  Loaded articles of the feed.
    share          float64  no   -  articles / feed_articles.
    """,
)

LINE_COUNTS = declared(
    "line_counts",
    "Per feed, how many loaded articles carry each learnable line that two or more of "
    "them carry (line_hash 0: the feed's article count). Kept in the store: what the boilerplate "
    "model is learned from (a line needs two articles to be learned).",
    """
    feed_key   int64  no  -  Hash of the feed's source and feed (transforms.boilerplate.feed_key).
    line_hash  int64  no  -  Hash of the line's normalised form; 0 for the feed's total.
    articles   int64  no  -  Loaded articles of the feed carrying the line.
    """,
)

LINE_SIGHTINGS = declared(
    "line_sightings",
    "The learnable lines exactly one loaded article of their feed carries: what a line "
    "seen again is counted from. Kept in the store in files by line_hash % 64, so a run reads and "
    "writes only the files its own lines fall in.",
    """
    feed_key   int64  no  -  Hash of the feed's source and feed, as in line_counts.
    line_hash  int64  no  -  Hash of the line's normalised form, as in line_counts.
    """,
)

STORY_SIGNATURES = declared(
    "story_signatures",
    "What stories are found from: one row per article with enough text, its MinHash signature.",
    """
    article_id    string     no   -  The article the signature is of.
    published_at  timestamp  yes  -  The article's publication time: the earliest copy names a story.
    signature     binary     no   -  b-bit MinHash of the cleaned text's 5-character shingles: 128 one-byte
        values (transforms/stories.py).
    """,
)

STORY_EDGES = declared(
    "story_edges",
    "Pairs of distinct signatures whose texts are copies of each other: the links stories are made of.",
    """
    a           binary   no  -  The smaller signature of the pair (the articles that share a signature are one
        node).
    b           binary   no  -  The larger signature of the pair.
    similarity  float64  no  -  Estimated Jaccard similarity of the two texts' shingles.
    """,
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
