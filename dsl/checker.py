"""Resolving and checking a plant's definitions, and building the compiled model from them.

Each section is built in dependency order (site, people, devices, equipment, material,
routings); every cross reference is checked with a did-you-mean, every rule compiled against
the scope of where it stands, then plant-wide warnings are added.
"""

from __future__ import annotations

import dataclasses
import re
import zoneinfo
from functools import lru_cache
from types import MappingProxyType

from dsl import _calendars
from dsl import _reader as r
from dsl._aql import aql_sampling
from dsl._definitions import Definitions
from dsl._devices import DeviceBuilder
from dsl._event_rules import EventRuleBuilder
from dsl._history import history_policy
from dsl._quality import quality_policy
from dsl._routings import RoutingBuilder
from dsl._tools import build_tools
from dsl.calendars import ReasonTree, ShiftCalendar
from dsl.diagnostics import Diagnostic, Span, did_you_mean
from dsl.expressions import CONDITION
from dsl.gtin import gtin_problem
from dsl.model import (
    APPROVAL_MEANING,
    BomLine,
    CareInterval,
    ChangeControl,
    Device,
    Equipment,
    EquipmentState,
    EventRule,
    Fefo,
    HistoryPolicy,
    Inventory,
    LabelBarcode,
    Part,
    Plant,
    Product,
    Qualification,
    QualityPolicy,
    Role,
    Routing,
    SignatureRequirement,
    Site,
    StateRule,
    Tracking,
    ValueType,
    WorkCenter,
)
from dsl.scope import Kind, Scope, Symbol
from dsl.tagenv import rule_tags
from dsl.yamlsource import YMap, YNode, YScalar

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PATTERN_NAMES = ("yyyy", "yy", "mm", "dd", "wo")
_SYMBOL_KINDS: dict[ValueType, Kind] = {
    ValueType.NUMBER: "number",
    ValueType.BOOL: "bool",
    ValueType.STRING: "string",
}


def build_plant(defs: Definitions, has_errors: bool) -> tuple[Plant | None, list[Diagnostic]]:
    """The compiled plant (None when it has errors) and every diagnostic found.

    ``has_errors`` says earlier stages found errors: the plant is then only checked, and
    warnings about unused things (likely caused by those errors) are left out.
    """
    builder = _PlantBuilder(defs, has_errors)
    plant = builder.build()
    return plant, builder.report.diagnostics


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


DEFAULT_WARN_DAYS = 7


def _care_interval(node: YMap, key: str) -> CareInterval | None:
    """The calibration or maintenance interval under ``key`` (validated by the schema), if any."""
    value = node.get(key)
    if not isinstance(value, YMap):
        return None
    every = r.days(value, "every")
    if every is None or every < 1:
        return None
    warn = r.days(value, "warn")
    uses = r.scalar(value, "uses")
    every_uses = r.integer(value, "uses", 0) if uses is not None else None
    return CareInterval(every, DEFAULT_WARN_DAYS if warn is None else warn, every_uses or None)


class _PlantBuilder:
    def __init__(self, defs: Definitions, has_errors: bool) -> None:
        self.defs = defs
        self.has_errors = has_errors
        self.report = r.Reporter()
        self.erp_materials: dict[str, str] = {}
        """ERP material ids seen so far, with the part or product each names."""

    def section(self, name: str) -> dict[str, tuple[YScalar, YNode]]:
        return self.defs.sections[name]

    def build(self) -> Plant | None:
        site = self.site()
        work_centers = {
            n: WorkCenter(n, r.text(r.as_map(v), "description"), k.span, self.downtime(v))
            for n, (k, v) in self.section("work_centers").items()
        }
        roles = {
            n: Role(n, r.text(r.as_map(v), "description"), k.span)
            for n, (k, v) in self.section("roles").items()
        }
        if site is not None:
            site = dataclasses.replace(
                site,
                change_control=self.change_control(roles),
                inventory=self.inventory(roles),
                calendar=self.calendar(),
                quality=self.quality(roles),
                history=self.history(),
            )
        qualifications = {
            n: Qualification(
                n, r.text(r.as_map(v), "description"), r.days(r.as_map(v), "valid_for"), k.span
            )
            for n, (k, v) in self.section("qualifications").items()
        }
        device_builder = DeviceBuilder(
            self.report, self.defs.present, self.defs.root_label or "the plant folder"
        )
        devices = self.devices(device_builder)
        tags = device_builder.symbols
        equipment = self.equipment(work_centers, devices, tags)
        tools = build_tools(self.report, self.section("tools"), _care_interval)
        parts = self.parts()
        routing_names = {
            r.text(node, "routing"): node for node in self.defs.routings if r.text(node, "routing")
        }
        products = self.products(parts, routing_names)
        routings = RoutingBuilder(
            self.report,
            self.defs,
            tags=tags,
            devices=devices,
            work_centers=work_centers,
            equipment=equipment,
            qualifications=qualifications,
            roles=roles,
            parts=parts,
            products=products,
            tools=tools,
        ).build_all()
        event_rules = EventRuleBuilder(
            self.report, tags=tags, devices=devices, equipment=equipment, roles=roles
        ).build_all(self.section("event_rules"))
        if self.has_errors or site is None or any(d.is_error for d in self.report.diagnostics):
            return None
        self.unused(devices, equipment, parts, products, routings, event_rules=event_rules)
        self.bom_balance(products, routings)
        return Plant(
            site=site,
            devices=MappingProxyType(devices),
            equipment=MappingProxyType(equipment),
            roles=MappingProxyType(roles),
            qualifications=MappingProxyType(qualifications),
            work_centers=MappingProxyType(work_centers),
            parts=MappingProxyType(parts),
            products=MappingProxyType(products),
            routings=MappingProxyType(routings),
            event_rules=MappingProxyType(event_rules),
            tools=MappingProxyType(tools),
        )

    def unused(
        self,
        devices: dict[str, Device],
        equipment: dict[str, Equipment],
        parts: dict[str, Part],
        products: dict[str, Product],
        routings: dict[str, Routing],
        *,
        event_rules: dict[str, EventRule],
    ) -> None:
        """Warn about tags nothing reads and parts no BOM uses."""
        keys: set[str] = set()
        used: set[str] = set()
        for event_rule in event_rules.values():
            keys |= {*event_rule.when.keys, *(event_rule.rearm.keys if event_rule.rearm else ())}
            used |= {a.target for a in event_rule.actions if a.kind == "write"}
        for machine in equipment.values():
            for state in machine.state_rules:
                keys |= state.when.keys
        for routing in routings.values():
            for op in routing.operations:
                used |= {*op.capture, *(s.tag for s in op.setpoints)}
                for rule in (
                    *(i.rule for i in op.interlocks),
                    *(s.value for s in op.setpoints),
                    *(g.check for g in op.gates),
                ):
                    keys |= rule.keys
        used |= rule_tags(keys)
        for device in devices.values():
            for tag in device.tags.values():
                if tag.key not in used:
                    self.report.warning(
                        tag.span,
                        f"tag '{tag.key}' is never read by a rule, capture or setpoint",
                        "use it, or remove it so the adapter does not poll it",
                    )
        in_bom = {line.part for product in products.values() for line in product.bom}
        for part in parts.values():
            if part.name not in in_bom:
                self.report.warning(
                    part.span,
                    f"part '{part.name}' is in no product's BOM",
                    "add it to a bom, or remove it",
                )

    def bom_balance(self, products: dict[str, Product], routings: dict[str, Routing]) -> None:
        """Warn where a product's BOM lists another quantity than its routing consumes."""
        for routing in routings.values():
            product = products[routing.product]
            consumed: dict[str, float] = {}
            for operation in routing.operations:
                for consumption in operation.consume:
                    consumed[consumption.part] = (
                        consumed.get(consumption.part, 0.0) + consumption.quantity
                    )
            listed: dict[str, float] = {}
            for line in product.bom:
                listed[line.part] = listed.get(line.part, 0.0) + line.quantity
            for line in product.bom:
                used = consumed.get(line.part, 0.0)
                if abs(used - listed[line.part]) > 1e-9 * max(1.0, abs(used)):
                    self.report.warning(
                        line.span,
                        f"the BOM of product '{product.name}' lists {listed[line.part]:g} "
                        f"{line.unit} of {line.part}, but routing '{routing.name}' consumes "
                        f"{used:g} {line.unit}",
                        "make the BOM quantity match the sum of the routing's consume lines",
                    )

    # ------------------------------------------------------------ site

    def site(self) -> Site | None:
        scalars = self.defs.site
        name = scalars.get("site")
        if name is None:
            where = self.defs.first_file or self.defs.root_label
            self.report.error(
                Span.point(where, 1, 1),
                "no site is declared",
                "add 'site: NAME' and 'timezone: ZONE' to site.yaml",
            )
            return None
        zone = scalars.get("timezone")
        if zone is None:
            self.report.error(
                name.span,
                f"site '{name.text}' has no timezone",
                "add 'timezone: ZONE' next to it, e.g. timezone: Europe/Berlin",
            )
            return None
        if zone.text not in _time_zones():
            suggestion = did_you_mean(zone.text, _time_zones())
            message = f"unknown time zone '{zone.text}'"
            self.report.error(
                zone.span,
                f"{message}; {suggestion}" if suggestion else message,
                "use an IANA time zone name such as Europe/Berlin or America/Chicago",
            )
            return None
        description = scalars.get("description")
        return Site(name.text, zone.text, description.text if description else "", name.span)

    def calendar(self) -> ShiftCalendar | None:
        """``calendar``: the site's shifts (see :mod:`dsl._calendars`)."""
        if "calendar" not in self.defs.once:
            return None
        key, value = self.defs.once["calendar"]
        return _calendars.calendar(self.report, key, r.as_map(value))

    @staticmethod
    def downtime(node: YNode) -> ReasonTree | None:
        """A work centre's ``downtime`` reason tree, None when it declares none."""
        work_center = r.as_map(node)
        key, tree = work_center.key("downtime"), work_center.get("downtime")
        if key is None or tree is None:
            return None
        return _calendars.reason_tree(key, r.as_map(tree))

    def change_control(self, roles: dict[str, Role]) -> ChangeControl | None:
        """``change_control``: the approver must be a declared role (the validator has checked
        the keys and their shapes)."""
        if "change_control" not in self.defs.once:
            return None
        key, value = self.defs.once["change_control"]
        node = r.as_map(value)
        approver = r.scalar(node, "approver")
        if approver is None or not self.report.reference(approver, "role", roles):
            return None
        return ChangeControl(
            approver=approver.text.strip(),
            meaning=r.text(node, "meaning", APPROVAL_MEANING),
            two_person=r.boolean(node, "two_person", False),
            span=key.span,
        )

    def inventory(self, roles: dict[str, Role]) -> Inventory | None:
        """``inventory``: locations named once each, signatures by declared roles (the
        validator has checked the keys and their shapes)."""
        if "inventory" not in self.defs.once:
            return None
        key, value = self.defs.once["inventory"]
        node = r.as_map(value)
        locations: dict[str, YScalar] = {}
        for item in r.items(node, "locations"):
            if not isinstance(item, YScalar) or item.is_empty:
                continue
            first = locations.get(item.text)
            if first is not None:
                self.report.error(
                    item.span,
                    f"location '{item.text}' is listed twice",
                    f"first listed at {first.span}; keep one of them",
                )
            locations.setdefault(item.text, item)
        signatures: dict[str, SignatureRequirement] = {}
        for action, sign in r.entries(node, "sign"):
            signed = r.as_map(sign)
            role = r.scalar(signed, "role")
            if role is not None and self.report.reference(role, "role", roles):
                meaning = r.text(signed, "meaning")
                signatures[action.text] = SignatureRequirement(role.text, meaning, action.span)
        said = r.text(node, "fefo", "off")
        fefo: Fefo = "strict" if said == "strict" else "propose" if said == "propose" else "off"
        barcode: LabelBarcode = (
            "datamatrix" if r.text(node, "label_barcode") == "datamatrix" else "gs1-128"
        )
        return Inventory(tuple(locations), fefo, MappingProxyType(signatures), key.span, barcode)

    def history(self) -> HistoryPolicy | None:
        """``history``: the tag historian's retention and downsampling (see
        :mod:`dsl._history`)."""
        if "history" not in self.defs.once:
            return None
        key, value = self.defs.once["history"]
        return history_policy(self.report, key, r.as_map(value))

    def quality(self, roles: dict[str, Role]) -> QualityPolicy | None:
        """``quality``: defect codes, review board and CAPA link."""
        if "quality" not in self.defs.once:
            return None
        key, value = self.defs.once["quality"]
        return quality_policy(self.report, key, r.as_map(value), roles)

    # ------------------------------------------------------------ devices and equipment

    def devices(self, builder: DeviceBuilder) -> dict[str, Device]:
        devices: dict[str, Device] = {}
        for name, (key, node) in self.section("devices").items():
            if isinstance(node, YMap):
                device = builder.device(key, node)
                if device is not None:
                    devices[name] = device
        return devices

    def equipment(
        self,
        work_centers: dict[str, WorkCenter],
        devices: dict[str, Device],
        tags: dict[str, Symbol],
    ) -> dict[str, Equipment]:
        scope = Scope(tags=MappingProxyType(tags))
        result: dict[str, Equipment] = {}
        for name, (key, value) in self.section("equipment").items():
            node = r.as_map(value)
            work_center = r.scalar(node, "work_center")
            device = r.scalar(node, "device")
            self.report.reference(work_center, "work center", work_centers)
            self.report.reference(device, "device", devices)
            rules: list[StateRule] = []
            for item in r.items(node, "states"):
                if not isinstance(item, YMap) or len(item.entries) != 1:
                    continue
                state_key, expression = item.entries[0]
                if state_key.text not in {s.value for s in EquipmentState}:
                    continue
                if isinstance(expression, YScalar) and not expression.is_empty:
                    rule = self.report.rule(expression, scope, CONDITION)
                    if rule is not None:
                        rules.append(StateRule(EquipmentState(state_key.text), rule))
            result[name] = Equipment(
                name=name,
                description=r.text(node, "description"),
                work_center=work_center.text if work_center else None,
                device=device.text if device else None,
                calibration_due=r.date(node, "calibration_due"),
                maintenance_due=r.date(node, "maintenance_due"),
                state_rules=tuple(rules),
                span=key.span,
                calibration=_care_interval(node, "calibration"),
                maintenance=self._usage_counter(node, _care_interval(node, "maintenance"), tags),
            )
        return result

    def _usage_counter(
        self, node: YMap, interval: CareInterval | None, tags: dict[str, Symbol]
    ) -> CareInterval | None:
        """The maintenance interval with its ``counter`` tag, once checked: a declared number tag,
        counting towards ``uses``; a calibration counts no uses."""
        calibration = node.get("calibration")
        if isinstance(calibration, YMap) and (wrong := calibration.key("counter")) is not None:
            self.report.error(
                wrong.span,
                "a calibration is due by days only; a usage counter belongs under maintenance",
            )
        care = node.get("maintenance")
        written = r.scalar(care, "counter") if isinstance(care, YMap) else None
        if interval is None or written is None or not self.report.reference(written, "tag", tags):
            return interval
        name = written.text.strip()
        kind = tags[name].kind
        if kind != "number":
            self.report.error(
                written.span,
                f"usage counter '{name}' is a {kind} tag; a counter must be a number tag",
            )
            return interval
        if interval.every_uses is None:
            self.report.error(
                written.span,
                f"usage counter '{name}' counts towards uses, but no `uses` is given",
                "add how many counts make maintenance due, e.g. uses: 200000",
            )
            return interval
        return dataclasses.replace(interval, counter=name)

    # ------------------------------------------------------------ material

    def _unit(self, node: YMap, default: str) -> str:
        unit = r.scalar(node, "unit")
        return (self.report.unit(unit) if unit is not None else None) or default

    def _tracking(self, node: YMap, default: Tracking) -> Tracking:
        return "serial" if r.text(node, "tracking", default) == "serial" else "lot"

    def parts(self) -> dict[str, Part]:
        return {
            name: Part(
                name=name,
                description=r.text(node, "description"),
                tracking=self._tracking(node, "lot"),
                unit=self._unit(node, "pcs"),
                shelf_life_days=r.days(node, "shelf_life"),
                span=key.span,
                quarantine=r.boolean(node, "quarantine", False),
                gtin=self._gtin(node),
                erp_material=self._erp_material(node, f"part {name}"),
                sample=aql_sampling(node, "sample", self.report),
            )
            for name, (key, value) in self.section("parts").items()
            for node in (r.as_map(value),)
        }

    def products(self, parts: dict[str, Part], routings: dict[str, YMap]) -> dict[str, Product]:
        result: dict[str, Product] = {}
        for name, (key, value) in self.section("products").items():
            node = r.as_map(value)
            pattern = r.scalar(node, "number_pattern")
            if pattern is not None:
                self._number_pattern(pattern)
            routing = r.scalar(node, "routing")
            if routing is not None:
                self.report.reference(routing, "routing", routings)
                routing_name = routing.text
            else:
                making = [n for n, rn in routings.items() if r.text(rn, "product") == name]
                routing_name = making[0] if len(making) == 1 else ""
                if not making:
                    self.report.warning(
                        key.span,
                        f"product '{name}' has no routing, so it cannot be made",
                        "add a routing file under routings/ with 'product: " + name + "'",
                    )
            result[name] = Product(
                name=name,
                description=r.text(node, "description"),
                tracking=self._tracking(node, "serial"),
                unit=self._unit(node, "pcs"),
                number_pattern=pattern.text if pattern is not None else name + "-{seq:6}",
                routing=routing_name,
                bom=tuple(self._bom(node, parts)),
                span=key.span,
                gtin=self._gtin(node),
                erp_material=self._erp_material(node, f"product {name}"),
            )
        return result

    def _erp_material(self, node: YMap, owner: str) -> str:
        """The ERP material id under ``erp`` ("" when none); an error when another part or
        product already has it, since an ERP order must name exactly one thing."""
        erp = node.get("erp")
        material = r.scalar(erp, "material") if isinstance(erp, YMap) else None
        if material is None:
            return ""
        text = material.text.strip()
        other = self.erp_materials.setdefault(text, owner)
        if other != owner:
            self.report.error(
                material.span,
                f"ERP material '{text}' is already mapped to {other}",
                "give each part and product its own ERP material id",
            )
            return ""
        return text

    def _gtin(self, node: YMap) -> str:
        """The GTIN under ``gtin`` ("" when none, or when it is not one: that is an error)."""
        gtin = r.scalar(node, "gtin")
        if gtin is None:
            return ""
        problem = gtin_problem(gtin.text.strip())
        if problem:
            self.report.error(gtin.span, problem, "copy the GTIN from its GS1 record, in quotes")
            return ""
        return gtin.text.strip()

    def _number_pattern(self, node: YScalar) -> None:
        text = node.text
        if text.count("{") != text.count("}"):
            self.report.error(node.span, "number_pattern has unbalanced braces { }")
            return
        has_sequence = False
        for match in _PLACEHOLDER.finditer(text):
            placeholder = match[1]
            if re.fullmatch(r"seq:([1-9]|1[0-2])", placeholder):
                has_sequence = True
            elif placeholder not in _PATTERN_NAMES:
                suggestion = did_you_mean(placeholder, [*_PATTERN_NAMES, "seq:5"])
                message = f"unknown placeholder '{{{placeholder}}}' in number_pattern"
                self.report.error(
                    Span.point(
                        node.text_span.path,
                        node.text_span.line,
                        node.text_span.col + match.start(),
                        match.end() - match.start(),
                    ),
                    f"{message}; {suggestion}" if suggestion else message,
                    "placeholders: {yyyy} {yy} {mm} {dd} {seq:N} (N digits, 1-12) {wo}",
                )
                return
        if not has_sequence:
            self.report.error(
                node.span,
                "number_pattern needs a {seq:N} placeholder so every number is unique",
                'e.g. "HA{yy}{mm}-{seq:5}"',
            )

    def _bom(self, node: YMap, parts: dict[str, Part]) -> list[BomLine]:
        lines: list[BomLine] = []
        for item in r.items(node, "bom"):
            if not isinstance(item, YMap):
                continue
            part_node = r.scalar(item, "part")
            qty_node = r.scalar(item, "qty")
            if not self.report.reference(part_node, "part", parts) or qty_node is None:
                continue
            assert part_node is not None
            part = parts[part_node.text.strip()]
            quantity = r.part_quantity(self.report, qty_node, part)
            if quantity is not None:
                lines.append(BomLine(part.name, quantity, part.unit, item.span))
        return lines
