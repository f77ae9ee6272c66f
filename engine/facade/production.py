"""The engine's typed facade: one method per command or query, used by the web layer, the CLI
and the tests.

Every command runs in one transaction, may carry an idempotency key (a retry with the same key
returns the first result without running again), and writes audit rows for every state change.
Nothing slow happens inside a write transaction: a signed command checks its request (a read),
then verifies the signatures (no session open), then records; a start writes its setpoints
between reading and recording. Every text a method takes is checked against
:mod:`engine.infra.limits` first. The methods only delegate; the work is done in the modules
named in each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.access.signatures import (
    SignatureInput,
    Signer,
)
from engine.commands import bom, equipment, materials, quality, start, versions, workorders
from engine.commands.bom import ConsumptionInput
from engine.commands.complete import CompleteResult, check_completion, complete_operation
from engine.commands.preview import StartPreview, preview_start
from engine.commands.start import StartResult
from engine.commands.workorders import UNPLANNED, WorkOrderInfo, WorkOrderPlan
from engine.errors import Blocked, DomainError
from engine.facade.commands import Clock, Commands
from engine.facade.deviations import DeviationDesk
from engine.facade.first_articles import FirstArticleDesk
from engine.facade.nonconformances import NonconformanceDesk
from engine.floor import gs1
from engine.floor.environment import ReadingSeen, reading_seen
from engine.floor.items import ItemState, find_item
from engine.floor.runtime import Runtime, operation_of
from engine.floor.tagsource import SetpointWriter, TagSource
from engine.infra.db import Database
from engine.infra.idempotency import JsonResult, run_once_in, run_or_replay, stored_result
from engine.infra.limits import check_names, check_texts
from engine.queries.genealogy import Genealogy, UsedIn, backward, forward
from engine.queries.history import Event, item_history
from engine.queries.items import ItemInStatus, ItemView, WipRow, item_view, items_in_status, wip
from engine.records.base import utcnow

R = TypeVar("R", bound=JsonResult)


class Ferrule(NonconformanceDesk, DeviationDesk, FirstArticleDesk):
    """The engine, bound to a database, a tag source and (optionally) a setpoint writer."""

    def __init__(
        self,
        db: Database,
        tag_source: TagSource,
        setpoint_writer: SetpointWriter | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.runtime = Runtime(versions.plant_for_version, tag_source, setpoint_writer)
        self.clock: Clock = clock or utcnow
        self.commands = Commands(db, lambda: self.clock())  # noqa: PLW0108 (the clock may be replaced)

    def plant(self) -> tuple[int, Plant]:
        """The active config version's id and plant."""
        return versions.active_plant(self.db)

    # ------------------------------------------------------------ work orders

    def create_work_order(
        self,
        *,
        actor: str,
        product: str,
        quantity: float,
        number: str | None = None,
        plan: WorkOrderPlan = UNPLANNED,
        idempotency_key: str | None = None,
    ) -> WorkOrderInfo:
        """See :func:`engine.commands.workorders.create_work_order`."""
        check_names(actor=actor, product=product, number=number, erp_reference=plan.erp_reference)
        request = {"actor": actor, "product": product, "quantity": quantity, "number": number,
                   "plan": plan.to_json()}  # fmt: skip
        return self.commands.run(
            "create_work_order",
            request,
            idempotency_key,
            lambda s, now: workorders.create_work_order(
                s, self.runtime, product=product, quantity=quantity, actor=actor, now=now,
                number=number, plan=plan,
            ),
            WorkOrderInfo.from_json,
        )  # fmt: skip

    def release_work_order(
        self, *, actor: str, number: str, idempotency_key: str | None = None
    ) -> WorkOrderInfo:
        """See :func:`engine.commands.workorders.release_work_order`."""
        check_names(actor=actor, number=number)
        return self.commands.run(
            "release_work_order",
            {"actor": actor, "number": number},
            idempotency_key,
            lambda s, now: workorders.release_work_order(
                s, self.runtime, number=number, actor=actor, now=now
            ),
            WorkOrderInfo.from_json,
        )

    def cancel_work_order(
        self, *, actor: str, number: str, reason: str, idempotency_key: str | None = None
    ) -> WorkOrderInfo:
        """See :func:`engine.commands.workorders.cancel_work_order`."""
        check_names(actor=actor, number=number)
        check_texts(reason=reason)
        return self.commands.run(
            "cancel_work_order",
            {"actor": actor, "number": number, "reason": reason},
            idempotency_key,
            lambda s, now: workorders.cancel_work_order(
                s, number=number, actor=actor, reason=reason, now=now
            ),
            WorkOrderInfo.from_json,
        )

    def complete_work_order(
        self, *, actor: str, number: str, idempotency_key: str | None = None
    ) -> WorkOrderInfo:
        """See :func:`engine.commands.workorders.complete_work_order`."""
        check_names(actor=actor, number=number)
        return self.commands.run(
            "complete_work_order",
            {"actor": actor, "number": number},
            idempotency_key,
            lambda s, now: workorders.complete_work_order(s, number=number, actor=actor, now=now),
            WorkOrderInfo.from_json,
        )

    # ------------------------------------------------------------ execution

    def start_operation(
        self,
        *,
        actor: str,
        item: str,
        operation: str,
        idempotency_key: str | None = None,
        tool: str | None = None,
    ) -> StartResult:
        """Start an operation; a blocked start is recorded, then raised as :class:`Blocked`.
        ``tool`` is the id of the tool scanned for an operation that requires one.

        Decide (read), write the setpoints (no transaction open), record (a short transaction
        guarded by the item's revision): see :mod:`engine.commands.start`. A replay returns the
        stored result without writing to a device again."""
        check_names(actor=actor, item=item, operation=operation)
        request: dict[str, str] = {"actor": actor, "item": item, "operation": operation}
        if tool is not None:
            check_names(tool=tool)
            request["tool"] = tool
        now = self.clock()

        def work() -> StartResult:
            stored = stored_result(
                self.db, idempotency_key, "start_operation", request, load=StartResult.from_json
            )
            if stored is not None:
                return stored
            with self.db.session() as session:
                decision = start.decide(
                    session, self.runtime, item_number=item, operation_id=operation,
                    actor=actor, now=now, tool=tool,
                )  # fmt: skip
            decision = start.write_setpoints(self.runtime, decision)
            try:
                return run_once_in(
                    self.db, idempotency_key, "start_operation", request,
                    lambda s: start.record(s, decision, actor=actor, now=now),
                    load=StartResult.from_json,
                )  # fmt: skip
            except Exception as error:
                if decision.written:
                    self._unrecorded(decision, error, actor=actor, now=now)
                raise

        result = run_or_replay(
            self.db, idempotency_key, "start_operation", request, work, load=StartResult.from_json
        )
        if not result.allowed:
            raise Blocked(result.message, checks=result.checks)
        return result

    def _unrecorded(
        self, decision: start.StartDecision, error: Exception, *, actor: str, now: dt.datetime
    ) -> None:
        """Keep the record of setpoints written for a start that was not recorded; if even that
        fails, say so on ``error`` (which the caller raises)."""
        why = error.message if isinstance(error, DomainError) else str(error)
        try:
            with self.db.transaction() as session:
                start.record_unrecorded(session, decision, actor=actor, now=now, why=why)
        except Exception as failed:
            error.add_note(f"the setpoints written were not recorded either: {failed}")

    def check_start(self, *, actor: str, item: str, operation: str) -> StartResult:
        """Like :meth:`start_operation` but returns a blocked result instead of raising."""
        try:
            return self.start_operation(actor=actor, item=item, operation=operation)
        except Blocked as blocked:
            return StartResult(item, operation, False, blocked.checks, blocked.message, -1)

    def complete_operation(
        self,
        *,
        actor: str,
        item: str,
        operation: str,
        data: Mapping[str, Any] | None = None,
        units: Mapping[str, str] | None = None,
        consume: Sequence[ConsumptionInput] = (),
        signatures: Sequence[SignatureInput] = (),
        expected_revision: int | None = None,
        idempotency_key: str | None = None,
    ) -> CompleteResult:
        """Complete a started operation (see :func:`engine.commands.complete.complete_operation`).

        ``signatures`` are re-authentication inputs: once the request is otherwise valid
        (:func:`engine.commands.complete.check_completion`) their passwords are verified, then
        they are matched against the operation's ``sign`` requirements as the completion is
        recorded."""
        check_names(actor=actor, item=item, operation=operation)
        for field, unit in (units or {}).items():
            check_names(field=field, unit=unit)
        for field in data or {}:
            check_names(field=str(field))  # the values are checked with their fields
        consume = _checked_scans(consume)
        self.commands.check_signatures(signatures)
        request = {
            "actor": actor,
            "item": item,
            "operation": operation,
            "data": dict(data or {}),
            "units": dict(units or {}),
            "consume": [[c.part, c.lot, c.quantity] for c in consume],
            "signers": [[s.username, s.meaning.strip()] for s in signatures],
            "expected_revision": expected_revision,
        }

        def check(session: Session, now: dt.datetime) -> None:
            check_completion(
                session, self.runtime, item_number=item, operation_id=operation, actor=actor,
                now=now, data=data or {}, units=units, consumptions=consume,
                expected_revision=expected_revision,
            )  # fmt: skip

        def record(session: Session, now: dt.datetime, signers: Sequence[Signer]) -> CompleteResult:
            return complete_operation(
                session, self.runtime, item_number=item, operation_id=operation, actor=actor,
                now=now, data=data or {}, units=units, consumptions=consume, signers=signers,
                expected_revision=expected_revision,
            )  # fmt: skip

        if not signatures:
            return self.commands.run(
                "complete_operation", request, idempotency_key,
                lambda s, now: record(s, now, ()), CompleteResult.from_json,
            )  # fmt: skip
        return self.commands.signed(
            "complete_operation", request, idempotency_key, check=check,
            sign=lambda: self.commands.signers(signatures, f"{item}/{operation}"), fn=record,
            load=CompleteResult.from_json,
        )  # fmt: skip

    # ------------------------------------------------------------ quality

    def hold(
        self, *, actor: str, item: str, reason: str, idempotency_key: str | None = None
    ) -> ItemState:
        """See :func:`engine.commands.quality.hold_item`."""
        check_names(actor=actor, item=item)
        check_texts(reason=reason)
        return self.commands.run(
            "hold",
            {"actor": actor, "item": item, "reason": reason},
            idempotency_key,
            lambda s, now: quality.hold_item(
                s, item_number=item, actor=actor, reason=reason, now=now
            ),
            ItemState.from_json,
        )

    def release(
        self, *, actor: str, item: str, reason: str, idempotency_key: str | None = None
    ) -> ItemState:
        """See :func:`engine.commands.quality.release_item`."""
        check_names(actor=actor, item=item)
        check_texts(reason=reason)
        return self.commands.run(
            "release",
            {"actor": actor, "item": item, "reason": reason},
            idempotency_key,
            lambda s, now: quality.release_item(
                s, item_number=item, actor=actor, reason=reason, now=now
            ),
            ItemState.from_json,
        )

    # ------------------------------------------------------------ queries

    def item(self, number: str) -> ItemView:
        """See :func:`engine.queries.items.item_view`."""
        check_names(number=number)
        with self.db.session() as session:
            return item_view(session, number)

    def work_order(self, number: str) -> WorkOrderInfo:
        check_names(number=number)
        with self.db.session() as session:
            return workorders.work_order(session, number)

    def work_orders(self, *, status: str | None = None) -> list[WorkOrderInfo]:
        check_names(status=status)
        with self.db.session() as session:
            return workorders.work_orders(session, status=status)

    def wip(self) -> list[WipRow]:
        """See :func:`engine.queries.items.wip`."""
        with self.db.session() as session:
            return wip(session)

    def items_in_status(self, *statuses: str) -> list[ItemInStatus]:
        """See :func:`engine.queries.items.items_in_status`."""
        for status in statuses:
            check_names(status=status)
        with self.db.session() as session:
            return items_in_status(session, statuses)

    def preview_start(self, *, actor: str, item: str, operation: str) -> StartPreview:
        """The start checks evaluated now, recording nothing (see
        :func:`engine.commands.preview.preview_start`)."""
        check_names(actor=actor, item=item, operation=operation)
        with self.db.session() as session:
            return preview_start(
                session,
                self.runtime,
                item_number=item,
                operation_id=operation,
                actor=actor,
                now=self.clock(),
            )

    def history(self, number: str) -> list[Event]:
        """See :func:`engine.queries.history.item_history`."""
        check_names(number=number)
        with self.db.session() as session:
            return item_history(session, number)

    def genealogy(self, number: str) -> Genealogy:
        """See :func:`engine.queries.genealogy.backward`."""
        check_names(number=number)
        with self.db.session() as session:
            return backward(session, number)

    def where_used(self, part: str, lot: str) -> list[UsedIn]:
        """See :func:`engine.queries.genealogy.forward`."""
        check_names(part=part, lot=lot)
        with self.db.session() as session:
            return forward(session, part, lot)

    def version_plant(self, version_id: int) -> Plant:
        """The plant of a stored config version (see
        :func:`engine.commands.versions.plant_for_version`)."""
        return versions.plant_for_version(self.db, version_id)

    def live_readings(self, plant: Plant, keys: Sequence[str]) -> list[ReadingSeen]:
        """The live reading of each tag of ``plant`` named in ``keys``, as the rules see it now."""
        now = self.clock()
        readings = self.runtime.tags.read(keys) if keys else {}
        return [reading_seen(plant.tag(key), readings.get(key), now) for key in keys]

    def needed_components(self, *, item: str, operation: str) -> dict[str, float]:
        """What ``item`` draws of each part ``operation`` consumes, by part, in the routing's
        unit: the routing's quantity per product unit times the item's quantity (a lot of 500
        kg draws 500 times the per-kg quantity; see :func:`engine.commands.bom.needed`)."""
        check_names(item=item, operation=operation)
        with self.db.session() as session:
            found = find_item(session, item)
            plant = self.runtime.plants(session, found.config_version_id)
            _, consuming = operation_of(plant, found, operation)
        return {line.part: bom.needed(line, found) for line in consuming.consume}

    def check_component(self, *, item: str, scanned: ConsumptionInput) -> bom.PlannedConsumption:
        """What one scanned component would consume now (see
        :func:`engine.commands.bom.check_scan`)."""
        check_names(item=item)
        (scanned,) = _checked_scans([scanned])
        with self.db.session() as session:
            return bom.check_scan(
                session, self.runtime, item_number=item, scanned=scanned, now=self.clock()
            )

    # ------------------------------------------------------------ materials and equipment

    def lots(self, part: str | None = None) -> list[materials.LotInfo]:
        """See :func:`engine.commands.materials.lots_of`."""
        check_names(part=part)
        with self.db.session() as session:
            return materials.lots_of(session, part)

    def receive_lot(self, *, actor: str, part: str, lot: str, quantity: float) -> materials.LotInfo:
        """Receive a lot of a part the active config declares (see
        :func:`engine.commands.materials.receive_lot`)."""
        check_names(actor=actor, part=part, lot=lot)
        with self.db.transaction() as session:
            _, plant = versions.active_plant(session)
            return materials.receive_lot(session, plant, part, lot, quantity, actor=actor)

    def record_equipment_state(
        self,
        *,
        actor: str,
        name: str,
        state: str,
        at: dt.datetime,
        source: str,
        cause: str | None = None,
        reason: str = "",
    ) -> bool:
        """See :func:`engine.commands.equipment.record_state_change`."""
        check_names(actor=actor, name=name, state=state, source=source)
        with self.db.transaction() as session:
            return equipment.record_state_change(
                session, name, state, actor=actor, at=at, source=source, cause=cause, reason=reason
            )

    def ping(self) -> str:
        """Ask the database for one row; its URL (without the password) when it answers."""
        with self.db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return self.db.url


def _checked_scans(consume: Sequence[ConsumptionInput]) -> list[ConsumptionInput]:
    """The scans with a GS1 label's serial or lot in place of the scan (see
    :func:`engine.floor.gs1.scanned_number`), each checked as a name."""
    scans = [replace(c, lot=gs1.scanned_number(c.lot)) for c in consume]
    for scanned in scans:
        check_names(part=scanned.part, lot=scanned.lot)
    return scans
