"""Stories: the copies of one piece of writing across feeds, found by MinHash over character
shingles of the cleaned text (no segmentation needed for Chinese), banded for LSH.

A signature is b-bit MinHash (Li & König): the low 8 bits of each of SIGNATURE_PERMS MinHash
values (rensa's RMinHash), 128 bytes an article; two signatures agree on a position with
probability J + (1 - J) / 256, from which J is estimated. Candidate pairs share a band (BAND_ROWS
consecutive positions); a pair is an edge only when its estimated Jaccard reaches the
threshold, so that a feed's daily template (0.2 to 0.45 of its shingles shared) never links
two days. Stories are the connected components of the edges; a story is named by its earliest
copy (published_at, then article_id), so the result depends only on the set of articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl
import pyarrow as pa
import rensa

# The ARTICLES columns the learn stage derives; a parsed row is its own story until then.
STORY_COLUMNS = frozenset({"story_id", "story_size", "story_first"})

SHINGLE_CHARS = 5
SIGNATURE_PERMS = 128
# 42 bands of 3 positions: a pair at J = 0.53 shares one with probability 0.999 (at 0.63, all but
# certainly); at J = 0.2, 0.3 (those are verified and dropped); two unrelated texts one in 400,000.
BAND_ROWS = 3
BANDS = SIGNATURE_PERMS // BAND_ROWS
MIN_SHINGLES = 20  # shorter texts (a caption, a one-line flash) get no signature: too little evidence
_SEED = 20261207
_BASE = np.uint64(1_000_003)
_CHANCE = 1 / 256  # two unrelated 8-bit values agree this often


def _shingle_hashes(text: str) -> np.ndarray:
    """A hash of every SHINGLE_CHARS consecutive characters (whitespace left out first: line
    breaks and spacing are markup, not writing), repeats included: a MinHash value is a minimum,
    which a repeated shingle does not move (making them unique, a sort, cost 8 times the rest of
    a signature)."""
    compact = "".join(text.split())
    points = np.frombuffer(compact.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    count = len(points) - SHINGLE_CHARS + 1
    if count < MIN_SHINGLES:
        return np.zeros(0, dtype=np.uint64)
    hashed = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE_CHARS):
        hashed = hashed * _BASE + points[offset : offset + count]
    return hashed


_CHUNK_TEXTS = 1_000  # texts hashed at a time: their shingle hashes are 8 bytes a character, twice


def text_signatures(texts: Sequence[str | None]) -> list[bytes | None]:
    """The b-bit MinHash signature of each text (None when it is too short to have one)."""
    out: list[bytes | None] = []
    for start in range(0, len(texts), _CHUNK_TEXTS):
        out.extend(_chunk_signatures(texts[start : start + _CHUNK_TEXTS]))
    return out


def _chunk_signatures(texts: Sequence[str | None]) -> list[bytes | None]:
    hashes = [_shingle_hashes(text or "") for text in texts]
    signed = [i for i, h in enumerate(hashes) if len(h)]
    out: list[bytes | None] = [None] * len(texts)
    if not signed:
        return out
    offsets = np.cumsum([0, *(len(hashes[i]) for i in signed)], dtype=np.uint64)
    flat = np.concatenate([hashes[i] for i in signed])
    matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, SIGNATURE_PERMS, _SEED)
    for i, digest in zip(signed, matrix.to_rows(), strict=True):
        out[i] = bytes(value & 0xFF for value in digest)
    return out


def estimated_jaccard(left: bytes, right: bytes) -> float:
    """J from the share of positions two b-bit signatures agree on (chance agreements removed)."""
    agree = np.count_nonzero(np.frombuffer(left, np.uint8) == np.frombuffer(right, np.uint8))
    return max(0.0, (agree / len(left) - _CHANCE) / (1 - _CHANCE))


def _matrix(signatures: pl.Series) -> np.ndarray:
    """The signatures as rows of a (n, SIGNATURE_PERMS) byte matrix, copied from Arrow's data
    buffer (as a list of Python bytes a million signatures took 160 MB more)."""
    if signatures.is_empty():
        return np.zeros((0, SIGNATURE_PERMS), dtype=np.uint8)
    values = signatures.to_arrow()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.type != pa.large_binary():
        values = values.cast(pa.large_binary())
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[
        values.offset : values.offset + len(values) + 1
    ]
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    if data.size != len(values) * SIGNATURE_PERMS:
        raise ValueError(f"signatures are {SIGNATURE_PERMS} bytes each, and none is null")
    return data.reshape(-1, SIGNATURE_PERMS)


def _band_key(matrix: np.ndarray, band: int) -> np.ndarray:
    """Each signature's key in one band: its BAND_ROWS bytes there, so two signatures share a key
    only if those bytes are equal. One band at a time: every band's keys at once, and the 64-bit
    copy of the matrix they were made from, took 1.5 GB for a million signatures."""
    rows = matrix[:, band * BAND_ROWS : (band + 1) * BAND_ROWS].astype(np.int64)
    return sum((rows[:, row] << (8 * row) for row in range(1, BAND_ROWS)), rows[:, 0])


# Candidate pairs held at once: each costs its two rows' bytes while verified (256 bytes), so
# memory stays near 64 MB however many signatures share a band key (texts of one template).
_PAIRS_AT_ONCE = 250_000
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
assert SIGNATURE_PERMS % 8 == 0, "_verified reads a signature as 64-bit words"
_PAIR_SCHEMA = pl.Schema({"a": pl.Int64(), "b": pl.Int64(), "similarity": pl.Float64()})


class _Forest:
    """Union-find over row indices (numpy parents, roots the smallest index): which rows are one
    story already, so a candidate pair inside a story is never verified and only pairs joining two
    stories are kept as edges (a story of m copies keeps m - 1 edges, not m²/2)."""

    def __init__(self, size: int) -> None:
        self.parent = np.arange(size, dtype=np.int64)

    def roots(self, rows: np.ndarray) -> np.ndarray:
        found = self.parent[rows]
        while True:
            above = self.parent[found]
            if np.array_equal(above, found):
                return found
            found = above

    def root(self, row: int) -> int:
        while self.parent[row] != row:
            self.parent[row] = self.parent[self.parent[row]]
            row = int(self.parent[row])
        return row

    def joined(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """The pairs (in order) that join two stories, each joining them as it is taken."""
        keep = []
        for index, (a, b) in enumerate(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True)):
            ra, rb = self.root(a), self.root(b)
            if ra != rb:
                self.parent[max(ra, rb)] = min(ra, rb)
                keep.append(index)
        return pairs[keep]

    def flattened(self) -> None:
        self.parent = self.roots(np.arange(len(self.parent), dtype=np.int64))


def _linked_pairs(matrix: np.ndarray, fresh: np.ndarray, threshold: float, forest: _Forest) -> pl.DataFrame:
    """(a, b, similarity) row indices, a < b: a spanning forest of the pairs with a fresh row that
    share a band key and reach the threshold, over the stories the forest already holds. One band
    at a time; within a band, keys whose rows are all one story are skipped, and the fresh rows go
    a share at a time (the rows sharing each one's key, at most _PAIRS_AT_ONCE pairs, verified
    before the next): memory follows _PAIRS_AT_ONCE, and a thousand copies of one text cost a
    thousand pairs verified, not half a million."""
    found = [pl.DataFrame(schema=_PAIR_SCHEMA)]
    everyone = len(fresh) == len(matrix)  # a clean build: every row is fresh
    for band in range(BANDS):
        forest.flattened()
        column = _band_key(matrix, band)
        # Only rows whose key another row shares can pair: a tenth of a million realistic
        # signatures in a band. Every frame below holds those rows, not every signature.
        hit = np.flatnonzero(pl.Series(column).is_duplicated().to_numpy())
        if not everyone:
            hit = hit[np.isin(column[hit], column[fresh])]
        if not len(hit):
            continue
        sharing = pl.DataFrame(
            {
                "i": hit.astype(np.int64),
                "k": column[hit],
                "_root": forest.roots(hit),
                "_fresh": True if everyone else np.isin(hit, fresh, assume_unique=True),
            }
        )
        open_keys = sharing.group_by("k").agg(len=pl.len(), _stories=pl.col("_root").n_unique())
        asking_rows = hit if everyone else np.intersect1d(hit, fresh, assume_unique=True)
        asking = (
            pl.DataFrame({"j": asking_rows.astype(np.int64), "k": column[asking_rows]})
            .join(open_keys.filter(pl.col("_stories") > 1).select("k", "len"), on="k")
            .sort("k", "j")
        )
        if asking.is_empty():
            continue
        sharing = sharing.drop("_root")
        shares = asking.with_columns(_share=(pl.col("len").cum_sum() - pl.col("len")) // _PAIRS_AT_ONCE)
        for share in shares.partition_by("_share", maintain_order=True):
            # Two fresh rows pair once, when the first of them asks (its share comes first).
            pairs = (
                share.select("j", "k")
                .join(sharing, on="k")
                .filter((pl.col("i") > pl.col("j")) | ~pl.col("_fresh"))  # a known row never asks
                .select(a=pl.min_horizontal("i", "j"), b=pl.max_horizontal("i", "j"))
                .sort("a", "b")
            )
            pairs = pairs.filter(forest.roots(pairs["a"].to_numpy()) != forest.roots(pairs["b"].to_numpy()))
            for start in range(0, pairs.height, _PAIRS_AT_ONCE):
                verified = _verified(matrix, pairs.slice(start, _PAIRS_AT_ONCE), threshold)
                found.append(forest.joined(verified))
    return pl.concat(found)


def _verified(matrix: np.ndarray, pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """The pairs (a, b) whose estimated Jaccard reaches the threshold, with it."""
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    # Equal bytes counted eight at a time: a zero byte of a XOR b sets its high bit in `zero`
    # (the classic has-zero-byte test, exact with the low seven bits masked first).
    words = matrix.view(np.uint64)
    differ = words[a] ^ words[b]
    zero = ~(((differ & _LOW7) + _LOW7) | differ | _LOW7)
    agree = np.bitwise_count(zero).sum(axis=1) / SIGNATURE_PERMS
    similarity = np.maximum(0.0, (agree - _CHANCE) / (1 - _CHANCE))
    linked = similarity >= threshold
    return pl.DataFrame(
        {"a": a[linked], "b": b[linked], "similarity": similarity[linked]}, schema=_PAIR_SCHEMA
    )


def story_edges(
    new: pl.Series, known: pl.Series, threshold: float, linked: pl.DataFrame | None = None
) -> pl.DataFrame:
    """(a, b, similarity), a < b: edges that join each new signature to the stories it belongs
    to. A pair of distinct signatures, one of them new and the other new or known, that shares a
    band and whose estimated Jaccard reaches the threshold is a link; the edges are a spanning
    forest of the links over the stories the known signatures already form (`linked`: the edges
    joining known signatures), so the stories are the connected components of every link among
    all the signatures, whatever order they arrived in, while a story of m copies keeps m - 1
    edges. Edges join signatures, not articles: copies with one signature (a text posted again as
    it was) are one node."""
    known = known.drop_nulls()
    everything = pl.concat([known, new.drop_nulls()]).unique().sort()
    fresh = np.flatnonzero((~everything.is_in(known.implode())).to_numpy())
    if not len(fresh):
        return pl.DataFrame(schema=EDGE_SCHEMA)
    forest = _Forest(len(everything))
    if linked is not None and linked.height:
        index = pl.DataFrame({"s": everything, "_i": pl.int_range(everything.len(), eager=True)})
        rows = (
            linked.select("a", "b")
            .join(index.rename({"s": "a", "_i": "ia"}), on="a")
            .join(index.rename({"s": "b", "_i": "ib"}), on="b")
            .select(a=pl.min_horizontal("ia", "ib"), b=pl.max_horizontal("ia", "ib"))
        )
        forest.joined(rows)
    pairs = _linked_pairs(_matrix(everything), fresh, threshold, forest)
    return pl.DataFrame(
        {
            "a": everything.gather(pairs["a"]),
            "b": everything.gather(pairs["b"]),
            "similarity": pairs["similarity"].round(4),
        },
        schema=EDGE_SCHEMA,
    ).sort("a", "b")


EDGE_SCHEMA = pl.Schema({"a": pl.Binary(), "b": pl.Binary(), "similarity": pl.Float64()})


def _components(edges: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Union-find: each linked signature's component representative."""
    parent: dict[bytes, bytes] = {}

    def root(x: bytes) -> bytes:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}


def kept_stories(edges: pl.DataFrame, present: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
    """The edges of the stories whose signatures are all still present, and the present
    signatures of the stories that lost one: a story's edges are a spanning forest, so losing a
    signature may split it, and its others are linked again as if new (story_edges)."""
    component = _components(edges.select("a", "b").iter_rows())
    nodes = pl.DataFrame(
        {"signature": list(component), "_root": list(component.values())},
        schema={"signature": pl.Binary(), "_root": pl.Binary()},
    )
    on = pl.col("signature").is_in(present.implode())
    broken = nodes.filter(~on)["_root"].unique().implode()
    kept = edges.join(nodes.rename({"signature": "a"}), on="a").filter(~pl.col("_root").is_in(broken))
    relinked = nodes.filter(on & pl.col("_root").is_in(broken))["signature"]
    return kept.drop("_root"), relinked


def story_members(edges: pl.DataFrame, signatures: pl.DataFrame) -> pl.DataFrame:
    """(article_id, story_id, story_size, story_first) of every article in a story of two or
    more: articles whose signatures are linked, or equal. The story is named by its earliest copy
    (published_at, nulls last, then article_id). signatures: article_id, published_at, signature."""
    component = _components(edges.select("a", "b").iter_rows())
    nodes = pl.DataFrame(
        {"signature": list(component), "_component": list(component.values())},
        schema={"signature": pl.Binary(), "_component": pl.Binary()},
    )
    members = (
        signatures.select("article_id", "published_at", "signature")
        .join(nodes, on="signature", how="left")
        .with_columns(_component=pl.coalesce("_component", "signature"))
    )
    first = (
        members.sort("published_at", "article_id", nulls_last=True)
        .group_by("_component", maintain_order=True)
        .agg(story_id=pl.col("article_id").first(), story_size=pl.len().cast(pl.Int32()))
        .filter(pl.col("story_size") > 1)
    )
    return (
        members.join(first, on="_component")
        .select(
            "article_id", "story_id", "story_size", story_first=pl.col("article_id") == pl.col("story_id")
        )
        .sort("article_id")
    )


MEMBER_SCHEMA = pl.Schema(
    {
        "article_id": pl.String(),
        "story_id": pl.String(),
        "story_size": pl.Int32(),
        "story_first": pl.Boolean(),
    }
)


def with_singleton_stories(articles: pl.DataFrame) -> pl.DataFrame:
    """Rows as their own one-copy stories: what a parsed row is until the learn stage says."""
    return articles.with_columns(
        story_id=pl.col("article_id"), story_size=pl.lit(1, pl.Int32()), story_first=pl.lit(True)
    )


def with_stories(articles: pl.DataFrame, members: pl.DataFrame) -> pl.DataFrame:
    """Rows with the story columns of members (MEMBER_SCHEMA); a row members does not name is
    its own one-copy story."""
    joined = with_singleton_stories(articles).join(
        members.select("article_id", _id="story_id", _size="story_size", _first="story_first"),
        on="article_id",
        how="left",
    )
    return joined.with_columns(
        story_id=pl.coalesce("_id", "story_id"),
        story_size=pl.coalesce("_size", "story_size"),
        story_first=pl.coalesce("_first", "story_first"),
    ).drop("_id", "_size", "_first")


def signed_articles(articles: pl.DataFrame) -> pl.DataFrame:
    """(source_path, article_id, published_at, signature) of the rows whose text has a signature."""
    signatures = pl.Series("signature", text_signatures(articles["body_text"].to_list()), dtype=pl.Binary())
    return (
        articles.select("source_path", "article_id", "published_at")
        .with_columns(signatures)
        .filter(pl.col("signature").is_not_null())
    )
