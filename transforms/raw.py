"""A source file as the extractor hands it to the parser (kept apart from the parser, so that
listing and reading files never imports BeautifulSoup)."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.reasons import Reason


@dataclass(frozen=True)
class RawFile:
    """A source file as read by the extractor: bytes, or the reason it could not be read."""

    source_path: str
    size_bytes: int
    sha256: str | None
    data: bytes | None
    unread_reason: Reason | None = None
    unread_message: str = ""
