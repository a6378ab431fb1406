"""The README's SQL runs, and every CLI command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from flows.cli import app
from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import run

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_sql() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README, re.DOTALL)
    statements = []
    for block in blocks:
        for stmt in block.split(";"):
            lines = [ln for ln in stmt.strip().splitlines() if not ln.strip().startswith("--")]
            if lines:
                statements.append("\n".join(lines))
    return statements


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    write_sample(root / "src", 30)
    (root / "src" / "broken.md").write_text("no front matter here", encoding="utf-8")
    run(root / "src", root / "lake")
    return root / "lake"


@pytest.mark.parametrize("sql", _readme_sql())
def test_readme_sql_runs(sql: str, lake: Path) -> None:
    con = duckdb.connect(str(lake / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_cli_command_is_in_the_readme() -> None:
    names = [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]
    assert names
    for name in names:
        assert f"newslake {name}" in README, name
