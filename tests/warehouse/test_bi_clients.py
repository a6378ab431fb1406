"""The catalog as BI tools open it: DuckDB's Python client at the versions they bundle (1.1 to 1.5),
Superset's SQLAlchemy + duckdb-engine on DuckDB 1.5, DuckDB's Node client 1.4 and 1.5 and
Evidence's connector (streaming) on each. Every view must return the rows DuckDB 2.0 returns.

The clients are installed by `make test` (`make compat`) into .tools/compat, from the pinned
versions in tests/compat/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import ROOT
from tests.helpers import run

COMPAT = ROOT / ".tools" / "compat"
HERE = ROOT / "tests" / "compat"
PYTHON_CLIENTS = sorted(p.stem for p in (HERE / "python").glob("duckdb-*.txt"))
NODE_CLIENTS = sorted(p.name for p in HERE.glob("node-duckdb-*"))


def _client(name: str) -> Path:
    folder = COMPAT / name
    if not (folder / ".ok").exists():
        message = f"{name} is not installed in {COMPAT}: run `make compat` (make test does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


def _queries(catalog: Path) -> dict[str, int]:
    """Every view in full, and the filters a dashboard uses on the partition keys, with the
    row counts DuckDB 2.0 (the project's own) gives."""
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        views = [
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
            ).fetchall()
        ]
        queries = [f"SELECT * FROM {view}" for view in views] + [
            "SELECT * FROM articles WHERE year IS NULL",
            "SELECT * FROM articles WHERE year = 2021 AND month = 8",
            "SELECT year, month, count(*) FROM articles GROUP BY ALL",
        ]
        return {q: len(con.execute(q).fetchall()) for q in queries}
    finally:
        con.close()


@pytest.fixture(scope="module", params=["fresh", "incremental"])
def catalog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, corpus: list[Path]
) -> Path:
    root = tmp_path_factory.mktemp(f"bi-{request.param}")
    source = root / "src"
    source.mkdir()
    if request.param == "fresh":
        for path in corpus:
            shutil.copy(path, source / path.name)
    else:  # half, then all of it with a title changed and a file deleted
        for path in corpus[: len(corpus) // 2]:
            shutil.copy(path, source / path.name)
        run(source, root / "lake")
        for path in corpus:
            shutil.copy(path, source / path.name)
        first = source / corpus[0].name
        first.write_bytes(first.read_bytes().replace(b"title: ", b"title: changed ", 1))
        (source / corpus[-1].name).unlink()
    run(source, root / "lake")
    return root / "lake" / "warehouse.duckdb"


def _client_result(command: list[str], want: dict[str, int]) -> dict[str, Any]:
    """Run a reader script of tests/compat with the queries; its JSON answer."""
    done = subprocess.run([*command, json.dumps(list(want))], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _assert_same_rows(got: dict[str, object], want: dict[str, int], client: str) -> None:
    wrong = {q: (got.get(q), n) for q, n in want.items() if got.get(q) != n}
    assert not wrong, f"{client}: (got, DuckDB 2.0) {wrong}"


@pytest.mark.parametrize("client", PYTHON_CLIENTS)
def test_older_duckdb_python_clients_read_every_view(catalog: Path, client: str) -> None:
    python = _client(client) / "bin" / "python"
    want = _queries(catalog)
    result = _client_result([str(python), str(HERE / "read_catalog.py"), str(catalog)], want)
    assert client.endswith(result["version"])
    _assert_same_rows(result["rows"], want, client)


def test_superset_sqlalchemy_duckdb_engine_on_duckdb_1_5_reads_every_view(catalog: Path) -> None:
    python = _client("superset-duckdb-1.5.6") / "bin" / "python"
    want = _queries(catalog)
    result = _client_result([str(python), str(HERE / "read_catalog_sqlalchemy.py"), str(catalog)], want)
    assert result["version"] == "1.5.6" and "articles" in result["views"]
    _assert_same_rows(result["rows"], want, "duckdb-engine")


@pytest.mark.parametrize("client", NODE_CLIENTS)
def test_node_client_and_evidence_connector_read_every_view(catalog: Path, client: str) -> None:
    folder = _client(client)
    node = shutil.which("node")
    assert node, "node is not installed (make compat installs Debian's nodejs)"
    want = _queries(catalog)
    result = _client_result([node, str(HERE / "read_catalog.cjs"), str(folder), str(catalog)], want)
    assert result["version"].lstrip("v").startswith(client.rsplit("-", 1)[-1])
    _assert_same_rows(result["node"], want, f"{client} node-api")
    _assert_same_rows(result["evidence"], want, f"{client} evidence runQuery")
