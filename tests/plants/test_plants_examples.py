"""The example plants load cleanly, pass their own config tests and never share a device port."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

import dsl
from dsl.model import ModbusConnection, OpcUaConnection
from engine.configtest import runner as configtest

REPO = Path(__file__).resolve().parents[2]
PLANTS = REPO / "plants"
ALL_PLANTS = sorted(p for p in PLANTS.iterdir() if (p / "site.yaml").exists())

# Each plant with the number of config test cases it ships, so a test file that silently stops
# being read shows up as a wrong count.
CONFIG_TESTED = {"acme-harness": 20, "brightwater-foods": 21, "northfield-machining": 22}


def _loaded(name: str) -> dsl.Plant:
    result = dsl.load(PLANTS / name)
    assert result.plant is not None, result.render()
    return result.plant


@pytest.mark.parametrize("name", sorted(CONFIG_TESTED))
def test_plant_checks_without_errors_or_warnings(name: str) -> None:
    result = dsl.load(PLANTS / name)
    assert [d.message for d in result.diagnostics] == []


@pytest.mark.parametrize(
    "name",
    sorted(CONFIG_TESTED),
)
def test_plant_passes_its_config_tests(name: str) -> None:
    report = configtest.run(PLANTS / name)
    assert report.ok, report.render()
    assert len(report.results) == CONFIG_TESTED[name]


def test_no_two_devices_listen_on_the_same_port() -> None:
    owners: dict[tuple[str, int], list[str]] = {}
    for folder in ALL_PLANTS:
        for device in _loaded(folder.name).devices.values():
            connection = device.connection
            if isinstance(connection, OpcUaConnection):
                address = urlparse(connection.endpoint)
                key = (address.hostname or "", address.port or 4840)
            else:
                assert isinstance(connection, ModbusConnection)
                key = (connection.host, connection.port)
            owners.setdefault(key, []).append(f"{folder.name}/{device.name}")
    shared = {f"{host}:{port}": names for (host, port), names in owners.items() if len(names) > 1}
    assert shared == {}


def test_brightwater_weighs_every_ingredient_within_tolerance_from_expiring_lots() -> None:
    plant = _loaded("brightwater-foods")
    routing = plant.routing_for("SAUCE-TB")
    weighed = [line for op in routing.operations for line in op.consume if line.unit == "kg"]
    assert len(weighed) == 9
    assert {line.tolerance for line in weighed} == {0.01, 0.02}
    assert all(plant.parts[line.part].shelf_life_days for line in weighed)


def test_brightwater_prints_datamatrix_labels_and_acme_gs1_128() -> None:
    inventories = [_loaded(name).site.inventory for name in ("brightwater-foods", "acme-harness")]
    assert [i.label_barcode if i else None for i in inventories] == ["datamatrix", "gs1-128"]
