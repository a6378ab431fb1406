"""Golden tests over every real file in ../shared/corpus, against a table checked in by hand."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import lxml.html
import pytest

from flows.defaults import TZ
from tests.conftest import corpus_files
from transforms.article import ParseOptions, article_row
from transforms.frontmatter import split_front_matter

GOLDEN = json.loads((Path(__file__).parents[1] / "golden" / "corpus.json").read_text(encoding="utf-8"))
FILES = {p.name: p for p in corpus_files()}
BOILERPLATE = re.compile(
    r"责任编辑|海量资讯、精准解读|appendQr|app-kaihu|&#123;|&#125;|&nbsp;|&amp;|&lt;|<!--|-->|<p\b|</p>|<div|<span|"
    r"<br|\{border|font-size:|news_keyword_pub|referrerpolicy"
)


def _row(name: str) -> dict:
    return article_row(
        FILES[name].read_bytes(), name, ParseOptions(timezone=TZ, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    )


def test_golden_table_covers_the_corpus(corpus: list[Path]) -> None:
    assert sorted(GOLDEN) == sorted(p.name for p in corpus)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_fields(name: str, corpus: list[Path]) -> None:
    want = GOLDEN[name]
    row = _row(name)
    published = row["published_at"].strftime("%Y-%m-%dT%H:%M:%SZ") if row["published_at"] else None
    paragraphs = row["paragraphs"]
    got = {
        "title": row["title"],
        "published_at": published,
        "category": row["category"],
        "source": row["source"],
        "feed": row["feed"],
        "editor": row["editor"],
        "editor_code": row["editor_code"],
        "stock_codes": row["stock_codes"],
        "first_paragraph": paragraphs[0] if paragraphs else None,
        "last_paragraph": paragraphs[-1] if paragraphs else None,
        "paragraph_count": len(paragraphs),
        "credits": row["credits"],
    }
    assert got == want


def test_no_boilerplate_in_any_body_text(corpus: list[Path]) -> None:
    leaks = {}
    for path in corpus:
        row = _row(path.name)
        found = BOILERPLATE.findall(row["body_text"])
        if found:
            leaks[path.name] = found[:3]
    assert leaks == {}


def _visible_text_minus_boilerplate(html: str) -> str:
    """An independent reading of the body with lxml: visible text, less the known boilerplate."""
    if not html.strip():
        return ""
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    for bad in tree.xpath(
        "//comment() | //style | //script | //*[@hidden]"
        " | //*[contains(@class,'appendQr_wrap') or contains(@class,'app-kaihu-qr') or contains(@class,'article-editor')]"
        " | //*[contains(@class,'u-time')]"  # a page template's time stamp
    ):
        bad.getparent().remove(bad) if bad.getparent() is not None else None
    text = tree.text_content()
    text = re.sub(r"责任编辑\s*[：:].*$", "", text.strip())
    return text


def test_body_text_keeps_the_visible_text(corpus: list[Path]) -> None:
    within, ratios = 0, {}
    for path in corpus:
        _, body = split_front_matter(path.read_text(encoding="utf-8"))
        reference = len(re.sub(r"\s", "", _visible_text_minus_boilerplate(body)))
        got = len(re.sub(r"\s", "", _row(path.name)["body_text"]))
        ratio = 1.0 if reference == got == 0 else got / max(reference, 1)
        ratios[path.name] = round(ratio, 3)
        within += 0.85 <= ratio <= 1.1
    assert within / len(corpus) >= 0.95, {k: v for k, v in ratios.items() if not 0.85 <= v <= 1.1}


def test_corpus_rows_are_unique_and_none_quarantined(corpus: list[Path]) -> None:
    ids = {_row(p.name)["article_id"] for p in corpus}
    assert len(ids) == len(corpus)


def test_a_row_depends_on_the_file_not_on_the_clock() -> None:
    """An incremental lake equals a clean build whenever either is built: only ingested_at may
    differ between two parses of the same bytes at different times (a date far ahead included)."""
    name = sorted(FILES)[0]
    future = FILES[name].read_bytes().replace(b"\ndate: ", b"\ndate: 2031-01-01 00:00:00\nold_date: ", 1)
    for data in (FILES[name].read_bytes(), future):
        rows = [
            article_row(data, name, ParseOptions(timezone=TZ, now=dt.datetime(year, 1, 1, tzinfo=dt.UTC)))
            for year in (2026, 2032)
        ]
        assert {k: v for k, v in rows[0].items() if k != "ingested_at"} == {
            k: v for k, v in rows[1].items() if k != "ingested_at"
        }
