"""Front matter: split it from the body and read it, safely, with a line-based fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from transforms.reasons import Quarantined, Reason

# The C loader is an order of magnitude faster; SafeLoader is the same grammar without it.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KNOWN_KEYS = ("title", "categories", "headimg", "author", "comments", "date", "thumbnail")

_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)
# Greedy values, trailing blanks stripped in code: a lazy value before [ \t]*$ costs n^2 on a
# line with a long run of blanks inside it.
_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(.*))?$")
_ITEM_LINE = re.compile(r"^[ \t]+-[ \t]*(.*)$")
_INLINE_LIST = re.compile(r"^\[(.*)\]$")


@dataclass(frozen=True)
class FrontMatter:
    fields: dict[str, Any]
    body: str
    recovered: bool


def split_front_matter(text: str) -> tuple[str, str]:
    """Return (yaml_text, body). Leading blank lines before the opening fence are normal."""
    start = 0
    length = len(text)
    while start < length:
        end = text.find("\n", start)
        line = text[start : end if end != -1 else length]
        if line.strip():
            break
        if end == -1:
            start = length
            break
        start = end + 1
    opening = _FENCE.match(text, start)
    if opening is None:
        raise Quarantined(Reason.MISSING_FRONT_MATTER, "no '---' front matter at the start of the file")
    closing = _FENCE.search(text, opening.end())
    if closing is None:
        raise Quarantined(Reason.UNTERMINATED_FRONT_MATTER, "front matter opened with '---' is never closed")
    return text[opening.end() : closing.start()], text[closing.end() :]


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        inner = value[1:-1]
        return inner.replace("''", "'") if value[0] == "'" else inner
    return value


def _front_matter_by_lines(yaml_text: str) -> dict[str, Any]:
    """Read the known keys line by line, for front matter that YAML rejects.

    Values are taken verbatim (outer quotes removed): a title such as
    "There's No Stopping Apple's iPhone "Supercycle," Says Analyst" survives.
    """
    fields: dict[str, Any] = {}
    list_key: str | None = None
    for line in yaml_text.split("\n"):
        item = _ITEM_LINE.match(line)
        if item and list_key is not None:
            fields[list_key].append(_unquoted(item.group(1).rstrip(" \t")))
            continue
        key_line = _KEY_LINE.match(line)
        if key_line is None:
            continue
        key, value = key_line.group(1), (key_line.group(2) or "").rstrip(" \t")
        list_key = None
        if key not in KNOWN_KEYS:
            continue
        inline = _INLINE_LIST.match(value)
        if inline:
            fields[key] = [_unquoted(v.strip()) for v in inline.group(1).split(",") if v.strip()]
        elif value == "":
            fields[key] = []
            list_key = key
        else:
            fields[key] = _unquoted(value)
    for key, value in list(fields.items()):
        if value == [] and key != "categories":
            fields[key] = None
    return fields


def front_matter(text: str) -> FrontMatter:
    """Split and parse a raw article's front matter; YAML tags are never constructed."""
    yaml_text, body = split_front_matter(text)
    try:
        loaded = yaml.load(yaml_text, Loader=_Loader)
    except yaml.YAMLError:
        fields = _front_matter_by_lines(yaml_text)
        if not any(k in fields for k in ("title", "date", "categories")):
            raise Quarantined(
                Reason.INVALID_YAML,
                "front matter is invalid YAML and has no readable title, date or categories",
            ) from None
        return FrontMatter(fields=fields, body=body, recovered=True)
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise Quarantined(
            Reason.FRONT_MATTER_NOT_MAPPING,
            f"front matter is a YAML {type(loaded).__name__}, not a mapping",
        )
    return FrontMatter(fields={str(k): v for k, v in loaded.items()}, body=body, recovered=False)
