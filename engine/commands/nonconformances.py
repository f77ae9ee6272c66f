"""Nonconformances: a defect recorded on a unit or lot being made, on a received (supplier) lot,
or on a machine, with the quantity affected, a defect code from the site's list, photos and the
CAPA it is handled under; and how they are read back with their dispositions.

Opening one stops its subject: an item becomes ``nonconforming``, an available lot goes on hold
(a lot in quarantine stays there). A machine's nonconformance records the defect; the machine's
state is the equipment's own business. The decision on it is :mod:`engine.commands.dispositions`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dsl.diagnostics import did_you_mean
from dsl.model import Plant
from engine.access.people import full_name, require_role
from engine.commands import materials
from engine.commands.versions import require_active_version_id
from engine.errors import Conflict, Invalid, NotFound
from engine.floor.items import find_item, state_change, update_state
from engine.floor.review_board import board_status
from engine.floor.runtime import Runtime
from engine.infra import attachments, audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.production import Disposition, Item, Nonconformance, Signature, table
from engine.records.quality import CapaLink, NonconformancePhoto
from engine.records.tables import Lot

CAPA_ROLES = ("quality",)
OPEN_ROLES = ("operator", "supervisor", "quality", "stores", "maintenance", "engineer")

_ncs = table(Nonconformance)
_items = table(Item)
_lots = table(Lot)
_INSERT_NC = insert_rows(_ncs, returning=_ncs.c.id)


@dataclass(frozen=True, slots=True)
class BoardSignature(Jsonable):
    """One signature on a disposition: who, in which role, stating what, when."""

    username: str
    full_name: str
    role: str
    meaning: str
    signed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DispositionInfo(Jsonable):
    """A proposed disposition and its signatures: ``pending`` until every required role has
    signed (``missing_roles`` says who is still to sign), then ``effective``; ``rejected`` once
    a board member rejected it."""

    id: int
    decision: str
    target_operation: str | None
    quantity: float | None
    reason: str
    proposed_by: str
    proposed_at: dt.datetime
    required_roles: tuple[str, ...]
    signatures: tuple[BoardSignature, ...]
    status: str
    missing_roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NonconformanceInfo(Jsonable):
    """A nonconformance, the dispositions proposed on it, and once one took effect, the
    decision (``decided_by`` proposed it; ``decided_at`` is when its last signature came)."""

    id: int
    item: str | None
    operation: str | None
    gate: str | None
    defect_code: str
    description: str
    opened_by: str
    opened_at: dt.datetime
    decision: str | None = None
    target_operation: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    lot: str | None = None
    """``part/number`` of the lot it is about."""
    equipment: str | None = None
    quantity: float | None = None
    dispositions: tuple[DispositionInfo, ...] = ()
    capa: str | None = None
    capa_url: str | None = None
    photos: tuple[str, ...] = ()
    """SHA-256 of each photo, oldest first."""
    config_version_id: int | None = None

    json_properties = ("open", "subject", "pending")

    @property
    def open(self) -> bool:
        return self.decision is None

    @property
    def subject(self) -> str:
        """What it is about, as people read it: "unit HA-0001", "lot TERM-22/T-001"..."""
        if self.item is not None:
            return self.item
        if self.lot is not None:
            return f"lot {self.lot}"
        return f"equipment {self.equipment}"

    @property
    def pending(self) -> DispositionInfo | None:
        """The disposition waiting for signatures, if any."""
        newest = self.dispositions[-1] if self.dispositions else None
        return newest if newest is not None and newest.status == "pending" else None


@dataclass(frozen=True, slots=True)
class Subject:
    """What a nonconformance is opened on: exactly one of a unit or lot being made (``item``), a
    lot of material (``part`` and ``lot``), or a machine (``equipment``)."""

    item: str | None = None
    part: str | None = None
    lot: str | None = None
    equipment: str | None = None


def check_subject(subject: Subject) -> None:
    """Invalid unless exactly one subject is named (a lot with its part)."""
    named = [subject.item is not None, subject.lot is not None, subject.equipment is not None]
    if sum(named) != 1:
        raise Invalid(
            "Say what the nonconformance is about: one unit or lot being made (item), one lot of "
            "material (part and lot), or one machine (equipment).",
            field="item",
        )
    if subject.lot is not None and not subject.part:
        raise Invalid("Name the part of lot '" + subject.lot + "'.", field="part")


def _defect_code(plant: Plant, defect_code: str) -> str:
    code = defect_code.strip()
    if not code:
        raise Invalid("Give a defect code for the nonconformance.", field="defect_code")
    listed = plant.site.quality.defect_codes if plant.site.quality is not None else {}
    if listed and code not in listed:
        hint = did_you_mean(code, listed)
        raise Invalid(
            f"'{code}' is not a defect code of site '{plant.site.name}'; "
            + (hint if hint else "use one of " + ", ".join(listed)),
            field="defect_code",
        )
    return code


def _check_quantity(quantity: float | None, most: float | None, unit: str) -> None:
    if quantity is None:
        return
    if not quantity > 0:
        raise Invalid("The quantity affected must be more than 0.", field="quantity")
    if most is not None and quantity > most:
        raise Invalid(
            f"The quantity affected ({quantity:g} {unit}) is more than there is ({most:g} {unit}).",
            field="quantity",
        )


def open_nonconformance(
    session: Session,
    runtime: Runtime,
    *,
    subject: Subject,
    actor: str,
    defect_code: str,
    description: str,
    now: dt.datetime,
    quantity: float | None = None,
) -> NonconformanceInfo:
    """Record a defect on ``subject``; an item stops and an available lot goes on hold until a
    disposition takes effect."""
    check_subject(subject)
    full_name(session, actor)
    text = need_text(description, "open a nonconformance")
    values: dict[str, Any] = {"run_id": None, "gate": None, "quantity": quantity}
    if subject.item is not None:
        return _on_item(
            session,
            runtime,
            subject.item,
            actor=actor,
            defect_code=defect_code,
            text=text,
            values=values,
            now=now,
        )
    require_role(session, actor, OPEN_ROLES, "open a nonconformance")
    version_id = require_active_version_id(session)
    plant = runtime.plants(session, version_id)
    code = _defect_code(plant, defect_code)
    values |= {"defect_code": code, "description": text, "opened_by": actor, "opened_at": now}
    values |= {"config_version_id": version_id, "item_id": None, "operation": None}
    values |= {"continue_at": None}
    changes: list[audit.Change] = []
    if subject.equipment is not None:
        if subject.equipment not in plant.equipment:
            hint = did_you_mean(subject.equipment, plant.equipment)
            raise NotFound(
                f"Site '{plant.site.name}' has no equipment '{subject.equipment}'"
                + (f"; {hint}" if hint else "")
            )
        _check_quantity(quantity, None, "")
        nc_id = _insert(session, values | {"lot_id": None, "equipment": subject.equipment})
    else:
        lot = materials.lot_row(session, subject.part or "", subject.lot or "")
        _check_quantity(quantity, lot.quantity, lot.unit)
        nc_id = _insert(session, values | {"lot_id": lot.id, "equipment": None})
        if lot.status == materials.AVAILABLE:
            reason = f"NC-{nc_id:04d} {code}: {text}"
            materials.change_lot(
                session,
                lot,
                actor=actor,
                action="nonconformance",
                status=materials.ON_HOLD,
                reason=reason,
                hold_reason=reason,
            )
    changes.append(
        audit.Change(actor, "open", "nonconformance", nc_id, None, values_shown(values), text)
    )
    audit.record_many(session, changes)
    return nonconformance(session, nc_id)


def on_equipment_by_rule(
    session: Session,
    *,
    equipment: str,
    defect_code: str,
    description: str,
    actor: str,
    version_id: int,
    now: dt.datetime,
) -> int:
    """A nonconformance the engine itself opens on a machine (an event rule firing): no person,
    so no role is checked, and the code is the engine's (``event-<rule>``). Its id."""
    values = {
        "run_id": None, "gate": None, "quantity": None, "item_id": None, "lot_id": None,
        "equipment": equipment, "operation": None, "continue_at": None,
        "defect_code": defect_code, "description": description, "opened_by": actor,
        "opened_at": now, "config_version_id": version_id,
    }  # fmt: skip
    nc_id = _insert(session, values)
    audit.record(
        session, actor=actor, action="open", entity="nonconformance", entity_id=nc_id,
        old=None, new=values_shown(values), reason=description,
    )  # fmt: skip
    return nc_id


def values_shown(values: dict[str, Any]) -> dict[str, Any]:
    """What the audit row of an opened nonconformance says."""
    return {
        k: v
        for k, v in values.items()
        if k in ("defect_code", "equipment", "lot_id", "quantity") and v is not None
    }


def _insert(session: Session, values: dict[str, Any]) -> int:
    nc_id: int = Sql(session).scalar(_INSERT_NC, values)
    return nc_id


def _on_item(
    session: Session,
    runtime: Runtime,
    number: str,
    *,
    actor: str,
    defect_code: str,
    text: str,
    values: dict[str, Any],
    now: dt.datetime,
) -> NonconformanceInfo:
    item = find_item(session, number)
    code = _defect_code(runtime.plants(session, item.config_version_id), defect_code)
    if item.status == "nonconforming":
        raise Conflict(
            f"{item.label} already has an open nonconformance ({item.status_reason}); add to it "
            "or disposition it first."
        )
    if item.status == "scrapped":
        raise Conflict(f"{item.label} was scrapped; there is nothing left to disposition.")
    _check_quantity(values["quantity"], item.quantity, "")
    nc_id = _insert(
        session,
        values
        | {
            "item_id": item.id,
            "lot_id": None,
            "equipment": None,
            "operation": item.current_operation,
            "defect_code": code,
            "description": text,
            "continue_at": item.current_operation,
            "opened_by": actor,
            "opened_at": now,
            "config_version_id": item.config_version_id,
        },
    )
    changes = {"status": "nonconforming", "status_reason": f"{code}: {text}"}
    moved = update_state(session, item, changes, now)
    audit.record_many(
        session,
        [
            audit.Change(actor, "open", "nonconformance", nc_id, None, {"item": item.number}, text),
            state_change(item, moved, actor=actor, action="nonconformance", reason=text),
        ],
    )
    return nonconformance(session, nc_id)


def need_text(text: str, doing: str) -> str:
    """``text`` stripped; Invalid when there is none."""
    said = text.strip()
    if not said:
        raise Invalid(
            f"Give a reason to {doing}; it goes into the record and the audit trail.",
            field="reason",
        )
    return said


# ---------------------------------------------------------------- CAPA and photos


def link_capa(
    session: Session,
    runtime: Runtime,
    *,
    nonconformance_id: int,
    actor: str,
    capa: str,
    url: str | None,
    now: dt.datetime,
) -> NonconformanceInfo:
    """Record that a nonconformance is handled under CAPA ``capa`` of the site's QMS; the URL is
    the one given, else the site's ``capa_link`` with the id filled in."""
    nc = nonconformance(session, nonconformance_id)
    require_role(session, actor, CAPA_ROLES, f"link nonconformance #{nc.id} to a CAPA")
    capa_id = capa.strip()
    if not capa_id:
        raise Invalid("Give the CAPA's id in your quality system.", field="capa")
    link = (url or "").strip()
    if not link:
        policy = runtime.plants(session, nc.config_version_id or 0).site.quality
        if policy is None or policy.capa_link is None:
            raise Invalid(
                "Give the CAPA's URL: the site's config declares no capa_link to make it from.",
                field="url",
            )
        link = policy.capa_link.replace("{capa}", capa_id)
    if not link.startswith(("https://", "http://")):
        raise Invalid("The CAPA's URL must start with https:// or http://.", field="url")
    Sql(session).execute(
        insert_rows(table(CapaLink)),
        {"nonconformance_id": nc.id, "capa": capa_id, "url": link, "linked_by": actor, "at": now},
    )
    audit.record(
        session,
        actor=actor,
        action="link_capa",
        entity="nonconformance",
        entity_id=nc.id,
        old={"capa": nc.capa},
        new={"capa": capa_id, "url": link},
        reason="",
    )
    return nonconformance(session, nc.id)


def add_photo(
    session: Session,
    *,
    nonconformance_id: int,
    actor: str,
    photo: attachments.Upload,
    now: dt.datetime,
) -> NonconformanceInfo:
    """Keep a photo of the defect with the nonconformance (stored by its SHA-256)."""
    nc = nonconformance(session, nonconformance_id)
    full_name(session, actor)
    digest = attachments.store_photo(session, photo, actor=actor, now=now, field="photo")
    Sql(session).execute(
        insert_rows(table(NonconformancePhoto)),
        {"nonconformance_id": nc.id, "sha256": digest, "added_by": actor, "at": now},
    )
    audit.record(
        session,
        actor=actor,
        action="add_photo",
        entity="nonconformance",
        entity_id=nc.id,
        old=None,
        new={"photo": digest},
        reason="",
    )
    return nonconformance(session, nc.id)


def photo(session: Session, *, nonconformance_id: int, sha256: str) -> attachments.Upload:
    """A photo of the nonconformance; NotFound unless it is one of its photos."""
    if sha256 not in nonconformance(session, nonconformance_id).photos:
        raise NotFound(f"Nonconformance #{nonconformance_id} has no photo {sha256[:12]}….")
    return attachments.fetch(session, sha256)


# ---------------------------------------------------------------- reading


def _rows() -> Select[Any]:
    """Nonconformances with their item number and lot label."""
    return select(
        _ncs,
        _items.c.number.label("item_number"),
        (_lots.c.part + "/" + _lots.c.number).label("lot_label"),
    ).select_from(
        _ncs.outerjoin(_items, _items.c.id == _ncs.c.item_id).outerjoin(
            _lots, _lots.c.id == _ncs.c.lot_id
        )
    )


def nonconformance(session: Session, nonconformance_id: int) -> NonconformanceInfo:
    """One nonconformance with its dispositions, CAPA and photos."""
    row = session.execute(_rows().where(_ncs.c.id == nonconformance_id)).one_or_none()
    if row is None:
        raise NotFound(
            f"There is no nonconformance #{nonconformance_id}; check the number in the list of "
            "open nonconformances."
        )
    return _infos(session, [row])[0]


def nonconformances(
    session: Session, *, open_only: bool = False, item_number: str | None = None
) -> list[NonconformanceInfo]:
    """Nonconformances, newest first; only the open ones, or one item's, when asked."""
    query = _rows().order_by(_ncs.c.id.desc())
    if item_number is not None:
        query = query.where(_items.c.number == item_number)
    found = _infos(session, list(session.execute(query)))
    return [n for n in found if n.open] if open_only else found


def _infos(session: Session, rows: Sequence[Any]) -> list[NonconformanceInfo]:
    ids = [row.id for row in rows]
    decided = dispositions_of(session, ids)
    capas: dict[int, tuple[str, str]] = {}
    for link in session.scalars(
        select(CapaLink).where(CapaLink.nonconformance_id.in_(ids)).order_by(CapaLink.id)
    ):
        capas[link.nonconformance_id] = (link.capa, link.url)
    photos: dict[int, list[str]] = defaultdict(list)
    for photo in session.scalars(
        select(NonconformancePhoto)
        .where(NonconformancePhoto.nonconformance_id.in_(ids))
        .order_by(NonconformancePhoto.id)
    ):
        photos[photo.nonconformance_id].append(photo.sha256)
    return [
        _info(row, tuple(decided.get(row.id, ())), capas.get(row.id), tuple(photos[row.id]))
        for row in rows
    ]


def _info(
    row: Any,
    decided: tuple[DispositionInfo, ...],
    capa: tuple[str, str] | None,
    photos: tuple[str, ...],
) -> NonconformanceInfo:
    effective = next((d for d in decided if d.status == "effective"), None)
    return NonconformanceInfo(
        id=row.id,
        item=row.item_number,
        operation=row.operation,
        gate=row.gate,
        defect_code=row.defect_code,
        description=row.description,
        opened_by=row.opened_by,
        opened_at=row.opened_at,
        decision=effective.decision if effective else None,
        target_operation=effective.target_operation if effective else None,
        decided_by=effective.proposed_by if effective else None,
        decided_at=effective.signatures[-1].signed_at if effective else None,
        lot=row.lot_label,
        equipment=row.equipment,
        quantity=row.quantity,
        dispositions=decided,
        capa=capa[0] if capa else None,
        capa_url=capa[1] if capa else None,
        photos=photos,
        config_version_id=row.config_version_id,
    )


def dispositions_of(session: Session, nc_ids: Sequence[int]) -> dict[int, list[DispositionInfo]]:
    """The dispositions proposed on each nonconformance, oldest first, with their signatures."""
    rows = session.scalars(
        select(Disposition)
        .where(Disposition.nonconformance_id.in_(nc_ids))
        .order_by(Disposition.id)
    ).all()
    signed: dict[int, list[BoardSignature]] = defaultdict(list)
    for s in session.scalars(
        select(Signature)
        .where(
            Signature.record_type == "disposition", Signature.record_id.in_([d.id for d in rows])
        )
        .order_by(Signature.id)
    ):
        signed[s.record_id].append(
            BoardSignature(s.username, s.full_name, s.role, s.meaning, s.signed_at)
        )
    found: dict[int, list[DispositionInfo]] = defaultdict(list)
    for d in rows:
        signatures = tuple(signed[d.id])
        status, missing = board_status(
            tuple(d.required_roles), ((s.role, s.meaning) for s in signatures)
        )
        found[d.nonconformance_id].append(
            DispositionInfo(
                id=d.id,
                decision=d.decision,
                target_operation=d.target_operation,
                quantity=d.quantity,
                reason=d.reason,
                proposed_by=d.actor,
                proposed_at=d.at,
                required_roles=tuple(d.required_roles),
                signatures=signatures,
                status=status,
                missing_roles=missing,
            )
        )
    return found
