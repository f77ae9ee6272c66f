"""The equipment-care facade: signed calibrations and maintenance, what is due, a machine's card,
the impact list of a failed calibration, and holding many units and lots at once.

It shares the production facade's command plumbing (transactions, idempotency keys, the signed
command's check → re-authenticate → record sequence); the work is done in
:mod:`engine.commands.calibration`, :mod:`engine.commands.maintenance`,
:mod:`engine.commands.bulk_hold` and :mod:`engine.queries.impact`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import calibration, equipment, maintenance, maintenance_orders, versions
from engine.commands.bulk_hold import BULK_MAX, BulkHoldResult, hold_items
from engine.commands.calibration import CalibrationInfo, CalibrationInput
from engine.commands.equipment import EquipmentStatus
from engine.commands.maintenance import DueWork, MaintenanceInfo, MaintenanceInput
from engine.commands.maintenance_orders import MaintenanceOrderInfo
from engine.errors import Conflict
from engine.facade.maintenance_orders import MaintenanceOrders
from engine.floor import usage
from engine.infra.idempotency import JsonResult
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names, check_texts
from engine.queries import impact
from engine.queries.impact import ImpactList

G = TypeVar("G")
G_contra = TypeVar("G_contra", contravariant=True)
R = TypeVar("R", bound=JsonResult)
R_co = TypeVar("R_co", bound=JsonResult, covariant=True)


class CareCheck(Protocol[G_contra]):
    """Checks a care record's request before its signer is re-authenticated; writes nothing."""

    def __call__(
        self, session: Session, *, name: str, actor: str, given: G_contra, signer: str,
        meaning: str, now: dt.datetime,
    ) -> object: ...  # fmt: skip


class CareRecord(Protocol[G_contra, R_co]):
    """Records a signed care record, checking everything again."""

    def __call__(
        self, session: Session, *, name: str, actor: str, given: G_contra, signer: Signer,
        now: dt.datetime,
    ) -> R_co: ...  # fmt: skip


@dataclass(frozen=True, slots=True)
class StateEntry(Jsonable):
    """One state change of a machine."""

    at: dt.datetime
    previous: str
    state: str
    source: str
    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class EquipmentCard(Jsonable):
    """A machine's page: its status, what is due, and its history of care and states."""

    status: EquipmentStatus
    description: str
    calibration_every_days: int | None
    maintenance_every_days: int | None
    maintenance_every_uses: int | None
    uses_since_maintenance: int | None  # uses since its last maintenance (None: not counted)
    due: tuple[DueWork, ...]
    calibrations: tuple[CalibrationInfo, ...]
    maintenance: tuple[MaintenanceInfo, ...]
    states: tuple[StateEntry, ...]
    usage_counter: str | None = None  # the usage counter tag, when maintenance counts one
    counter_value: float | None = None  # its value now, when it can be read
    usage_unknown: str = ""  # why the uses cannot be counted now (the interlock blocks)
    orders: tuple[MaintenanceOrderInfo, ...] = ()  # its maintenance orders, newest first


class EquipmentCare(MaintenanceOrders):
    """Calibration, maintenance, maintenance orders and bulk holds, over the production
    facade's plumbing."""

    def record_calibration(
        self,
        *,
        actor: str,
        equipment_name: str,
        given: CalibrationInput,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> CalibrationInfo:
        """A signed calibration (see :func:`engine.commands.calibration.record_calibration`)."""
        check_names(
            actor=actor, equipment=equipment_name, result=given.result,
            performed_by=given.performed_by, certificate=given.certificate,
            certificate_sha256=given.certificate_sha256,
        )  # fmt: skip
        check_texts(note=given.note)
        return self._record_care(
            "calibration", actor=actor, equipment_name=equipment_name, given=given,
            request_given=[
                given.result, given.performed_on.isoformat(), given.performed_by,
                given.certificate, given.certificate_sha256, dict(given.measured), given.note,
            ],
            signature=signature, idempotency_key=idempotency_key,
            check=calibration.check_calibration, record=calibration.record_calibration,
            load=CalibrationInfo.from_json,
        )  # fmt: skip

    def record_maintenance(
        self,
        *,
        actor: str,
        equipment_name: str,
        given: MaintenanceInput,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> MaintenanceInfo:
        """Signed maintenance (see :func:`engine.commands.maintenance.record_maintenance`)."""
        check_names(actor=actor, equipment=equipment_name, performed_by=given.performed_by)
        check_texts(work_done=given.work_done)
        with self.db.session() as session:
            readings = self.counter_readings(versions.active_plant(session)[1])

        def check(
            session: Session, *, name: str, actor: str, given: MaintenanceInput, signer: str,
            meaning: str, now: dt.datetime,
        ) -> object:  # fmt: skip
            return maintenance.check_maintenance(
                session, name=name, actor=actor, given=given, signer=signer, meaning=meaning,
                now=now, readings=readings,
            )  # fmt: skip

        def record(
            session: Session, *, name: str, actor: str, given: MaintenanceInput, signer: Signer,
            now: dt.datetime,
        ) -> MaintenanceInfo:  # fmt: skip
            return maintenance.record_maintenance(
                session, name=name, actor=actor, given=given, signer=signer, now=now,
                readings=readings,
            )  # fmt: skip

        return self._record_care(
            "maintenance", actor=actor, equipment_name=equipment_name, given=given,
            request_given=[given.performed_on.isoformat(), given.performed_by, given.work_done],
            signature=signature, idempotency_key=idempotency_key,
            check=check, record=record, load=MaintenanceInfo.from_json,
        )  # fmt: skip

    def _record_care(
        self,
        kind: str,
        *,
        actor: str,
        equipment_name: str,
        given: G,
        request_given: list[Any],
        signature: SignatureInput,
        idempotency_key: str | None,
        check: CareCheck[G],
        record: CareRecord[G, R],
        load: Callable[[Mapping[str, Any]], R],
    ) -> R:
        """The signed command ``record_<kind>`` both care records share: ``check`` the request,
        re-authenticate the one signer, then ``record`` (``request_given`` is what the
        idempotency key is bound to of ``given``)."""
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {
            "actor": actor,
            "equipment": equipment_name,
            "given": request_given,
            "signer": [signature.username, meaning],
        }

        def checked(session: Session, now: dt.datetime) -> None:
            check(
                session, name=equipment_name, actor=actor, given=given,
                signer=signature.username, meaning=meaning, now=now,
            )  # fmt: skip

        def recorded(session: Session, now: dt.datetime, signers: tuple[Signer, ...]) -> R:
            (signer,) = signers
            return record(
                session, name=equipment_name, actor=actor, given=given, signer=signer, now=now
            )

        return self.commands.signed(
            f"record_{kind}", request, idempotency_key, check=checked,
            sign=lambda: self.commands.signers([signature], f"equipment/{equipment_name}/{kind}"),
            fn=recorded, load=load,
        )  # fmt: skip

    # ------------------------------------------------------------ holds

    def hold_items(
        self,
        *,
        actor: str,
        items: Sequence[str],
        reason: str,
        idempotency_key: str | None = None,
    ) -> BulkHoldResult:
        """Hold every listed unit and lot in one transaction (see
        :func:`engine.commands.bulk_hold.hold_items`)."""
        check_names(actor=actor)
        for number in items:
            check_names(item=number)
        check_texts(reason=reason)
        return self.commands.run(
            "hold_items",
            {"actor": actor, "items": list(items), "reason": reason},
            idempotency_key,
            lambda s, now: hold_items(s, numbers=items, actor=actor, reason=reason, now=now),
            BulkHoldResult.from_json,
        )

    def hold_impact(
        self, *, actor: str, calibration_id: int, reason: str, idempotency_key: str | None = None
    ) -> BulkHoldResult:
        """Hold everything a failed calibration's impact list names that a hold applies to, the
        oldest :data:`~engine.commands.bulk_hold.BULK_MAX` at a time (``remaining`` says how
        many are left for the next call)."""
        check_names(actor=actor)
        check_texts(reason=reason)

        def hold(session: Session, now: dt.datetime) -> BulkHoldResult:
            window = impact.calibration_window(session, calibration_id, self._zone(session))
            numbers = impact.impacted_numbers(session, window)
            if not numbers:
                raise Conflict(
                    f"Nothing made on {window.equipment} since its last passed calibration is "
                    "left to hold."
                )
            done = hold_items(
                session, numbers=numbers[:BULK_MAX], actor=actor, reason=reason, now=now,
                source=f"calibration #{calibration_id}",
            )  # fmt: skip
            return replace(done, remaining=max(0, len(numbers) - BULK_MAX))

        return self.commands.run(
            "hold_impact",
            {"actor": actor, "calibration": calibration_id, "reason": reason},
            idempotency_key,
            hold,
            BulkHoldResult.from_json,
        )

    # ------------------------------------------------------------ queries

    def impact(self, calibration_id: int, *, limit: int = impact.PAGE) -> ImpactList:
        """See :func:`engine.queries.impact.impact_list`."""
        with self.db.session() as session:
            window = impact.calibration_window(session, calibration_id, self._zone(session))
            return impact.impact_list(session, calibration_id, window, limit=limit)

    def calibration(self, calibration_id: int) -> CalibrationInfo:
        with self.db.session() as session:
            return calibration.calibration(session, calibration_id)

    def equipment_list(self) -> list[EquipmentStatus]:
        """Every machine's status, by name."""
        with self.db.session() as session:
            return equipment.all_status(session)

    def due_work(self) -> list[DueWork]:
        """See :func:`engine.commands.maintenance.due_list`."""
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            readings = self.counter_readings(plant)
            return maintenance.due_list(session, plant, readings, self.clock())

    def equipment_card(self, name: str) -> EquipmentCard:
        """A machine's status, what is due, and its calibrations, maintenance and states."""
        check_names(name=name)
        with self.db.session() as session:
            target = calibration.care_target(session, name)
            config = target.config
            now = self.clock()
            readings = self.counter_readings(target.plant)
            due = maintenance.due_list(session, target.plant, readings, now)
            used = usage.maintenance_usage(session, target.plant, config, readings, now)
            states = equipment.state_history(session, name)
            return EquipmentCard(
                status=equipment.status(session, name),
                description=config.description,
                calibration_every_days=config.calibration.every_days
                if config.calibration
                else None,
                maintenance_every_days=config.maintenance.every_days
                if config.maintenance
                else None,
                maintenance_every_uses=used.limit if used else None,
                uses_since_maintenance=used.uses if used else None,
                due=tuple(d for d in due if d.equipment == name),
                calibrations=tuple(calibration.calibrations(session, name)),
                maintenance=tuple(maintenance.maintenance_history(session, name)),
                states=tuple(
                    StateEntry(s.at, s.previous, s.state, s.source, s.actor, s.reason)
                    for s in reversed(states[-50:])
                ),
                usage_counter=used.counter if used else None,
                counter_value=used.reading if used else None,
                usage_unknown=used.unknown if used else "",
                orders=tuple(maintenance_orders.orders(session, equipment=name, limit=20)),
            )

    def _zone(self, session: Session) -> ZoneInfo:
        _, plant = versions.active_plant(session)
        return ZoneInfo(plant.site.timezone)
