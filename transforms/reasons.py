"""Why a file went to quarantine: the documented list of reason codes."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """A reason code (the value, in the quarantine's reason column) and what it means (description,
    in the data dictionary)."""

    description: str

    def __new__(cls, code: str, description: str) -> Reason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.description = description
        return member

    EMPTY_FILE = "empty_file", "The file is empty or holds only whitespace."
    BINARY = "binary", "The file holds NUL bytes or other binary content, not text."
    UNDECODABLE = "undecodable", "The bytes are neither UTF-8 nor GB18030."
    TOO_LARGE = "too_large", "The file is larger than --max-file-bytes; it was not read."
    MISSING_FRONT_MATTER = "missing_front_matter", "The file does not start with a '---' front-matter block."
    UNTERMINATED_FRONT_MATTER = (
        "unterminated_front_matter",
        "The front matter opens with '---' but never closes.",
    )
    FRONT_MATTER_NOT_MAPPING = (
        "front_matter_not_mapping",
        "The front matter is valid YAML but not a mapping of keys.",
    )
    INVALID_YAML = (
        "invalid_yaml",
        "The front matter is invalid YAML and no known key could be read line by line.",
    )
    FRONT_MATTER_TOO_COMPLEX = (
        "front_matter_too_complex",
        "The front matter nests too deep, or its YAML aliases expand to far more than its own size (a YAML bomb); it was not read.",
    )
    UNREADABLE = "unreadable", "The file could not be read (permissions, vanished, symlink outside the root)."
    DUPLICATE_ARTICLE = (
        "duplicate_article",
        "Another file yields the same article_id; the kept one is named in the message.",
    )
    PARSE_ERROR = "parse_error", "An unexpected error in the parser (a bug to report); the message names it."


class Quarantined(Exception):
    """Raised by a transform when its input cannot become a row."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
