from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


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
