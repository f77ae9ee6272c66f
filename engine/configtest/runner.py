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
from dsl.diagnostics import Diagnostic, did_you_mean, error
from dsl.loader import load_files, read_folder
from dsl.model import DEFAULT_BOARD, Plant
from dsl.yamlsource import YMap, YNode, YScalar, parse_yaml
from engine.access import people
from engine.access.signatures import SignatureInput
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.commands.equipment import record_state_change
from engine.commands.first_articles import APPROVED as FIRST_ARTICLE_APPROVED
from engine.configtest.reading import (
    CASE_KEYS,
    STEP_KEYS,
    STEP_KINDS,
    BadCase,
    Outcome,
    check_keys,
    convert_to,
    date_of,
    expectation_of,
    map_of,
    merged,
    seconds_of,
    seq_of,
    tag_scalar,
    text_of,
)
from engine.errors import Blocked, DomainError
from engine.facade.production import Ferrule
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource, TagReading
from engine.infra.db import Database
from engine.records.tables import EquipmentRecord, Lot, User
from engine.records.tools import ToolCalibration

PASSWORD = "config-test-password"  # noqa: S105  (test users of the throwaway database)
LEAD = "test-lead"

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
        raise BadCase(
            key.span, f"unknown tag '{key.text}'", did_you_mean(key.text, names)
        ) from None
    age = 0.0
    quality = "good"
    value_node: YNode | None = node
    if isinstance(node, YMap):
        check_keys(node, ("value", "quality", "age"), f"tag {key.text}")
        value_node = node.get("value")
        if node.get("quality") is not None:
            quality = text_of(node.get("quality"), "quality", node.span)
            if quality not in ("good", "bad", "stale"):
                raise BadCase(node.span, f"quality: '{quality}' is not good, bad or stale")
        if node.get("age") is not None:
            age = seconds_of(node.get("age"), node.span)
    value: Any = None
    if value_node is not None:
        value = tag_scalar(tag.value_type, tag.unit, value_node, key.text)
    elif quality == "good":
        raise BadCase(node.span, f"tag {key.text}: give a value, or quality: bad")
    stamp = world.now - dt.timedelta(seconds=age)
    reading_quality = "good" if quality == "good" else quality
    world.tags.set_reading(key.text, TagReading(value, reading_quality, stamp, stamp))  # type: ignore[arg-type]


class CaseRunner:
    """Runs the cases of one plant, given as its text files (``tests/`` left out) and the paths of
    its binary files; ``label`` is how diagnostics show the plant folder."""

    def __init__(self, texts: Mapping[str, str], binary: frozenset[str], label: str) -> None:
        self.files = {p: t for p, t in texts.items() if not p.startswith("tests/")}
        self.binary = binary
        self.label = label
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
        day = date_of(day_node, "today", case.span) if day_node is not None else dt.date.today()
        world = _World(plant, None, None, _moment(plant, day), "operator")  # type: ignore[arg-type]
        world.tags = StaticTagSource(clock=lambda: world.now)
        world.engine = Ferrule(db, world.tags, RecordingSetpointWriter(), clock=lambda: world.now)
        with db.transaction() as session:
            self._people(session, plant, defaults, case, world=world, day=day)
            self._lots(session, plant, defaults, case, day)
            self._equipment(session, plant, defaults, case)
            self._tools(session, plant, defaults, case)
            session.execute(update(User).values(password_hash=self.password_hash))
        for key, node in merged(defaults.get("tags"), case.get("tags"), "tags", case.span):
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
        spec = map_of(node, "operator", case.span)
        check_keys(spec, ("name", "roles", "qualifications"), "operator")
        name = (
            text_of(spec.get("name"), "operator name", spec.span)
            if spec.get("name")
            else "operator"
        )
        world.operator = name
        people.create_user(session, name, actor=LEAD, full_name=name)
        for item in seq_of(spec.get("roles"), "roles", spec.span):
            people.grant_role(
                session, name, text_of(item, "role", spec.span), actor=LEAD, plant=plant
            )
        for item in seq_of(spec.get("qualifications"), "qualifications", spec.span):
            qualification = text_of(item, "qualification", spec.span)
            if qualification not in plant.qualifications:
                hint = did_you_mean(qualification, plant.qualifications)
                raise BadCase(item.span, f"unknown qualification '{qualification}'", hint)
            people.grant_qualification(
                session, name, qualification, actor=LEAD, plant=plant,
                granted_on=day - dt.timedelta(days=1),
            )  # fmt: skip

    def _lots(self, session: Any, plant: Plant, defaults: YMap, case: YMap, day: dt.date) -> None:
        node = case.get("lots") if case.get("lots") is not None else defaults.get("lots")
        for entry in seq_of(node, "lots", case.span):
            spec = map_of(entry, "lot", entry.span)
            check_keys(spec, ("part", "lot", "qty", "expiry", "status"), "lot")
            part = text_of(spec.get("part"), "part", spec.span)
            if part not in plant.parts:
                raise BadCase(spec.span, f"unknown part '{part}'", did_you_mean(part, plant.parts))
            number = text_of(spec.get("lot"), "lot", spec.span)
            text = text_of(spec.get("qty"), "qty", spec.span)
            quantity = scalars.parse_quantity(text)
            if quantity is None:
                raise BadCase(spec.span, f"qty: '{text}' is not a quantity like '100 m'")
            amount = convert_to(quantity, plant.parts[part].unit, "qty", spec.span)
            expiry_node = spec.get("expiry")
            expires = date_of(expiry_node, "expiry", spec.span) if expiry_node else None
            materials.receive_lot(
                session, plant, part, number, amount, actor=LEAD,
                received_on=day - dt.timedelta(days=1), expires_on=expires,
            )  # fmt: skip
            status = (
                text_of(spec.get("status"), "status", spec.span) if spec.get("status") else None
            )
            if status in ("quarantine", "on_hold", "consumed", "scrapped"):
                session.execute(
                    update(Lot)
                    .where(Lot.part == part, Lot.number == number)
                    .values(status=status, hold_reason="config test")
                )
            elif status not in (None, "available"):
                raise BadCase(
                    spec.span,
                    f"status: '{status}' is not available, quarantine, on_hold, consumed or "
                    "scrapped",
                )

    def _equipment(self, session: Any, plant: Plant, defaults: YMap, case: YMap) -> None:
        equipment = merged(defaults.get("equipment"), case.get("equipment"), "equipment", case.span)
        for key, node in equipment:
            if key.text not in plant.equipment:
                hint = did_you_mean(key.text, plant.equipment)
                raise BadCase(key.span, f"unknown equipment '{key.text}'", hint)
            spec = map_of(node, key.text, key.span)
            check_keys(
                spec, ("state", "calibration_due", "maintenance_due"), f"equipment {key.text}"
            )
            dates = {
                column: date_of(spec.get(column), column, spec.span)
                for column in ("calibration_due", "maintenance_due")
                if spec.get(column) is not None
            }
            if dates:
                session.execute(
                    update(EquipmentRecord).where(EquipmentRecord.name == key.text).values(**dates)
                )
            if spec.get("state") is not None:
                state = text_of(spec.get("state"), "state", spec.span)
                try:
                    record_state_change(session, key.text, state, actor=LEAD, reason="config test")
                except DomainError as refused:
                    raise BadCase(spec.span, refused.message) from None

    def _tools(self, session: Any, plant: Plant, defaults: YMap, case: YMap) -> None:
        """``tools: {TG-601: {calibrated: 2026-10-01}}``: a passed calibration of the tool on
        that day, as if recorded (and signed) before the case."""
        for key, node in merged(defaults.get("tools"), case.get("tools"), "tools", case.span):
            tool_type = plant.tool_type_of(key.text)
            if tool_type is None:
                hint = did_you_mean(key.text, [u for t in plant.tools.values() for u in t.units])
                raise BadCase(key.span, f"unknown tool '{key.text}'", hint)
            spec = map_of(node, key.text, key.span)
            check_keys(spec, ("calibrated",), f"tool {key.text}")
            if spec.get("calibrated") is not None:
                day = date_of(spec.get("calibrated"), "calibrated", spec.span)
                version_id, _ = versions.active_plant(session)
                session.add(
                    ToolCalibration(
                        tool=key.text, result="pass", performed_on=day, performed_by=LEAD,
                        certificate="config test", next_due=None, recorded_by=LEAD,
                        recorded_at=_moment(plant, day), config_version_id=version_id,
                    )
                )  # fmt: skip

    def run_case(self, plant: Plant, path: str, defaults: YMap, case: YMap) -> CaseResult:
        name_node = case.get("name")
        name = text_of(name_node, "case name", case.span)
        check_keys(case, (*CASE_KEYS, "steps"), f"case '{name}'")
        world = self._world(plant, defaults, case)
        product = self._product(plant, case)
        quantity_node = case.get("quantity")
        quantity = float(text_of(quantity_node, "quantity", case.span)) if quantity_node else 1.0
        order = world.engine.create_work_order(actor=LEAD, product=product, quantity=quantity)
        world.units = list(world.engine.release_work_order(actor=LEAD, number=order.number).items)
        steps = seq_of(case.get("steps"), "steps", case.span)
        if not steps:
            raise BadCase(case.span, f"case '{name}' has no steps")
        for index, node in enumerate(steps, start=1):
            step = map_of(node, "step", node.span)
            check_keys(step, STEP_KEYS, "a step")
            kinds = [k for k in STEP_KINDS if k in step]
            if len(kinds) != 1:
                raise BadCase(step.span, "a step needs exactly one of " + ", ".join(STEP_KINDS))
            kind = kinds[0]
            expect = expectation_of(step.get("expect"), step.span)
            got = self._step(world, step, kind)
            if not expect.met_by(got):
                subject = (
                    text_of(step.get(kind), kind, step.span)
                    if kind in ("start", "complete")
                    else ""
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
                raise BadCase(
                    case.span, "this plant makes several products; give the case a product"
                )
            return next(iter(plant.products))
        product = text_of(node, "product", case.span)
        if product not in plant.products:
            raise BadCase(
                node.span, f"unknown product '{product}'", did_you_mean(product, plant.products)
            )
        return product

    def _step(self, world: _World, step: YMap, kind: str) -> Outcome:
        if step.get("today") is not None:
            world.now = _moment(world.plant, date_of(step.get("today"), "today", step.span))
        for key, node in map_of(step.get("tags"), "tags", step.span).entries:
            _tag_value(world.plant, key, node, world)
        unit_node = step.get("unit")
        ordinal = int(text_of(unit_node, "unit", step.span)) if unit_node else 1
        if not 1 <= ordinal <= len(world.units):
            raise BadCase(
                step.span, f"unit: the work order has {len(world.units)} item(s), not {ordinal}"
            )
        item = world.units[ordinal - 1]
        engine = world.engine
        reason = (
            text_of(step.get("reason"), "reason", step.span)
            if step.get("reason")
            else "config test"
        )
        try:
            if kind == "start":
                operation = text_of(step.get("start"), "start", step.span)
                tool = text_of(step.get("tool"), "tool", step.span) if step.get("tool") else None
                engine.start_operation(
                    actor=world.operator, item=item, operation=operation, tool=tool
                )
                return Outcome("started", operation)
            if kind == "complete":
                return self._complete(world, step, item)
            if kind == "hold":
                engine.hold(
                    actor=LEAD, item=item, reason=text_of(step.get("hold"), "hold", step.span)
                )
                return Outcome("held", reason=text_of(step.get("hold"), "hold", step.span))
            if kind == "release":
                engine.release(
                    actor=LEAD, item=item, reason=text_of(step.get("release"), "release", step.span)
                )
                return _where(engine.item(item))
            if kind == "first_article":
                return self._first_article(world, step, item)
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
        operation_id = text_of(step.get("complete"), "complete", step.span)
        plant = world.plant
        routing = plant.routing_for(world.engine.item(item).product)
        operation = next((op for op in routing.operations if op.id == operation_id), None)
        data: dict[str, Any] = {}
        units: dict[str, str] = {}
        for key, node in map_of(step.get("data"), "data", step.span).entries:
            text = text_of(node, key.text, key.span)
            declared = operation.field(key.text) if operation else None
            quantity = scalars.parse_quantity(text)
            if declared is not None and declared.type in ("number", "integer") and quantity:
                data[key.text] = quantity.value
                if quantity.unit:
                    units[key.text] = quantity.unit
            else:
                data[key.text] = text
        consume: list[ConsumptionInput] = []
        for key, node in map_of(step.get("consume"), "consume", step.span).entries:
            if isinstance(node, YMap):
                check_keys(node, ("lot", "qty"), f"consume {key.text}")
                lot = text_of(node.get("lot"), "lot", node.span)
                qty_text = text_of(node.get("qty"), "qty", node.span)
                quantity = scalars.parse_quantity(qty_text)
                if quantity is None:
                    raise BadCase(node.span, f"qty: '{qty_text}' is not a quantity")
                line = (
                    next((c for c in operation.consume if c.part == key.text), None)
                    if operation
                    else None
                )
                amount = convert_to(quantity, line.unit if line else None, "qty", node.span)
                consume.append(ConsumptionInput(key.text, lot, amount))
            else:
                consume.append(ConsumptionInput(key.text, text_of(node, key.text, key.span)))
        signatures: list[SignatureInput] = []
        sign = step.get("sign")
        if sign is not None and text_of(sign, "sign", step.span) == "true" and operation:
            signatures = [
                SignatureInput(f"test-{s.role}", PASSWORD, s.meaning) for s in operation.signatures
            ]
        result = world.engine.complete_operation(
            actor=world.operator, item=item, operation=operation_id, data=data, units=units,
            consume=consume, signatures=signatures,
        )  # fmt: skip
        return _route_outcome(result.route, result.next_operation, result.reason)

    def _first_article(self, world: _World, step: YMap, item: str) -> Outcome:
        """``first_article: OPERATION``: quality approves the unit as the first article there."""
        operation = text_of(step.get("first_article"), "first_article", step.span)
        world.engine.decide_first_article(
            actor="test-quality", item=item, operation=operation,
            signature=SignatureInput("test-quality", PASSWORD, FIRST_ARTICLE_APPROVED),
        )  # fmt: skip
        return _where(world.engine.item(item))

    def _disposition(self, world: _World, step: YMap, item: str, reason: str) -> Outcome:
        node = step.get("disposition")
        target: str | None = None
        if isinstance(node, YMap):
            check_keys(node, ("rework",), "disposition")
            decision = "rework"
            target = text_of(node.get("rework"), "rework", node.span)
        else:
            decision = text_of(node, "disposition", step.span)
        open_ncs = world.engine.nonconformances(open_only=True, item=item)
        if not open_ncs:
            return Outcome("error", reason=f"{item} has no open nonconformance to disposition")
        meaning = "Disposition approved"
        policy = world.plant.site.quality
        proposer, *board = policy.signers_of(decision) if policy else DEFAULT_BOARD
        world.engine.disposition(
            actor=f"test-{proposer}", nonconformance_id=open_ncs[0].id, decision=decision,
            reason=reason, signature=SignatureInput(f"test-{proposer}", PASSWORD, meaning),
            target_operation=target,
        )  # fmt: skip
        for role in board:  # the rest of the site's review board signs in turn
            world.engine.sign_disposition(
                actor=f"test-{role}", nonconformance_id=open_ncs[0].id,
                signature=SignatureInput(f"test-{role}", PASSWORD, meaning),
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


def test_texts(files: Mapping[str, str]) -> list[tuple[str, str]]:
    """(file name, text) of the config test files among a plant's text files, in name order:
    ``tests/*.yaml`` and ``tests/*.yml``, not in sub-folders."""
    return sorted(
        (path.removeprefix("tests/"), text)
        for path, text in files.items()
        if path.startswith("tests/") and path.count("/") == 1 and path.endswith((".yaml", ".yml"))
    )


def run(plant_dir: str | Path) -> Report:
    """Check the plant folder, then run every case of every test file."""
    folder = Path(plant_dir)
    texts, binary = read_folder(folder)
    return run_files(texts, binary, label=str(plant_dir), name=folder.name)


def run_files(
    texts: Mapping[str, str], binary: frozenset[str], *, label: str, name: str = ""
) -> Report:
    """Check a plant given as its text files (``tests/*.yaml`` among them) and the paths of its
    binary files, then run every case of every test file; ``label`` stands for the folder in
    diagnostics, ``name`` names the plant in the summary line (default: the label's last part)."""
    runner = CaseRunner(texts, binary, label.rstrip("/") or label)
    plant, diagnostics, sources = runner.load()
    report = Report(name or runner.label.rsplit("/", 1)[-1], sources=dict(sources))
    if plant is None:
        report.problems = [d for d in diagnostics if d.is_error]
        return report
    for file_name, text in test_texts(texts):
        display = f"{runner.label}/tests/{file_name}"
        report.sources[display] = text
        root, problems = parse_yaml(text, display)
        report.problems += problems
        if root is None:
            continue
        try:
            document = map_of(root, "test file", root.span)
            check_keys(document, ("defaults", "cases"), "a test file")
            defaults = map_of(document.get("defaults"), "defaults", document.span)
            check_keys(defaults, tuple(k for k in CASE_KEYS if k not in ("name",)), "defaults")
            cases = seq_of(document.get("cases"), "cases", document.span)
        except BadCase as bad:
            report.problems.append(bad.diagnostic)
            continue
        for node in cases:
            try:
                case = map_of(node, "case", node.span)
                report.results.append(runner.run_case(plant, display, defaults, case))
            except BadCase as bad:
                if bad.diagnostic not in report.problems:
                    report.problems.append(bad.diagnostic)
            except DomainError as refused:
                report.problems.append(
                    error(node.span, f"the case could not be set up: {refused.message}")
                )
    return report
