"""Stories across feeds: copies of one text share a story_id named by the earliest copy, run by
run (a copy joins, a deleted first copy hands the story on, a bridge merges two), always equal
to a clean build; over real files, the one real pair is found and a feed's daily template is not."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from flows.sample import sample_article
from tests.conftest import CORPUS
from tests.helpers import assert_same_lake, catalog_rows, run

FEEDS = CORPUS.parent / "corpus-feeds"
BRIDGING = {"story_min_similarity": 0.3}  # a text made of two others' halves links both


def _copy(data: bytes, title: str, date: str, lead: str = "据报道，") -> bytes:
    """Another feed's copy: another title and date (another article_id), a lead added."""
    data = re.sub(rb"title: '[^']*'", f"title: '{title}'".encode(), data, count=1)
    data = re.sub(rb"date: [^\n]*", f"date: {date}".encode(), data, count=1)
    return data.replace(b"<div>", f"<div><p>{lead}</p>".encode(), 1)


def _stories(lake: Path) -> dict[str, tuple[str, int, bool]]:
    rows = catalog_rows(lake, "SELECT source_path, story_id, story_size, story_first FROM articles")
    paths = dict(catalog_rows(lake, "SELECT article_id, source_path FROM articles"))
    return {path: (paths[story], size, first) for path, story, size, first in rows}


def _same_as_clean(source: Path, lake: Path, tmp_path: Path, **options: object) -> None:
    clean = tmp_path / f"clean-{len(list(tmp_path.glob('clean-*')))}"
    run(source, clean, **options)
    assert_same_lake(lake, clean)


def test_copies_join_hand_over_and_merge_run_by_run(tmp_path: Path) -> None:
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    for i in range(6):
        name, data = sample_article(i, seed=11)
        (source / name).write_bytes(data)
    a, b = sample_article(0, seed=11)[1], sample_article(1, seed=11)[1]
    run(source, lake, **BRIDGING)
    assert {size for _, size, _ in _stories(lake).values()} == {1}

    # A later copy of 000000 in another feed joins its story; the original stays the first copy.
    (source / "copy-a.md").write_bytes(_copy(a, "转载：央行", "Fri, 24 Dec 2021 08:00:00 GMT"))
    run(source, lake, **BRIDGING)
    stories = _stories(lake)
    assert stories["copy-a.md"] == ("000000.md", 2, False) and stories["000000.md"] == ("000000.md", 2, True)
    _same_as_clean(source, lake, tmp_path, **BRIDGING)

    # The first copy deleted: the story passes to the next copy, and back to a story of one.
    (source / "000000.md").unlink()
    run(source, lake, allow_mass_delete=True, **BRIDGING)
    assert _stories(lake)["copy-a.md"] == ("copy-a.md", 1, True)
    _same_as_clean(source, lake, tmp_path, **BRIDGING)

    # An earlier copy arrives: it names the story from now on.
    (source / "early.md").write_bytes(_copy(a, "快讯：央行", "Mon, 20 Dec 2021 08:00:00 GMT", "今日消息，"))
    (source / "copy-b.md").write_bytes(_copy(b, "转载：另一篇", "Sat, 25 Dec 2021 08:00:00 GMT"))
    run(source, lake, **BRIDGING)
    stories = _stories(lake)
    assert stories["copy-a.md"] == ("early.md", 2, False) and stories["copy-b.md"][0] == "000001.md"
    _same_as_clean(source, lake, tmp_path, **BRIDGING)

    # An article carrying both texts bridges the two stories into one.
    bridge = _copy(a, "两篇合一", "Sun, 26 Dec 2021 08:00:00 GMT") + b[b.find(b"<div>") :]
    (source / "bridge.md").write_bytes(bridge)
    run(source, lake, **BRIDGING)
    stories = _stories(lake)
    merged = {path: story for path, story in stories.items() if story[1] > 1}
    assert set(merged) == {"early.md", "copy-a.md", "000001.md", "copy-b.md", "bridge.md"}
    ((earliest,),) = catalog_rows(
        lake,
        "SELECT source_path FROM articles WHERE source_path IN ('early.md', '000001.md') "
        "ORDER BY published_at, article_id LIMIT 1",
    )
    assert {story for story, _, _ in merged.values()} == {earliest}
    assert [first for _, _, first in merged.values()].count(True) == 1
    _same_as_clean(source, lake, tmp_path, **BRIDGING)

    # The bridge removed: the stories split again.
    (source / "bridge.md").unlink()
    run(source, lake, allow_mass_delete=True, **BRIDGING)
    stories = _stories(lake)
    assert stories["copy-b.md"] == ("000001.md", 2, False) and stories["copy-a.md"] == ("early.md", 2, False)
    _same_as_clean(source, lake, tmp_path, **BRIDGING)


def _feeds_lake(tmp_path: Path) -> Path:
    files = sorted(FEEDS.glob("*.txt")) if FEEDS.is_dir() else []
    if not files:
        pytest.skip(f"{FEEDS} not found (../shared beside the project)")
    lake = tmp_path / "lake"
    run(FEEDS, lake, workers=2, batch_size=50)
    return lake


def test_the_real_copy_across_feeds_is_one_story_and_daily_templates_are_not(tmp_path: Path) -> None:
    lake = _feeds_lake(tmp_path)
    copies = catalog_rows(
        lake,
        "SELECT source, title, story_size, story_first FROM articles WHERE story_size > 1 ORDER BY source",
    )
    # Read from the files: 36kr's and 虎嗅's "00后" article is one text under two titles (0.95 of
    # its 5-grams shared); nothing else in these feeds is a copy. 每经网's daily index reports
    # share 0.2 to 0.25 of theirs once the boilerplate is out: different articles.
    assert copies == [
        ("36kr", "00后都开始做遗体捐赠了", 2, True),
        ("虎嗅", "00后的生命教育，从直面死亡开始", 2, False),
    ]
    (view,) = catalog_rows(lake, "SELECT count(*), sum(copies) FROM stories")
    assert view == (199, 200)
    (story,) = catalog_rows(lake, "SELECT first_source, title, copies, feeds FROM stories WHERE copies > 1")
    assert story == ("36kr", "00后都开始做遗体捐赠了", 2, ["36kr/资讯", "虎嗅/首页资讯"])


def test_a_lake_built_in_two_halves_has_the_same_stories(tmp_path: Path) -> None:
    clean = _feeds_lake(tmp_path / "a")
    source, lake = tmp_path / "src", tmp_path / "lake"
    source.mkdir()
    files = sorted(FEEDS.glob("*.txt"))
    for path in files[1::2]:
        shutil.copy(path, source / path.name)
    run(source, lake)
    for path in files:
        shutil.copy(path, source / path.name)
    run(source, lake)
    assert_same_lake(lake, clean)
    state = json.loads((lake / "_state.json").read_text())
    assert state["story_signatures"] and state["story_edges"]


def test_a_story_wider_than_a_file_is_restaged_a_file_at_a_time(tmp_path: Path) -> None:
    """Eight copies of one text in one month, with files of three rows: the learn stage stages
    the copies' story columns three rows at a time (a big partition's copies are not held at
    once), and every copy ends in the one story, as in a build with the default files."""
    source = tmp_path / "src"
    source.mkdir()
    _, data = sample_article(0, seed=11)
    for i in range(8):
        copy = _copy(data, f"转载{i}", f"2021-12-{10 + i}T08:00:00Z", f"第{i}稿，")
        (source / f"copy-{i}.md").write_bytes(copy)
    run(source, tmp_path / "small", rows_per_file=3)
    stories = _stories(tmp_path / "small")
    assert {story for story, _, _ in stories.values()} == {"copy-0.md"}
    assert {size for _, size, _ in stories.values()} == {8}
    run(source, tmp_path / "default")
    assert_same_lake(tmp_path / "small", tmp_path / "default")
