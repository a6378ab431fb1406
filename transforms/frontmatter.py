"""Front matter: split it from the body and read it, safely, with a line-based fallback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from transforms.reasons import Quarantined, Reason

# The C loader is an order of magnitude faster; SafeLoader is the same grammar without it.
_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

KNOWN_KEYS = ("title", "categories", "headimg", "author", "comments", "date", "thumbnail")

# Bounds on what the front matter may make of itself (a file past one is quarantined unread).
# Real front matter is a mapping of scalars and one list: 3 levels. Nesting deeper than this is
# hostile, and stays far below Python's recursion limit in whatever walks the values.
MAX_NESTING = 64
# Without aliases a document's nodes and their text weigh at most about twice its size (each node
# costs at least a character, a scalar's text is at most its source). Aliases can make a few
# hundred bytes weigh billions (the billion laughs): the weight is counted with every alias
# expanded, and may be at most this many times the front matter's size, plus a little.
EXPANSION_FACTOR = 4
EXPANSION_SLACK = 1024

_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# Scalars YAML turns into numbers, booleans, times or bytes: 0x1F would become "31", 010 "8", 12:30
# "750", yes "True", and a 5,000-digit number an error. Text fields keep such scalars as written.
_TYPED = frozenset(
    {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:binary", _BOOL, _TIMESTAMP}
)
# Per known key, the YAML types it is read with; all other typed scalars stay text.
_KEPT_TYPES: dict[str, frozenset[str]] = {"date": frozenset({_TIMESTAMP}), "comments": frozenset({_BOOL})}

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


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [item for pair in node.value for item in pair]
    return []


def _check_bounds(root: Node, yaml_text: str) -> None:
    """Quarantine front matter that nests too deep or whose aliases expand past the budget.

    The composed graph shares an aliased node instead of copying it, so composing a bomb is cheap;
    it is every walk over the values (flattening categories, str() of a list) that explodes. This
    walk counts what such a walk would see, and stops as soon as it passes the budget, so it
    costs at most the budget itself (a recursive alias is an infinite expansion: it passes too).
    """
    budget = EXPANSION_FACTOR * len(yaml_text) + EXPANSION_SLACK
    weight = 0
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise Quarantined(
                Reason.FRONT_MATTER_TOO_COMPLEX, f"front matter nests deeper than {MAX_NESTING} levels"
            )
        children = _children(node)
        weight += 1 + (len(node.value) if isinstance(node, ScalarNode) else len(children))
        if weight > budget:
            raise Quarantined(
                Reason.FRONT_MATTER_TOO_COMPLEX,
                f"front matter of {len(yaml_text)} characters expands past {budget} nodes and "
                "characters through its aliases (a YAML bomb)",
            )
        stack.extend((child, depth + 1) for child in children)


def _as_written(loader: Any, key: str, root: Node) -> None:
    """Retag the typed scalars under a known key as text, but for the types the key is read with
    (a date, the comments flag), and those only when they construct: a time YAML cannot make
    (Feb 29 of 2021, year 0, a +99 hours offset) is handed on as its text, which the field reader
    turns into a null date."""
    kept = _KEPT_TYPES.get(key, frozenset())
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, ScalarNode):
            stack.extend(_children(node))
        elif node.tag in _TYPED and (node.tag not in kept or not _constructs(loader, node)):
            node.tag = _STR


def _constructs(loader: Any, node: ScalarNode) -> bool:
    if node.tag == _BOOL:
        return node.value.lower() in loader.bool_values
    if loader.timestamp_regexp.match(node.value) is None:
        return False
    try:
        loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return False
    return True


def _recovered(yaml_text: str, body: str) -> FrontMatter:
    fields = _front_matter_by_lines(yaml_text)
    if not any(k in fields for k in ("title", "date", "categories")):
        raise Quarantined(
            Reason.INVALID_YAML,
            "front matter is invalid YAML and has no readable title, date or categories",
        )
    return FrontMatter(fields=fields, body=body, recovered=True)


def _is_nesting_limit(exc: yaml.YAMLError) -> bool:
    """libyaml's own bound: it refuses to nest deeper than 1000 levels."""
    return "maximum nesting depth" in str(getattr(exc, "problem", "") or "")


def front_matter(text: str) -> FrontMatter:
    """Split and parse a raw article's front matter; YAML tags are never constructed.

    The YAML is composed into nodes first and bounded (nesting, aliases expanded); only the
    known keys are constructed, their typed scalars kept as written (see _as_written).
    """
    yaml_text, body = split_front_matter(text)
    loader = _Loader(yaml_text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            if _is_nesting_limit(exc):
                raise Quarantined(
                    Reason.FRONT_MATTER_TOO_COMPLEX, "front matter nests deeper than libyaml allows"
                ) from None
            return _recovered(yaml_text, body)
        if root is None:
            return FrontMatter(fields={}, body=body, recovered=False)
        _check_bounds(root, yaml_text)
        if not isinstance(root, MappingNode):
            kind = "list" if isinstance(root, SequenceNode) else "scalar"
            raise Quarantined(
                Reason.FRONT_MATTER_NOT_MAPPING, f"front matter is a YAML {kind}, not a mapping"
            )
        try:
            loader.flatten_mapping(root)  # merge keys (<<), as the constructor would
            known: dict[str, Node] = {}
            for key_node, value_node in root.value:
                if isinstance(key_node, ScalarNode) and key_node.tag == _STR and key_node.value in KNOWN_KEYS:
                    known[key_node.value] = value_node  # a repeated key: the last one, as YAML has it
            fields: dict[str, Any] = {}
            for key, value_node in known.items():
                _as_written(loader, key, value_node)
                fields[key] = loader.construct_object(value_node, deep=True)
        except (yaml.YAMLError, ValueError):
            return _recovered(yaml_text, body)
        return FrontMatter(fields=fields, body=body, recovered=False)
    finally:
        loader.dispose()
