"""A newcomer's first hour, through the real command line: what the CLI says about itself, where
it reads and writes, and what to try next (issue 27)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest

from flows.cli import app
from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import catalog_rows, cli_env, newslake, run
from transforms.version import PARSER_VERSION

SAMPLE_FILES = 20


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return cli_env(**(extra or {}))


def _newslake(
    args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None, program: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    return newslake(args, env=env, cwd=cwd, program=program)


def _one_error_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newslake: error: "), done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding src/ (sample files) and data/lake, the lake `newslake query` reads by default."""
    folder = tmp_path_factory.mktemp("first-hour")
    write_sample(folder / "src", SAMPLE_FILES)
    run(folder / "src", folder / "data" / "lake")
    return folder


def test_version_names_the_package_and_its_parser() -> None:
    done = _newslake(["--version"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"newslake {version('newslake')} (parser {PARSER_VERSION})\n"


def _options(command: click.Command) -> list[click.Option]:
    return [p for p in command.params if isinstance(p, click.Option) and "--help" not in p.opts]


def test_every_option_can_be_set_from_the_environment(root: Path, tmp_path: Path) -> None:
    lake = root / "data" / "lake"
    env = _env({"NEWSLAKE_LAKE": str(lake), "NEWSLAKE_QUERY_FORMAT": "csv"})
    done = _newslake(["query", "SELECT count(*) AS n FROM articles"], cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", str(SAMPLE_FILES)]
    # the command line wins over the environment
    elsewhere = _newslake(["query", "--lake", str(tmp_path / "nope"), "SELECT 1"], cwd=tmp_path, env=env)
    assert elsewhere.returncode != 0 and str(tmp_path / "nope") in elsewhere.stderr
    shared = {"--lake": "NEWSLAKE_LAKE", "--source": "NEWSLAKE_SOURCE", "--catalog": "NEWSLAKE_CATALOG"}
    shared |= {"--tz": "NEWSLAKE_TZ", "--securities": "NEWSLAKE_SECURITIES"}
    for name, command in app.commands.items():
        shown = _newslake([name, "--help"])
        assert shown.returncode == 0, shown.stderr
        for option in _options(command):
            flag = max(option.opts, key=len)
            want = shared.get(flag, f"NEWSLAKE_{name.upper()}_{flag[2:].upper().replace('-', '_')}")
            assert option.envvar == want, (name, flag, option.envvar)
            assert want in shown.stdout, f"newslake {name} --help does not show {want}"


def test_query_and_report_name_a_missing_lake_and_how_to_give_one(root: Path, tmp_path: Path) -> None:
    default = _one_error_line(_newslake(["query", "SELECT 1"], cwd=tmp_path), 2)
    assert str(tmp_path / "data" / "lake") in default, default
    assert "--lake" in default and "NEWSLAKE_LAKE" in default, default
    report = _one_error_line(_newslake(["report", "--out", str(tmp_path / "r.html")], cwd=tmp_path), 2)
    assert str(tmp_path / "data" / "lake") in report and not (tmp_path / "r.html").exists()
    given = _one_error_line(_newslake(["query", "--lake", str(tmp_path / "nope"), "SELECT 1"]), 2)
    assert f"no lake at {tmp_path / 'nope'}" in given, given
    (tmp_path / "empty").mkdir()
    no_catalog = _one_error_line(_newslake(["query", "--lake", str(tmp_path / "empty"), "SELECT 1"]), 2)
    assert str(tmp_path / "empty" / "warehouse.duckdb") in no_catalog, no_catalog
    catalog = _one_error_line(_newslake(["query", "--catalog", str(tmp_path / "c.duckdb"), "SELECT 1"]), 2)
    assert f"no catalog at {tmp_path / 'c.duckdb'}" in catalog and "--catalog" in catalog, catalog
    # where the default lake is, it is read as before
    found = _newslake(["query", "--format", "csv", "SELECT count(*) AS n FROM articles"], cwd=root)
    assert found.returncode == 0 and found.stdout.splitlines() == ["n", str(SAMPLE_FILES)], found.stderr


@pytest.mark.parametrize(("fmt", "printed"), [("table", "(0 rows)\n"), ("csv", "title\n"), ("json", "[]\n")])
def test_an_empty_result_says_so(fmt: str, printed: str, root: Path) -> None:
    done = _newslake(["query", "--format", fmt, "SELECT title FROM articles WHERE false"], cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout == printed


def test_a_first_run_over_a_folder_without_article_files_says_what_it_looked_for(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "notes.pdf").write_bytes(b"%PDF")
    (source / ".draft.md").write_text("---\ntitle: hidden\n---\n", encoding="utf-8")
    for extra in ([], ["--json"]):
        done = _newslake(["run", "--source", str(source), "--lake", str(tmp_path / "lake"), *extra])
        line = _one_error_line(done, 1)
        assert line == f"newslake: error: no file matching *.md, *.markdown, *.txt under {source}"
        if extra:  # the summary is still printed as JSON
            assert json.loads(done.stdout)["files_seen"] == 0
        else:
            assert done.stdout == ""


def test_a_run_says_where_it_ran_and_what_to_try_next(root: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    args = ["run", "--source", str(root / "src"), "--lake", str(lake), "--workers", "1"]
    done = _newslake(args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  ran in this process" in lines, done.stdout
    query, report, shell = lines[-3:]
    assert query.startswith(f"next: newslake query --lake {lake} "), done.stdout
    assert report == f"      newslake report --lake {lake} --out report.html"
    # DuckDB's shell is not installed: the catalog is opened with this interpreter's duckdb
    python, flag, code = shlex.split(shell)
    assert os.path.samefile(ROOT / python, sys.executable) and flag == "-c", shell
    assert f'duckdb.connect("{lake / "warehouse.duckdb"}", read_only=True)' in code, shell
    suggested = shlex.split(query.removeprefix("next: newslake "))
    tried = _newslake(suggested)
    assert tried.returncode == 0 and "(0 rows)" not in tried.stdout, tried.stderr
    # each suggestion works as written (the report into a folder of its own)
    (tmp_path / "out").mkdir()
    reported = _newslake(shlex.split(report.strip())[1:], cwd=tmp_path / "out")
    assert reported.returncode == 0 and (tmp_path / "out" / "report.html").is_file(), reported.stderr
    opened = subprocess.run(shlex.split(shell), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert opened.returncode == 0 and "新浪财经" in opened.stdout, opened.stderr
    # --quiet and --json print what they printed before
    assert _newslake([*args, "--quiet"]).stdout == ""
    summary = json.loads(_newslake([*args, "--json"]).stdout)
    assert summary["status"] == "no_changes" and "where" not in summary


def test_after_make_run_the_next_steps_name_the_program_it_ran(root: Path, tmp_path: Path) -> None:
    """`make run` runs .venv/bin/newslake, which is not on PATH: that is the program to run next."""
    lake = tmp_path / "lake"
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and not (Path(p) / "newslake").exists()
    )
    done = _newslake(
        ["run", "--source", str(root / "src"), "--lake", str(lake), "--workers", "1"],
        env=_env({"PATH": path}),
        program=[str(ROOT / ".venv" / "bin" / "newslake")],
    )
    assert done.returncode == 0, done.stderr
    assert f"next: .venv/bin/newslake query --lake {lake} " in done.stdout, done.stdout
    assert f"      .venv/bin/newslake report --lake {lake} --out report.html" in done.stdout
    assert " -c 'import duckdb; con = duckdb.connect(" in done.stdout, done.stdout


@pytest.mark.integration
def test_a_flow_run_prints_its_url(prefect_api: tuple[str, Path], root: Path, tmp_path: Path) -> None:
    import httpx

    from tests.servers import prefect_env

    api, home = prefect_api
    env = {**prefect_env(home, api), "PYTHONPATH": _env()["PYTHONPATH"]}
    done = _newslake(["run", "--source", str(root / "src"), "--lake", str(tmp_path / "lake")], env=env)
    assert done.returncode == 0, done.stderr
    [where] = [line for line in done.stdout.splitlines() if line.startswith("  ran as ")]
    prefix = f"  ran as Prefect flow run {api.removesuffix('/api')}/runs/flow-run/"
    assert where.startswith(prefix), where
    flow_run = httpx.get(f"{api}/flow_runs/{where.removeprefix(prefix)}", timeout=10).json()
    assert flow_run["name"].startswith("newslake-lake-") and flow_run["state_type"] == "COMPLETED"


def test_a_securities_list_is_an_option_and_a_variable(root: Path, tmp_path: Path) -> None:
    listing = tmp_path / "securities.csv"
    listing.write_text("code,name\n600519,光伏龙头\n000858,银行理财\n", encoding="utf-8")
    listed = (
        "SELECT stock_code, count(*) > 0 FROM article_stocks WHERE found_by = 'list' GROUP BY 1 ORDER BY 1"
    )
    source = str(root / "src")
    done = _newslake(
        ["run", "--source", source, "--lake", str(tmp_path / "a"), "--securities", str(listing), "-q"]
    )
    assert done.returncode == 0, done.stderr
    assert catalog_rows(tmp_path / "a", listed) == [("sh600519", True), ("sz000858", True)]
    from_env = _env({"NEWSLAKE_SECURITIES": str(listing)})
    done = _newslake(["run", "--source", source, "--lake", str(tmp_path / "b"), "-q"], env=from_env)
    assert done.returncode == 0, done.stderr
    assert catalog_rows(tmp_path / "b", listed) == [("sh600519", True), ("sz000858", True)]
    done = _newslake(
        ["repair", "--source", source, "--lake", str(tmp_path / "c"), "--securities", str(listing)]
    )
    assert done.returncode == 0, done.stderr
    assert catalog_rows(tmp_path / "c", listed) == [("sh600519", True), ("sz000858", True)]
    missing = _newslake(
        ["run", "--source", source, "--lake", str(tmp_path / "d"), "--securities", str(tmp_path / "no.csv")]
    )
    assert "securities" in _one_error_line(missing, 2) and not (tmp_path / "d").exists()
    served = _newslake(["serve", "--help"])
    assert "--securities" in served.stdout and "NEWSLAKE_SECURITIES" in served.stdout
