"""A batch of raw files (bytes in memory) to an articles frame and a quarantine frame."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from transforms.article import ParseOptions, article_row
from transforms.keywords import KeywordWeights, keyword_tokens
from transforms.measures import MEASURES, with_text_measures
from transforms.names import with_name_mentions
from transforms.raw import RawFile
from transforms.reasons import Quarantined, Reason
from transforms.schema import ARTICLES, QUARANTINE
from transforms.stories import STORY_COLUMNS, with_singleton_stories

# The columns article_row fills; the measures are added over the whole batch.
_ROW_SCHEMA = pl.Schema(
    {name: dtype for name, dtype in ARTICLES.polars_schema.items() if name not in MEASURES | STORY_COLUMNS}
)


@dataclass(frozen=True)
class ParsedBatch:
    articles: pl.DataFrame
    quarantine: pl.DataFrame


def quarantine_row(
    source_path: str,
    sha256: str | None,
    size: int,
    reason: Reason,
    message: str,
    options: ParseOptions,
) -> dict[str, Any]:
    return {
        "source_path": source_path,
        "source_sha256": sha256,
        "size_bytes": size,
        "reason": str(reason),
        "message": " ".join(message.split())[:500],
        "run_id": options.run_id,
        "seen_at": options.now,
    }


def articles_frame(rows: list[dict[str, Any]], weights: KeywordWeights | None = None) -> pl.DataFrame:
    """Rows of article_row to an ARTICLES frame, measures added."""
    if not rows:
        return ARTICLES.empty_frame()
    # Column by column: Polars builds a frame from lists far faster than from row dicts.
    frame = pl.DataFrame([ARTICLES.series(name, [row[name] for row in rows]) for name in _ROW_SCHEMA])
    tokens = [keyword_tokens(row["title"], row["body_text"]) for row in rows] if weights else None
    return ARTICLES.conform(with_singleton_stories(with_text_measures(frame, tokens, weights)))


def quarantine_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    if not rows:
        return QUARANTINE.empty_frame()
    return QUARANTINE.conform(pl.DataFrame(rows, schema=QUARANTINE.polars_schema))


def parsed_batch(files: Iterable[RawFile], options: ParseOptions) -> ParsedBatch:
    """Every file becomes exactly one article row or one quarantine row."""
    rows: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    for raw in files:
        if raw.data is None:
            reason = raw.unread_reason or Reason.UNREADABLE
            held.append(
                quarantine_row(
                    raw.source_path, raw.sha256, raw.size_bytes, reason, raw.unread_message, options
                )
            )
            continue
        try:
            rows.append(article_row(raw.data, raw.source_path, options, raw.sha256))
        except Quarantined as exc:
            held.append(
                quarantine_row(raw.source_path, raw.sha256, raw.size_bytes, exc.reason, exc.message, options)
            )
        except Exception as exc:  # a parser bug must not lose the file or stop the run
            message = f"{type(exc).__name__}: {exc}"
            held.append(
                quarantine_row(
                    raw.source_path,
                    raw.sha256,
                    raw.size_bytes,
                    Reason.PARSE_ERROR,
                    message,
                    options,
                )
            )
    articles = articles_frame(rows, options.keyword_weights)
    if options.learned_names is not None:  # over the whole batch: one pass for every text
        articles = ARTICLES.conform(with_name_mentions(articles, options.learned_names))
    return ParsedBatch(articles=articles, quarantine=quarantine_frame(held))
