"""The merge's rules on frames alone: collisions, the next manifest and quarantine, and how a
partition's files are kept, split and rewritten (warehouse/merge.py)."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.schema import QUARANTINE
from warehouse.merge import (
    ORIGIN,
    SORT_KEY,
    NewFile,
    duplicate_records,
    next_manifest,
    next_partition_files,
    next_quarantine,
    resolved_collisions,
)
from warehouse.tables import MANIFEST, PROCESSED_SCHEMA, FileStatus

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
KEYS_SCHEMA = {"source_path": pl.String(), "article_id": pl.String(), "year": pl.Int32(), "month": pl.Int32()}


def keys(*rows: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame([(p, a, 2024, 1) for p, a in rows], schema=KEYS_SCHEMA, orient="row")


def kept(ids: dict[str, str]) -> pl.DataFrame:
    """(article_id, source_path) of unchanged loaded rows, from id -> path."""
    return pl.DataFrame(
        {"article_id": list(ids), "source_path": list(ids.values())},
        schema={"article_id": pl.String(), "source_path": pl.String()},
    )


def test_the_smallest_path_of_an_article_wins_and_losers_name_the_kept_file() -> None:
    got = resolved_collisions(keys(("b.md", "A"), ("a.md", "A"), ("c.md", "C")), kept({}))
    assert sorted(got.winners["source_path"].to_list()) == ["a.md", "c.md"]
    assert got.losers == {"b.md": ("A", "a.md")}
    assert got.demoted == []


def test_a_kept_row_is_demoted_by_a_smaller_new_path_and_beats_a_larger_one() -> None:
    got = resolved_collisions(keys(("a.md", "A"), ("z.md", "Z")), kept({"A": "m.md", "Z": "m2.md"}))
    assert got.winners["source_path"].to_list() == ["a.md"]
    assert got.demoted == ["m.md"]
    assert got.losers == {"m.md": ("A", "a.md"), "z.md": ("Z", "m2.md")}


def test_a_loser_names_the_final_winner_not_the_file_that_lost_after_it() -> None:
    got = resolved_collisions(keys(("a.md", "A"), ("c.md", "A")), kept({"A": "b.md"}))
    assert got.losers == {"b.md": ("A", "a.md"), "c.md": ("A", "a.md")}


def _collisions_by_dicts(new_keys: pl.DataFrame, kept: dict[str, str]) -> tuple[list[str], dict, list[str]]:
    """The rule as it was first written, one Python dict entry a row: the reference."""
    ordered = sorted(new_keys.select("source_path", "article_id").iter_rows())
    first_path: dict[str, str] = {}
    losers: dict[str, tuple[str, str]] = {}
    for path, aid in ordered:
        first_path.setdefault(aid, path)
    for path, aid in ordered:
        if first_path[aid] != path:
            losers[path] = (aid, first_path[aid])
    demoted, keep_new = [], []
    for aid, path in first_path.items():
        old_path = kept.get(aid)
        if old_path is None or path < old_path:
            keep_new.append(path)
            if old_path is not None:
                demoted.append(old_path)
                losers[old_path] = (aid, path)
        else:
            losers[path] = (aid, old_path)
    for path, (aid, winner) in list(losers.items()):
        if winner in losers:
            losers[path] = (aid, losers[winner][1])
    return sorted(keep_new), losers, demoted


@settings(max_examples=200, deadline=None)
@given(
    new=st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("ABCD")), unique_by=lambda r: r[0]),
    old=st.dictionaries(st.sampled_from("ABCDE"), st.sampled_from(["a", "c", "e", "m", "z"])),
)
def test_collisions_resolved_by_joins_are_the_rule_row_by_row(
    new: list[tuple[str, str]], old: dict[str, str]
) -> None:
    old = {aid: f"{path}{aid}.md" for aid, path in old.items()}  # distinct kept paths
    new_keys = keys(*((f"{path}.md", aid) for path, aid in new))
    got = resolved_collisions(new_keys, kept(old))
    winners, losers, demoted = _collisions_by_dicts(new_keys, old)
    assert sorted(got.winners["source_path"].to_list()) == winners
    assert got.losers == losers and list(got.losers) == list(losers)
    assert got.demoted == demoted


def _processed(*rows: tuple[str, bool]) -> pl.DataFrame:
    return pl.DataFrame(
        [(p, 10, 1, f"sha-{p}", same) for p, same in rows], schema=PROCESSED_SCHEMA, orient="row"
    )


def test_next_manifest_records_each_file_once_with_what_became_of_it() -> None:
    old = MANIFEST.conform(
        pl.DataFrame(
            {
                "source_path": ["keep.md", "touched.md", "old.md"],
                "size_bytes": [1, 2, 3],
                "mtime_ns": [1, 1, 1],
                "source_sha256": ["k", "t", "o"],
                "status": [FileStatus.LOADED.value] * 3,
                "article_id": ["K", "T", "A"],
                "year": [2024] * 3,
                "month": [1] * 3,
                "run_id": ["r0"] * 3,
            }
        )
    )
    processed = _processed(("touched.md", True), ("a.md", False), ("bad.md", False))
    collisions = resolved_collisions(keys(("a.md", "A")), kept({"A": "old.md"}))
    bad = QUARANTINE.conform(
        pl.DataFrame(
            {
                "source_path": ["bad.md"],
                "reason": ["empty_file"],
                "size_bytes": [0],
                "source_sha256": ["b"],
                "message": ["empty"],
                "run_id": ["r1"],
                "seen_at": [NOW],
            }
        )
    )
    got = next_manifest(old, processed, collisions.winners, collisions, bad, "r1")
    status = dict(got.select("source_path", "status").iter_rows())
    assert status == {
        "a.md": "loaded",
        "bad.md": "quarantined",
        "keep.md": "loaded",
        "old.md": "duplicate",
        "touched.md": "loaded",
    }
    assert got.filter(pl.col("source_path") == "touched.md")["run_id"].item() == "r0"  # read, unchanged
    assert got.filter(pl.col("source_path") == "a.md")["run_id"].item() == "r1"

    duplicates = duplicate_records(collisions, processed, old, "r1", NOW)
    assert duplicates["source_path"].to_list() == ["old.md"]
    assert "a.md, which is kept" in duplicates["message"].item()
    quarantine = next_quarantine(QUARANTINE.empty_frame(), pl.Series([], dtype=pl.String()), bad, duplicates)
    assert sorted(quarantine["source_path"].to_list()) == ["bad.md", "old.md"]
    assert next_quarantine(quarantine, pl.Series(["bad.md"])).height == 1


# A partition's files ---------------------------------------------------------------------------

TIMES = [None, *(dt.datetime(2024, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3, 5, 8))]
SCHEMA = {"published_at": pl.Datetime("us", "UTC"), "article_id": pl.String(), "source_path": pl.String()}


def _rows(ids: list[int], when: dict[int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [(TIMES[when[i] % len(TIMES)], f"id{i:03d}", f"p{i:03d}.md") for i in ids],
        schema=SCHEMA,
        orient="row",
    )


def _materialised(
    files: list[str], contents: dict[str, pl.DataFrame], layout: list[str | NewFile], incoming: pl.DataFrame
) -> tuple[list[str], dict[str, pl.DataFrame]]:
    """Apply a layout as the lake writer does: kept files stay, new files take their rows."""
    names, out = [], {}
    for n, entry in enumerate(layout):
        if isinstance(entry, str):
            names.append(entry)
            out[entry] = contents[entry]
            continue
        name = f"new-{len(contents) + n}"
        pieces = [
            contents[o].filter(pl.col("source_path").is_in(entry.paths_from(o))) for o in entry.origins()
        ]
        pieces.append(incoming.filter(pl.col("source_path").is_in(entry.paths_from(None))))
        out[name] = pl.concat(pieces).sort(SORT_KEY, nulls_last=True)
        assert out[name]["source_path"].to_list() == entry.rows["source_path"].to_list()
        names.append(name)
    return names, out


def _existing(files: list[str], contents: dict[str, pl.DataFrame]) -> pl.DataFrame:
    frames = [contents[f].with_columns(file=pl.lit(f)) for f in files]
    return pl.concat(frames) if frames else pl.DataFrame(schema={**SCHEMA, "file": pl.String()})


@settings(max_examples=150, deadline=None)
@given(
    first=st.sets(st.integers(0, 60), max_size=40),
    later=st.sets(st.integers(0, 90), max_size=25),
    removed=st.sets(st.integers(0, 60), max_size=20),
    when=st.dictionaries(st.integers(0, 90), st.integers(0, 5)),
    rows_per_file=st.integers(1, 7),
)
def test_partition_files_stay_bounded_ordered_and_only_changed_files_are_rewritten(
    first: set[int], later: set[int], removed: set[int], when: dict[int, int], rows_per_file: int
) -> None:
    when = {i: when.get(i, i) for i in range(91)}
    initial = _rows(sorted(first), when)
    layout = next_partition_files([], _existing([], {}), set(), initial, rows_per_file)
    assert all(isinstance(e, NewFile) and e.origins() == [] for e in layout)
    files, contents = _materialised([], {}, layout, initial)

    gone = {f"p{i:03d}.md" for i in removed & first}
    incoming = _rows(sorted(later - (first - removed)), when)  # a changed file comes back as new
    gone |= set(incoming["source_path"].to_list()) & {f"p{i:03d}.md" for i in first}
    existing = _existing(files, contents)
    layout = next_partition_files(files, existing, gone, incoming, rows_per_file)
    names, after = _materialised(files, contents, layout, incoming)

    # Exactly the rows that should be there, each once.
    want = pl.concat([existing.drop("file").filter(~pl.col("source_path").is_in(list(gone))), incoming])
    got = pl.concat([after[n] for n in names]) if names else want.clear()
    assert sorted(got["source_path"].to_list()) == sorted(want["source_path"].to_list())
    # Bounded, each sorted, and in order across files.
    assert all(0 < after[n].height <= rows_per_file for n in names)
    assert got.equals(got.sort(SORT_KEY, nulls_last=True))
    # A file kept as it is lost no row and gained none; one not kept lost or gained some.
    touched_files = set(existing.filter(pl.col("source_path").is_in(list(gone)))["file"].to_list())
    for name in files:
        if name in names:
            assert name not in touched_files
            assert after[name].equals(contents[name])
    if not gone and incoming.is_empty():
        assert names == files


def test_a_new_row_goes_into_the_file_whose_range_it_falls_in() -> None:
    when = {i: i // 2 + 1 for i in range(20)}  # two rows a day, 1 to 5 January
    rows = _rows(list(range(8)), when)
    files, contents = _materialised([], {}, next_partition_files([], _existing([], {}), set(), rows, 2), rows)
    assert len(files) == 4
    late = _rows([19], {19: 5})  # 8 January, after every row: the last file takes it
    layout = next_partition_files(files, _existing(files, contents), set(), late, 2)
    assert layout[:3] == files[:3]
    new = layout[3:]  # the last file and the new row, three rows: cut in two files
    assert [e.rows.height for e in new if isinstance(e, NewFile)] == [1, 2]
    assert pl.concat([e.rows for e in new if isinstance(e, NewFile)])[ORIGIN].to_list() == [
        files[3],
        files[3],
        None,
    ]
