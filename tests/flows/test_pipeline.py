"""How a run's files are cut into transform tasks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flows.pipeline import batched_rows


def _rows(sizes: list[int]) -> list[tuple[str, int, int, str | None]]:
    return [(f"{i:04d}.md", size, 0, None) for i, size in enumerate(sizes)]


def test_a_batch_closes_at_its_file_count_or_its_bytes() -> None:
    batches = batched_rows(_rows([10, 10, 50, 10, 10, 10, 10]), max_files=3, max_bytes=30)
    assert [[size for _, size, _, _ in batch] for batch in batches] == [[10, 10], [50], [10, 10, 10], [10]]


@given(st.lists(st.integers(0, 100), max_size=60), st.integers(1, 8), st.integers(1, 200))
def test_batches_keep_every_file_in_order_within_both_limits(
    sizes: list[int], files: int, limit: int
) -> None:
    rows = _rows(sizes)
    batches = batched_rows(rows, files, limit)
    assert [row for batch in batches for row in batch] == rows
    for at, batch in enumerate(batches):
        following = batches[at + 1] if at + 1 < len(batches) else None
        size = sum(row[1] for row in batch)
        assert 1 <= len(batch) <= files
        assert size <= limit or len(batch) == 1  # only a file larger than the limit stands alone over it
        if following is not None:  # a batch closes only when the next file would break a limit
            assert len(batch) == files or size + following[0][1] > limit
