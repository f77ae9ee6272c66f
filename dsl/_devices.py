"""Building devices and their tags: connections, addresses, types, units and simulation."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from dsl import _reader as r
from dsl import scalars
from dsl._history import tag_history
from dsl.diagnostics import Diagnostic, Span, did_you_mean, error
from dsl.env import tag_key
from dsl.model import (
    Device,
    ModbusAddress,
    ModbusConnection,
    ModbusDataType,
    OpcUaAddress,
    OpcUaConnection,
    RegisterKind,
    SecurityPolicy,
    SimBehaviour,
    Tag,
    ValueType,
    WordOrder,
)
from dsl.scope import Kind, Symbol
from dsl.units import known_units, parse_unit
from dsl.yamlsource import YMap, YNode, YScalar, YSeq

OPCUA_TYPES: dict[str, ValueType] = {
    "number": ValueType.NUMBER,
    "bool": ValueType.BOOL,
    "string": ValueType.STRING,
}
REGISTER_TYPES: tuple[ModbusDataType, ...] = (
    "int16",
    "uint16",
    "int32",
    "uint32",
    "float32",
    "bool",
)
MODBUS_KINDS = {kind.value: kind for kind in RegisterKind}
_NODE_ID = re.compile(r"^(ns=\d+;)?[isgb]=.+$")
_OPCUA_ONLY = ("node",)
_MODBUS_ONLY = ("holding", "input", "coil", "discrete", "word_order", "scale", "offset")
SECRET_KEYS = ("certificate", "private_key", "server_certificate")
"""The OPC UA keys that name a file in the site secrets folder (docs/adapters.md)."""
SECRETS_DOC = "see docs/adapters.md"
_ABSOLUTE = re.compile(r"^([/\\]|~[/\\]|[A-Za-z]:)")


def secret_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a file in the site secrets folder (None when it can): it is a
    plain file name, not an absolute path, a way out of the folder or a path into a sub-folder."""
    parts = re.split(r"[/\\]", name)
    if _ABSOLUTE.match(name):
        return "an absolute path"
    if ".." in parts:
        return "a path out of it"
    if len(parts) > 1:
        return "a path into a sub-folder"
    if name == ".":
        return "the folder itself"
    return None


def secret_references(
    devices: Iterable[tuple[YScalar, YNode]],
) -> list[tuple[str, YScalar]]:
    """``(key, value)`` for every ``certificate``, ``private_key`` and ``server_certificate`` of
    the OPC UA devices that names a file the way it should (a plain file name)."""
    found: list[tuple[str, YScalar]] = []
    for _, device in devices:
        opcua = device.get("opcua") if isinstance(device, YMap) else None
        if not isinstance(opcua, YMap):
            continue
        for key in SECRET_KEYS:
            value = r.scalar(opcua, key)
            name = value.text.strip() if value is not None else ""
            if value is not None and name and secret_name_problem(name) is None:
                found.append((key, value))
    return found


def check_secret_files(
    references: Iterable[tuple[str, YScalar]], folder: str, modes: Mapping[str, int]
) -> list[Diagnostic]:
    """Errors for secrets missing from the secrets folder ``folder`` (its files' permission bits
    by name in ``modes``) and for private keys that group or others may read."""
    found: list[Diagnostic] = []
    for key, value in references:
        name = value.text.strip()
        mode = modes.get(name)
        if mode is None:
            suffix = PurePosixPath(name).suffix
            close = did_you_mean(name, [m for m in modes if PurePosixPath(m).suffix == suffix])
            found.append(
                error(
                    value.span,
                    f"{key} '{name}' is not in the secrets folder {folder}",
                    close or f"put the file there, or correct the name ({SECRETS_DOC})",
                )
            )
        elif key == "private_key" and mode & 0o077:
            found.append(
                error(
                    value.span,
                    f"private key {folder}/{name} must be readable by its owner only (chmod 600)",
                    f"the adapter process refuses a key that group or others may read (this one "
                    f"is {mode:04o})",
                )
            )
    return found


def declared_symbol(key: str, node: YMap) -> Symbol:
    """How rules see a tag from its declaration alone (best guess for a broken one: a
    misspelt unit reads as the unit it was probably meant to be)."""
    written = r.text(node, "type")
    if written in ("bool", "string"):
        kind: Kind = "bool" if written == "bool" else "string"
    elif "coil" in node or "discrete" in node:
        kind = "bool"
    else:
        kind = "number"
    unit = r.text(node, "unit") if kind == "number" else ""
    if unit and parse_unit(unit) is None:
        close = difflib.get_close_matches(unit, known_units(), n=1, cutoff=0.6)
        unit = close[0] if close else ""
    return Symbol(tag_key(key), kind, unit or None)


class DeviceBuilder:
    """Turns the ``devices`` definitions into :class:`Device` objects, reporting problems."""

    def __init__(self, report: r.Reporter, present: frozenset[str], display: str) -> None:
        self.report = report
        self.present = present
        self.display = display
        self.symbols: dict[str, Symbol] = {}
        """Every declared tag as rules see it, valid or not, so one mistake in a tag does not
        make every rule that reads it fail as well."""

    def device(self, name: YScalar, node: YMap) -> Device | None:
        opcua, modbus = node.get("opcua"), node.get("modbus")
        connection: OpcUaConnection | ModbusConnection | None = None
        if isinstance(opcua, YMap):
            connection = self._opcua(name.text, opcua)
        elif isinstance(modbus, YMap):
            connection = self._modbus(modbus)
        tags: dict[str, Tag] = {}
        for tag_name, tag_node in r.entries(node, "tags"):
            if not isinstance(tag_node, YMap):
                continue
            self.symbols[f"{name.text}.{tag_name.text}"] = declared_symbol(
                f"{name.text}.{tag_name.text}", tag_node
            )
            if connection is None:
                continue
            tag = self._tag(name.text, tag_name, tag_node, connection)
            if tag is not None:
                tags[tag.name] = tag
        if connection is None:
            return None
        return Device(name.text, connection, tags, r.text(node, "description"), name.span)

    # ------------------------------------------------------------ connections

    def _opcua(self, device: str, node: YMap) -> OpcUaConnection:
        endpoint = r.scalar(node, "endpoint")
        if endpoint is not None and not endpoint.text.startswith("opc.tcp://"):
            self.report.error(
                endpoint.span,
                f"OPC UA endpoint must start with opc.tcp://, found '{endpoint.text}'",
                "write it like opc.tcp://127.0.0.1:4840/path",
            )
        policy: SecurityPolicy = (
            "Basic256Sha256" if r.text(node, "security_policy") == ("Basic256Sha256") else "None"
        )
        for key in ("certificate", "private_key", "server_certificate"):
            self._file(r.scalar(node, key), key)
        if policy == "Basic256Sha256":
            for key in ("certificate", "private_key"):
                if r.scalar(node, key) is None:
                    label = node.key("security_policy")
                    assert label is not None
                    self.report.error(
                        label.span,
                        f"device '{device}' uses Basic256Sha256 but has no {key}",
                        f"add {key}: the name of a file in the site secrets folder",
                    )
        return OpcUaConnection(
            endpoint=endpoint.text if endpoint is not None else "",
            security_policy=policy,
            certificate=r.text(node, "certificate") or None,
            private_key=r.text(node, "private_key") or None,
            server_certificate=r.text(node, "server_certificate") or None,
            publishing_interval_ms=round(r.si(node, "publishing_interval", 0.1) * 1000),
            timeout_s=r.si(node, "timeout", 2.0),
        )

    def _file(self, node: YScalar | None, key: str) -> None:
        """A secret is named by its plain file name in the site secrets folder, never by a path:
        keys and certificates are not part of the plant folder (nor of any config version)."""
        if node is None:
            return
        problem = secret_name_problem(node.text.strip())
        if problem is None:
            return
        example = PurePosixPath(node.text.strip().replace("\\", "/")).name
        written = f"like {key}: {example}, " if example not in ("", ".", "..") else ""
        self.report.error(
            node.span,
            f"{key} must be a file name in the site secrets folder, not {problem}",
            f"write the file's name only, {written}and keep the file in the site secrets folder "
            f"({SECRETS_DOC})",
        )

    def _modbus(self, node: YMap) -> ModbusConnection:
        return ModbusConnection(
            host=r.text(node, "host"),
            port=r.integer(node, "port", 502),
            unit_id=r.integer(node, "unit_id", 1),
            poll_interval_ms=round(r.si(node, "poll_interval", 0.1) * 1000),
            timeout_s=r.si(node, "timeout", 1.0),
        )

    # ------------------------------------------------------------ tags

    def _tag(
        self,
        device: str,
        name: YScalar,
        node: YMap,
        connection: OpcUaConnection | ModbusConnection,
    ) -> Tag | None:
        is_opcua = isinstance(connection, OpcUaConnection)
        protocol, wrong_keys = ("OPC UA", _MODBUS_ONLY) if is_opcua else ("Modbus", _OPCUA_ONLY)
        ok = True
        for key in wrong_keys:
            label = node.key(key)
            if label is not None:
                ok = False
                self.report.error(
                    label.span,
                    f"'{key}' does not apply to tag '{name.text}' of {protocol} device '{device}'",
                    "OPC UA tags have a node; Modbus tags have holding, input, coil or discrete",
                )
        address = self._opcua_address(node) if is_opcua else self._modbus_address(name, node)
        value_type = self._value_type(name, node, address, is_opcua)
        unit = self._unit(name, node, value_type)
        sim_node = node.get("sim")
        sim = self._sim(sim_node, value_type) if isinstance(sim_node, YMap) else None
        if not ok or address is None or value_type is None or unit is None:
            return None
        return Tag(
            device=device,
            name=name.text,
            address=address,
            value_type=value_type,
            unit=unit or None,
            max_age_s=r.si(node, "max_age", 5.0),
            writable=r.boolean(node, "writable", False),
            description=r.text(node, "description"),
            sim=sim,
            span=name.span,
            history=tag_history(self.report, name, node, value_type, unit),
        )

    def _opcua_address(self, node: YMap) -> OpcUaAddress | None:
        node_id = r.scalar(node, "node")
        if node_id is None:
            return None
        if not _NODE_ID.match(node_id.text.strip()):
            self.report.error(
                node_id.span,
                f"'{node_id.text}' is not an OPC UA node id",
                'write it like "ns=2;s=Line1.Press.Pressure" or "ns=3;i=1001"',
            )
            return None
        return OpcUaAddress(node_id.text.strip())

    def _modbus_address(self, name: YScalar, node: YMap) -> ModbusAddress | None:
        kind_key = next((k for k in MODBUS_KINDS if k in node), None)
        if kind_key is None:
            return None
        kind = MODBUS_KINDS[kind_key]
        written = r.text(node, "type")
        if kind in (RegisterKind.COIL, RegisterKind.DISCRETE):
            if written not in ("", "bool"):
                type_node = r.scalar(node, "type")
                assert type_node is not None
                self.report.error(
                    type_node.span,
                    f"tag '{name.text}' is a {kind_key}, which holds one bit; "
                    f"its type must be bool, found '{written}'",
                    "use a holding or input register for numbers",
                )
                return None
            data_type: ModbusDataType = "bool"
        elif written in REGISTER_TYPES or not written:
            data_type = next((t for t in REGISTER_TYPES if t == written), "uint16")
        else:
            type_node = r.scalar(node, "type")
            assert type_node is not None
            self.report.error(
                type_node.span,
                f"a Modbus register tag has type int16, uint16, int32, uint32, float32 or bool, "
                f"found '{written}'",
            )
            return None
        address_node = r.scalar(node, kind_key)
        address = r.integer(node, kind_key, -1)
        count = 2 if data_type in ("int32", "uint32", "float32") else 1
        if address_node is None:
            return None
        if not 0 <= address <= 65536 - count:
            # the validator refused addresses outside 0-65535; the last one holds one register
            if address == 65535:
                self.report.error(
                    address_node.span,
                    f"a {data_type} spans 2 registers, so {kind_key} address must be between 0 "
                    f"and 65534, found 65535",
                )
            return None
        order: WordOrder = "little" if r.text(node, "word_order") == "little" else "big"
        return ModbusAddress(
            kind=kind,
            address=address,
            data_type=data_type,
            word_order=order,
            scale=r.number(node, "scale", 1.0),
            offset=r.number(node, "offset", 0.0),
        )

    def _value_type(
        self,
        name: YScalar,
        node: YMap,
        address: OpcUaAddress | ModbusAddress | None,
        is_opcua: bool,
    ) -> ValueType | None:
        if isinstance(address, ModbusAddress):
            return ValueType.BOOL if address.data_type == "bool" else ValueType.NUMBER
        if not is_opcua:
            return None
        written = r.scalar(node, "type")
        if written is None:
            return ValueType.NUMBER
        value_type = OPCUA_TYPES.get(written.text)
        if value_type is None and written.text in REGISTER_TYPES:
            self.report.error(
                written.span,
                f"type '{written.text}' is for Modbus registers; "
                f"OPC UA tag '{name.text}' is number, bool or string",
            )
        return value_type

    def _unit(self, name: YScalar, node: YMap, value_type: ValueType | None) -> str | None:
        """The tag's unit text, "" for none, None when it is wrong (already reported)."""
        unit = r.scalar(node, "unit")
        if unit is None:
            return ""
        if value_type not in (ValueType.NUMBER, None):
            assert value_type is not None
            self.report.error(
                unit.span,
                f"tag '{name.text}' holds {value_type.value} values, which have no unit",
                "remove the unit, or make the tag a number",
            )
            return None
        return self.report.unit(unit)

    # ------------------------------------------------------------ simulation

    def _sim(self, node: YMap, value_type: ValueType | None) -> SimBehaviour | None:
        kinds = [k for k in ("walk", "counter", "cycle") if k in node]
        label = node.span
        if len(kinds) > 1:
            second = node.key(kinds[1])
            assert second is not None
            self.report.error(
                second.span,
                f"sim has both '{kinds[0]}' and '{kinds[1]}'",
                "keep one of walk, counter or cycle (with value as the start)",
            )
            return None
        value_node = r.scalar(node, "value")
        value = self._sim_value(value_node, value_type) if value_node is not None else None
        if kinds and kinds[0] in ("walk", "counter") and value_type is not ValueType.NUMBER:
            key = node.key(kinds[0])
            assert key is not None
            self.report.error(key.span, f"sim '{kinds[0]}' needs a number tag")
            return None
        if not kinds:
            if value_node is None:
                self.report.error(
                    Span.point(label.path, label.line, label.col),
                    "sim needs value, walk, counter or cycle",
                )
                return None
            return SimBehaviour("constant", value=value)
        kind = kinds[0]
        if kind == "walk":
            bounds = [b for b in r.items(node, "walk") if isinstance(b, YScalar)]
            numbers = [scalars.parse_float(b.text) for b in bounds]
            if len(numbers) != 2 or None in numbers:
                return None
            low, high = numbers[0], numbers[1]
            assert low is not None and high is not None
            if low > high:
                walk = node.get("walk")
                assert isinstance(walk, YSeq)
                self.report.error(
                    walk.span, f"sim walk goes from low to high; found [{low:g}, {high:g}]"
                )
                return None
            start = value if isinstance(value, float) else (low + high) / 2
            return SimBehaviour("walk", value=start, low=low, high=high)
        if kind == "counter":
            return SimBehaviour(
                "counter",
                value=value if value is not None else 0.0,
                rate_per_s=r.number(node, "counter", 0.0),
            )
        values = tuple(
            v
            for item in r.items(node, "cycle")
            if isinstance(item, YScalar) and (v := self._sim_value(item, value_type)) is not None
        )
        return SimBehaviour("cycle", value=value, values=values, period_s=r.si(node, "every", 1.0))

    def _sim_value(self, node: YScalar, value_type: ValueType | None) -> float | bool | str | None:
        if value_type is ValueType.STRING:
            return node.text
        if value_type is ValueType.BOOL:
            flag = scalars.parse_bool(node.text)
            if flag is None:
                self.report.error(
                    node.span, f"a bool tag simulates true or false, found '{node.text}'"
                )
            return flag
        number = scalars.parse_float(node.text)
        if number is None and value_type is ValueType.NUMBER:
            self.report.error(node.span, f"a number tag simulates numbers, found '{node.text}'")
        return number
