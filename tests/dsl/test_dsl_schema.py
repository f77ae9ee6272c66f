"""The JSON Schema from ``dsl.schema`` accepts the example plants and rejects mistakes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from dsl.schema import json_schema

REPO = Path(__file__).resolve().parents[2]
PLANT_FILES = sorted(
    p for p in (REPO / "plants").glob("*/*.yaml") if (p.parent / "site.yaml").exists()
)
ROUTING_FILES = sorted((REPO / "plants").glob("*/routings/*.yaml"))


class _Yaml12Loader(yaml.SafeLoader):
    """Reads YAML as editors do (YAML 1.2 core schema): dates stay strings."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)


def validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json_schema(kind)  # type: ignore[arg-type]
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_there_are_example_plants_to_validate() -> None:
    assert len(PLANT_FILES) >= 2
    assert len(ROUTING_FILES) >= 1


@pytest.mark.parametrize("path", PLANT_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_plant_files_validate(path: Path) -> None:
    errors = [e.message for e in validator("plant").iter_errors(read(path))]
    assert errors == []


@pytest.mark.parametrize("path", ROUTING_FILES, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_routing_files_validate(path: Path) -> None:
    errors = [e.message for e in validator("routing").iter_errors(read(path))]
    assert errors == []


def test_an_unknown_key_is_rejected() -> None:
    document = read(REPO / "plants" / "acme-harness" / "site.yaml")
    document["devices"]["press1"]["tags"]["pressure"]["unitt"] = "bar"
    errors = list(validator("plant").iter_errors(document))
    assert [e.message for e in errors] == [
        "Additional properties are not allowed ('unitt' was unexpected)"
    ]
    assert list(errors[0].absolute_path) == ["devices", "press1", "tags", "pressure"]


def test_a_missing_required_key_and_a_bad_value_are_rejected() -> None:
    document = read(REPO / "plants" / "acme-harness" / "routings" / "harness-a.yaml")
    del document["product"]
    document["operations"][0]["gates"][0]["on_fail"] = "explode"
    messages = sorted(e.message for e in validator("routing").iter_errors(document))
    assert messages == [
        "'explode' is not valid under any of the given schemas",
        "'product' is a required property",
    ]


def test_a_device_needs_exactly_one_protocol() -> None:
    document = {
        "devices": {
            "d": {"tags": {}, "opcua": {"endpoint": "opc.tcp://x"}, "modbus": {"host": "h"}}
        }
    }
    errors = list(validator("plant").iter_errors(document))
    assert len(errors) == 1
    assert "is valid under each of" in errors[0].message


def test_descriptions_come_from_the_declarations() -> None:
    schema = json_schema("plant")
    tag = schema["properties"]["devices"]["additionalProperties"]["properties"]["tags"]  # type: ignore[index]
    assert tag["additionalProperties"]["properties"]["max_age"]["description"] == (
        "A value older than this reads as stale; default 5 s."
    )
