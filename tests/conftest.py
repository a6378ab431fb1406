from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


# The fast tier (`make test-fast`, under a minute): the pure modules, and the lake writer and the
# learn stage driven directly on tmp folders. No pipeline run, no subprocess, no server.
FAST = (
    "tests/transforms/",
    "tests/warehouse/test_merge.py",
    "tests/warehouse/test_feed_model.py",
    "tests/warehouse/test_validation.py",
    "tests/warehouse/test_lake_writer.py",
    "tests/flows/test_learn.py",
    "tests/flows/test_executors.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.relative_to(ROOT).as_posix().startswith(FAST):
            item.add_marker(pytest.mark.fast)


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.txt")) if CORPUS.is_dir() else []


@pytest.fixture(scope="session")
def corpus() -> list[Path]:
    files = corpus_files()
    if not files:
        pytest.skip(f"real corpus not found at {CORPUS} (../shared beside the project); CI always has it")
    return files


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One real `prefect server start` on loopback for the session: (API URL, its PREFECT_HOME)."""
    from tests.servers import prefect_server

    home = tmp_path_factory.mktemp("prefect-home")
    with prefect_server(home) as api:
        yield api, home
