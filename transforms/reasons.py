"""Why a file went to quarantine: the documented list of reason codes."""

from __future__ import annotations

from enum import StrEnum, auto


class Reason(StrEnum):
    """A reason code: the member's name in lower case (empty_file)."""

    EMPTY_FILE = auto()
    BINARY = auto()
    UNDECODABLE = auto()
    TOO_LARGE = auto()
    MISSING_FRONT_MATTER = auto()
    UNTERMINATED_FRONT_MATTER = auto()
    FRONT_MATTER_NOT_MAPPING = auto()
    INVALID_YAML = auto()
    FRONT_MATTER_TOO_COMPLEX = auto()
    UNREADABLE = auto()
    DUPLICATE_ARTICLE = auto()
    PARSE_ERROR = auto()


REASON_DESCRIPTIONS: dict[Reason, str] = {
    Reason.EMPTY_FILE: "The file is empty or holds only whitespace.",
    Reason.BINARY: "The file holds NUL bytes or other binary content, not text.",
    Reason.UNDECODABLE: "The bytes are neither UTF-8 nor GB18030.",
    Reason.TOO_LARGE: "The file is larger than --max-file-bytes; it was not read.",
    Reason.MISSING_FRONT_MATTER: "The file does not start with a '---' front-matter block.",
    Reason.UNTERMINATED_FRONT_MATTER: "The front matter opens with '---' but never closes.",
    Reason.FRONT_MATTER_NOT_MAPPING: "The front matter is valid YAML but not a mapping of keys.",
    Reason.INVALID_YAML: "The front matter is invalid YAML and no known key could be read line by line.",
    Reason.FRONT_MATTER_TOO_COMPLEX: "The front matter nests too deep, or its YAML aliases expand to far more "
    "than its own size (a YAML bomb); it was not read.",
    Reason.UNREADABLE: "The file could not be read (permissions, vanished, symlink outside the root).",
    Reason.DUPLICATE_ARTICLE: "Another file yields the same article_id; the kept one is named in the message.",
    Reason.PARSE_ERROR: "An unexpected error in the parser (a bug to report); the message names it.",
}


class Quarantined(Exception):
    """Raised by a transform when its input cannot become a row."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
