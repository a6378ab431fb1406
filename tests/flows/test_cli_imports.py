"""Each command imports what it needs: checked on the modules a real invocation loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.sample import write_sample
from tests.conftest import ROOT
from tests.helpers import run

_PROBE = """
import json, sys
sys.argv = ["newslake", *json.loads(sys.argv[1])]
from flows.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
with open(OUT, "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""

HEAVY = {"polars", "pandera", "flows.settings", "pyarrow", "bs4"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("imports")
    write_sample(root / "src", 20)
    run(root / "src", root / "lake")
    return root / "lake"


def _imported(args: list[str], tmp: Path) -> set[str]:
    out = tmp / "modules.json"
    script = _PROBE.replace("OUT", repr(str(out)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.exists(), done.stderr
    result = json.loads(out.read_text())
    assert result["code"] in (0, None), done.stderr
    return {m.split(".")[0] for m in result["modules"]} | set(result["modules"])


def test_help_and_version_import_no_prefect_polars_pandera_or_settings(tmp_path: Path) -> None:
    for args in (["--help"], ["--version"], ["run", "--help"], ["query", "--help"]):
        loaded = _imported(args, tmp_path)
        assert not loaded & (HEAVY | {"prefect", "duckdb", "pydantic"}), (args, loaded & HEAVY)


def test_query_imports_duckdb_only(lake: Path, tmp_path: Path) -> None:
    loaded = _imported(
        ["query", "--lake", str(lake), "--format", "csv", "SELECT count(*) FROM articles"], tmp_path
    )
    assert "duckdb" in loaded
    assert not loaded & (HEAVY | {"prefect", "fsspec"}), loaded & (HEAVY | {"prefect", "fsspec"})


def test_report_and_sample_import_no_prefect(lake: Path, tmp_path: Path) -> None:
    report = _imported(["report", "--lake", str(lake), "--out", str(tmp_path / "r.html")], tmp_path)
    assert (tmp_path / "r.html").exists() and "prefect" not in report and "polars" not in report
    sample = _imported(["sample", "--out", str(tmp_path / "s"), "--count", "3"], tmp_path)
    assert len(list((tmp_path / "s").iterdir())) == 3 and "prefect" not in sample


def test_a_run_without_a_prefect_api_imports_no_prefect(lake: Path, tmp_path: Path) -> None:
    source = lake.parent / "src"
    loaded = _imported(["run", "--source", str(source), "--lake", str(lake), "--quiet"], tmp_path)
    assert "prefect" not in loaded and "polars" in loaded


_ALLOCATOR_PROBE = """
import os, sys
sys.argv = ["newslake", "--version"]
from flows.cli import main
try:
    main()
except SystemExit:
    pass
print(os.environ.get("_RJEM_MALLOC_CONF"), "polars" in sys.modules)
"""


@pytest.mark.parametrize("users", [None, "dirty_decay_ms:5000"])
def test_the_polars_allocator_setting_is_made_before_polars_loads_and_a_users_wins(users: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "_RJEM_MALLOC_CONF"}
    if users:
        env["_RJEM_MALLOC_CONF"] = users
    done = subprocess.run(
        [sys.executable, "-c", _ALLOCATOR_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    setting, polars_loaded = done.stdout.splitlines()[-1].split()  # after the version line
    assert polars_loaded == "False", done.stderr  # jemalloc reads it once, when Polars loads
    assert setting == (users or "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0")
