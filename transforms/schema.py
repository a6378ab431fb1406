"""The data contract: every column of every dataset newslake writes, declared once.

The frame is cast to these schemas, Parquet is written with them, the data dictionary
(docs/data-dictionary.md) is generated from them and the tests check them. Nothing else
spells out a column list.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl

UTC_MICROS = pl.Datetime("us", "UTC")
STRINGS = pl.List(pl.String)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    nullable: bool
    description: str
    partition: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """Columns stored inside the Parquet files: all of them, partition keys too (also in the
        store's Hive folder names; the tree's paths hold none: warehouse/layout.py, tree_file)."""
        return self.columns

    @property
    def file_schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.file_columns})

    @property
    def partition_keys(self) -> list[str]:
        return [c.name for c in self.columns if c.partition]

    def schema_of(self, *names: str) -> pl.Schema:
        """The declared types of some of the columns, in the order given."""
        declared = self.polars_schema
        return pl.Schema({name: declared[name] for name in names})

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Select the declared columns in declared order, cast to the declared types."""
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise ValueError(f"{self.name}: frame lacks columns {missing}")
        return frame.select([pl.col(c.name).cast(c.dtype, strict=True) for c in self.columns])


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


def _c(name: str, dtype: pl.DataType, nullable: bool, description: str, **kw: bool) -> Column:
    return Column(name, dtype, nullable, description, **kw)


ARTICLES = Table(
    name="articles",
    description="One row per article file that could be parsed, keyed by article_id.",
    columns=(
        # identity and lineage
        _c(
            "article_id",
            pl.String(),
            False,
            "Stable id: sha256 of feed, title and publication time (plus body hash when those are blank), 32 hex chars.",
        ),
        _c(
            "source_path",
            pl.String(),
            False,
            "Path of the raw file, relative to the source root (POSIX separators).",
        ),
        _c("source_sha256", pl.String(), False, "sha256 of the raw file's bytes."),
        _c(
            "content_hash",
            pl.String(),
            False,
            "sha256 of the cleaned text before the feed's learned boilerplate lines are taken out "
            "(stable while the feed's model changes); equal for articles with the same text.",
        ),
        _c("run_id", pl.String(), False, "Id of the run that wrote this row."),
        _c("ingested_at", UTC_MICROS, False, "When the row was produced (UTC)."),
        _c("parser_version", pl.String(), False, "Version of the transforms that produced the row."),
        # front matter
        _c(
            "title",
            pl.String(),
            True,
            "Title: entities unescaped, whitespace collapsed, NFC; null when blank.",
        ),
        _c(
            "category",
            pl.String(),
            True,
            "First item of categories: the archive's top category (e.g. 金融).",
        ),
        _c("source", pl.String(), True, "Second item of categories: the publisher (e.g. 新浪财经)."),
        _c(
            "feed",
            pl.String(),
            True,
            "Third item of categories: the feed (e.g. 新浪财经－国內), decoration at its ends stripped "
            "(dashes, bullets, pipes, whitespace, a bracket pair around it: '— 资讯' is 资讯).",
        ),
        _c("categories", STRINGS, False, "All categories as given in the front matter."),
        _c("author", pl.String(), True, "The author named in the front matter (null when absent or blank)."),
        _c(
            "published_at",
            UTC_MICROS,
            True,
            "Publication time in UTC; naive dates are read in the configured zone.",
        ),
        _c("published_date", pl.Date(), True, "Publication date in the configured time zone."),
        _c(
            "head_image_url",
            pl.String(),
            True,
            "headimg URL; null for placeholders and promo images, unwrapped from CORS proxies.",
        ),
        _c("thumbnail_url", pl.String(), True, "thumbnail URL; same cleaning as head_image_url."),
        _c("comments_enabled", pl.Boolean(), True, "Front-matter comments flag."),
        # body
        _c(
            "body_text",
            pl.String(),
            False,
            "Article text without boilerplate: clean paragraphs joined by newlines.",
        ),
        _c(
            "paragraphs",
            STRINGS,
            False,
            "Clean paragraphs in order (table rows are tab-separated cells).",
        ),
        _c("lead", pl.String(), True, "The first paragraph of body_text (null for an empty body)."),
        _c("editor", pl.String(), True, "Responsible editor from the Sina editor line (责任编辑)."),
        _c("editor_code", pl.String(), True, "Editor work code from the editor line (e.g. SF142)."),
        _c(
            "credits",
            STRINGS,
            False,
            "Credit lines taken out of the text (作者/译者/记者/来源/编辑/Author: …), as they were.",
        ),
        _c(
            "boilerplate_lines",
            STRINGS,
            False,
            "Boilerplate taken out of the text, in order: lines the article's feed repeats across "
            "its articles (learned from the lake, see the boilerplate view), and notices any feed "
            "may carry (disclaimers, bare link labels, sign-offs).",
        ),
        _c(
            "boilerplate_at",
            pl.List(pl.Int32()),
            False,
            "Where each of boilerplate_lines stood among the article's lines (0-based).",
        ),
        _c(
            "stock_codes",
            STRINGS,
            False,
            "Stock codes mentioned (lower-case exchange prefix + code, e.g. sz300059): Sina's markup, then "
            "codes written in the text after a company's name, in a cashtag or in a quote link (every feed), "
            "deduplicated, in order of appearance.",
        ),
        _c(
            "stock_mentions",
            pl.List(pl.Struct({"stock_code": pl.String(), "found_by": pl.String(), "written": pl.String()})),
            False,
            "One entry per code of stock_codes: found_by (markup: Sina's stock link or quote markup; code: "
            "written in the text after a name, in a cashtag or in a quote link; list: a name of the "
            "securities list; name: a name the archive teaches, see stock_names, found as a word of the "
            "text) and written, the text as it appears.",
        ),
        _c(
            "stock_names",
            pl.List(pl.Struct({"stock_name": pl.String(), "stock_code": pl.String()})),
            False,
            "The (name, code) pairs this article teaches, each once: a Sina stock link around a name, "
            "a name followed by its code in the text, a cashtag. Names normalised (NFKC, no blanks, "
            "no -SW/-W class mark); counted over the lake (name_counts) into the names matched in "
            "every article (stock_mentions found_by name).",
        ),
        _c(
            "image_urls",
            STRINGS,
            False,
            "Content image URLs (no promo, QR, placeholder or data: images), deduplicated.",
        ),
        _c("link_urls", STRINGS, False, "http(s) link targets in the body, deduplicated."),
        _c(
            "has_video",
            pl.Boolean(),
            False,
            "Body embeds a video (video tag, iframe or video container).",
        ),
        _c("table_count", pl.Int32(), False, "Number of tables in the body."),
        # derived
        _c("char_count", pl.Int32(), False, "Non-whitespace characters in body_text."),
        _c("cjk_char_count", pl.Int32(), False, "CJK ideographs in body_text."),
        _c("paragraph_count", pl.Int32(), False, "Number of paragraphs."),
        _c("image_count", pl.Int32(), False, "Number of content images."),
        _c(
            "reading_minutes",
            pl.Float64(),
            False,
            "Estimated reading time: 400 CJK characters or 200 words per minute.",
        ),
        _c(
            "keywords",
            STRINGS,
            False,
            "Top terms of title and opening text, best first (rjieba segmentation, jieba IDF weights).",
        ),
        _c(
            "language",
            pl.String(),
            False,
            "zh, en, mixed or unknown, from the script of title and body.",
        ),
        _c("title_length", pl.Int32(), False, "Characters in title (0 when null)."),
        _c(
            "missing_date",
            pl.Boolean(),
            False,
            "Flag: no valid publication date (row kept in the undated partition).",
        ),
        _c(
            "date_out_of_range",
            pl.Boolean(),
            False,
            "Flag: publication date before 1990 or after 2099 (fixed bounds; the quality view flags dates in the future at query time).",
        ),
        _c("blank_title", pl.Boolean(), False, "Flag: title missing or blank."),
        _c("title_truncated", pl.Boolean(), False, "Flag: title longer than the cap and cut."),
        _c("empty_body", pl.Boolean(), False, "Flag: no article text in the body."),
        _c(
            "front_matter_recovered",
            pl.Boolean(),
            False,
            "Flag: YAML was invalid; keys read by the line-based fallback.",
        ),
        _c("non_utf8", pl.Boolean(), False, "Flag: file was not UTF-8 and was decoded as GB18030."),
        # stories: learned across the lake (transforms/stories.py), re-derived when a story changes
        _c(
            "story_id",
            pl.String(),
            False,
            "The story this article is a copy of: the article_id of the story's earliest copy "
            "(published_at, then article_id); its own article_id when no other article copies it.",
        ),
        _c(
            "story_size",
            pl.Int32(),
            False,
            "How many articles of the lake are copies of this story (1: no other copy).",
        ),
        _c("story_first", pl.Boolean(), False, "Flag: this article is its story's earliest copy."),
        # partition keys
        _c(
            "year",
            pl.Int32(),
            True,
            "Partition key: year of published_date; null for undated rows.",
            partition=True,
        ),
        _c(
            "month",
            pl.Int32(),
            True,
            "Partition key: month of published_date; null for undated rows.",
            partition=True,
        ),
    ),
)

QUARANTINE = Table(
    name="quarantine",
    description="One row per input file that could not be made into an article row.",
    columns=(
        _c("source_path", pl.String(), False, "Path of the raw file, relative to the source root."),
        _c(
            "source_sha256",
            pl.String(),
            True,
            "sha256 of the raw bytes; null when the file was not read (too large).",
        ),
        _c("size_bytes", pl.Int64(), False, "File size in bytes."),
        _c("reason", pl.String(), False, "Machine-readable reason code (see transforms.reasons)."),
        _c("message", pl.String(), False, "Human-readable one-line explanation."),
        _c("run_id", pl.String(), False, "Id of the run that quarantined the file."),
        _c("seen_at", UTC_MICROS, False, "When the file was quarantined (UTC)."),
    ),
)

MANIFEST = Table(
    name="manifest",
    description="Every source file seen, with what it produced: the basis of incremental runs.",
    columns=(
        _c("source_path", pl.String(), False, "Path of the raw file, relative to the source root."),
        _c("size_bytes", pl.Int64(), False, "File size when last processed."),
        _c("mtime_ns", pl.Int64(), False, "Modification time (ns since epoch) when last processed."),
        _c(
            "source_sha256",
            pl.String(),
            True,
            "sha256 of the bytes; null when the file was not read.",
        ),
        _c("status", pl.String(), False, f"What the file produced: {_choices(FileStatus)}."),
        _c("article_id", pl.String(), True, "article_id the file produced (loaded or duplicate)."),
        _c("year", pl.Int32(), True, "Partition year of the loaded row."),
        _c("month", pl.Int32(), True, "Partition month of the loaded row."),
        _c("run_id", pl.String(), False, "Run that last processed the file."),
    ),
)

RUNS = Table(
    name="runs",
    description="One row per run of the pipeline: what it saw, what it wrote, how it ended.",
    columns=(
        _c("run_id", pl.String(), False, "Run id (UTC start time and a random suffix)."),
        _c("started_at", UTC_MICROS, False, "Start of the run (UTC)."),
        _c("finished_at", UTC_MICROS, False, "End of the run (UTC)."),
        _c("status", pl.String(), False, f"How the run ended: {_choices(RunStatus)}."),
        _c("message", pl.String(), True, "One-line explanation when the run did not succeed."),
        _c("files_seen", pl.Int64(), False, "Files matched in the source."),
        _c("files_new", pl.Int64(), False, "Files not in the manifest."),
        _c("files_changed", pl.Int64(), False, "Files whose bytes changed since the last run."),
        _c("files_unchanged", pl.Int64(), False, "Files skipped as unchanged."),
        _c("files_deleted", pl.Int64(), False, "Manifest files no longer in the source."),
        _c("rows_written", pl.Int64(), False, "Article rows added or replaced."),
        _c("rows_deleted", pl.Int64(), False, "Article rows removed."),
        _c("quarantined", pl.Int64(), False, "Files quarantined by this run."),
        _c("partitions_rewritten", pl.Int64(), False, "Article partitions written by this run."),
        _c("seconds", pl.Float64(), False, "Wall-clock seconds the run took, from its start to its commit."),
    ),
)

BOILERPLATE = Table(
    name="boilerplate",
    description="One row per line a feed repeats across its articles: learned from the lake, taken "
    "out of those articles' text (articles.boilerplate_lines).",
    columns=(
        _c("source", pl.String(), True, "Publisher of the feed (second category)."),
        _c("feed", pl.String(), True, "Feed within the source (third category)."),
        _c(
            "line",
            pl.String(),
            False,
            "The line as it is matched: each run of digits '#' (so dates and counts vary).",
        ),
        _c("line_hash", pl.Int64(), False, "Hash of the line's normalised form (what is counted)."),
        _c("articles", pl.Int64(), False, "Loaded articles of the feed that carry the line."),
        _c("feed_articles", pl.Int64(), False, "Loaded articles of the feed."),
        _c("share", pl.Float64(), False, "articles / feed_articles."),
    ),
)

LINE_COUNTS = Table(
    name="line_counts",
    description="Per feed, how many loaded articles carry each learnable line that two or more of "
    "them carry (line_hash 0: the feed's article count). Kept in the store: what the boilerplate "
    "model is learned from (a line needs two articles to be learned).",
    columns=(
        _c(
            "feed_key",
            pl.Int64(),
            False,
            "Hash of the feed's source and feed (transforms.boilerplate.feed_key).",
        ),
        _c("line_hash", pl.Int64(), False, "Hash of the line's normalised form; 0 for the feed's total."),
        _c("articles", pl.Int64(), False, "Loaded articles of the feed carrying the line."),
    ),
)

LINE_SIGHTINGS = Table(
    name="line_sightings",
    description="The learnable lines exactly one loaded article of their feed carries: what a line "
    "seen again is counted from. Kept in the store in files by line_hash % 64, so a run reads and "
    "writes only the files its own lines fall in.",
    columns=(
        _c("feed_key", pl.Int64(), False, "Hash of the feed's source and feed, as in line_counts."),
        _c("line_hash", pl.Int64(), False, "Hash of the line's normalised form, as in line_counts."),
    ),
)

STORY_SIGNATURES = Table(
    name="story_signatures",
    description="What stories are found from: one row per article with enough text, its MinHash signature.",
    columns=(
        _c("article_id", pl.String(), False, "The article the signature is of."),
        _c(
            "published_at",
            UTC_MICROS,
            True,
            "The article's publication time: the earliest copy names a story.",
        ),
        _c(
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
        _c(
            "a",
            pl.Binary(),
            False,
            "The smaller signature of the pair (the articles that share a signature are one node).",
        ),
        _c("b", pl.Binary(), False, "The larger signature of the pair."),
        _c("similarity", pl.Float64(), False, "Estimated Jaccard similarity of the two texts' shingles."),
    ),
)

NAME_COUNTS = Table(
    name="name_counts",
    description="How many loaded articles teach each (name, stock code) pair (articles.stock_names). "
    "Kept in the store: the names matched in every article are learned from it (transforms/names.py).",
    columns=(
        _c("name", pl.String(), False, "The name as taught, normalised (articles.stock_names)."),
        _c("stock_code", pl.String(), False, "The code it is taught with (Sina's style, e.g. sh600519)."),
        _c("articles", pl.Int64(), False, "Loaded articles teaching the pair."),
    ),
)

TABLES = (
    ARTICLES, QUARANTINE, MANIFEST, RUNS, BOILERPLATE, LINE_COUNTS, LINE_SIGHTINGS, STORY_SIGNATURES, STORY_EDGES,
    NAME_COUNTS,
)  # fmt: skip

# Column sets the pipeline moves between stages, taken from the tables above.
LISTING_SCHEMA = MANIFEST.schema_of("source_path", "size_bytes", "mtime_ns")  # a source listing
LINE_KEY = ["feed_key", "line_hash"]  # a line of a feed, as the boilerplate counts key it
# One row per article and distinct learnable line: what the boilerplate counts are made of.
# learned: whether the row has the line taken out as its feed's (what the merge checks it against).
ARTICLE_LINES_SCHEMA = pl.Schema(
    {
        **ARTICLES.schema_of("source_path"),
        **LINE_COUNTS.schema_of("feed_key", "line_hash"),
        "learned": pl.Boolean(),
    }
)
PROCESSED_SCHEMA = pl.Schema(  # a file read by a batch: what the next manifest records of it
    {
        **MANIFEST.schema_of("source_path", "size_bytes", "mtime_ns", "source_sha256"),
        "same_bytes": pl.Boolean(),
    }
)
ARTICLE_KEYS = ["source_path", "article_id", *ARTICLES.partition_keys]  # what resolves collisions
ARTICLE_ORDER = ["published_at", "article_id"]  # how a partition's files are sorted (nulls last)
ARTICLE_FEED = ["source_path", "source", "feed"]  # which feed a row is of
# Every line a row carries, in order (boilerplate_at: where the taken-out lines stood).
ARTICLE_LINES = [*ARTICLE_FEED, "paragraphs", "boilerplate_lines", "boilerplate_at"]

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
