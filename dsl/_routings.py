"""Building routings: operations, their data fields, scopes, interlocks, gates and the rest.

Each operation's rules are compiled against exactly what they may read: interlocks and setpoints
see tags, the operator, the equipment (when the operation names one), the unit or lot, and the
fields of earlier operations as ``op.field``; gates also see this operation's fields by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from dsl import _reader as r
from dsl._aql import aql_sampling
from dsl._definitions import Definitions
from dsl._spc import field_chart, tag_chart
from dsl.diagnostics import did_you_mean
from dsl.env import field_key
from dsl.expressions import CONDITION, Expect
from dsl.model import (
    Consumption,
    DataField,
    Device,
    Equipment,
    FailAction,
    FieldType,
    Gate,
    Interlock,
    OnFail,
    Operation,
    Part,
    Product,
    Qualification,
    Role,
    Routing,
    Sampling,
    SamplingRule,
    Setpoint,
    SignatureRequirement,
    SpcChart,
    ToolType,
    WorkCenter,
)
from dsl.rules import CompiledRule
from dsl.scalars import Quantity
from dsl.scope import Kind, LaterField, Scope, Symbol
from dsl.units import dimension_name, from_si, same_dimension, to_si
from dsl.validate import unit_span_of
from dsl.yamlsource import YMap, YNode, YScalar

DEFAULT_REWORK_LOOPS = 3
_FIELD_KINDS: dict[str, Kind] = {
    "number": "number",
    "integer": "number",
    "text": "string",
    "choice": "string",
    "bool": "bool",
    "date": "date",
    "photo": "string",
    "attachment": "string",
}


@dataclass(frozen=True, slots=True)
class _OpOutline:
    """What later operations need to know about an operation before it is built."""

    id: str
    node: YMap
    fields: Mapping[str, Symbol]
    """The fields it collects, by name."""
    qualified: Mapping[str, Symbol]
    """The same fields as other operations name them: ``op.field``."""
    unreadable: Mapping[str, LaterField]
    """By name, what a rule that reads one of them too early is told."""


class RoutingBuilder:
    """Turns the routing files into :class:`Routing` objects, reporting problems."""

    def __init__(
        self,
        report: r.Reporter,
        defs: Definitions,
        *,
        tags: Mapping[str, Symbol],
        devices: Mapping[str, Device],
        work_centers: Mapping[str, WorkCenter],
        equipment: Mapping[str, Equipment],
        qualifications: Mapping[str, Qualification],
        roles: Mapping[str, Role],
        parts: Mapping[str, Part],
        products: Mapping[str, Product],
        tools: Mapping[str, ToolType],
    ) -> None:
        self.report = report
        self.defs = defs
        self.tags = MappingProxyType(dict(tags))
        self.qualification_names = frozenset(qualifications)
        self.role_names = frozenset(roles)
        self.devices = devices
        self.work_centers = work_centers
        self.equipment = equipment
        self.qualifications = qualifications
        self.roles = roles
        self.parts = parts
        self.products = products
        self.tools = tools

    def build_all(self) -> dict[str, Routing]:
        routings: dict[str, Routing] = {}
        first_seen: dict[str, YScalar] = {}
        for node in self.defs.routings:
            name = r.scalar(node, "routing")
            if name is None:
                continue
            first = first_seen.get(name.text)
            if first is not None:
                self.report.error(
                    name.span,
                    f"routing '{name.text}' is defined twice",
                    f"first defined at {first.span}; keep one of them",
                )
                continue
            first_seen[name.text] = name
            routing = self.routing(name, node)
            if routing is not None:
                routings[routing.name] = routing
        return routings

    # ------------------------------------------------------------ routing

    def routing(self, name: YScalar, node: YMap) -> Routing | None:
        product_node = r.scalar(node, "product")
        product: Product | None = None
        if self.report.reference(product_node, "product", self.products):
            assert product_node is not None
            product = self.products[product_node.text.strip()]
            if product.routing and product.routing != name.text:
                self.report.warning(
                    name.span,
                    f"routing '{name.text}' makes product '{product.name}', but that product "
                    f"uses routing '{product.routing}', so this routing is never used",
                )
        outlines = self._outlines(node)
        item: Literal["unit", "lot"] | None = None
        if product is not None:
            item = "unit" if product.tracking == "serial" else "lot"
        operations: list[Operation] = []
        for index in range(len(outlines)):
            operation = _OperationBuilder(self, outlines, index, item, product).build()
            if operation is not None:
                operations.append(operation)
        if len(operations) != len(outlines):
            return None
        return Routing(
            name=name.text,
            product=product.name if product is not None else "",
            description=r.text(node, "description"),
            operations=tuple(operations),
            span=name.span,
        )

    def _outlines(self, node: YMap) -> list[_OpOutline]:
        outlines: list[_OpOutline] = []
        seen: dict[str, YScalar] = {}
        for item in r.items(node, "operations"):
            if not isinstance(item, YMap):
                continue
            ident = r.scalar(item, "id")
            if ident is None:
                continue
            op_id = ident.text.strip()
            if "." in op_id:
                self.report.error(
                    ident.span,
                    f"operation id '{op_id}' cannot contain '.'",
                    "rules read fields as OPERATION.FIELD; use letters, digits, '-' and '_'",
                )
                continue
            if op_id in seen:
                self.report.error(
                    ident.span,
                    f"operation '{op_id}' appears twice in this routing",
                    f"first at {seen[op_id].span}; operation ids are unique in a routing",
                )
                continue
            seen[op_id] = ident
            fields = self._field_symbols(op_id, item)
            outlines.append(
                _OpOutline(
                    op_id,
                    item,
                    fields,
                    {f"{op_id}.{name}": symbol for name, symbol in fields.items()},
                    {name: LaterField(op_id, name) for name in fields},
                )
            )
        return outlines

    def _field_symbols(self, op_id: str, node: YMap) -> dict[str, Symbol]:
        symbols: dict[str, Symbol] = {}
        for name, value in r.entries(node, "collect"):
            field = r.as_map(value)
            kind = _FIELD_KINDS.get(r.text(field, "type"))
            if kind is not None:
                unit = r.text(field, "unit") if kind == "number" else ""
                symbols[name.text] = Symbol(field_key(op_id, name.text), kind, unit or None)
        return symbols


class _OperationBuilder:
    """Builds one operation of a routing."""

    def __init__(
        self,
        routing: RoutingBuilder,
        outlines: list[_OpOutline],
        index: int,
        item: Literal["unit", "lot"] | None,
        product: Product | None,
    ) -> None:
        self.r = routing
        self.report = routing.report
        self.outlines = outlines
        self.index = index
        self.outline = outlines[index]
        self.node = outlines[index].node
        self.product = product
        self.failed = False
        earlier: dict[str, Symbol] = {}
        for previous in outlines[:index]:
            earlier.update(previous.qualified)
        later: dict[str, LaterField] = {}
        for following in outlines[index + 1 :]:
            for name, later_field in following.unreadable.items():
                later[f"{following.id}.{name}"] = later_field
                later.setdefault(name, later_field)
        own = self.outline
        own_later = dict(own.unreadable)
        own_later.update({f"{own.id}.{n}": f for n, f in own.unreadable.items()})
        own_visible = {**own.fields, **own.qualified}
        common = {
            "tags": routing.tags,
            "operator": True,
            "equipment": "equipment" in self.node,
            "item": item,
            "qualifications": routing.qualification_names,
            "roles": routing.role_names,
        }
        self.start_scope = Scope(
            fields=MappingProxyType(earlier),
            later_fields=MappingProxyType(
                {**{k: v for k, v in later.items() if k not in earlier}, **own_later}
            ),
            **common,  # type: ignore[arg-type]
        )
        self.gate_scope = Scope(
            fields=MappingProxyType({**earlier, **own_visible}),
            later_fields=MappingProxyType(
                {k: v for k, v in later.items() if k not in earlier and k not in own_visible}
            ),
            **common,  # type: ignore[arg-type]
        )

    def build(self) -> Operation | None:
        node = self.node
        work_center = r.scalar(node, "work_center")
        equipment = r.scalar(node, "equipment")
        self.report.reference(work_center, "work center", self.r.work_centers)
        tool = r.scalar(node, "tool")
        if tool is not None and not self.report.reference(tool, "tool", self.r.tools):
            self.failed = True
        instructions = r.scalar(node, "instructions")
        if instructions is not None and instructions.text.strip() not in self.r.defs.present:
            self.report.error(
                instructions.span,
                f"instructions file '{instructions.text.strip()}' does not exist in "
                f"{self.r.defs.root_label or 'the plant folder'}",
                "paths are relative to the plant folder, e.g. instructions/cut.md",
            )
        fields = tuple(
            f for name, value in r.entries(node, "collect") if (f := self.field(name, value))
        )
        interlocks = (*self.implicit_interlocks(equipment), *self.interlocks())
        charts = self.charts(fields, equipment.text if equipment is not None else None)
        operation = Operation(
            id=self.outline.id,
            title=r.text(node, "title", self.outline.id),
            work_center=work_center.text if work_center is not None else None,
            cycle_time_s=r.si(node, "cycle_time", 0.0) or None,
            equipment=equipment.text if equipment is not None else None,
            instructions=instructions.text.strip() if instructions is not None else None,
            fields=fields,
            interlocks=interlocks,
            setpoints=self.setpoints(),
            consume=self.consumptions(),
            capture=self.captures(),
            gates=self.gates(),
            signatures=self.signatures(),
            span=r.scalar(node, "id").span,  # type: ignore[union-attr]
            spc=charts,
            tool=tool.text.strip() if tool is not None else None,
            sample=aql_sampling(node, "sample", self.report),
            first_article=r.boolean(node, "first_article", False),
        )
        return None if self.failed else operation

    def rule(self, node: YScalar, scope: Scope, expect: Expect) -> CompiledRule | None:
        compiled = self.report.rule(node, scope, expect)
        if compiled is None:
            self.failed = True
        return compiled

    def items(self, key: str) -> list[tuple[int, YMap]]:
        return [
            (n, item) for n, item in enumerate(r.items(self.node, key), 1) if isinstance(item, YMap)
        ]

    # ------------------------------------------------------------ fields

    def field(self, name: YScalar, value: YNode) -> DataField | None:
        node = r.as_map(value)
        type_text = r.text(node, "type")
        if type_text not in _FIELD_KINDS:
            self.failed = True
            return None
        field_type: FieldType = type_text  # type: ignore[assignment]
        numeric = field_type in ("number", "integer")
        unit: str | None = None
        for key in ("unit", "min", "max"):
            label = node.key(key)
            if label is not None and not numeric:
                self.report.error(
                    label.span,
                    f"'{key}' applies only to number and integer fields; "
                    f"field '{name.text}' is {field_type}",
                )
                self.failed = True
        unit_node = r.scalar(node, "unit")
        if numeric and unit_node is not None:
            unit = self.report.unit(unit_node)
            if unit is None:
                self.failed = True
                return None
        low = self.limit(name.text, node, "min", unit)
        high = self.limit(name.text, node, "max", unit)
        if low is not None and high is not None and low > high:
            max_node = r.scalar(node, "max")
            assert max_node is not None
            self.report.error(
                max_node.span,
                f"field '{name.text}' has min {_amount(low, unit)} above max {_amount(high, unit)}",
            )
            self.failed = True
        choices = tuple(
            c.text for c in r.items(node, "choices") if isinstance(c, YScalar) and not c.is_empty
        )
        if field_type == "choice" and not choices:
            self.report.error(
                name.span,
                f"choice field '{name.text}' has no choices",
                "add choices: [a, b, ...]",
            )
            self.failed = True
        label = node.key("choices")
        if field_type != "choice" and label is not None:
            self.report.error(
                label.span,
                f"'choices' applies only to choice fields; field '{name.text}' is {field_type}",
            )
            self.failed = True
        return DataField(
            name=name.text,
            label=r.text(node, "label", name.text),
            type=field_type,
            unit=unit,
            required=r.boolean(node, "required", False),
            low=low,
            high=high,
            choices=choices,
            help=r.text(node, "help"),
            span=name.span,
        )

    def limit(self, field: str, node: YMap, key: str, unit: str | None) -> float | None:
        """``min: 490 mm`` in the field's unit; another unit of the same dimension converts."""
        written_node = r.scalar(node, key)
        written = r.quantity(node, key)
        if written is None or written_node is None:
            return None
        if written.unit is None:
            return written.value
        if unit is None or not same_dimension(written.unit, unit):
            measured = f"is in {unit} ({dimension_name(unit)})" if unit else "has no unit"
            self.report.error(
                unit_span_of(written_node, written.unit),
                f"field '{field}' {measured}, but its {key} is in {written.unit} "
                f"({dimension_name(written.unit)})",
            )
            self.failed = True
            return None
        return from_si(to_si(written.value, written.unit), unit)

    # ------------------------------------------------------------ interlocks and setpoints

    def implicit_interlocks(self, equipment_node: YScalar | None) -> tuple[Interlock, ...]:
        result: list[Interlock] = []
        qualification = r.scalar(self.node, "qualification")
        if self.report.reference(qualification, "qualification", self.r.qualifications):
            assert qualification is not None
            name = qualification.text.strip()
            result.append(
                self.implicit(
                    f'operator.qualified("{name}")',
                    qualification,
                    f"qualified for {name}",
                    f"Operator is not qualified for {name}",
                )
            )
        if self.report.reference(equipment_node, "equipment", self.r.equipment):
            assert equipment_node is not None
            equipment = self.r.equipment[equipment_node.text.strip()]
            name = equipment.name
            result.append(
                self.implicit(
                    'equipment.state != "down"',
                    equipment_node,
                    f"{name} not down",
                    f"Equipment {name} is down",
                )
            )
            if equipment.calibration_due is not None or equipment.calibration is not None:
                result.append(
                    self.implicit(
                        "equipment.calibration_due >= today",
                        equipment_node,
                        f"{name} calibrated",
                        f"Calibration of {name} is overdue",
                    )
                )
            if equipment.maintenance_due is not None or equipment.maintenance is not None:
                result.append(
                    self.implicit(
                        "equipment.maintenance_due >= today",
                        equipment_node,
                        f"{name} maintained",
                        f"Maintenance of {name} is overdue",
                    )
                )
        return tuple(i for i in result if i is not None)

    def implicit(self, source: str, node: YScalar, name: str, because: str) -> Interlock:
        written = YScalar(source, None, node.where)
        compiled = self.report.rule(written, self.start_scope, CONDITION)
        assert compiled is not None, f"implicit interlock {source!r} did not compile"
        return Interlock(name, compiled, because, True, node.span)

    def interlocks(self) -> list[Interlock]:
        result: list[Interlock] = []
        for number, item in self.items("interlocks"):
            require = r.scalar(item, "require")
            if require is None:
                continue
            compiled = self.rule(require, self.start_scope, CONDITION)
            because = r.text(item, "because")
            name = r.text(item, "name") or because or f"interlock {number}"
            if compiled is not None:
                result.append(
                    Interlock(name, compiled, because or require.text, False, require.span)
                )
        return result

    def setpoints(self) -> tuple[Setpoint, ...]:
        result: list[Setpoint] = []
        for _, item in self.items("setpoints"):
            tag_node, value = r.scalar(item, "tag"), r.scalar(item, "value")
            if not self.report.reference(tag_node, "tag", self.r.tags) or value is None:
                self.failed = self.failed or tag_node is not None
                continue
            assert tag_node is not None
            key = tag_node.text.strip()
            symbol = self.r.tags[key]
            device, _, tag_name = key.partition(".")
            declared = self.r.devices.get(device)
            tag = declared.tags.get(tag_name) if declared is not None else None
            if tag is not None and not tag.writable:
                self.report.error(
                    tag_node.span,
                    f"tag '{key}' is not writable, so a setpoint cannot write it",
                    "add 'writable: true' to the tag if setpoints may write it",
                )
                self.failed = True
            compiled = self.rule(value, self.start_scope, Expect(symbol.kind, symbol.unit))
            tolerance = self.tolerance(item, symbol)
            if compiled is not None and tolerance is not None:
                result.append(Setpoint(key, compiled, tolerance, item.span))
        return tuple(result)

    def tolerance(self, item: YMap, symbol: Symbol) -> float | None:
        """A setpoint's read-back tolerance, in SI like the setpoint's value."""
        node = r.scalar(item, "tolerance")
        written: Quantity | None = r.quantity(item, "tolerance")
        if node is None or written is None:
            return 0.0 if node is None else None
        unit = written.unit or symbol.unit
        if not same_dimension(unit, symbol.unit, as_difference=True):
            self.report.error(
                unit_span_of(node, written.unit or node.text),
                f"tolerance is in {unit} ({dimension_name(unit)}), but the tag is in "
                f"{symbol.unit or 'no unit'} ({dimension_name(symbol.unit)})",
            )
            self.failed = True
            return None
        return to_si(written.value, unit) - to_si(0.0, unit)

    # ------------------------------------------------------------ material and capture

    def consumptions(self) -> tuple[Consumption, ...]:
        result: list[Consumption] = []
        bom = {line.part for line in self.product.bom} if self.product is not None else None
        for _, item in self.items("consume"):
            part_node, qty = r.scalar(item, "part"), r.scalar(item, "qty")
            if not self.report.reference(part_node, "part", self.r.parts):
                self.failed = self.failed or part_node is not None
                continue
            assert part_node is not None
            part = self.r.parts[part_node.text.strip()]
            if bom is not None and part.name not in bom:
                assert self.product is not None
                suggestion = did_you_mean(part.name, bom)
                message = f"part '{part.name}' is not in the BOM of product '{self.product.name}'"
                self.report.error(
                    part_node.span,
                    f"{message}; {suggestion}" if suggestion else message,
                    "add it to the product's bom, or consume a part the BOM lists",
                )
                self.failed = True
            quantity = r.part_quantity(self.report, qty, part) if qty is not None else None
            if quantity is None:
                self.failed = True
                continue
            tolerance = r.quantity(item, "tolerance")
            fraction = to_si(tolerance.value, tolerance.unit) if tolerance is not None else None
            result.append(Consumption(part.name, quantity, part.unit, fraction, item.span))
        return tuple(result)

    def captures(self) -> tuple[str, ...]:
        result: list[str] = []
        for written in r.items(self.node, "capture"):
            item = r.scalar(written, "tag") if isinstance(written, YMap) else written
            if isinstance(item, YScalar) and not item.is_empty:
                if self.report.reference(item, "tag", self.r.tags):
                    result.append(item.text.strip())
                else:
                    self.failed = True
        return tuple(result)

    def charts(self, fields: tuple[DataField, ...], equipment: str | None) -> tuple[SpcChart, ...]:
        """The control charts of collected fields and captured tags (:mod:`dsl._spc`)."""
        nodes = {name.text: r.as_map(value) for name, value in r.entries(self.node, "collect")}
        result = [
            chart
            for field in fields
            if (chart := field_chart(self.report, field, nodes[field.name], equipment=equipment))
        ]
        for item in r.items(self.node, "capture"):
            name = r.scalar(item, "tag") if isinstance(item, YMap) else None
            if name is None or name.text.strip() not in self.r.tags:
                continue
            device_name, _, tag_name = name.text.strip().partition(".")
            device = self.r.devices.get(device_name)
            tag = device.tags.get(tag_name) if device is not None else None
            if tag is None:  # its device failed to load; that error is reported already
                continue
            chart = tag_chart(
                self.report,
                tag,
                name,
                item,  # type: ignore[arg-type]
                equipment=equipment,
            )
            if chart is not None:
                result.append(chart)
        return tuple(result)

    # ------------------------------------------------------------ gates and signatures

    def gates(self) -> tuple[Gate, ...]:
        result: list[Gate] = []
        for number, item in self.items("gates"):
            check = r.scalar(item, "check")
            if check is None:
                continue
            compiled = self.rule(check, self.gate_scope, CONDITION)
            on_fail = self.on_fail(item)
            if compiled is None or on_fail is None:
                continue
            result.append(
                Gate(
                    name=r.text(item, "name") or f"gate {number}",
                    check=compiled,
                    sampling=self.sampling(item),
                    on_fail=on_fail,
                    because=r.text(item, "because") or check.text,
                    span=check.span,
                )
            )
        return tuple(result)

    def sampling(self, item: YMap) -> SamplingRule:
        """Which items a gate checks (the validator has checked the amount's range)."""
        sample = item.get("sample")
        if not isinstance(sample, YMap) or len(sample.entries) != 1:
            return SamplingRule()
        key, value = sample.entries[0]
        if key.text not in ("every", "first", "percent") or not isinstance(value, YScalar):
            return SamplingRule()
        return SamplingRule(Sampling(key.text), r.number(sample, key.text, 1.0))

    def on_fail(self, item: YMap) -> OnFail | None:
        node = item.get("on_fail")
        if isinstance(node, YScalar) and node.text in ("hold", "nonconformance", "scrap"):
            return OnFail(FailAction(node.text))
        if not isinstance(node, YMap):
            return None
        target = r.scalar(node, "rework")
        ids = {o.id: o for o in self.outlines}
        if not self.report.reference(target, "operation", ids):
            self.failed = True
            return None
        assert target is not None
        target_index = [o.id for o in self.outlines].index(target.text.strip())
        if target_index > self.index:
            self.report.warning(
                target.span,
                f"rework target '{target.text.strip()}' comes after operation "
                f"'{self.outline.id}', whose gate sends items to it",
                "rework normally sends an item back to this or an earlier operation",
            )
        loops = r.integer(node, "max", DEFAULT_REWORK_LOOPS)
        max_node = r.scalar(node, "max")
        if max_node is None:
            self.report.warning(
                target.span,
                f"rework to '{target.text.strip()}' has no max; at most "
                f"{DEFAULT_REWORK_LOOPS} loops are allowed",
                f"add max: N to say how often an item may loop (default {DEFAULT_REWORK_LOOPS})",
            )
        return OnFail(FailAction.REWORK, target.text.strip(), loops)

    def signatures(self) -> tuple[SignatureRequirement, ...]:
        result: list[SignatureRequirement] = []
        for _, item in self.items("sign"):
            role = r.scalar(item, "role")
            if self.report.reference(role, "role", self.r.roles):
                assert role is not None
                result.append(SignatureRequirement(role.text, r.text(item, "meaning"), item.span))
            elif role is not None:
                self.failed = True
        return tuple(result)


def _amount(value: float, unit: str | None) -> str:
    return f"{value:g} {unit}" if unit else f"{value:g}"
