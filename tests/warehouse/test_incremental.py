from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flows.pipeline import Stages, run_pipeline
from flows.sample import write_sample
from flows.settings import Settings
from tests.helpers import assert_same_lake, parquet_files, run, snapshot
from transforms.version import PARSER_VERSION
from warehouse.load import MassDeleteRefused


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    write_sample(folder, 40)
    return folder


def _full(source: Path, tmp_path: Path) -> Path:
    lake = tmp_path / "full"
    run(source, lake)
    return lake


def test_rerun_without_changes_rewrites_nothing(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = run(source, lake)
    assert first.loaded.rows_written == 40
    before = parquet_files(lake)
    again = run(source, lake)
    assert again.status == "no_changes"
    assert again.files_unchanged == 40 and again.loaded.rows_written == 0
    assert parquet_files(lake) == before


def test_touched_file_with_same_bytes_is_not_reparsed(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(source, lake)
    target = next(source.iterdir())
    os.utime(target, ns=(1, 1))
    again = run(source, lake)
    assert again.files_unchanged == 40 and again.status == "no_changes"


def test_change_add_delete_equals_full_build(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(source, lake)
    changed = source / "000001.md"
    changed.write_text(
        changed.read_text(encoding="utf-8").replace("title:", "title: 改过的", 1), encoding="utf-8"
    )
    (source / "000002.md").unlink()
    (source / "new.md").write_bytes(
        (source / "000003.md").read_bytes().replace(b"<div>", b"<div><p>new</p>", 1)
    )
    result = run(source, lake)
    assert (result.files_new, result.files_changed, result.files_deleted) == (1, 1, 1)
    assert_same_lake(lake, _full(source, tmp_path))


def test_duplicate_files_give_one_row_and_the_next_takes_over(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    copy = source / "zz-copy.md"
    copy.write_bytes((source / "000005.md").read_bytes())
    run(source, lake)
    view = snapshot(lake)
    assert view["articles"].height == 40
    dup = view["quarantine"].filter(view["quarantine"]["reason"] == "duplicate_article")
    assert dup["source_path"].to_list() == ["zz-copy.md"]
    (source / "000005.md").unlink()
    run(source, lake)
    view = snapshot(lake)
    assert "zz-copy.md" in view["articles"]["source_path"].to_list()
    assert view["quarantine"].is_empty()
    assert_same_lake(lake, _full(source, tmp_path))


def test_rename_keeps_the_article_id(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(source, lake)
    ids = set(snapshot(lake)["articles"]["article_id"])
    (source / "000007.md").rename(source / "renamed.md")
    run(source, lake)
    assert set(snapshot(lake)["articles"]["article_id"]) == ids


def test_mass_delete_is_refused_unless_allowed(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(source, lake)
    before = snapshot(lake)
    for f in list(source.iterdir())[:30]:
        f.unlink()
    with pytest.raises(MassDeleteRefused):
        run(source, lake)
    assert snapshot(lake)["articles"].equals(before["articles"])
    run(source, lake, allow_mass_delete=True)
    assert snapshot(lake)["articles"].height == 10


def test_full_refresh_equals_clean_build(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    run(source, lake)
    (source / "000001.md").unlink()
    run(source, lake, full_refresh=True)
    assert_same_lake(lake, _full(source, tmp_path))


def test_many_small_runs_leave_one_file_per_partition(source: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    for i in range(5):
        (source / f"extra-{i}.md").write_bytes(
            (source / "000010.md").read_bytes().replace(b"title:", f"title: {i}".encode(), 1)
        )
        run(source, lake)
    files = list((lake / "articles").glob("*.parquet"))
    assert len(files) == len({p.name.split("-part-")[0] for p in files})


@pytest.mark.parametrize("made_by", ["0.9.0", None])
def test_a_lake_another_parser_made_is_parsed_again(
    source: Path, tmp_path: Path, made_by: str | None
) -> None:
    lake = tmp_path / "lake"
    run(source, lake)
    state_file = lake / "_state.json"
    state = json.loads(state_file.read_text())
    assert state["parser_version"] == PARSER_VERSION
    if made_by is None:  # a lake from before the state kept the version
        del state["parser_version"]
    else:
        state["parser_version"] = made_by
    state_file.write_text(json.dumps(state))

    said: list[str] = []
    settings = Settings(source=source, lake=lake, workers=1, batch_size=7, retain_seconds=0.0)
    again = run_pipeline(settings, Stages(log=said.append))
    assert (again.status, again.loaded.rows_written, again.files_changed, again.files_new) == (
        "succeeded",
        40,
        40,
        0,
    )
    assert any(f"parser {PARSER_VERSION} parses every file again" in line for line in said)
    assert json.loads(state_file.read_text())["parser_version"] == PARSER_VERSION
    assert run(source, lake).status == "no_changes"
    assert_same_lake(lake, _full(source, tmp_path))
