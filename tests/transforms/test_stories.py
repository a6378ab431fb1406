"""Story signatures, edges and members as values in and values out."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import transforms.stories as stories
from transforms.stories import (
    EDGE_SCHEMA,
    MIN_SHINGLES,
    SHINGLE_CHARS,
    estimated_jaccard,
    kept_stories,
    story_edges,
    story_members,
    text_signatures,
    with_stories,
)

SENTENCES = [
    "央行宣布下调存款准备金率，释放长期资金约一万亿元。",
    "沪深两市午后震荡走高，创业板指涨逾百分之二。",
    "新能源汽车销量同比增长，产业链上下游订单饱满。",
    "多家银行下调个人住房贷款利率，购房者月供减少。",
    "外资机构连续三周净买入，消费板块获得青睐。",
    "光伏组件价格企稳回升，龙头企业扩产计划落地。",
    "统计局公布物价数据，居民消费价格温和上涨。",
    "债券市场收益率下行，十年期国债期货创新高。",
]


def _exact(a: str, b: str) -> float:
    def shingles(text: str) -> set[str]:
        t = "".join(text.split())
        return {t[i : i + SHINGLE_CHARS] for i in range(len(t) - SHINGLE_CHARS + 1)}

    left, right = shingles(a), shingles(b)
    return len(left & right) / len(left | right)


def _frame(texts: dict[str, str], days: dict[str, int] | None = None) -> pl.DataFrame:
    ids = list(texts)
    published = [dt.datetime(2021, 1, 1 + (days or {}).get(i, 0), tzinfo=dt.UTC) for i in ids]
    return pl.DataFrame(
        {
            "article_id": ids,
            "published_at": published,
            "signature": pl.Series(text_signatures(list(texts.values())), dtype=pl.Binary()),
        }
    )


def test_a_signature_is_of_the_writing_not_the_spacing() -> None:
    text = "".join(SENTENCES)
    spaced = "\n".join(SENTENCES)
    one, two = text_signatures([text, spaced])
    assert one is not None and one == two and len(one) == 128
    assert estimated_jaccard(one, one) == 1.0


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.sampled_from("的一是在不了有和人这中大为上个国我以要"), min_size=1, max_size=6),
    st.integers(30, 300),
)
def test_a_repeated_shingle_does_not_move_a_signature(alphabet: list[str], length: int) -> None:
    """Signatures are made of every shingle, repeats included: a MinHash is a minimum, which the
    pinned rensa computes the same over a set and over a multiset."""
    import numpy as np
    import rensa

    from transforms.stories import _SEED, SIGNATURE_PERMS, _shingle_hashes

    text = "".join(alphabet[(i * 7 + i // 3) % len(alphabet)] for i in range(length))
    hashes = _shingle_hashes(text)
    once = np.unique(hashes)

    def digest(flat: np.ndarray) -> list[int]:
        offsets = np.array([0, len(flat)], dtype=np.uint64)
        return rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            flat, offsets, SIGNATURE_PERMS, _SEED
        ).to_rows()[0]

    assert len(once) < len(hashes)
    assert digest(hashes) == digest(once)


def test_too_short_a_text_has_no_signature() -> None:
    short = "字" * (MIN_SHINGLES + SHINGLE_CHARS - 2)
    assert text_signatures([short, "", None]) == [None, None, None]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(range(len(SENTENCES))), min_size=3, max_size=8), st.integers(0, 7))
def test_the_estimate_is_near_the_exact_jaccard(picks: list[int], dropped: int) -> None:
    a = "".join(SENTENCES[i] for i in picks) + "全文完。"
    b = "".join(SENTENCES[i] for i in picks if i != dropped) + "据新华社消息。"
    sa, sb = text_signatures([a, b])
    if sa is None or sb is None:
        return
    assert abs(estimated_jaccard(sa, sb) - _exact(a, b)) < 0.2


def test_copies_are_linked_and_a_daily_template_is_not() -> None:
    body = "".join(SENTENCES)
    texts = {
        "a": body,
        "b": "12月24日消息，据新浪财经报道，" + body,  # a date lead
        "c": body[: -len(SENTENCES[-1])],  # the last sentence dropped
        # The same template on another day: the figures and half the sentences differ.
        "d": "".join(s.replace("一万亿", "五千亿").replace("百分之二", "百分之一") for s in SENTENCES[:3])
        + "".join(SENTENCES[5:6])
        + "今日另有消息。" * 3,
    }
    frame = _frame(texts)
    name = dict(zip(frame["signature"].to_list(), frame["article_id"].to_list(), strict=True))

    def linked(edges: pl.DataFrame) -> set[frozenset[str]]:
        return {frozenset((name[a], name[b])) for a, b, _ in edges.iter_rows()}

    def stories(edges: pl.DataFrame) -> list[list[str]]:
        members = story_members(edges, frame)
        return sorted(sorted(group) for group in members.group_by("story_id").agg("article_id")["article_id"])

    # The three copies are one story, kept as a spanning tree (two edges); the template is not in it.
    edges = story_edges(frame["signature"], frame.clear()["signature"], 0.53)
    assert stories(edges) == [["a", "b", "c"]] and edges.height == 2
    assert linked(edges) <= {frozenset("ab"), frozenset("ac"), frozenset("bc")}
    # A new copy of a story the lake has is joined to it by one edge.
    known, new = frame.filter(pl.col("article_id") != "c"), frame.filter(pl.col("article_id") == "c")
    had = story_edges(known["signature"], known.clear()["signature"], 0.53)
    assert linked(had) == {frozenset("ab")}
    joined = story_edges(new["signature"], known["signature"], 0.53, linked=had)
    assert joined.height == 1 and stories(pl.concat([had, joined])) == [["a", "b", "c"]]
    # A signature the lake knows already brings no new edge: its node is linked as it is.
    assert story_edges(known["signature"], known["signature"], 0.53).is_empty()


def test_a_story_is_named_by_its_earliest_copy_and_counts_its_copies() -> None:
    sig = {k: bytes([i]) * 128 for i, k in enumerate("xyzpqr")}
    edges = pl.DataFrame(
        {
            "a": [sig["x"], sig["y"], sig["p"]],
            "b": [sig["y"], sig["z"], sig["q"]],
            "similarity": [0.9, 0.8, 0.7],
        }
    )
    days = {"x": 3, "y": 1, "z": 2, "p": None, "q": 5, "r": 4, "r2": 6, "lonely": 7}
    signatures = pl.DataFrame(
        {
            "article_id": list(days),
            "published_at": [dt.datetime(2021, 1, d, tzinfo=dt.UTC) if d else None for d in days.values()],
            # r2 is r posted again as it was: one signature, one node, one story of two.
            "signature": [sig[k[0]] if k != "lonely" else b"\xff" * 128 for k in days],
        }
    )
    members = {r[0]: r[1:] for r in story_members(edges, signatures).iter_rows()}
    assert members == {
        "x": ("y", 3, False),
        "y": ("y", 3, True),
        "z": ("y", 3, False),
        "p": ("q", 2, False),  # undated copies come last
        "q": ("q", 2, True),
        "r": ("r", 2, True),
        "r2": ("r", 2, False),
    }
    rows = pl.DataFrame({"article_id": ["x", "lonely"]})
    assert with_stories(rows, story_members(edges, signatures)).rows() == [
        ("x", "y", 3, False),
        ("lonely", "lonely", 1, True),
    ]


def test_edges_do_not_depend_on_how_many_candidate_pairs_are_held_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    rng = np.random.default_rng(7)
    # One template shared by 120 texts (every band key shared: 7,000 candidate pairs a band) and
    # 40 copies of one text with a few positions changed each: copies link, the template's do not.
    template = rng.integers(0, 256, 128, dtype=np.uint8)
    base = rng.integers(0, 256, 128, dtype=np.uint8)
    rows = []
    for i in range(120):
        row = template.copy()
        row[rng.choice(128, 80, replace=False)] = rng.integers(0, 256, 80, dtype=np.uint8)
        row[i % 128] ^= 1
        rows.append(row)
    for _ in range(40):
        row = base.copy()
        row[rng.choice(128, 10, replace=False)] = rng.integers(0, 256, 10, dtype=np.uint8)
        rows.append(row)
    signatures = pl.Series([row.tobytes() for row in rows], dtype=pl.Binary())
    held = story_edges(signatures[::2], signatures[1::2], 0.53)
    monkeypatch.setattr(stories, "_PAIRS_AT_ONCE", 7)
    again = story_edges(signatures[::2], signatures[1::2], 0.53)
    nodes = pl.DataFrame(
        {"article_id": [str(i) for i in range(160)], "published_at": None, "signature": signatures}
    )
    assert story_members(again, nodes).equals(story_members(held, nodes))
    # The 40 copies are one story, kept as a spanning tree: 39 edges, not 40 * 39 / 2.
    assert held.height == 39 and story_members(held, nodes)["story_size"].to_list() == [40] * 40
    copies = set(signatures[120:].to_list())
    assert set(held["a"].to_list()) | set(held["b"].to_list()) <= copies  # no template's pair


def test_a_story_that_loses_a_signature_is_linked_again_and_the_others_keep_their_edges() -> None:
    a, b, c, x, y = (bytes([i]) * 128 for i in range(5))
    edges = pl.DataFrame({"a": [a, b, x], "b": [b, c, y], "similarity": [0.9, 0.9, 0.8]}, schema=EDGE_SCHEMA)
    # b bridged a and c: without it they may be two stories; x-y lost nothing and stays.
    kept, relinked = kept_stories(edges, pl.Series([a, c, x, y], dtype=pl.Binary()))
    assert kept.select("a", "b").rows() == [(x, y)]
    assert sorted(relinked.to_list()) == [a, c]
    kept, relinked = kept_stories(edges, pl.Series([a, b, c, x, y], dtype=pl.Binary()))
    assert kept.height == 3 and relinked.is_empty()


def test_the_signature_matrix_is_each_signature_in_order_from_any_slice() -> None:
    """_matrix reads Arrow's buffers directly: a slice starts at its own offset."""
    from transforms.stories import SIGNATURE_PERMS, _matrix

    signatures = pl.Series([bytes([i]) * SIGNATURE_PERMS for i in range(10)], dtype=pl.Binary())
    for part in (signatures, signatures.slice(3, 4), signatures.slice(9, 1)):
        matrix = _matrix(part)
        assert matrix.shape == (part.len(), SIGNATURE_PERMS)
        assert [bytes(row) for row in matrix] == part.to_list()
