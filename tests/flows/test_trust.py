"""What a run cannot see never deletes, what a user cannot see never changes the lake: folders
the run cannot list, settings that shape rows, file names that are not UTF-8, model files that
disagree with what was committed, and messages that say whether a run committed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from flows.sample import sample_article
from flows.settings import ROW_SETTINGS, Settings
from tests.conftest import CORPUS, ROOT
from tests.helpers import assert_same_lake, newslake, run, snapshot

FEEDS = CORPUS.parent / "corpus-feeds"
# Root reads any folder whatever its mode: drop the capabilities that let it, as a service
# account would run (what a real scheduled run meets after a permission change or NFS hiccup).
AS_AN_ORDINARY_USER = [
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
]


def _feeds(tmp_path: Path, count: int = 200) -> Path:
    files = sorted(FEEDS.glob("*.txt"))[:count] if FEEDS.is_dir() else []
    if not files:
        pytest.skip(f"{FEEDS} not found (../shared beside the project); CI always has it")
    source = tmp_path / "src"
    source.mkdir()
    for path in files:
        shutil.copy(path, source / path.name)
    return source


def _newslake(*args: str, drop_root: bool = False) -> subprocess.CompletedProcess[str]:
    return newslake(args, prefix=AS_AN_ORDINARY_USER if drop_root else ())


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="drops root's read override with setpriv: needs root (CI runs as root)",
)


@needs_root
def test_a_folder_the_run_cannot_list_deletes_nothing(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path, 60), tmp_path / "lake"
    sub = source / "sub"
    sub.mkdir()
    for path in sorted(source.glob("*.txt"))[:20]:
        path.rename(sub / path.name)
    assert _newslake("run", "--source", str(source), "--lake", str(lake), "-q").returncode == 0
    before = snapshot(lake)["articles"]
    sub.chmod(0)
    try:
        proc = _newslake("run", "--source", str(source), "--lake", str(lake), "-q", drop_root=True)
    finally:
        sub.chmod(0o755)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "'sub/'" in lines[0] and "Permission denied" in lines[0], proc.stderr
    assert "not committed" in lines[0]
    assert snapshot(lake)["articles"].equals(before)
    assert run(source, lake).status == "no_changes"


@needs_root
def test_a_file_the_run_cannot_stat_deletes_nothing(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path, 30), tmp_path / "lake"
    sub = source / "sub"
    sub.mkdir()
    for path in sorted(source.glob("*.txt"))[:5]:
        path.rename(sub / path.name)
    run(source, lake)
    sub.chmod(0o444)  # listable, but its entries cannot be looked up
    try:
        proc = _newslake("run", "--source", str(source), "--lake", str(lake), "-q", drop_root=True)
    finally:
        sub.chmod(0o755)
    assert proc.returncode == 1 and "cannot list 'sub/" in proc.stderr, proc.stderr
    assert snapshot(lake)["articles"].height == 30


ROW_SETTING_VALUES: dict[str, object] = {
    "tz": "America/New_York",
    "max_file_bytes": 20_000,  # about one file in ten is larger
    # 知乎日报's quoted link label (in 6 of its 20 articles here, see feeds_lake) is learned no
    # more (每经网's disclaimer and dateline are notices: taken out whatever the model).
    "boilerplate_min_share": 0.9,
    "boilerplate_min_articles": 7,
    "boilerplate_min_feed_articles": 30,
    # Aljazeera's photo credit "(半岛电视台)" (7 characters, 3 of 20 articles) is learned no more.
    "boilerplate_long_chars": 8,
    "boilerplate_template_min_share": 0.2,
    "boilerplate_template_min_articles": 4,
    # 每经网's daily index reports (0.2 to 0.25 of their shingles shared) become one story.
    "story_min_similarity": 0.15,
    # Every name is taught by one article here: at two, 财联社's and 格隆汇's name mentions go.
    "names_min_articles": 2,
    # 腾讯, 特斯拉 and 京东 in a dozen articles become stock mentions (recorded by content).
    "securities": ROOT / "tests" / "golden" / "securities.csv",
}


def test_every_row_setting_is_tried() -> None:
    assert set(ROW_SETTING_VALUES) == set(ROW_SETTINGS)


@pytest.fixture(scope="module")
def feeds_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """corpus-feeds (src) and its lake (lake) with the default settings, copied by each test."""
    root = tmp_path_factory.mktemp("feeds-lake")
    source = _feeds(root)
    # Six 知乎日报 answers with their link label quoted: a quotation is learned by its share alone
    # (6 of 20), the one line of these feeds the share and count settings decide (the rest are
    # templates or notices).
    for path in sorted(source.glob("30[0-5]_*.txt")):
        path.write_bytes(path.read_bytes().replace("查看知乎讨论".encode(), "“查看知乎讨论”".encode(), 1))
    run(source, root / "lake", workers=2, batch_size=50)
    return root


@pytest.mark.parametrize("name", sorted(ROW_SETTING_VALUES))
def test_a_changed_row_setting_rebuilds_what_it_changes(tmp_path: Path, feeds_lake: Path, name: str) -> None:
    # Copies keep the files' mtimes: the copied lake's manifest finds its source unchanged.
    source, lake = tmp_path / "src", tmp_path / "lake"
    shutil.copytree(feeds_lake / "src", source)
    shutil.copytree(feeds_lake / "lake", lake)
    changed = {name: ROW_SETTING_VALUES[name]}
    clean = tmp_path / "clean"
    run(source, clean, batch_size=50, **changed)
    assert not snapshot(clean)["articles"].equals(snapshot(lake)["articles"]) or not snapshot(clean)[
        "quarantine"
    ].equals(snapshot(lake)["quarantine"]), f"{name}={changed[name]} changes nothing: no test"

    again = run(source, lake, workers=2, batch_size=50, **changed)  # no file changed
    assert again.status == "succeeded"
    assert again.message and name in again.message and "parsed again" in again.message
    assert_same_lake(lake, clean)
    state = json.loads((lake / "_state.json").read_text())
    assert state["row_settings"][name] == Settings(source=source, lake=lake, **changed).row_settings[name]
    assert run(source, lake, workers=2, batch_size=50, **changed).status == "no_changes"


def test_a_lake_that_did_not_record_its_settings_is_rebuilt_once(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path, 40), tmp_path / "lake"
    run(source, lake)
    state_file = lake / "_state.json"
    state = json.loads(state_file.read_text())
    del state["row_settings"]
    state_file.write_text(json.dumps(state))
    again = run(source, lake)
    assert again.status == "succeeded" and "did not record" in (again.message or "")
    assert run(source, lake).status == "no_changes"


def test_a_file_name_that_is_not_utf8_becomes_a_row(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path, 20), tmp_path / "lake"
    odd = Path(os.fsdecode(os.path.join(os.fsencode(source), b"\xff\xfe.txt")))
    odd.write_bytes(sample_article(1, seed=3)[1])
    (source / "sub\udcff").mkdir()  # a folder named in Latin-1, with an article in it
    (source / "sub\udcff" / "b\udce9.txt").write_bytes(sample_article(2, seed=3)[1])
    summary = run(source, lake)
    assert (summary.status, summary.loaded.quarantined, summary.loaded.rows_written) == ("succeeded", 0, 22)
    paths = set(snapshot(lake)["articles"]["source_path"].to_list())
    assert {"\\xff\\xfe.txt", "sub\\xff/b\\xe9.txt"} <= paths
    assert run(source, lake).status == "no_changes"
    odd.write_bytes(sample_article(1, seed=3)[1] + b"<p>more</p>")
    changed = run(source, lake)
    assert (changed.files_changed, changed.loaded.rows_written) == (1, 1)
    odd.unlink()
    assert run(source, lake).loaded.rows_deleted == 1


def test_a_model_file_replaced_since_its_commit_is_learned_again(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path), tmp_path / "lake"
    run(source, lake, workers=2, batch_size=50)
    state = json.loads((lake / "_state.json").read_text())
    counts = lake / "_files" / state["line_counts"]
    empty = pl.read_parquet(counts).clear()
    counts.unlink()
    empty.write_parquet(counts)  # valid Parquet, but it says nothing was ever counted
    first = sorted(source.glob("*.txt"))[0]
    first.write_text(first.read_text().replace("<", "<p>新加的一段</p><", 1))
    again = run(source, lake, workers=2, batch_size=50)
    assert "changed since it was committed" in (again.message or "")
    clean = tmp_path / "clean"
    run(source, clean, workers=2, batch_size=50)
    assert_same_lake(lake, clean)


def test_a_data_file_replaced_since_its_commit_is_named_as_damage(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path, 40), tmp_path / "lake"
    run(source, lake)
    state = json.loads((lake / "_state.json").read_text())
    manifest = lake / "_files" / state["manifest"]
    frame = pl.read_parquet(manifest).head(3)
    manifest.unlink()
    frame.write_parquet(manifest)
    proc = _newslake("run", "--source", str(source), "--lake", str(lake), "-q")
    assert proc.returncode == 1
    assert "has changed since it was committed" in proc.stderr and "newslake repair" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    repaired = _newslake("repair", "--source", str(source), "--lake", str(lake))
    assert repaired.returncode == 0, repaired.stderr
    assert run(source, lake).status == "no_changes"


@needs_root
def test_a_commit_that_failed_after_its_state_says_it_committed(tmp_path: Path) -> None:
    source, lake = _feeds(tmp_path, 40), tmp_path / "lake"
    run(source, lake)
    first = sorted(source.glob("*.txt"))[0]
    first.write_text(first.read_text().replace("<", "<p>新加的一段</p><", 1))
    articles = lake / "articles"
    folders = [articles, *[p for p in articles.rglob("*") if p.is_dir()]]
    for folder in folders:
        folder.chmod(0o555)
    try:
        proc = _newslake("run", "--source", str(source), "--lake", str(lake), "-q", drop_root=True)
    finally:
        for folder in folders:
            folder.chmod(0o755)
    assert proc.returncode == 1
    state = json.loads((lake / "_state.json").read_text())
    committed = state["run_id"] not in {None, ""} and "changes were committed" in proc.stderr
    assert committed, proc.stderr
    assert run(source, lake).status == "no_changes"
    clean = tmp_path / "clean"
    run(source, clean)
    assert_same_lake(lake, clean)
