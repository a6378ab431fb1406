"""The lake object driven directly on tmp folders (no pipeline run, no server): Storage, the
incremental plan, the staging, the writer's write session, prepare/discard/commit, the checks
of a committed state, and the catalog it publishes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from flows.settings import Settings
from tests.conftest import CORPUS
from tests.helpers import catalog, run_through_writer
from transforms.schema import QUARANTINE
from warehouse.incremental import planned_changes
from warehouse.layout import STAGING_DIR, lock_path
from warehouse.load import LakeWriter
from warehouse.lock import LakeBusy
from warehouse.state import LakeDamaged
from warehouse.storage import Storage
from warehouse.tables import LISTING_SCHEMA, MANIFEST


def _source(tmp_path: Path, count: int = 6) -> Path:
    files = sorted(CORPUS.glob("*.txt"))[:count] if CORPUS.is_dir() else []
    if not files:
        pytest.skip(f"{CORPUS} not found (../shared beside the project)")
    source = tmp_path / "src"
    source.mkdir()
    for path in files:
        shutil.copy(path, source / path.name)
    return source


def _count(lake: Path, sql: str = "SELECT count(*) FROM articles") -> int:
    with catalog(lake) as con:
        row = con.execute(sql).fetchone()
        assert row is not None
        return int(row[0])


def test_storage_sizes_what_it_writes_and_knows_a_damaged_file(tmp_path: Path) -> None:
    storage = Storage(tmp_path)
    size = storage.write_parquet(QUARANTINE.empty_frame(), QUARANTINE, "q/a.parquet")
    assert size == (tmp_path / "q/a.parquet").stat().st_size == storage.parquet_size("q/a.parquet")
    (tmp_path / "q/b.parquet").write_bytes((tmp_path / "q/a.parquet").read_bytes()[:-3])
    assert storage.parquet_size("q/b.parquet") is None
    assert storage.parquet_size("q/missing.parquet") is None
    assert storage.delete_except(("q",), {"q/a.parquet"}) == 1
    assert sorted(p.name for p in (tmp_path / "q").iterdir()) == ["a.parquet"]


def test_the_plan_reads_only_what_may_have_changed() -> None:
    listing = pl.DataFrame(
        [("a.md", 10, 1), ("b.md", 20, 2), ("c.md", 30, 3)], schema=LISTING_SCHEMA, orient="row"
    )
    manifest = MANIFEST.empty_frame().vstack(
        MANIFEST.conform(
            pl.DataFrame(
                {
                    "source_path": ["a.md", "b.md", "gone.md"],
                    "size_bytes": [10, 20, 5],
                    "mtime_ns": [1, 99, 5],
                    "source_sha256": ["sa", "sb", "sg"],
                    "status": ["loaded"] * 3,
                    "article_id": ["ia", "ib", "ig"],
                    "year": [2021] * 3,
                    "month": [1] * 3,
                    "run_id": ["r0"] * 3,
                }
            )
        )
    )
    plan = planned_changes(listing, manifest)
    assert (plan.seen, plan.new, plan.unchanged, plan.deleted) == (3, 1, 1, ["gone.md"])
    assert dict(plan.candidates.select("source_path", "known_sha256").iter_rows()) == {
        "b.md": "sb",  # its mtime moved: read, and compared by hash
        "c.md": None,
    }
    assert planned_changes(listing, manifest, full_refresh=True).candidates.height == 3


def test_a_write_holds_the_lock_and_leaves_no_staging(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    writer = LakeWriter(Storage(lake), lock_path(str(lake), lake / "warehouse.duckdb"))
    other = LakeWriter(Storage(lake), lock_path(str(lake), lake / "warehouse.duckdb"))
    with pytest.raises(RuntimeError, match="boom"), writer.writing("r1") as staging:
        assert staging.lake == lake.resolve().as_posix()
        (lake / staging.folder).mkdir(parents=True)
        (lake / staging.folder / "x.arrow").write_bytes(b"x")
        with pytest.raises(LakeBusy), other.writing("r2"):
            pass
        raise RuntimeError("boom")
    assert not (lake / STAGING_DIR).exists()
    with other.writing("r3") as staging:  # the lock was released
        assert staging.folder.endswith("r3")


def test_prepared_files_are_invisible_until_commit_and_a_discard_commits_no_data(tmp_path: Path) -> None:
    source, lake = _source(tmp_path), tmp_path / "lake"
    settings = Settings(source=source, lake=lake, workers=1)
    writer, _ = run_through_writer(source, lake, "r1", settings)
    state = writer.state(reread=True)
    writer.publish(state, lake / "warehouse.duckdb")
    assert _count(lake) == 6
    assert state.sizes and set(state.sizes) == state.referenced()

    (source / sorted(p.name for p in source.iterdir())[0]).unlink()
    writer = LakeWriter(Storage(lake))
    writer.discard()
    discarded = writer.commit({"run_id": "r2"}, retain_seconds=0.0)  # a failed run: its row only
    assert discarded.partitions == state.partitions and discarded.runs != state.runs
    writer.publish(discarded, lake / "warehouse.duckdb")
    assert _count(lake) == 6 and _count(lake, "SELECT count(*) FROM runs") == 2


def test_a_replaced_file_is_found_before_it_is_trusted(tmp_path: Path) -> None:
    source, lake = _source(tmp_path), tmp_path / "lake"
    run_through_writer(source, lake, "r1", Settings(source=source, lake=lake, workers=1))
    state = json.loads((lake / "_state.json").read_text())
    counts = lake / "_files" / state["line_counts"]
    empty = pl.read_parquet(counts).clear()
    counts.unlink()
    empty.write_parquet(counts)
    fresh = LakeWriter(Storage(lake))
    fresh.recovered()
    assert fresh.stale_models == [state["line_counts"]]
    manifest = lake / "_files" / state["manifest"]
    frame = pl.read_parquet(manifest).head(1)
    manifest.unlink()
    frame.write_parquet(manifest)
    with pytest.raises(LakeDamaged, match="has changed since it was committed"):
        LakeWriter(Storage(lake)).recovered()


def test_starting_over_retires_the_old_files_until_the_commit(tmp_path: Path) -> None:
    source, lake = _source(tmp_path), tmp_path / "lake"
    writer, _ = run_through_writer(source, lake, "r1", Settings(source=source, lake=lake, workers=1))
    old = writer.state(reread=True)
    fresh = LakeWriter(Storage(lake))
    base = fresh.started_over(fresh.salvaged_runs(), "r2")
    assert base.partitions == {} and set(base.retired) == old.referenced() | set(old.retired)
    # Nothing is committed yet: the lake on disk is still the old one, whole.
    assert json.loads((lake / "_state.json").read_text())["run_id"] == "r1"
    assert all((lake / "_files" / rel).exists() for rel in old.referenced())


@pytest.mark.parametrize(("flush_bytes", "held_bytes"), [(1, 1 << 30), (1 << 30, 1)])
def test_regrouped_staging_gives_each_file_its_rows_and_later_copies_still_win(
    tmp_path: Path, flush_bytes: int, held_bytes: int
) -> None:
    """Flushed a group at a time (each over flush_bytes) or all groups at once (all of them over
    held_bytes): the most files either way."""
    from warehouse.layout import partition_key
    from warehouse.staging import BatchStaging, StagedRun

    source = _source(tmp_path, count=12)
    writer, _ = run_through_writer(source, tmp_path / "built", "r0", Settings(source=source, lake=tmp_path))
    partition, files = max(writer.state().partitions.items(), key=lambda item: len(item[1]))
    year, month = partition_key(partition)
    rows = pl.concat([writer.rows(rel) for rel in files]).with_columns(
        year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32())
    )
    storage = Storage(tmp_path / "lake")
    folder = f"{STAGING_DIR}/r1"
    empty = rows.clear()
    for index, batch in enumerate((rows[:8], rows[4:])):  # rows 4-7 staged twice: the later wins
        later = batch.with_columns(title=pl.lit(f"batch {index}"))
        BatchStaging(str(tmp_path / "lake"), folder).staged_batch(
            index, later, QUARANTINE.empty_frame(), empty.clear(), empty, empty
        )
    staged = StagedRun(storage, folder)
    paths = rows["source_path"].sort().to_list()
    groups = [paths[::2], paths[1::2]]
    before = [staged.articles(partition, group).sort("source_path") for group in groups]
    staged.regrouped(partition, groups, flush_bytes=flush_bytes, held_bytes=held_bytes)
    after = [staged.articles(partition, group).sort("source_path") for group in groups]
    for old, new in zip(before, after, strict=True):
        assert new.equals(old)
    assert set(after[0]["title"].to_list()) <= {"batch 0", "batch 1"}
    late = [p for p in rows[4:]["source_path"].to_list() if p in paths]
    assert all(
        t == "batch 1" for p, t in pl.concat(after).select("source_path", "title").iter_rows() if p in late
    )
    grouped = storage.files_under(f"{folder}/grouped")
    assert grouped and all(f"/grouped/{partition}/" in rel for rel in grouped)
    assert storage.files_under(f"{folder}/articles/{partition}") == []  # read once, then deleted
    staged.staged_relearned(rows.head(1).with_columns(title=pl.lit("relearned")))  # read back with the groups
    again = pl.concat([staged.articles(partition, group) for group in groups])
    assert again.height == len(paths) and again["title"].to_list().count("relearned") == 1


def _rows_in_one_partition(tmp_path: Path) -> tuple[str, pl.DataFrame]:
    """Twelve real rows, built through the writer, all given one dated partition (to stage there)."""
    from warehouse.layout import partition_key

    source = _source(tmp_path, count=12)
    writer, _ = run_through_writer(source, tmp_path / "built", "r0", Settings(source=source, lake=tmp_path))
    partitions = writer.state().partitions
    partition = next(name for name in sorted(partitions) if partition_key(name)[0] is not None)
    year, month = partition_key(partition)
    rows = pl.concat([writer.rows(rel) for files in partitions.values() for rel in files]).with_columns(
        year=pl.lit(year, pl.Int32()), month=pl.lit(month, pl.Int32())
    )
    return partition, rows


def test_staged_rows_are_read_from_the_files_that_hold_them_and_later_copies_still_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse.staging import BatchStaging, StagedRun

    partition, rows = _rows_in_one_partition(tmp_path)
    storage = Storage(tmp_path / "lake")
    folder = f"{STAGING_DIR}/r1"
    for index, row in enumerate(rows.iter_slices(1)):  # a batch per row
        BatchStaging(str(tmp_path / "lake"), folder).staged_batch(
            index, row, QUARANTINE.empty_frame(), row.clear(), row, row
        )
    staged = StagedRun(storage, folder)
    read: list[list[str]] = []
    reads = Storage.read_staged_rows

    def counted(self: Storage, rels: list[str], paths: list[str]) -> pl.DataFrame:
        read.append(rels)
        return reads(self, rels, paths)

    monkeypatch.setattr(Storage, "read_staged_rows", counted)
    last = rows["source_path"][-1]
    assert staged.articles(partition, [last])["source_path"].to_list() == [last]
    assert read == [[f"{folder}/articles/{partition}/{rows.height - 1:06d}.arrow"]]
    staged.staged_relearned(rows.tail(1).with_columns(title=pl.lit("again")))
    again = staged.articles(partition, [last])
    assert again["title"].to_list() == ["again"] and len(read[-1]) == 2  # its batch, then the later copy
    assert staged.articles(partition, ["not/staged.md"]).is_empty()


def test_staged_rows_hold_their_text_once_and_read_back_as_parsed(tmp_path: Path) -> None:
    """body_text is staged as its paragraphs only (the contract joins them by newlines) and
    joined again on every read: whole rows, some columns, and rows the merge re-derived."""
    import pyarrow.ipc as ipc

    from warehouse.staging import BatchStaging, StagedRun

    partition, rows = _rows_in_one_partition(tmp_path)
    assert rows.height == 12 and rows["paragraph_count"].max() > 1
    storage, folder = Storage(tmp_path / "lake"), f"{STAGING_DIR}/r1"
    BatchStaging(str(tmp_path / "lake"), folder).staged_batch(
        0, rows, QUARANTINE.empty_frame(), rows.clear(), rows, rows
    )
    staged_file = tmp_path / "lake" / folder / "articles" / partition / "000000.arrow"
    stored = ipc.open_file(staged_file).schema.names
    assert "body_text" not in stored and "paragraphs" in stored
    staged = StagedRun(storage, folder)
    paths = rows["source_path"].to_list()
    back = staged.articles(partition, paths).sort("source_path")
    assert back.columns == rows.columns and back.equals(rows.sort("source_path"))
    (_, columns), *_ = list(staged.article_columns(["source_path", "body_text"]))
    assert columns.columns == ["source_path", "body_text"]
    assert columns.sort("source_path").equals(rows.select("source_path", "body_text").sort("source_path"))
    relearned = rows.head(1).with_columns(paragraphs=pl.lit(["one", "two"]), body_text=pl.lit("one\ntwo"))
    staged.staged_relearned(relearned)
    again = staged.articles(partition, paths[:1])
    assert again["body_text"].to_list() == ["one\ntwo"]
