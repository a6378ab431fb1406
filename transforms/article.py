"""One raw article file (bytes) to one article row, or a Quarantined exception."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from transforms.body import article_body
from transforms.boilerplate import feed_key, split_lines, without_credits
from transforms.decoding import decoded_text
from transforms.fields import (
    MAX_TITLE_CHARS,
    categories_of,
    comments_enabled_of,
    feed_name_of,
    image_url_of,
    is_plausible_date,
    optional_text,
    published_at_of,
    title_of,
)
from transforms.frontmatter import front_matter
from transforms.keywords import KeywordWeights
from transforms.stocks import Securities, stock_mentions_of, stock_names_of
from transforms.version import PARSER_VERSION


@dataclass(frozen=True)
class ParseOptions:
    """What a parse depends on besides the bytes: the zone of naive dates, caps, and the time of
    the run (handed in by the caller: nothing here reads the clock; it is only ingested_at)."""

    now: dt.datetime
    timezone: str  # the settings' tz (flows/defaults.py declares its default)
    max_title_chars: int = MAX_TITLE_CHARS
    run_id: str = "adhoc"
    # The IDF table keywords are weighed by; without it keywords are left empty.
    keyword_weights: KeywordWeights | None = None
    # The lines each feed is known to repeat (by feed_key: line hashes), learned from the lake.
    learned_lines: Mapping[int, frozenset[int]] = field(default_factory=dict)
    # The user's securities list: names found in the text become stock mentions ("list").
    securities: Securities | None = None
    # The names the archive has taught (name -> code, the user's list's names left out): names
    # found in the text become stock mentions ("name", added to a whole batch at once:
    # transforms.batch); the learn stage re-derives the rows whose names its final model changes.
    learned_names: Securities | None = None

    def learned_for(self, key: int | None) -> frozenset[int]:
        return self.learned_lines.get(key, frozenset()) if key is not None else frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def article_id_of(
    categories: list[str], title: str | None, published_at: dt.datetime | None, content_hash: str
) -> str:
    """Deterministic id from the article's own identity, not from where its file lies.

    Feed, title and publication time identify an article; when the title or the time is
    missing they do not, so the cleaned text's hash joins them.
    """
    when = published_at.isoformat() if published_at is not None else ""
    parts = ["\x1f".join(categories[:3]), title or "", when]
    if not title or published_at is None:
        parts.append(content_hash)
    return _sha256("\x1e".join(parts).encode("utf-8"))[:32]


def article_row(
    raw: bytes, source_path: str, options: ParseOptions, source_sha256: str | None = None
) -> dict[str, Any]:
    """Parse a raw article file into a row of the ARTICLES schema (partition keys included), less
    the text measures, which transforms.measures adds to a whole batch at once.

    Raises Quarantined when the bytes cannot become a row.
    """
    decoded = decoded_text(raw)
    matter = front_matter(decoded.text)
    fields = matter.fields
    body = article_body(matter.body)

    zone = options.zone
    title, title_truncated = title_of(fields.get("title"), options.max_title_chars)
    categories = categories_of(fields.get("categories"))
    published_at = published_at_of(fields.get("date"), zone)
    out_of_range = published_at is not None and not is_plausible_date(published_at)
    published_date = published_at.astimezone(zone).date() if published_at is not None else None

    source = categories[1] if len(categories) > 1 else None
    feed = feed_name_of(categories[2]) if len(categories) > 2 else None
    lines, credits = without_credits(body.paragraphs, title)
    # The hash is of the text before the feed's learned lines go: an article keeps its identity
    # while what its feed has learned changes.
    content_hash = _sha256("\n".join(lines).encode("utf-8"))
    split = split_lines(lines, options.learned_for(feed_key(source, feed)))
    paragraphs = split.kept
    body_text = "\n".join(paragraphs)

    mentions = stock_mentions_of(body.stock_codes, body_text, body.link_urls, options.securities)
    return {
        "article_id": article_id_of(categories, title, published_at, content_hash),
        "source_path": source_path,
        "source_sha256": source_sha256 or _sha256(raw),
        "content_hash": content_hash,
        "run_id": options.run_id,
        "ingested_at": options.now,
        "parser_version": PARSER_VERSION,
        "title": title,
        "category": categories[0] if len(categories) > 0 else None,
        "source": source,
        "feed": feed,
        "categories": categories,
        "author": optional_text(fields.get("author")),
        "published_at": published_at,
        "published_date": published_date,
        "head_image_url": image_url_of(fields.get("headimg")),
        "thumbnail_url": image_url_of(fields.get("thumbnail")),
        "comments_enabled": comments_enabled_of(fields.get("comments")),
        "body_text": body_text,
        "paragraphs": paragraphs,
        "lead": paragraphs[0] if paragraphs else None,
        "editor": body.editor,
        "editor_code": body.editor_code,
        "credits": credits,
        "boilerplate_lines": split.removed,
        "boilerplate_at": split.removed_at,
        "stock_codes": [mention["stock_code"] for mention in mentions],
        "stock_mentions": mentions,
        # From the markup and the text before the feed's learned lines go: the file alone decides.
        "stock_names": stock_names_of(body.linked_names, "\n".join(lines)),
        "image_urls": body.image_urls,
        "link_urls": body.link_urls,
        "has_video": body.has_video,
        "table_count": body.table_count,
        "paragraph_count": len(paragraphs),
        "image_count": len(body.image_urls),
        "title_length": len(title) if title else 0,
        "missing_date": published_at is None,
        "date_out_of_range": out_of_range,
        "blank_title": title is None,
        "title_truncated": title_truncated,
        "empty_body": not paragraphs,
        "front_matter_recovered": matter.recovered,
        "non_utf8": decoded.non_utf8,
        "year": published_date.year if published_date is not None else None,
        "month": published_date.month if published_date is not None else None,
    }
