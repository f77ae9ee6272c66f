"""The loader builds the full model: addresses, quantities in their units, dates, simulation,
implicit interlocks, scopes, and the files and content hash of the plant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

import dsl
from dsl.loader import LoadResult, content_hash, read_folder
from dsl.model import (
    FailAction,
    ModbusAddress,
    OpcUaAddress,
    RegisterKind,
    Sampling,
    SimBehaviour,
    ValueType,
)

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "plants" / "acme-harness"


@pytest.fixture(scope="module")
def acme() -> dsl.Plant:
    return dsl.load_or_raise(ACME)


def test_tags_get_addresses_types_and_defaults(acme: dsl.Plant) -> None:
    pressure = acme.tag("press1.pressure")
    assert pressure.address == OpcUaAddress("ns=2;s=Line1.Press.Pressure")
    assert (pressure.value_type, pressure.unit, pressure.max_age_s) == (
        ValueType.NUMBER,
        "bar",
        5.0,
    )
    assert pressure.sim == SimBehaviour("walk", value=70.0, low=66.0, high=74.0)
    assert acme.tag("press1.fault").value_type is ValueType.BOOL
    assert acme.tag("press1.strokes").sim == SimBehaviour("counter", value=18000.0, rate_per_s=0.5)
    assert acme.tag("press1.target_force").writable is True
    assert acme.tag("tester.resistance").address == ModbusAddress(
        RegisterKind.HOLDING, 100, "float32"
    )
    assert acme.tag("tester.insulation").address == ModbusAddress(
        RegisterKind.INPUT, 10, "uint16", scale=0.1
    )
    ready = acme.tag("tester.ready")
    assert ready.address == ModbusAddress(RegisterKind.DISCRETE, 0, "bool")
    assert ready.value_type is ValueType.BOOL


def test_connections_convert_durations(acme: dsl.Plant) -> None:
    press, tester = acme.devices["press1"], acme.devices["tester"]
    assert press.protocol == "opcua"
    assert press.connection.timeout_s == 2.0
    assert tester.protocol == "modbus"
    assert (tester.connection.port, tester.connection.timeout_s) == (5020, 1.0)


def test_quantities_dates_and_material(acme: dsl.Plant) -> None:
    assert acme.qualifications["crimping"].valid_for_days == 365
    assert acme.parts["TERM-22"].shelf_life_days == 730
    assert acme.equipment["crimp-press-1"].calibration_due == dt.date(2027, 6, 30)
    assert acme.equipment["tester-1"].maintenance_due is None
    product = acme.products["HA-100"]
    assert [(b.part, b.quantity, b.unit) for b in product.bom] == [
        ("WIRE-18-RD", 0.5, "m"),
        ("TERM-22", 2.0, "pcs"),
        ("HOUSING-4P", 1.0, "pcs"),
    ]
    cut = acme.routings["harness-a"].operation("cut")
    assert [(c.part, c.quantity, c.unit, c.tolerance) for c in cut.consume] == [
        ("WIRE-18-RD", 0.5, "m", 0.02)
    ]


def test_operations_gates_and_signatures(acme: dsl.Plant) -> None:
    routing = acme.routing_for("HA-100")
    assert [op.id for op in routing.operations] == ["cut", "crimp", "test"]
    crimp = routing.operation("crimp")
    assert [(g.name, g.sampling.kind, g.sampling.n) for g in crimp.gates] == [
        ("pull test", Sampling.EVERY, 10),
        ("crimp height", Sampling.EVERY, 1),
    ]
    assert crimp.gates[1].on_fail.action is FailAction.REWORK
    assert (crimp.gates[1].on_fail.target, crimp.gates[1].on_fail.max_loops) == ("crimp", 2)
    assert crimp.capture == ("press1.pressure", "press1.strokes")
    assert crimp.setpoints[0].tag == "press1.target_force"
    assert crimp.setpoints[0].value.value({}) == 1200.0
    assert crimp.setpoints[0].tolerance == 5.0
    assert crimp.field("visual") is not None
    assert crimp.field("visual").choices == ("ok", "burr", "bellmouth missing")  # type: ignore[union-attr]
    signature = routing.operation("test").signatures[0]
    assert (signature.role, signature.meaning) == ("quality", "Reviewed and approved")


def test_implicit_interlocks_come_first_and_evaluate_like_others(acme: dsl.Plant) -> None:
    crimp = acme.routings["harness-a"].operation("crimp")
    assert [(i.name, i.because, i.implicit) for i in crimp.interlocks] == [
        ("qualified for crimping", "Operator is not qualified for crimping", True),
        ("crimp-press-1 not down", "Equipment crimp-press-1 is down", True),
        ("crimp-press-1 calibrated", "Calibration of crimp-press-1 is overdue", True),
        ("crimp-press-1 maintained", "Maintenance of crimp-press-1 is overdue", True),
        (
            "Press pressure is outside its 60–80 bar window",
            "Press pressure is outside its 60–80 bar window",
            False,
        ),
        ("The press reports a fault", "The press reports a fault", False),
    ]
    qualified = crimp.interlocks[0].rule
    assert qualified.evaluate({"operator.qualifications": frozenset({"crimping"})}) is (
        dsl.Outcome.PASS
    )
    assert qualified.evaluate({"operator.qualifications": frozenset()}) is dsl.Outcome.FAIL
    assert (crimp.interlocks[0].span.line, crimp.interlocks[0].span.col) == (28, 20)


def test_field_limits_are_stored_in_the_field_unit(load_plant: Callable[..., LoadResult]) -> None:
    plant = load_plant().plant
    assert plant is not None
    length = plant.routings["widget"].operation("assemble").field("length")
    assert length is not None
    assert (length.unit, length.low, length.high) == ("mm", 490.0, pytest.approx(510.0))
    wire = plant.routings["widget"].operation("assemble").consume[1]
    assert (wire.quantity, wire.unit) == (pytest.approx(0.5), "m")


def test_a_gate_reads_this_and_earlier_fields(load_plant: Callable[..., LoadResult]) -> None:
    plant = load_plant().plant
    assert plant is not None
    gate = plant.routings["widget"].operation("inspect").gates[0]
    assert gate.check.keys == frozenset({"field:inspect.visual", "field:assemble.length"})
    env = {"field:inspect.visual": "ok", "field:assemble.length": 0.5}
    assert gate.check.evaluate(env) is dsl.Outcome.PASS
    assert gate.check.evaluate({"field:inspect.visual": "ok"}) is dsl.Outcome.UNKNOWN


def test_files_and_content_hash(acme: dsl.Plant) -> None:
    assert set(acme.files) == {
        "site.yaml",
        "materials.yaml",
        "routings/harness-a.yaml",
        "instructions/crimp.md",
        "instructions/cut.md",
        "instructions/test.md",
        "instructions/img/strip-gauge.svg",
    }
    assert acme.content_hash == content_hash(acme.files)
    assert len(acme.content_hash) == 64


def test_load_files_gives_the_same_plant_as_load(acme: dsl.Plant) -> None:
    again = dsl.load_files(dict(acme.files), "elsewhere")
    assert again.plant is not None
    assert again.plant.content_hash == acme.content_hash


def test_content_hash_changes_with_any_file(acme: dsl.Plant) -> None:
    files = dict(acme.files)
    files["instructions/cut.md"] += "\nOne more step.\n"
    changed = dsl.load_files(files, "x").plant
    assert changed is not None
    assert changed.content_hash != acme.content_hash


def test_tests_folder_is_not_part_of_the_plant(plant_dir: Callable[..., Path]) -> None:
    folder = plant_dir({"tests/broken.yaml": "this: [is not read\n"})
    plant = dsl.load_or_raise(folder)
    assert "tests/broken.yaml" not in plant.files


def test_binary_files_can_be_referenced(plant_dir: Callable[..., Path]) -> None:
    folder = plant_dir()
    (folder / "instructions" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    routing = (folder / "routings" / "widget.yaml").read_text()
    (folder / "routings" / "widget.yaml").write_text(
        routing.replace("instructions/assemble.md", "instructions/photo.png")
    )
    result = dsl.load(folder)
    assert result.diagnostics == ()
    assert result.plant is not None
    assert "instructions/photo.png" not in result.plant.files


def test_load_or_raise_carries_every_diagnostic(
    plant_dir: Callable[..., Path], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    folder = plant_dir(edit("site.yaml", "port: 5020", "port: fast"))
    with pytest.raises(dsl.PlantError) as raised:
        dsl.load_or_raise(folder)
    assert str(raised.value) == "plant has 1 error(s)"
    assert raised.value.render() == (
        f"{folder}/site.yaml:16:37: error: 'port' must be a whole number, found 'fast'\n"
        "        modbus: {host: 127.0.0.1, port: fast}\n"
        "                                        ^^^^"
    )


def test_paths_in_diagnostics_join_the_given_folder(
    load_plant: Callable[..., LoadResult], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    result = dsl.load_files(edit("site.yaml", "port: 5020", "port: x"), "plants/demo/")
    assert [d.span.path for d in result.diagnostics] == ["plants/demo/site.yaml"]
    assert set(result.sources) == {
        "plants/demo/site.yaml",
        "plants/demo/materials.yaml",
        "plants/demo/routings/widget.yaml",
        "plants/demo/instructions/assemble.md",
    }


def test_example_plants_load_without_errors(example_plants: list[Path]) -> None:
    for folder in example_plants:
        result = dsl.load(folder)
        assert result.errors == (), result.render()


def test_read_folder_keeps_a_private_key_file_for_the_loader_to_refuse_without_its_key(
    tmp_path: Path,
) -> None:
    """The file stays visible (so the loader refuses it, naming it); its key's body does not
    leave read_folder. The refusal itself is tested in test_dsl_secrets.py."""
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "client.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"
    )
    (tmp_path / "pki" / "client-cert.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIDdz\n-----END CERTIFICATE-----\n"
    )
    texts, others = read_folder(tmp_path)
    assert texts == {
        "pki/client-cert.pem": "-----BEGIN CERTIFICATE-----\nMIIDdz\n-----END CERTIFICATE-----\n",
        "pki/client.pem": "-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n",
    }
    assert others == frozenset()


def test_implicit_interlocks_have_the_names_config_tests_match(
    load_plant: Callable[..., LoadResult], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    """The names and reasons docs/config-tests.md lists for `blocked:` expectations."""
    files = edit(
        "site.yaml",
        "    calibration_due: 2030-01-31\n",
        "    calibration_due: 2030-01-31\n    maintenance_due: 2030-03-31\n",
    )
    plant = load_plant(files).plant
    assert plant is not None
    assemble = plant.routings["widget"].operations[0]
    assert [(i.name, i.because, i.implicit) for i in assemble.interlocks] == [
        ("qualified for assembly", "Operator is not qualified for assembly", True),
        ("press-1 not down", "Equipment press-1 is down", True),
        ("press-1 calibrated", "Calibration of press-1 is overdue", True),
        ("press-1 maintained", "Maintenance of press-1 is overdue", True),
        ("Pressure out of window", "Pressure out of window", False),
    ]


def test_a_modbus_register_can_hold_a_bool(
    load_plant: Callable[..., LoadResult], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    """docs/plant-language.md lists bool among the register types; the codec reads it as != 0."""
    files = edit("site.yaml", "{holding: 0, type: float32, unit: kg}", "{holding: 3, type: bool}")
    plant = load_plant(files).plant
    assert plant is not None
    weight = plant.devices["scale"].tags["weight"]
    assert weight.value_type is ValueType.BOOL
    assert weight.address == ModbusAddress(RegisterKind.HOLDING, 3, "bool")
