"""The JSON Schema from ``dsl.schema`` accepts the example plants and rejects mistakes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from dsl.loader import LoadResult
from dsl.schema import json_schema

REPO = Path(__file__).resolve().parents[2]
PLANT_FILES = sorted(
    p for p in (REPO / "plants").glob("*/*.yaml") if (p.parent / "site.yaml").exists()
)
ROUTING_FILES = sorted((REPO / "plants").glob("*/routings/*.yaml"))


class _Yaml12Loader(yaml.SafeLoader):
    """Reads YAML as editors do (YAML 1.2 core schema): dates stay strings, ``yes`` is text,
    ``1e3`` is a number."""


_Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", [*"tTfF"]),
    ("null", r"~|null|Null|NULL|", [*"~nN", ""]),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", [*"-+0123456789"]),
    (
        "float",
        r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
        [*"-+.0123456789"],
    ),
):
    _Yaml12Loader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), _first
    )


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


GATE = "        on_fail: hold\n"
TAG = "      weight: {holding: 0, type: float32, unit: kg}\n"

# (file, old text, new text, accepted): each value is accepted by both the JSON Schema and
# `ferrule check`, or refused by both.
AGREEMENT = [
    ("site.yaml", "port: 5020", "port: 502", True),
    ("site.yaml", "port: 5020", 'port: "5020"', False),
    ("site.yaml", "port: 5020", "port: 0", False),
    ("site.yaml", "port: 5020", "port: 70000", False),
    ("site.yaml", "port: 5020", "port: 5020, unit_id: 0", True),
    ("site.yaml", "port: 5020", "port: 5020, unit_id: 256", False),
    ("site.yaml", "unit: kg}", "unit: kg, scale: -0.5}", True),
    ("site.yaml", "unit: kg}", "unit: kg, scale: 1e3}", True),
    ("site.yaml", "unit: kg}", "unit: kg, scale: 0}", False),
    ("site.yaml", "unit: kg}", "unit: kg, scale: 0.0}", False),
    ("site.yaml", "unit: kg}", 'unit: kg, scale: "2"}', False),
    ("site.yaml", "{holding: 0, type: float32, unit: kg}", "{holding: 0, type: bool}", True),
    ("site.yaml", "{holding: 0, type: float32, unit: kg}", "{coil: 0, type: bool}", True),
    ("site.yaml", "{holding: 0,", "{holding: 65534,", True),
    ("site.yaml", "{holding: 0,", "{holding: 70000,", False),
    ("site.yaml", "{holding: 0,", "{holding: -1,", False),
    ("site.yaml", "writable: true", 'writable: "true"', False),
    ("site.yaml", "writable: true", "writable: yes", False),
    ("site.yaml", "max_age: 2 s", 'max_age: "2 s"', True),
    ("site.yaml", "calibration_due: 2030-01-31", 'calibration_due: "2030-01-31"', True),
    ("site.yaml", TAG, TAG + "      spare: {holding: 4}\n", True),
    ("site.yaml", TAG, TAG + "      in: {holding: 4}\n", False),
    ("materials.yaml", "qty: 0.5 m}", 'qty: "0.5 m"}', True),
    ("materials.yaml", "{part: BOLT, qty: 2}", '{part: BOLT, qty: "2"}', False),
    ("materials.yaml", "{part: BOLT, qty: 2}", "{part: BOLT, qty: -2}", False),
    ("materials.yaml", "qty: 0.5 m}", "qty: 0 m}", False),
    ("materials.yaml", "tracking: serial", "tracking: serials", False),
    ("routings/widget.yaml", "{part: BOLT, qty: 2}", "{part: BOLT, qty: 0}", False),
    ("routings/widget.yaml", "qty: 50 cm,", "qty: -50 cm,", False),
    ("routings/widget.yaml", GATE, GATE + "        sample: {every: 1}\n", True),
    ("routings/widget.yaml", GATE, GATE + "        sample: {every: 0}\n", False),
    ("routings/widget.yaml", GATE, GATE + "        sample: {first: 0}\n", False),
    ("routings/widget.yaml", GATE, GATE + "        sample: {percent: 12.5}\n", True),
    ("routings/widget.yaml", GATE, GATE + "        sample: {percent: 100}\n", True),
    ("routings/widget.yaml", GATE, GATE + "        sample: {percent: 0}\n", False),
    ("routings/widget.yaml", GATE, GATE + "        sample: {percent: 101}\n", False),
    ("routings/widget.yaml", "max: 2}", "max: 1}", True),
    ("routings/widget.yaml", "max: 2}", "max: 0}", False),
    (
        "routings/widget.yaml",
        "{type: number, unit: mm,",
        "{type: number, required: 'true', unit: mm,",
        False,
    ),
]


@pytest.mark.parametrize(("path", "old", "new", "accepted"), AGREEMENT)
def test_the_schema_and_the_checker_agree(
    load_plant: Callable[..., LoadResult],
    edit: Callable[[str, str, str], dict[str, str]],
    path: str,
    old: str,
    new: str,
    accepted: bool,
) -> None:
    files = edit(path, old, new)
    kind = "routing" if path.startswith("routings/") else "plant"
    document = yaml.load(files[path], Loader=_Yaml12Loader)
    schema_errors = [e.message for e in validator(kind).iter_errors(document)]
    result = load_plant(files)
    assert (result.plant is not None, not schema_errors) == (accepted, accepted), (
        result.render(),
        schema_errors,
    )
