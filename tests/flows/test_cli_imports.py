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
