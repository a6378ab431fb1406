"""The docs are true: the README's queries print what it shows on the sample lake, its Python lines
run, every SQL block runs, every CLI command and option is documented, and every link leads
somewhere."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from flows.cli import app
from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import catalog, cli_env, newslake, run

README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
VENV = ".venv/bin/"


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


# --- the README's queries, doctest-style, on the lake `make run` builds ---------------------------


def _readme_sessions() -> list[tuple[str, str]]:
    """(command, the output shown under it) for each `$ ` line of the README's console blocks."""
    sessions: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", _text(README), re.DOTALL):
        for chunk in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
            command, _, output = chunk.partition("\n")
            sessions.append((command, output))
    return sessions


def _readme_python_lines() -> list[str]:
    """The README's `.venv/bin/python -c …` commands (indented code lines)."""
    return [ln.strip() for ln in _text(README).splitlines() if ln.startswith(f"    {VENV}python -c ")]


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `newslake run` ran with no source, as `make run` runs it: data/sample (200
    generated files, seed 0) loaded into data/lake."""
    root = tmp_path_factory.mktemp("make-run")
    newslake(["run", "--quiet", "--workers", "1"], cwd=root, check=True)
    return root


def test_the_readme_shows_three_queries_and_python_lines() -> None:
    commands = [command for command, _ in _readme_sessions()]
    assert len(commands) >= 3, commands
    assert all(c.startswith(f"{VENV}newslake query ") for c in commands), commands
    assert len(_readme_python_lines()) >= 2


@pytest.mark.parametrize(
    ("command", "shown"),
    [pytest.param(c, o, id=f"query-{i}") for i, (c, o) in enumerate(_readme_sessions(), 1)],
)
def test_a_readme_query_prints_what_the_readme_shows(command: str, shown: str, sample_folder: Path) -> None:
    args = shlex.split(command)
    assert args[0] == f"{VENV}newslake", command
    done = newslake(args[1:], cwd=sample_folder)  # no NEWSLAKE_LAKE: data/lake, as written
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown, f"`{command}` on the sample lake printed:\n{done.stdout}"


@pytest.mark.parametrize("line", _readme_python_lines())
def test_a_readme_python_line_runs_on_the_sample_lake(line: str, sample_folder: Path) -> None:
    program, *args = shlex.split(line)
    assert program == f"{VENV}python", line
    done = subprocess.run(
        [sys.executable, *args], cwd=sample_folder, env=cli_env(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "新浪财经" in done.stdout, done.stdout


# --- every SQL block of the docs runs --------------------------------------------------------------


def _docs_sql() -> list[str]:
    statements = []
    for page in PAGES:
        for block in re.findall(r"```sql\n(.*?)```", _text(page), re.DOTALL):
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


def test_the_docs_have_sql_to_run() -> None:
    assert len(_docs_sql()) >= 2


@pytest.mark.parametrize("sql", _docs_sql())
def test_docs_sql_runs(sql: str, lake: Path) -> None:
    with catalog(lake) as con:
        assert con.execute(sql).fetchall()


# --- every command and option is documented --------------------------------------------------------


def _synopsis_section() -> str:
    text = _text(CLI_DOC)
    assert "\n## Synopsis\n" in text, f"{CLI_DOC.relative_to(ROOT)} has no ## Synopsis"
    return text.split("\n## Synopsis\n", 1)[1].split("\n## ", 1)[0]


def _synopsis(command: str) -> str:
    """The synopsis of one command: from `newslake COMMAND` to the next command's line."""
    match = re.search(
        rf"^\s*newslake {command}\b.*?(?=^\s*newslake |\Z)", _synopsis_section(), re.DOTALL | re.MULTILINE
    )
    assert match, f"`newslake {command}` has no synopsis under ## Synopsis in docs/cli.md"
    return match.group(0)


def test_every_option_of_every_command_is_in_the_synopsis() -> None:
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
    for param in app.params:  # the program's own options: --version
        if isinstance(param, click.Option) and "--help" not in param.opts:
            longest = max(param.opts, key=len)
            assert re.search(rf"^\s*newslake {re.escape(longest)}\b", _synopsis_section(), re.MULTILINE), (
                longest
            )


def test_the_readme_leads_to_the_synopsis() -> None:
    assert "(docs/cli.md)" in _text(README)


# --- every relative link leads to a file, and to a heading of it -----------------------------------


def _without_code_blocks(text: str) -> str:
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return "\n".join(ln for ln in text.splitlines() if not ln.startswith(("    ", "\t")))


def _prose(text: str) -> str:
    """Text without code blocks and code spans: a link there is not a link."""
    return re.sub(r"`[^`\n]*`", "", _without_code_blocks(text))


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the page's headings: lower case, punctuation dropped, spaces to hyphens,
    a repeated anchor numbered."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", _without_code_blocks(_text(page)), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(page: Path) -> list[str]:
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", _prose(_text(page)))


def test_anchors_follow_githubs_rule() -> None:
    page = ROOT / "docs" / "performance.md"
    assert "what-make-bench-measures" in _anchors(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page: Path) -> None:
    for link in _links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", link):  # https:, mailto: — not checked here
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_file(), f"{page.name}: {link} leads to no file"
        assert target.is_relative_to(ROOT), f"{page.name}: {link} leaves the repository"
        if anchor:
            assert target.suffix == ".md", (
                f"{page.name}: {link} has an anchor into a file that is not Markdown"
            )
            assert anchor in _anchors(target), f"{page.name}: {link}: no heading makes #{anchor}"


def test_every_docs_page_is_linked_from_the_readme_or_another_page() -> None:
    linked = {
        (page.parent / link.partition("#")[0]).resolve()
        for page in PAGES
        for link in _links(page)
        if link.partition("#")[0] and not re.match(r"[a-z][a-z0-9+.-]*:", link)
    }
    for page in PAGES[1:]:
        assert page.resolve() in linked, f"{page.relative_to(ROOT)} is linked from nowhere"
