"""Bytes of a raw file to text: UTF-8 (with or without BOM), else GB18030; binary is refused."""

from __future__ import annotations

from dataclasses import dataclass

from transforms.reasons import Quarantined, Reason

_BOM = b"\xef\xbb\xbf"
# Control bytes that never occur in text files (tab, LF, CR, FF are fine).
_BINARY_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13))
_BINARY_TABLE = bytes.maketrans(b"", b"")
# The articles' counts (char_count, paragraph_count, table_count, boilerplate_at...) are Int32
# columns, and none can exceed the file's characters, so its bytes: a file this large is refused
# whatever --max-file-bytes allows, rather than failing its whole batch at the cast.
MAX_PARSE_BYTES = 2**31 - 1


@dataclass(frozen=True)
class DecodedText:
    text: str
    non_utf8: bool


def decoded_text(raw: bytes) -> DecodedText:
    """Decode a raw article file, normalising line ends to LF."""
    if len(raw) > MAX_PARSE_BYTES:
        raise Quarantined(
            Reason.TOO_LARGE,
            f"{len(raw)} bytes: counts of a file over {MAX_PARSE_BYTES} could overflow Int32",
        )
    if not raw.strip():
        raise Quarantined(Reason.EMPTY_FILE, "file is empty or whitespace only")
    if b"\x00" in raw:
        raise Quarantined(Reason.BINARY, "file holds NUL bytes: not a text file")
    sample = raw[:8192]
    control = len(sample) - len(sample.translate(_BINARY_TABLE, _BINARY_BYTES))
    if control > max(8, len(sample) // 100):
        raise Quarantined(Reason.BINARY, f"{control} control bytes in the first 8 KiB: not a text file")
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    non_utf8 = False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise Quarantined(Reason.UNDECODABLE, f"neither UTF-8 nor GB18030 (byte {exc.start})") from None
        non_utf8 = True
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return DecodedText(text=text, non_utf8=non_utf8)
