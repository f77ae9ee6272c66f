"""``ferrule test``: run a plant's config tests (``tests/*.yaml``) on an in-memory engine.

Each case gets a fresh in-memory database with the plant deployed, test users holding every role,
the case's lots, tag values and clock; its steps run through the engine's service API one by one,
and the first step whose outcome differs from its ``expect`` fails the case with a diagnostic that
points at that expectation. The file format is described in docs/config-tests.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import update

from dsl import scalars
from dsl.diagnostics import Diagnostic, Span, did_you_mean, error
from dsl.loader import load_files, read_folder
from dsl.model import Plant, ValueType
from dsl.units import from_si, parse_unit, same_dimension, to_si
from dsl.yamlsource import YMap, YNode, YScalar, YSeq, describe, parse_yaml
from engine.access import people
from engine.access.signatures import SignatureInput
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.commands.equipment import record_state_change
from engine.errors import Blocked, DomainError
from engine.facade.production import Ferrule
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource, TagReading
from engine.infra.db import Database
from engine.records.tables import EquipmentRecord, Lot, User

PASSWORD = "config-test-password"  # noqa: S105  (test users of the throwaway database)
LEAD = "test-lead"
_CASE_KEYS = ("name", "product", "quantity", "today", "operator", "lots", "tags", "equipment")
_STEP_KINDS = ("start", "complete", "hold", "release", "disposition")
_STEP_KEYS = (*_STEP_KINDS, "expect", "unit", "tags", "today", "data", "consume", "sign", "reason")
_EXPECT_WORDS = ("started", "completed", "held", "nonconformance", "scrapped")
_EXPECT_KEYS = ("blocked", "next", "held", "nonconformance", "rework", "error")


class _Bad(Exception):
    """A malformed test file: its diagnostic."""

    def __init__(self, span: Span, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.diagnostic = error(span, message, hint)


# ---------------------------------------------------------------- the located tree


def _text(node: YNode | None, what: str, span: Span) -> str:
    if not isinstance(node, YScalar) or node.is_empty:
        found = describe(node) if node is not None else "nothing"
        raise _Bad(node.span if node is not None else span, f"{what}: expected text, found {found}")
    return node.text


def _map(node: YNode | None, what: str, span: Span) -> YMap:
    if node is None:
        return YMap((), span)
    if not isinstance(node, YMap):
        raise _Bad(node.span, f"{what}: expected a mapping, found {describe(node)}")
    return node


def _seq(node: YNode | None, what: str, span: Span) -> tuple[YNode, ...]:
    if node is None:
        return ()
    if not isinstance(node, YSeq):
        raise _Bad(node.span, f"{what}: expected a list, found {describe(node)}")
    return node.items


def _known(node: YMap, allowed: tuple[str, ...], what: str) -> None:
    for key, _ in node.entries:
        if key.text not in allowed:
            hint = did_you_mean(key.text, allowed)
            raise _Bad(key.span, f"unknown key '{key.text}' in {what}", hint)


def _date(node: YNode | None, what: str, span: Span) -> dt.date:
    text = _text(node, what, span)
    day = scalars.parse_date(text)
    if day is None:
        raise _Bad(node.span if node else span, f"{what}: '{text}' is not a date (YYYY-MM-DD)")
    return day


def _merged(
    default: YNode | None, case: YNode | None, what: str, span: Span
) -> list[tuple[YScalar, YNode]]:
    """Key-by-key merge of two mappings (the case's entries win)."""
    entries = {k.text: (k, v) for k, v in _map(default, what, span).entries}
    entries.update({k.text: (k, v) for k, v in _map(case, what, span).entries})
    return list(entries.values())


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a step led to: ``kind`` and its details, for matching and for messages."""

    kind: str
    operation: str | None = None
    reason: str = ""
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "blocked":
            return "blocked by " + "; ".join(f"'{n}'" for n in self.names[::2])
        if self.kind == "next":
            return f"next '{self.operation}'"
        if self.kind == "rework":
            return f"rework to '{self.operation}'"
        if self.kind == "error":
            return f"refused: {self.reason}"
        return self.kind + (f" ({self.reason})" if self.reason else "")


@dataclass(frozen=True, slots=True)
class Expectation:
    kind: str
    value: str | None
    span: Span

    def describe(self) -> str:
        if self.kind == "blocked":
            return f"blocked by '{self.value}'"
        if self.kind in ("next",):
            return f"next '{self.value}'"
        if self.kind == "rework":
            return f"rework to '{self.value}'"
        if self.kind == "error":
            return f"refused with '{self.value}'"
        if self.kind == "success":
            return "the command to succeed"
        return self.kind + (f" ({self.value})" if self.value else "")

    def met_by(self, got: Outcome) -> bool:
        if self.kind == "success":
            return got.kind not in ("error", "blocked")
        if self.kind != got.kind:
            return False
        if self.kind == "blocked":
            return self.value in got.names
        if self.kind in ("next", "rework"):
            return self.value == got.operation
        return self.value is None or self.value in got.reason


def _expectation(node: YNode | None, span: Span) -> Expectation:
    if node is None:
        return Expectation("success", None, span)
    if isinstance(node, YScalar) and node.text in _EXPECT_WORDS:
        return Expectation(node.text, None, node.span)
    if isinstance(node, YMap) and len(node.entries) == 1:
        key, value = node.entries[0]
        if key.text in _EXPECT_KEYS:
            return Expectation(key.text, _text(value, f"expect {key.text}", key.span), node.span)
        raise _Bad(
            key.span, f"unknown expectation '{key.text}'", did_you_mean(key.text, _EXPECT_KEYS)
        )
    words = ", ".join(_EXPECT_WORDS)
    keys = ", ".join(f"{{{k}: ...}}" for k in _EXPECT_KEYS)
    raise _Bad(node.span, f"expect: found {describe(node)}", f"use one of {words}, {keys}")


# ---------------------------------------------------------------- running a case


@dataclass
class CaseResult:
    path: str
    name: str
    failure: Diagnostic | None = None


@dataclass
class _World:
    """One case's engine, clock and tags."""

    plant: Plant
    engine: Ferrule
    tags: StaticTagSource
    now: dt.datetime
    operator: str
    units: list[str] = field(default_factory=list)


def _moment(plant: Plant, day: dt.date) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(10, 0), ZoneInfo(plant.site.timezone))
    return local.astimezone(dt.UTC)


def _tag_value(plant: Plant, key: YScalar, node: YNode, world: _World) -> None:
    try:
        tag = plant.tag(key.text)
    except KeyError:
        names = [t.key for t in plant.all_tags()]
        raise _Bad(key.span, f"unknown tag '{key.text}'", did_you_mean(key.text, names)) from None
    age = 0.0
    quality = "good"
    value_node: YNode | None = node
    if isinstance(node, YMap):
        _known(node, ("value", "quality", "age"), f"tag {key.text}")
        value_node = node.get("value")
        if node.get("quality") is not None:
            quality = _text(node.get("quality"), "quality", node.span)
            if quality not in ("good", "bad", "stale"):
                raise _Bad(node.span, f"quality: '{quality}' is not good, bad or stale")
        if node.get("age") is not None:
            age = _seconds(node.get("age"), node.span)
    value: Any = None
    if value_node is not None:
        value = _scalar_for_tag(tag.value_type, tag.unit, value_node, key.text)
    elif quality == "good":
        raise _Bad(node.span, f"tag {key.text}: give a value, or quality: bad")
    stamp = world.now - dt.timedelta(seconds=age)
    reading_quality = "good" if quality == "good" else quality
    world.tags.set_reading(key.text, TagReading(value, reading_quality, stamp, stamp))  # type: ignore[arg-type]


def _seconds(node: YNode | None, span: Span) -> float:
    text = _text(node, "age", span)
    quantity = scalars.parse_quantity(text)
    if quantity is None or (quantity.unit and not same_dimension(quantity.unit, "s")):
        raise _Bad(node.span if node else span, f"age: '{text}' is not a duration like '30 s'")
    return to_si(quantity.value, quantity.unit)


def _scalar_for_tag(kind: ValueType, unit: str | None, node: YNode, name: str) -> Any:
    text = _text(node, name, node.span)
    if kind is ValueType.BOOL:
        value = scalars.parse_bool(text)
        if value is None:
            raise _Bad(node.span, f"{name}: '{text}' is not true or false")
        return value
    if kind is ValueType.STRING:
        return text
    quantity = scalars.parse_quantity(text)
    if quantity is None:
        raise _Bad(node.span, f"{name}: '{text}' is not a number like '70 bar'")
    return _convert(quantity, unit, name, node.span)


def _convert(quantity: scalars.Quantity, unit: str | None, name: str, span: Span) -> float:
    if not quantity.unit or quantity.unit == unit:
        return quantity.value
    if parse_unit(quantity.unit) is None:
        raise _Bad(span, f"{name}: unknown unit '{quantity.unit}'")
    if not same_dimension(quantity.unit, unit):
        raise _Bad(span, f"{name}: '{quantity.unit}' cannot be converted to '{unit or 'a number'}'")
    return from_si(to_si(quantity.value, quantity.unit), unit)


class CaseRunner:
    """Runs the cases of one plant; the plant is deployed once into a template database."""

    def __init__(self, plant_dir: Path) -> None:
        self.plant_dir = plant_dir
        texts, binary = read_folder(plant_dir)
        self.files = {p: t for p, t in texts.items() if not p.startswith("tests/")}
        self.binary = binary
        self.label = str(plant_dir)
        self.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
            PASSWORD
        )

    def load(self) -> tuple[Plant | None, list[Diagnostic], Mapping[str, str]]:
        result = load_files(self.files, self.label, binary_paths=self.binary)
        return result.plant, list(result.diagnostics), result.sources

    def _world(self, plant: Plant, defaults: YMap, case: YMap) -> _World:
        db = Database.from_url("sqlite://")
        db.create_all()
        versions.deploy(db, self.files, actor=LEAD, label=self.label)
        day_node = case.get("today") or defaults.get("today")
        day = _date(day_node, "today", case.span) if day_node is not None else dt.date.today()
        world = _World(plant, None, None, _moment(plant, day), "operator")  # type: ignore[arg-type]
        world.tags = StaticTagSource(clock=lambda: world.now)
        world.engine = Ferrule(db, world.tags, RecordingSetpointWriter(), clock=lambda: world.now)
        with db.transaction() as session:
            self._people(session, plant, defaults, case, world=world, day=day)
            self._lots(session, plant, defaults, case, day)
            self._equipment(session, plant, defaults, case)
            session.execute(update(User).values(password_hash=self.password_hash))
        for key, node in _merged(defaults.get("tags"), case.get("tags"), "tags", case.span):
            _tag_value(plant, key, node, world)
        return world

    def _people(
        self, session: Any, plant: Plant, defaults: YMap, case: YMap, *, world: _World, day: dt.date
    ) -> None:
        for role in sorted(set(plant.roles) | {"supervisor", "quality", "admin"}):
            name = f"test-{role}"
            people.create_user(session, name, actor=LEAD, full_name=f"Test {role}")
            people.grant_role(session, name, role, actor=LEAD)
        people.create_user(session, LEAD, actor=LEAD, full_name="Test lead")
        for role in ("supervisor", "quality", "admin"):
            people.grant_role(session, LEAD, role, actor=LEAD)
        node = case.get("operator") or defaults.get("operator")
        spec = _map(node, "operator", case.span)
        _known(spec, ("name", "roles", "qualifications"), "operator")
        name = (
            _text(spec.get("name"), "operator name", spec.span) if spec.get("name") else "operator"
        )
        world.operator = name
        people.create_user(session, name, actor=LEAD, full_name=name)
        for item in _seq(spec.get("roles"), "roles", spec.span):
            people.grant_role(
                session, name, _text(item, "role", spec.span), actor=LEAD, plant=plant
            )
        for item in _seq(spec.get("qualifications"), "qualifications", spec.span):
            qualification = _text(item, "qualification", spec.span)
            if qualification not in plant.qualifications:
                hint = did_you_mean(qualification, plant.qualifications)
                raise _Bad(item.span, f"unknown qualification '{qualification}'", hint)
            people.grant_qualification(
                session, name, qualification, actor=LEAD, plant=plant,
                granted_on=day - dt.timedelta(days=1),
            )  # fmt: skip

    def _lots(self, session: Any, plant: Plant, defaults: YMap, case: YMap, day: dt.date) -> None:
        node = case.get("lots") if case.get("lots") is not None else defaults.get("lots")
        for entry in _seq(node, "lots", case.span):
            spec = _map(entry, "lot", entry.span)
            _known(spec, ("part", "lot", "qty", "expiry", "status"), "lot")
            part = _text(spec.get("part"), "part", spec.span)
            if part not in plant.parts:
                raise _Bad(spec.span, f"unknown part '{part}'", did_you_mean(part, plant.parts))
            number = _text(spec.get("lot"), "lot", spec.span)
            text = _text(spec.get("qty"), "qty", spec.span)
            quantity = scalars.parse_quantity(text)
            if quantity is None:
                raise _Bad(spec.span, f"qty: '{text}' is not a quantity like '100 m'")
            amount = _convert(quantity, plant.parts[part].unit, "qty", spec.span)
            expiry_node = spec.get("expiry")
            expires = _date(expiry_node, "expiry", spec.span) if expiry_node else None
            materials.receive_lot(
                session, plant, part, number, amount, actor=LEAD,
                received_on=day - dt.timedelta(days=1), expires_on=expires,
            )  # fmt: skip
            status = _text(spec.get("status"), "status", spec.span) if spec.get("status") else None
            if status in ("on_hold", "consumed", "scrapped"):
                session.execute(
                    update(Lot)
                    .where(Lot.part == part, Lot.number == number)
                    .values(status=status, hold_reason="config test")
                )
            elif status not in (None, "available"):
                raise _Bad(
                    spec.span, f"status: '{status}' is not available, on_hold, consumed or scrapped"
                )

    def _equipment(self, session: Any, plant: Plant, defaults: YMap, case: YMap) -> None:
        merged = _merged(defaults.get("equipment"), case.get("equipment"), "equipment", case.span)
        for key, node in merged:
            if key.text not in plant.equipment:
                hint = did_you_mean(key.text, plant.equipment)
                raise _Bad(key.span, f"unknown equipment '{key.text}'", hint)
            spec = _map(node, key.text, key.span)
            _known(spec, ("state", "calibration_due", "maintenance_due"), f"equipment {key.text}")
            dates = {
                column: _date(spec.get(column), column, spec.span)
                for column in ("calibration_due", "maintenance_due")
                if spec.get(column) is not None
            }
            if dates:
                session.execute(
                    update(EquipmentRecord).where(EquipmentRecord.name == key.text).values(**dates)
                )
            if spec.get("state") is not None:
                state = _text(spec.get("state"), "state", spec.span)
                try:
                    record_state_change(session, key.text, state, actor=LEAD, reason="config test")
                except DomainError as refused:
                    raise _Bad(spec.span, refused.message) from None

    def run_case(self, plant: Plant, path: str, defaults: YMap, case: YMap) -> CaseResult:
        name_node = case.get("name")
        name = _text(name_node, "case name", case.span)
        _known(case, (*_CASE_KEYS, "steps"), f"case '{name}'")
        world = self._world(plant, defaults, case)
        product = self._product(plant, case)
        quantity_node = case.get("quantity")
        quantity = float(_text(quantity_node, "quantity", case.span)) if quantity_node else 1.0
        order = world.engine.create_work_order(actor=LEAD, product=product, quantity=quantity)
        world.units = list(world.engine.release_work_order(actor=LEAD, number=order.number).items)
        steps = _seq(case.get("steps"), "steps", case.span)
        if not steps:
            raise _Bad(case.span, f"case '{name}' has no steps")
        for index, node in enumerate(steps, start=1):
            step = _map(node, "step", node.span)
            _known(step, _STEP_KEYS, "a step")
            kinds = [k for k in _STEP_KINDS if k in step]
            if len(kinds) != 1:
                raise _Bad(step.span, "a step needs exactly one of " + ", ".join(_STEP_KINDS))
            kind = kinds[0]
            expect = _expectation(step.get("expect"), step.span)
            got = self._step(world, step, kind)
            if not expect.met_by(got):
                subject = (
                    _text(step.get(kind), kind, step.span) if kind in ("start", "complete") else ""
                )
                title = f"{kind} {subject}".strip()
                return CaseResult(
                    path,
                    name,
                    error(
                        expect.span,
                        f"case '{name}', step {index} ({title}): expected {expect.describe()}, "
                        f"got {got.describe()}",
                    ),
                )
        return CaseResult(path, name)

    def _product(self, plant: Plant, case: YMap) -> str:
        node = case.get("product")
        if node is None:
            if len(plant.products) != 1:
                raise _Bad(case.span, "this plant makes several products; give the case a product")
            return next(iter(plant.products))
        product = _text(node, "product", case.span)
        if product not in plant.products:
            raise _Bad(
                node.span, f"unknown product '{product}'", did_you_mean(product, plant.products)
            )
        return product

    def _step(self, world: _World, step: YMap, kind: str) -> Outcome:
        if step.get("today") is not None:
            world.now = _moment(world.plant, _date(step.get("today"), "today", step.span))
        for key, node in _map(step.get("tags"), "tags", step.span).entries:
            _tag_value(world.plant, key, node, world)
        unit_node = step.get("unit")
        ordinal = int(_text(unit_node, "unit", step.span)) if unit_node else 1
        if not 1 <= ordinal <= len(world.units):
            raise _Bad(
                step.span, f"unit: the work order has {len(world.units)} item(s), not {ordinal}"
            )
        item = world.units[ordinal - 1]
        engine = world.engine
        reason = (
            _text(step.get("reason"), "reason", step.span) if step.get("reason") else "config test"
        )
        try:
            if kind == "start":
                operation = _text(step.get("start"), "start", step.span)
                engine.start_operation(actor=world.operator, item=item, operation=operation)
                return Outcome("started", operation)
            if kind == "complete":
                return self._complete(world, step, item)
            if kind == "hold":
                engine.hold(
                    actor=LEAD, item=item, reason=_text(step.get("hold"), "hold", step.span)
                )
                return Outcome("held", reason=_text(step.get("hold"), "hold", step.span))
            if kind == "release":
                engine.release(
                    actor=LEAD, item=item, reason=_text(step.get("release"), "release", step.span)
                )
                return _where(engine.item(item))
            return self._disposition(world, step, item, reason)
        except Blocked as blocked:
            names: list[str] = []
            for check in blocked.checks:
                if check.get("outcome") != "pass":
                    names += [
                        str(check.get("because") or check.get("name")),
                        str(check.get("name")),
                    ]
            return Outcome("blocked", reason=blocked.message, names=tuple(names))
        except DomainError as refused:
            return Outcome("error", reason=refused.message)

    def _complete(self, world: _World, step: YMap, item: str) -> Outcome:
        operation_id = _text(step.get("complete"), "complete", step.span)
        plant = world.plant
        routing = plant.routing_for(world.engine.item(item).product)
        operation = next((op for op in routing.operations if op.id == operation_id), None)
        data: dict[str, Any] = {}
        units: dict[str, str] = {}
        for key, node in _map(step.get("data"), "data", step.span).entries:
            text = _text(node, key.text, key.span)
            declared = operation.field(key.text) if operation else None
            quantity = scalars.parse_quantity(text)
            if declared is not None and declared.type in ("number", "integer") and quantity:
                data[key.text] = quantity.value
                if quantity.unit:
                    units[key.text] = quantity.unit
            else:
                data[key.text] = text
        consume: list[ConsumptionInput] = []
        for key, node in _map(step.get("consume"), "consume", step.span).entries:
            if isinstance(node, YMap):
                _known(node, ("lot", "qty"), f"consume {key.text}")
                lot = _text(node.get("lot"), "lot", node.span)
                qty_text = _text(node.get("qty"), "qty", node.span)
                quantity = scalars.parse_quantity(qty_text)
                if quantity is None:
                    raise _Bad(node.span, f"qty: '{qty_text}' is not a quantity")
                line = (
                    next((c for c in operation.consume if c.part == key.text), None)
                    if operation
                    else None
                )
                amount = _convert(quantity, line.unit if line else None, "qty", node.span)
                consume.append(ConsumptionInput(key.text, lot, amount))
            else:
                consume.append(ConsumptionInput(key.text, _text(node, key.text, key.span)))
        signatures: list[SignatureInput] = []
        sign = step.get("sign")
        if sign is not None and _text(sign, "sign", step.span) == "true" and operation:
            signatures = [
                SignatureInput(f"test-{s.role}", PASSWORD, s.meaning) for s in operation.signatures
            ]
        result = world.engine.complete_operation(
            actor=world.operator, item=item, operation=operation_id, data=data, units=units,
            consume=consume, signatures=signatures,
        )  # fmt: skip
        return _route_outcome(result.route, result.next_operation, result.reason)

    def _disposition(self, world: _World, step: YMap, item: str, reason: str) -> Outcome:
        node = step.get("disposition")
        target: str | None = None
        if isinstance(node, YMap):
            _known(node, ("rework",), "disposition")
            decision = "rework"
            target = _text(node.get("rework"), "rework", node.span)
        else:
            decision = _text(node, "disposition", step.span)
        open_ncs = world.engine.nonconformances(open_only=True, item=item)
        if not open_ncs:
            return Outcome("error", reason=f"{item} has no open nonconformance to disposition")
        meaning = "Disposition approved"
        world.engine.disposition(
            actor="test-quality", nonconformance_id=open_ncs[0].id, decision=decision,
            reason=reason, signature=SignatureInput("test-quality", PASSWORD, meaning),
            target_operation=target,
        )  # fmt: skip
        view = world.engine.item(item)
        if decision == "rework":
            return Outcome("rework", view.current_operation)
        return _where(view)


def _where(view: Any) -> Outcome:
    if view.status in ("completed", "scrapped"):
        return Outcome(view.status, reason=view.status_reason)
    if view.status == "on_hold":
        return Outcome("held", view.current_operation, view.status_reason)
    if view.status == "nonconforming":
        return Outcome("nonconformance", view.current_operation, view.status_reason)
    return Outcome("next", view.current_operation)


def _route_outcome(route: str, operation: str | None, reason: str) -> Outcome:
    kind = {"hold": "held", "scrap": "scrapped"}.get(route, route)
    return Outcome(kind, operation, reason)


# ---------------------------------------------------------------- files and the whole run


@dataclass
class Report:
    """The results of a ``ferrule test`` run."""

    plant: str
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if r.failure is not None]

    @property
    def ok(self) -> bool:
        return not self.failed and not any(p.is_error for p in self.problems)

    def render(self) -> str:
        lines = [d.render(self.sources) for d in self.problems]
        lines += [r.failure.render(self.sources) for r in self.failed if r.failure]
        passed = len(self.results) - len(self.failed)
        total = len(self.results)
        lines.append(
            f"{self.plant}: {total} case{'s' if total != 1 else ''}, {passed} passed, "
            f"{len(self.failed)} failed"
            + (f", {len(self.problems)} file error(s)" if self.problems else "")
        )
        return "\n".join(lines)


def test_files(plant_dir: Path) -> Iterator[Path]:
    """The plant's config test files, in name order."""
    folder = plant_dir / "tests"
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def run(plant_dir: str | Path) -> Report:
    """Check the plant, then run every case of every test file."""
    folder = Path(plant_dir)
    runner = CaseRunner(folder)
    plant, diagnostics, sources = runner.load()
    report = Report(folder.name, sources=dict(sources))
    if plant is None:
        report.problems = [d for d in diagnostics if d.is_error]
        return report
    for path in test_files(folder):
        display = f"{runner.label}/tests/{path.name}"
        text = path.read_text(encoding="utf-8")
        report.sources[display] = text
        root, problems = parse_yaml(text, display)
        report.problems += problems
        if root is None:
            continue
        try:
            document = _map(root, "test file", root.span)
            _known(document, ("defaults", "cases"), "a test file")
            defaults = _map(document.get("defaults"), "defaults", document.span)
            _known(defaults, tuple(k for k in _CASE_KEYS if k not in ("name",)), "defaults")
            cases = _seq(document.get("cases"), "cases", document.span)
        except _Bad as bad:
            report.problems.append(bad.diagnostic)
            continue
        for node in cases:
            try:
                case = _map(node, "case", node.span)
                report.results.append(runner.run_case(plant, display, defaults, case))
            except _Bad as bad:
                if bad.diagnostic not in report.problems:
                    report.problems.append(bad.diagnostic)
            except DomainError as refused:
                report.problems.append(
                    error(node.span, f"the case could not be set up: {refused.message}")
                )
    return report
