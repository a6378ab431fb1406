"""How a run's files are cut into transform tasks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flows.pipeline import batch_slices


def _batches(sizes: list[int], max_files: int, max_bytes: int) -> list[list[int]]:
    return [sizes[start : start + length] for start, length in batch_slices(sizes, max_files, max_bytes)]


def test_a_batch_closes_at_its_file_count_or_its_bytes() -> None:
    batches = _batches([10, 10, 50, 10, 10, 10, 10], max_files=3, max_bytes=30)
    assert batches == [[10, 10], [50], [10, 10, 10], [10]]


@given(st.lists(st.integers(0, 100), max_size=60), st.integers(1, 8), st.integers(1, 200))
def test_batches_keep_every_file_in_order_within_both_limits(
    sizes: list[int], files: int, limit: int
) -> None:
    slices = batch_slices(sizes, files, limit)
    assert [start for start, _ in slices] == [
        sum(length for _, length in slices[:at]) for at in range(len(slices))
    ]
    assert sum(length for _, length in slices) == len(sizes)
    batches = _batches(sizes, files, limit)
    for at, batch in enumerate(batches):
        following = batches[at + 1] if at + 1 < len(batches) else None
        size = sum(batch)
        assert 1 <= len(batch) <= files
        assert size <= limit or len(batch) == 1  # only a file larger than the limit stands alone over it
        if following is not None:  # a batch closes only when the next file would break a limit
            assert len(batch) == files or size + following[0] > limit
