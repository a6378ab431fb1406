"""prefect.yaml points at the real flow, needs no editing (the archive and the lake come from the
environment `prefect deploy` runs in), and its parameters validate against Settings; a run that
cannot start says why in one line."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.etl import deployment_problem
from flows.settings import Settings
from tests.conftest import ROOT


def _deployments() -> list[dict[str, Any]]:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert config["pull"] == []  # nothing to chdir into: the flow is imported from the environment
    assert config["deployments"]
    return list(config["deployments"])


def test_prefect_yaml_deployments_are_valid() -> None:
    for deployment in _deployments():
        module_path, func = deployment["entrypoint"].split(":")
        assert not module_path.endswith(".py"), "a module path, not a file relative to the working directory"
        flow = getattr(importlib.import_module(module_path), func)
        assert flow.name == "newslake-etl"
        Settings(**deployment["parameters"]["settings"])
        assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def test_prefect_deploy_fills_source_and_lake_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What `prefect deploy` does to the file (prefect/cli/deploy/_core.py): placeholders
    {{ $VAR }} replaced from its environment, unset ones left as they are."""
    from prefect.utilities.templating import apply_values

    monkeypatch.setenv("NEWSLAKE_SOURCE", str(tmp_path / "archive"))
    monkeypatch.setenv("NEWSLAKE_LAKE", str(tmp_path / "lake"))
    for deployment in _deployments():
        filled = apply_values(deployment, os.environ, remove_notset=False)
        settings = Settings(**filled["parameters"]["settings"])
        assert (settings.source, settings.lake) == (str(tmp_path / "archive"), str(tmp_path / "lake"))
    monkeypatch.delenv("NEWSLAKE_LAKE")
    (tmp_path / "archive").mkdir()
    for deployment in _deployments():
        for remove_notset in (False, True):  # the placeholder as it is, or "" (what deploy stores)
            filled = apply_values(deployment, os.environ, remove_notset=remove_notset)
            problem = deployment_problem(Settings(**filled["parameters"]["settings"]), deployed=True)
            assert problem is not None and "NEWSLAKE_LAKE was not set when `prefect deploy` ran" in problem


def test_a_run_that_cannot_start_says_why_in_one_line(tmp_path: Path) -> None:
    source = tmp_path / "archive"
    source.mkdir()
    assert (
        deployment_problem(Settings(source=str(source), lake=str(tmp_path / "lake")), deployed=True) is None
    )
    assert deployment_problem(Settings(source=str(source), lake="data/lake"), deployed=False) is None
    problems = [
        deployment_problem(Settings(source=str(source), lake="data/lake"), deployed=True),
        deployment_problem(
            Settings(source=str(tmp_path / "gone"), lake=str(tmp_path / "lake")), deployed=True
        ),
        deployment_problem(Settings(source="{{ $NEWSLAKE_SOURCE }}", lake="/x"), deployed=True),
    ]
    assert all(p is not None and "\n" not in p for p in problems), problems
    assert "is relative" in str(problems[0])
    assert f"source {tmp_path / 'gone'} is not a folder" in str(problems[1])
    assert "NEWSLAKE_SOURCE was not set" in str(problems[2])


def test_flow_parameter_schema_is_typed_and_described() -> None:
    from prefect.utilities.callables import parameter_schema

    from flows.etl import etl

    schema = parameter_schema(etl.fn).model_dump()
    settings = schema["definitions"]["Settings"]["properties"]
    assert settings["source"]["description"] and settings["max_bad_ratio"]["type"] == "number"
