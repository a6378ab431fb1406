"""prefect.yaml points at the real flow and its parameters validate against Settings."""

from __future__ import annotations

import importlib

import yaml

from flows.settings import Settings
from tests.conftest import ROOT


def test_prefect_yaml_deployments_are_valid() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    assert config["deployments"]
    for deployment in config["deployments"]:
        module_path, func = deployment["entrypoint"].split(":")
        module = importlib.import_module(module_path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, func)
        assert flow.name == "newslake-etl"
        Settings(**deployment["parameters"]["settings"])
        assert deployment["concurrency_limit"] == {"limit": 1, "collision_strategy": "CANCEL_NEW"}


def test_flow_parameter_schema_is_typed_and_described() -> None:
    from prefect.utilities.callables import parameter_schema

    from flows.etl import etl

    schema = parameter_schema(etl.fn).model_dump()
    settings = schema["definitions"]["Settings"]["properties"]
    assert settings["source"]["description"] and settings["max_bad_ratio"]["type"] == "number"
