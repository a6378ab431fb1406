"""The article contract: the columns of what the transforms produce (articles, quarantine records,
the name counts they learn from), declared once, and the Table/Column machinery every dataset is
declared with (the warehouse's own tables: warehouse/tables.py).

The frame is cast to these schemas, Parquet is written with them, the data dictionary
(docs/data-dictionary.md) is generated from them and the tests check them. Nothing else
spells out a column list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    # Value rules, checked before rows are staged (warehouse/validation.py); a null passes them
    # (nullability is the column's own rule).
    at_least: int | None = None
    at_most: int | None = None
    allowed: tuple[str, ...] = ()
    pattern: str | None = None  # a regular expression the value matches

    @property
    def value_rules(self) -> list[str]:
        """The value rules in words, as the data dictionary shows them."""
        rules = []
        if self.at_least is not None and self.at_most is not None:
            rules.append(f"from {self.at_least} to {self.at_most}")
        elif self.at_least is not None:
            rules.append(f"at least {self.at_least}")
        elif self.at_most is not None:
            rules.append(f"at most {self.at_most}")
        if self.allowed:
            rules.append("one of " + ", ".join(f"`{v}`" for v in self.allowed))
        if self.pattern is not None:
            rules.append(f"matches `{self.pattern}`")
        return rules


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
        """Columns stored inside the Parquet files (partition keys live in the path)."""
        return tuple(c for c in self.columns if not c.partition)

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


def _c(name: str, dtype: pl.DataType, nullable: bool, description: str, **kw: Any) -> Column:
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
            pattern=r"^[0-9a-f]{32}$",
        ),
        _c(
            "source_path",
            pl.String(),
            False,
            "Path of the raw file, relative to the source root (POSIX separators).",
        ),
        _c("source_sha256", pl.String(), False, "sha256 of the raw file's bytes.", pattern=r"^[0-9a-f]{64}$"),
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
        _c("feed", pl.String(), True, "Third item of categories: the feed (e.g. 新浪财经－国內)."),
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
        _c("table_count", pl.Int32(), False, "Number of tables in the body.", at_least=0),
        # derived
        _c("char_count", pl.Int32(), False, "Non-whitespace characters in body_text.", at_least=0),
        _c("cjk_char_count", pl.Int32(), False, "CJK ideographs in body_text.", at_least=0),
        _c("paragraph_count", pl.Int32(), False, "Number of paragraphs.", at_least=0),
        _c("image_count", pl.Int32(), False, "Number of content images.", at_least=0),
        _c(
            "reading_minutes",
            pl.Float64(),
            False,
            "Estimated reading time: 400 CJK characters or 200 words per minute.",
            at_least=0,
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
            allowed=("zh", "en", "mixed", "unknown"),
        ),
        _c("title_length", pl.Int32(), False, "Characters in title (0 when null).", at_least=0),
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
            at_least=1,
            at_most=9999,
        ),
        _c(
            "month",
            pl.Int32(),
            True,
            "Partition key: month of published_date; null for undated rows.",
            partition=True,
            at_least=1,
            at_most=12,
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

# One row per article and distinct learnable line: what the boilerplate counts are made of.
# learned: whether the row has the line taken out as its feed's (what the merge checks it against).
ARTICLE_LINES_SCHEMA = pl.Schema(
    {
        **ARTICLES.schema_of("source_path"),
        "feed_key": pl.Int64(),  # transforms.boilerplate.feed_key of the row's source and feed
        "line_hash": pl.Int64(),  # the line's normalised form, hashed (transforms.boilerplate)
        "learned": pl.Boolean(),
    }
)
ARTICLE_FEED = ["source_path", "source", "feed"]  # which feed a row is of
# Every line a row carries, in order (boilerplate_at: where the taken-out lines stood).
ARTICLE_LINES = [*ARTICLE_FEED, "paragraphs", "boilerplate_lines", "boilerplate_at"]
