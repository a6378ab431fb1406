"""transforms/ is pure: values in, values out. No file, network or clock access, and imports
that go one way (never flows/, warehouse/ or Prefect)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

MODULES = sorted((ROOT / "transforms").glob("*.py"))
FORBIDDEN_MODULES = {
    "os",
    "pathlib",
    "importlib",
    "socket",
    "subprocess",
    "shutil",
    "time",
    "flows",
    "warehouse",
    "prefect",
    "fsspec",
    "duckdb",
}
FORBIDDEN_CALLS = {
    "open",
    "now",
    "today",
    "utcnow",
    "time",
    "read_bytes",
    "read_text",
    "write_bytes",
    "write_text",
    "find_spec",
    "getenv",
}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_transform_module_reads_no_file_and_no_clock(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        assert not set(names) & FORBIDDEN_MODULES, f"{module.name}:{node.lineno} imports {names}"
        if isinstance(node, ast.Call):
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            assert name not in FORBIDDEN_CALLS, f"{module.name}:{node.lineno} calls {name}()"
