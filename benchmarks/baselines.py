"""What newslake is measured against: the parse-only ceiling and a trafilatura extraction loop."""

from __future__ import annotations

import contextlib
from pathlib import Path

import yaml
from bs4 import BeautifulSoup

_Loader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _body_after_front_matter(path: str) -> str:
    """Read a file and load its front matter with the C YAML loader, as both baselines must."""
    text = Path(path).read_text(encoding="utf-8")
    _, front, body = text.split("---", 2)
    with contextlib.suppress(yaml.YAMLError):
        yaml.load(front, Loader=_Loader)
    return body


def ceiling_batch(paths: list[str]) -> int:
    """Parse-only ceiling: read, load the front matter with the C YAML loader, parse the body with
    BeautifulSoup+lxml and take each paragraph's text. Nothing else."""
    paragraphs = 0
    for path in paths:
        soup = BeautifulSoup(_body_after_front_matter(path), "lxml")
        paragraphs += len([p.get_text() for p in soup.find_all("p")])
    return paragraphs


def trafilatura_batch(paths: list[str]) -> int:
    """A trafilatura extraction loop over the same files (its own HTML parsing and cleaning)."""
    import trafilatura

    extracted = 0
    for path in paths:
        body = _body_after_front_matter(path)
        extracted += bool(trafilatura.extract(f"<html><body>{body}</body></html>", include_tables=True))
    return extracted
