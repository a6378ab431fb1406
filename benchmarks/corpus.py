"""Realistic real-derived corpora: N articles made from a few real files, each copy's own text
unique, what several real files share kept as it is.

Plain copies are no measure of this pipeline: every line of a copy recurs across its feed, so
learning takes whole bodies out, and every copy is a copy of one story. Here each copy is the
real file with the characters of its own text runs (a run of text between two tags, or the
title, that occurs in no other real file) moved by an affine map of the CJK range (and a
position-dependent shift of Latin letters) that is different for every copy of the same file:
lengths, markup, punctuation and digits stay as they are, 5-character shingles of two copies hardly meet, and the runs several real files
share (a feed's real boilerplate: Sina's QR promo, a disclaimer) stay identical in every copy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_RUN = re.compile(rb">([^<>]+)<")
_TITLE = re.compile(rb"^title: ?(['\"]?)(.*?)\1[ \t]*$", re.M)
_CJK_START, _CJK_SIZE = 0x4E00, 20897  # a prime count of the unified ideographs' range


class _Original:
    """A real file's text as code points, and which of them belong to its own text runs."""

    def __init__(self, data: bytes, shared: set[bytes]) -> None:
        text = data.decode("utf-8", errors="replace")
        self.points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).copy()
        own = np.zeros(len(self.points), dtype=bool)
        # Byte offsets of runs map to code points through the UTF-8 text's prefix lengths.
        spans = [(m.start(1), m.end(1)) for m in _RUN.finditer(data) if m.group(1).strip() not in shared]
        title = _TITLE.search(data)
        if title:
            spans.append((title.start(2), title.end(2)))
        for start, end in spans:
            a = len(data[:start].decode("utf-8", errors="replace"))
            b = a + len(data[start:end].decode("utf-8", errors="replace"))
            own[a:b] = True
        cjk = (self.points >= _CJK_START) & (self.points < _CJK_START + _CJK_SIZE)
        self.movable = own & cjk
        lower = (self.points >= ord("a")) & (self.points <= ord("z"))
        upper = (self.points >= ord("A")) & (self.points <= ord("Z"))
        self.lower, self.upper = own & lower, own & upper

    def copy(self, number: int) -> bytes:
        """The copy's bytes: its own runs' ideographs through the copy's map (number 0 is the file)."""
        if number == 0:
            return self.points.tobytes().decode("utf-32-le").encode()
        scale, shift = 1 + number // (_CJK_SIZE - 1), 1 + number % (_CJK_SIZE - 1)
        points = self.points.copy()
        moved = points[self.movable].astype(np.int64) - _CJK_START
        points[self.movable] = (moved * scale + shift) % _CJK_SIZE + _CJK_START
        # Latin letters: a shift that also moves with the position (650 variants a file), so an
        # English post's copies are different texts too.
        step, offset = 1 + number % 25, number // 25 % 26
        for mask, base in ((self.lower, ord("a")), (self.upper, ord("A"))):
            where = np.flatnonzero(mask)
            letters = points[where].astype(np.int64) - base
            points[where] = (letters + offset + where * step) % 26 + base
        return points.tobytes().decode("utf-32-le").encode()


def _runs(data: bytes) -> set[bytes]:
    return {m.group(1).strip() for m in _RUN.finditer(data) if m.group(1).strip()}


def realistic_copies(real: Path, n: int) -> Iterator[tuple[int, bytes]]:
    """(i, bytes) of n articles cycled from the real files in real/, each a distinct text."""
    files = [p.read_bytes() for p in sorted(real.iterdir()) if p.suffix in (".txt", ".md")]
    counts = Counter(run for data in files for run in _runs(data))
    shared = {run for run, count in counts.items() if count > 1}
    originals = [_Original(data, shared) for data in files]
    for i in range(n):
        yield i, originals[i % len(originals)].copy(i // len(originals))
