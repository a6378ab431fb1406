"""The docs' SQL runs, and every CLI command is documented (docs/cli.md)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from flows.cli import app
from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import catalog, run

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")


def _readme_sql() -> list[str]:
    blocks = [
        b for p in PAGES for b in re.findall(r"```sql\n(.*?)```", p.read_text(encoding="utf-8"), re.DOTALL)
    ]
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
    with catalog(lake) as con:
        assert con.execute(sql).fetchall()


def _synopsis(command: str) -> str:
    """docs/cli.md's synopsis of one command: from `newslake COMMAND` to the next command's line."""
    section = CLI_DOC.split("\n## Synopsis\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"^\s*newslake {command}\b.*?(?=^\s*newslake |\Z)", section, re.DOTALL | re.MULTILINE)
    assert match, f"`newslake {command}` has no synopsis under ## Synopsis in docs/cli.md"
    return match.group(0)


def test_every_option_of_every_command_is_in_the_readme() -> None:
    assert set(app.commands) == {"run", "repair", "serve", "query", "report", "sample"}
    for name, command in app.commands.items():
        synopsis = _synopsis(name)
        for param in command.params:
            if isinstance(param, click.Option):
                if "--help" in param.opts:
                    continue
                longest = max(param.opts, key=len)
                assert re.search(rf"{re.escape(longest)}\b", synopsis), (
                    f"newslake {name}: {longest} is not in its synopsis"
                )
            else:
                assert (param.name or "").upper() in synopsis, (
                    f"newslake {name}: argument {param.name} is not in its synopsis"
                )
