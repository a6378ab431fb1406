"""Feed names: the decoration a category string carries at its ends is not part of the name (36kr's
feed came as both "资讯" and "— 资讯"), and the raw categories stay as they were."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from flows.defaults import TZ
from tests.conftest import CORPUS
from transforms.article import ParseOptions, article_row
from transforms.fields import _NAME_DECORATION, _WRAPPERS, feed_name_of

FEEDS = CORPUS.parent / "corpus-feeds"
DECORATION = st.text(alphabet=_NAME_DECORATION, max_size=4)
# Names as feeds spell them: letters of any script, digits, inner spaces and punctuation.
NAMES = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "S", "Zs"], exclude_characters="\n\r"), max_size=20
)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("— 资讯", "资讯"),
        ("资讯", "资讯"),
        ("新浪财经－国內", "新浪财经－国內"),
        ("【快讯】", "快讯"),
        ("· 深度 |", "深度"),
        (" - [ 深度 ] - ", "深度"),
        ("实例公共时间线（本站）", "实例公共时间线（本站）"),
        ("(a) (b)", "(a) (b)"),
        ("《财经》", "《财经》"),
        ("コーヒー", "コーヒー"),
        ("—", None),
        ("", None),
        (None, None),
    ],
)
def test_feed_name_of(raw: str | None, name: str | None) -> None:
    assert feed_name_of(raw) == name


@given(NAMES)
def test_a_feed_name_is_a_clean_part_of_the_raw_string(raw: str) -> None:
    name = feed_name_of(raw)
    if name is None:
        return
    assert name in raw
    assert name[0] not in _NAME_DECORATION and name[-1] not in _NAME_DECORATION
    assert feed_name_of(name) == name  # idempotent


@given(NAMES, DECORATION, DECORATION, st.sampled_from(sorted(_WRAPPERS.items())), st.booleans())
def test_decoration_around_a_name_does_not_change_it(
    raw: str, before: str, after: str, wrapper: tuple[str, str], wrapped: bool
) -> None:
    # A name with a bracket of its own may not be wrapped whole: "(" + ")" + ")" is no wrapper.
    assume(not any(c in raw for pair in _WRAPPERS.items() for c in pair))
    name = feed_name_of(raw)
    if name is None:
        return
    inner = f"{wrapper[0]}{raw}{wrapper[1]}" if wrapped else raw
    assert feed_name_of(f"{before}{inner}{after}") == name


def _files() -> list[Path]:
    return sorted(p for folder in (CORPUS, FEEDS) if folder.is_dir() for p in folder.glob("*.txt"))


def test_real_feeds_are_normalised_and_the_raw_categories_kept() -> None:
    """Golden check over ../shared/corpus and corpus-feeds: 36kr's 资讯 once, every feed its raw
    category less the decoration, the categories column as the file gives it."""
    files = _files()
    if not files:
        pytest.skip(f"real corpus not found at {CORPUS} (../shared beside the project); CI always has it")
    options = ParseOptions(timezone=TZ, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    feeds: dict[str, set[str]] = {}
    decorated = 0
    for path in files:
        row = article_row(path.read_bytes(), path.name, options)
        categories = row["categories"]
        raw = categories[2] if len(categories) > 2 else None
        assert row["feed"] == feed_name_of(raw), path.name
        decorated += raw is not None and raw != row["feed"]
        if row["source"] is not None and row["feed"] is not None:
            feeds.setdefault(row["source"], set()).add(row["feed"])
    if FEEDS.is_dir():
        assert feeds["36kr"] == {"资讯", "快讯"}  # not "— 资讯" beside "资讯"
        assert decorated == 1  # 331_a525ea7ed1f35ba2.txt: categories [新媒体, 36kr, — 资讯]
        row = article_row((FEEDS / "331_a525ea7ed1f35ba2.txt").read_bytes(), "331", options)
        assert row["categories"] == ["新媒体", "36kr", "— 资讯"] and row["feed"] == "资讯"
