"""The batch executors' shared contract: results in job order, progress as each is in, and
whatever has not run cancelled when one fails or the run is interrupted."""

from __future__ import annotations

from concurrent.futures import Future

import pytest

from flows.batch_job import BatchJob
from flows.executors import collected, in_phases, pool_size


def _done(value: dict[str, int] | BaseException) -> Future[dict[str, int]]:
    future: Future[dict[str, int]] = Future()
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)
    return future


def test_results_come_in_job_order_with_progress() -> None:
    seen: list[tuple[int, int]] = []
    futures = [_done({"parsed": n}) for n in (3, 1, 2)]
    assert collected(futures, lambda done, total: seen.append((done, total)), lambda: None) == [
        {"parsed": 3},
        {"parsed": 1},
        {"parsed": 2},
    ]
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("failure", [OSError("disk"), KeyboardInterrupt()])
def test_a_failure_or_an_interruption_cancels_the_rest(failure: BaseException) -> None:
    cancelled: list[bool] = []
    futures = [_done({"parsed": 1}), _done(failure), _done({"parsed": 2})]
    with pytest.raises(type(failure)):
        collected(futures, None, lambda: cancelled.append(True))
    assert cancelled == [True]


def test_one_batch_or_one_worker_runs_inline() -> None:
    assert (pool_size(1, 10), pool_size(4, 1), pool_size(4, 2), pool_size(2, 10)) == (0, 0, 2, 2)


def test_the_jobs_after_a_sample_are_made_once_its_results_are_in_and_run_alike() -> None:
    """A sample's batches, then the rest's (made by `then` from what the sample staged), through
    one submit: one pool or client for both, its workers started once."""
    events: list[str] = []

    def submitted(job: BatchJob) -> Future[dict[str, int]]:
        events.append(f"submit {job}")
        return _done({"parsed": int(str(job))})

    def then() -> list[BatchJob]:
        events.append("then")
        return ["3", "4"]  # type: ignore[list-item]  # the submit above only reads them

    seen: list[tuple[int, int]] = []
    results = in_phases(
        submitted, ["1", "2"], then, lambda done, total: seen.append((done, total)), lambda: None
    )  # type: ignore[list-item]
    assert [r["parsed"] for r in results] == [1, 2, 3, 4]
    assert events == ["submit 1", "submit 2", "then", "submit 3", "submit 4"]
    assert seen == [(1, 2), (2, 2), (1, 2), (2, 2)]


def test_a_failure_making_the_next_jobs_cancels_what_runs() -> None:
    cancelled: list[bool] = []

    def then() -> list[BatchJob]:
        raise OSError("staging unreadable")

    with pytest.raises(OSError):
        in_phases(lambda job: _done({"parsed": 1}), ["1"], then, None, lambda: cancelled.append(True))  # type: ignore[list-item]
    assert cancelled == [True]
