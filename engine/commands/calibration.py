"""Calibrations: recording one, signed, and what a failed one does to the machine.

A calibration is recorded by someone holding one of :data:`CARE_ROLES`, who signs it with their
password and a meaning of :data:`CARE_MEANINGS`. It carries the result (pass or fail), who
performed it (a technician or an outside lab), the certificate (its reference, and the SHA-256 of
its file when attached) and the values measured. A passed calibration makes the next one due
after the interval the config declares (:mod:`engine.commands.care_dues`). A failed one puts the
machine down by hand (a lock-out that the next passed calibration lifts), makes its calibration
overdue, and leaves an impact list of what was made on it since its last passed calibration
(:mod:`engine.queries.impact`).

The request is checked (:func:`check_calibration`) before the signer's password is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import Equipment, Plant
from engine.access.people import require_role
from engine.access.signatures import Signed, Signer, content_hash, store
from engine.commands import care_dues, equipment, versions
from engine.errors import Forbidden, Invalid, NotFound
from engine.floor.environment import site_today
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.limits import NAME_MAX, TEXT_MAX
from engine.records.equipment_care import CALIBRATION_RESULTS, CalibrationRecord
from engine.records.tables import EquipmentRecord, EquipmentStateChange

CARE_ROLES = ("maintenance", "quality")
CARE_MEANINGS = ("Performed and verified", "Reviewed and approved")
MEASURED_MAX = 50  # measured values one calibration may carry
LOCK_OUT = "Calibration"  # how the state changes a calibration makes begin their reason
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class CalibrationInput:
    """What a calibration record says: the result (``pass`` or ``fail``), the day, who performed
    it, the certificate (reference and/or SHA-256 of its file), the values measured, a note."""

    result: str
    performed_on: dt.date
    performed_by: str
    certificate: str = ""
    certificate_sha256: str = ""
    measured: Mapping[str, float | str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True, slots=True)
class CalibrationInfo(Jsonable):
    """A recorded calibration, and the machine's calibration due date it left."""

    id: int
    equipment: str
    result: str
    performed_on: dt.date
    performed_by: str
    certificate: str
    certificate_sha256: str
    measured: Mapping[str, Any]
    note: str
    next_due: dt.date | None
    recorded_by: str
    recorded_at: dt.datetime


@dataclass(frozen=True, slots=True)
class CareTarget:
    """A machine found for a calibration or maintenance: its record, config and the version."""

    record: EquipmentRecord
    config: Equipment
    version_id: int
    plant: Plant


def care_target(session: Session, name: str) -> CareTarget:
    """The machine ``name`` in the database and in the active config; NotFound when either
    lacks it."""
    version_id, plant = versions.active_plant(session)
    record = session.get(EquipmentRecord, name)
    config = plant.equipment.get(name)
    if record is None or config is None:
        raise NotFound(
            f"There is no equipment '{name}' in the deployed config; check the name on the "
            "equipment page."
        )
    return CareTarget(record, config, version_id, plant)


def check_signer(session: Session, *, actor: str, signer: str, meaning: str, doing: str) -> None:
    """The actor may record care work (:data:`CARE_ROLES`) and signs it themself, stating one of
    :data:`CARE_MEANINGS`; ``doing`` names the act in messages."""
    require_role(session, actor, CARE_ROLES, doing)
    if signer != actor:
        raise Forbidden(
            f"The record must be signed by '{actor}' who makes it, not by '{signer}'; sign with "
            "your own username and password.",
            code="signature_not_actor",
        )
    if meaning not in CARE_MEANINGS:
        said = (
            f"'{meaning}' is not a meaning this signature can state"
            if meaning
            else "State the meaning of your signature"
        )
        allowed = " or ".join(f"'{m}'" for m in CARE_MEANINGS)
        raise Invalid(f"{said}; choose {allowed}.", field="meaning")


def check_performed(
    target: CareTarget, *, performed_on: dt.date, performed_by: str, now: dt.datetime, what: str
) -> None:
    """The day is not in the future at the site, and someone performed it."""
    check_performed_at(
        target.plant, performed_on=performed_on, performed_by=performed_by, now=now, what=what
    )


def check_performed_at(
    plant: Plant, *, performed_on: dt.date, performed_by: str, now: dt.datetime, what: str
) -> None:
    """The day is not in the future at the site of ``plant``, and someone performed it."""
    today = site_today(plant, now)
    if performed_on > today:
        raise Invalid(
            f"The {what} cannot be dated {performed_on}, after today ({today}) at the site.",
            field="performed_on",
        )
    if not performed_by.strip():
        raise Invalid(
            f"Say who performed the {what} (a technician or a lab).", field="performed_by"
        )


def sign_record(
    session: Session,
    signer: Signer,
    *,
    record_type: str,
    record_id: int,
    info: Jsonable,
    now: dt.datetime,
    version_id: int,
) -> list[audit.Change]:
    """Store the signer's signature on a care record, over ``info`` as recorded but for the
    moment it was recorded; its audit changes."""
    role = next(r for r in CARE_ROLES if r in signer.roles)
    content = {k: v for k, v in info.to_json().items() if k != "recorded_at"}
    return store(
        session,
        [Signed(signer, role)],
        record_type=record_type,
        record_id=record_id,
        digest=content_hash(content),
        now=now,
        version_id=version_id,
    )


def check_calibration(
    session: Session,
    *,
    name: str,
    actor: str,
    given: CalibrationInput,
    signer: str,
    meaning: str,
    now: dt.datetime,
) -> CareTarget:
    """Everything :func:`record_calibration` checks before the signature is verified; writes
    nothing. The machine it is for."""
    target = care_target(session, name)
    check_signer(
        session,
        actor=actor,
        signer=signer,
        meaning=meaning,
        doing=f"record a calibration of {name}",
    )
    check_performed(
        target,
        performed_on=given.performed_on,
        performed_by=given.performed_by,
        now=now,
        what="calibration",
    )
    check_calibration_content(given)
    if given.result == "pass" and target.config.calibration is None:
        raise Invalid(
            f"Equipment {name} declares no calibration interval, so the next due date is "
            f"unknown; add `calibration: {{every: 180 d}}` under {name} in site.yaml and deploy.",
            field="equipment",
        )
    return target


def check_calibration_content(given: CalibrationInput) -> None:
    """The result is pass or fail, a certificate is named or attached, the measured values fit,
    and a failure says what was out of tolerance (of a machine's or a tool's calibration)."""
    if given.result not in CALIBRATION_RESULTS:
        raise Invalid(
            f"'{given.result}' is not a calibration result; use pass or fail.", field="result"
        )
    if not given.certificate.strip() and not given.certificate_sha256:
        raise Invalid(
            "Give the calibration certificate's reference or attach its file.",
            field="certificate",
        )
    if given.certificate_sha256 and not _SHA256.match(given.certificate_sha256):
        raise Invalid(
            "The certificate's SHA-256 must be 64 lowercase hexadecimal digits.",
            field="certificate_sha256",
        )
    _check_measured(given.measured)
    if given.result == "fail" and not given.note.strip():
        raise Invalid(
            "A failed calibration needs a note saying what was out of tolerance.", field="note"
        )


def _check_measured(measured: Mapping[str, float | str]) -> None:
    if len(measured) > MEASURED_MAX:
        raise Invalid(
            f"A calibration carries at most {MEASURED_MAX} measured values; attach the full "
            "report as its certificate.",
            field="measured",
        )
    for name, value in measured.items():
        if not name.strip() or len(name) > NAME_MAX:
            raise Invalid(
                f"Each measured value needs a name of 1 to {NAME_MAX} characters.",
                field="measured",
            )
        if isinstance(value, str) and len(value) > TEXT_MAX:
            raise Invalid(
                f"The measured value '{name}' is longer than {TEXT_MAX:,} characters.",
                field="measured",
            )


def record_calibration(
    session: Session,
    *,
    name: str,
    actor: str,
    given: CalibrationInput,
    signer: Signer,
    now: dt.datetime,
) -> CalibrationInfo:
    """Record a signed calibration; the newest calibration sets the machine's due date, and a
    failed one puts the machine down (see the module docstring)."""
    target = check_calibration(
        session, name=name, actor=actor, given=given, signer=signer.username,
        meaning=signer.meaning, now=now,
    )  # fmt: skip
    passed = given.result == "pass"
    row = CalibrationRecord(
        equipment=name,
        result=given.result,
        performed_on=given.performed_on,
        performed_by=given.performed_by.strip(),
        certificate=given.certificate.strip(),
        certificate_sha256=given.certificate_sha256,
        measured=dict(given.measured),
        note=given.note.strip(),
        next_due=care_dues.next_due(target.config.calibration, given.performed_on)
        if passed
        else None,
        recorded_by=actor,
        recorded_at=now,
        config_version_id=target.version_id,
    )
    session.add(row)
    session.flush()
    info = _info(row)
    machine = target.record
    old = {"calibration_due": machine.calibration_due}
    latest = care_dues.latest_calibration(session, name)
    assert latest is not None  # the row just added
    machine.calibration_due = care_dues.calibration_due_after(latest, target.config)
    machine.updated_at = now
    signed = sign_record(
        session, signer, record_type="calibration", record_id=row.id, info=info, now=now,
        version_id=target.version_id,
    )  # fmt: skip
    new = {"calibration_due": machine.calibration_due, "calibration": row.id, "result": row.result}
    audit.record_many(
        session,
        [audit.Change(actor, "calibrate", "equipment", name, old, new, row.note), *signed],
    )
    if not passed:
        equipment.record_state_change(
            session, name, "down", actor=actor, at=now, source="manual",
            reason=f"{LOCK_OUT} #{row.id} failed: {row.note}",
        )  # fmt: skip
    elif _locked_out_by_calibration(session, name):
        equipment.record_state_change(
            session, name, "idle", actor=actor, at=now, source="manual",
            reason=f"{LOCK_OUT} #{row.id} passed",
        )  # fmt: skip
    session.flush()
    return info


def _locked_out_by_calibration(session: Session, name: str) -> bool:
    """Whether the machine is down by hand because a calibration failed (a passed one then
    lifts that lock-out; a lock-out for another reason stays)."""
    last = session.scalar(
        select(EquipmentStateChange)
        .where(EquipmentStateChange.equipment == name)
        .order_by(EquipmentStateChange.id.desc())
        .limit(1)
    )
    return (
        last is not None
        and last.state == "down"
        and last.source == "manual"
        and last.reason.startswith(f"{LOCK_OUT} #")
    )


def calibrations(session: Session, name: str, limit: int = 50) -> list[CalibrationInfo]:
    """A machine's calibrations, newest first."""
    rows = session.scalars(
        select(CalibrationRecord)
        .where(CalibrationRecord.equipment == name)
        .order_by(CalibrationRecord.performed_on.desc(), CalibrationRecord.id.desc())
        .limit(limit)
    )
    return [_info(row) for row in rows]


def calibration(session: Session, calibration_id: int) -> CalibrationInfo:
    """One calibration record."""
    row = session.get(CalibrationRecord, calibration_id)
    if row is None:
        raise NotFound(
            f"There is no calibration #{calibration_id}; check the number on the equipment page."
        )
    return _info(row)


def _info(row: CalibrationRecord) -> CalibrationInfo:
    return CalibrationInfo(
        id=row.id,
        equipment=row.equipment,
        result=row.result,
        performed_on=row.performed_on,
        performed_by=row.performed_by,
        certificate=row.certificate,
        certificate_sha256=row.certificate_sha256,
        measured=dict(row.measured),
        note=row.note,
        next_due=row.next_due,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
