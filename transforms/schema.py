"""The article contract: the columns of what the transforms produce (articles, quarantine records,
the name counts they learn from), declared once, and the Table/Column machinery every dataset is
declared with (the warehouse's own tables: warehouse/tables.py).

The frame is cast to these schemas, Parquet is written with them, the data dictionary
(docs/data-dictionary.md) is generated from them and the tests check them. Nothing else
spells out a column list.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import polars as pl
import pyarrow as pa

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

    @cached_property
    def _arrow_list_types(self) -> dict[str, pa.DataType]:
        return {
            c.name: pl.Series(c.name, [], c.dtype).to_arrow().type
            for c in self.columns
            if isinstance(c.dtype, pl.List)
        }

    def series(self, name: str, values: list[Any]) -> pl.Series:
        """A column of Python values, of its declared type. Lists are built by Arrow: Polars
        converts each inner list (and struct) on its own, 40x slower for lists of strings and
        50x for lists of structs."""
        arrow_type = self._arrow_list_types.get(name)
        if arrow_type is not None:
            return pl.Series(name, pa.array(values, type=arrow_type))
        return pl.Series(name, values, dtype=self.polars_schema[name])

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Select the declared columns in declared order, cast to the declared types."""
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise ValueError(f"{self.name}: frame lacks columns {missing}")
        return frame.select([pl.col(c.name).cast(c.dtype, strict=True) for c in self.columns])


# The types a column declaration names ("string[]": a list of strings).
TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "int32": pl.Int32(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "binary": pl.Binary(),
    "timestamp": UTC_MICROS,
    "stock_mention": pl.Struct({"stock_code": pl.String(), "found_by": pl.String(), "written": pl.String()}),
    "stock_name": pl.Struct({"stock_name": pl.String(), "stock_code": pl.String()}),
}


def _type(name: str) -> pl.DataType:
    return pl.List(_type(name[:-2])) if name.endswith("[]") else TYPES[name]


def _rules(text: str) -> dict[str, Any]:
    """A value rule as declared: - (none), >=0, 1..12, /regex/, or a|b|c (the values allowed)."""
    if text == "-":
        return {}
    if text.startswith("/") and text.endswith("/"):
        return {"pattern": text[1:-1]}
    if text.startswith(">="):
        return {"at_least": int(text[2:])}
    if ".." in text:
        low, high = text.split("..")
        return {"at_least": int(low), "at_most": int(high)}
    return {"allowed": tuple(text.split("|"))}


def declared(name: str, description: str, columns: str, partition_keys: tuple[str, ...] = ()) -> Table:
    """A table from its columns written as a table, one column a line: name, type (TYPES), nullable
    (yes/no), value rule (_rules) and description; an indented line goes on with the description
    above it, a line starting with # is a comment."""
    rows: list[list[str]] = []
    for line in textwrap.dedent(columns).strip("\n").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0].isspace():
            rows[-1][-1] += " " + line.strip()
        else:
            rows.append(line.split(maxsplit=4))
    return Table(
        name,
        description,
        tuple(
            Column(
                col,
                _type(dtype),
                {"yes": True, "no": False}[nullable],
                text,
                col in partition_keys,
                **_rules(rule),
            )
            for col, dtype, nullable, rule, text in rows
        ),
    )


ARTICLES = declared(
    "articles",
    "One row per article file that could be parsed, keyed by article_id.",
    """
    # identity and lineage
    article_id              string           no   /^[0-9a-f]{32}$/     Stable id: sha256 of feed, title and
        publication time (plus body hash when those are blank), 32 hex chars.
    source_path             string           no   -                    Path of the raw file, relative to the
        source root (POSIX separators).
    source_sha256           string           no   /^[0-9a-f]{64}$/     sha256 of the raw file's bytes.
    content_hash            string           no   -                    sha256 of the cleaned text before the
        feed's learned boilerplate lines are taken out (stable while the feed's model changes); equal for
        articles with the same text.
    run_id                  string           no   -                    Id of the run that wrote this row.
    ingested_at             timestamp        no   -                    When the row was produced (UTC).
    parser_version          string           no   -                    Version of the transforms that produced
        the row.
    # front matter
    title                   string           yes  -                    Title: entities unescaped, whitespace
        collapsed, NFC; null when blank.
    category                string           yes  -                    First item of categories: the archive's
        top category (e.g. 金融).
    source                  string           yes  -                    Second item of categories: the
        publisher (e.g. 新浪财经).
    feed                    string           yes  -                    Third item of categories: the feed
        (e.g. 新浪财经－国內), decoration at its ends stripped (dashes, bullets, pipes, whitespace, a
        bracket pair around it: '— 资讯' is 资讯).
    categories              string[]         no   -                    All categories as given in the front
        matter.
    author                  string           yes  -                    The author named in the front matter
        (null when absent or blank).
    published_at            timestamp        yes  -                    Publication time in UTC; naive dates
        are read in the configured zone.
    published_date          date             yes  -                    Publication date in the configured time
        zone.
    head_image_url          string           yes  -                    headimg URL; null for placeholders and
        promo images, unwrapped from CORS proxies.
    thumbnail_url           string           yes  -                    thumbnail URL; same cleaning as
        head_image_url.
    comments_enabled        boolean          yes  -                    Front-matter comments flag.
    # body
    body_text               string           no   -                    Article text without boilerplate: clean
        paragraphs joined by newlines.
    paragraphs              string[]         no   -                    Clean paragraphs in order (table rows
        are tab-separated cells).
    lead                    string           yes  -                    The first paragraph of body_text (null
        for an empty body).
    editor                  string           yes  -                    Responsible editor from the Sina editor
        line (责任编辑).
    editor_code             string           yes  -                    Editor work code from the editor line
        (e.g. SF142).
    credits                 string[]         no   -                    Credit lines taken out of the text
        (作者/译者/记者/来源/编辑/Author: …), as they were.
    boilerplate_lines       string[]         no   -                    Boilerplate taken out of the text, in
        order: lines the article's feed repeats across its articles (learned from the lake, see the
        boilerplate view), and notices any feed may carry (disclaimers, bare link labels, sign-offs,
        a page's time stamp, "原标题：…", calls to follow or download).
    boilerplate_at          int32[]          no   -                    Where each of boilerplate_lines stood
        among the article's lines (0-based).
    stock_codes             string[]         no   -                    Stock codes mentioned (lower-case
        exchange prefix + code, e.g. sz300059): Sina's markup, then codes written in the text after a
        company's name, in a cashtag or in a quote link (every feed), deduplicated, in order of appearance.
    stock_mentions          stock_mention[]  no   -                    One entry per code of stock_codes:
        found_by (markup: Sina's stock link or quote markup; code: written in the text after a name, in a
        cashtag or in a quote link; list: a name of the securities list; name: a name the archive teaches, see
        stock_names, found as a word of the text) and written, the text as it appears.
    stock_names             stock_name[]     no   -                    The (name, code) pairs this article
        teaches, each once: a Sina stock link around a name, a name followed by its code in the text, a
        cashtag. Names normalised (NFKC, no blanks, no -SW/-W class mark); counted over the lake (name_counts)
        into the names matched in every article (stock_mentions found_by name).
    image_urls              string[]         no   -                    Content image URLs (no promo, QR,
        placeholder or data: images), deduplicated.
    link_urls               string[]         no   -                    http(s) link targets in the body,
        deduplicated.
    has_video               boolean          no   -                    Body embeds a video (video tag, iframe
        or video container).
    table_count             int32            no   >=0                  Number of tables in the body.
    # derived
    char_count              int32            no   >=0                  Non-whitespace characters in body_text.
    cjk_char_count          int32            no   >=0                  CJK ideographs in body_text.
    paragraph_count         int32            no   >=0                  Number of paragraphs.
    image_count             int32            no   >=0                  Number of content images.
    reading_minutes         float64          no   >=0                  Estimated reading time: 400 CJK
        characters or 200 words per minute.
    keywords                string[]         no   -                    Top terms of title and opening text,
        best first (rjieba segmentation, jieba IDF weights).
    language                string           no   zh|en|mixed|unknown  zh, en, mixed or unknown, from the
        script of title and body.
    title_length            int32            no   >=0                  Characters in title (0 when null).
    missing_date            boolean          no   -                    Flag: no valid publication date (row
        kept in the undated partition).
    date_out_of_range       boolean          no   -                    Flag: publication date before 1990 or
        after 2099 (fixed bounds; the quality view flags dates in the future at query time).
    blank_title             boolean          no   -                    Flag: title missing or blank.
    title_truncated         boolean          no   -                    Flag: title longer than the cap and
        cut.
    empty_body              boolean          no   -                    Flag: no article text in the body.
    front_matter_recovered  boolean          no   -                    Flag: YAML was invalid; keys read by
        the line-based fallback.
    non_utf8                boolean          no   -                    Flag: file was not UTF-8 and was
        decoded as GB18030.
    # stories: learned across the lake (transforms/stories.py), re-derived when a story changes
    story_id                string           no   -                    The story this article is a copy of:
        the article_id of the story's earliest copy (published_at, then article_id); its own article_id when
        no other article copies it.
    story_size              int32            no   -                    How many articles of the lake are
        copies of this story (1: no other copy).
    story_first             boolean          no   -                    Flag: this article is its story's
        earliest copy.
    # partition keys
    year                    int32            yes  1..9999              Partition key: year of published_date;
        null for undated rows.
    month                   int32            yes  1..12                Partition key: month of published_date;
        null for undated rows.
    """,
    partition_keys=("year", "month"),
)

QUARANTINE = declared(
    "quarantine",
    "One row per input file that could not be made into an article row.",
    """
    source_path    string     no   -  Path of the raw file, relative to the source root.
    source_sha256  string     yes  -  sha256 of the raw bytes; null when the file was not read (too large).
    size_bytes     int64      no   -  File size in bytes.
    reason         string     no   -  Machine-readable reason code (see transforms.reasons).
    message        string     no   -  Human-readable one-line explanation.
    run_id         string     no   -  Id of the run that quarantined the file.
    seen_at        timestamp  no   -  When the file was quarantined (UTC).
    """,
)

NAME_COUNTS = declared(
    "name_counts",
    "How many loaded articles teach each (name, stock code) pair (articles.stock_names). "
    "Kept in the store: the names matched in every article are learned from it (transforms/names.py).",
    """
    name        string  no  -  The name as taught, normalised (articles.stock_names).
    stock_code  string  no  -  The code it is taught with (Sina's style, e.g. sh600519).
    articles    int64   no  -  Loaded articles teaching the pair.
    """,
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
