"""The materials facade: goods-in receiving, lot status with e-signatures, split, merge, moves,
expiry, inventory, FEFO proposals and work-order kits.

Like :class:`engine.facade.production.Ferrule`, every command runs in one transaction, may
carry an idempotency key, checks its texts against :mod:`engine.infra.limits` first and writes
audit rows for every change. A signed status change checks the request (a read), re-authenticates
its signers with no session open, then records. Lots belong to the site, not to a config
version: commands read the active plant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.access.signatures import (
    SignatureInput,
    SignatureRefused,
    Signer,
    audit_refusal,
    authenticate,
    check_passwords,
)
from engine.commands import kitting, lots, materials, versions
from engine.commands.kitting import Kit
from engine.commands.lots import FefoLot, Receipt, StatusAction
from engine.commands.materials import LotInfo
from engine.floor.environment import site_today
from engine.infra import attachments
from engine.infra.attachments import Upload
from engine.infra.db import Database
from engine.infra.idempotency import JsonResult, run_once_in, run_or_replay, stored_result
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names, check_texts
from engine.queries.inventory import ON_HAND, StockRow, inventory, shown_status
from engine.records.base import utcnow

R = TypeVar("R", bound=JsonResult)
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class LotLinkInfo(Jsonable):
    """A split or merge link of a lot: ``from`` a parent lot or ``into`` a child lot."""

    direction: str
    kind: str
    lot: str
    quantity: float


@dataclass(frozen=True, slots=True)
class LotDetail(Jsonable):
    """A lot with its status as of today, its genealogy links and its certificate's name."""

    lot: LotInfo
    status: str
    links: tuple[LotLinkInfo, ...]
    certificate_filename: str


@dataclass(frozen=True, slots=True)
class ExpiredLots(Jsonable):
    """The lots an expiry sweep marked expired."""

    lots: tuple[LotInfo, ...]


class Materials:
    """Material lots, inventory and kits of one database (the active config's site)."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or utcnow

    def _command(
        self,
        name: str,
        request: Mapping[str, Any],
        key: str | None,
        fn: Callable[[Session, Plant, dt.datetime], R],
        load: Callable[[Mapping[str, Any]], R],
    ) -> R:
        now = self.clock()
        return run_once_in(
            self.db,
            key,
            name,
            request,
            lambda session: fn(session, versions.active_plant(session)[1], now),
            load=load,
        )

    # ------------------------------------------------------------ receiving

    def receive(
        self,
        *,
        actor: str,
        receipt: Receipt,
        certificate: Upload | None = None,
        idempotency_key: str | None = None,
    ) -> LotInfo:
        """Book a delivery in (see :func:`engine.commands.lots.receive`)."""
        check_names(
            actor=actor, part=receipt.part, supplier_lot=receipt.supplier_lot,
            number=receipt.number, supplier=receipt.supplier, unit=receipt.unit,
            location=receipt.location,
        )  # fmt: skip
        if certificate is not None:
            lots.check_certificate(certificate)
        request = {
            "actor": actor,
            "receipt": [
                receipt.part, receipt.supplier_lot, receipt.quantity, receipt.unit,
                receipt.number, receipt.supplier, str(receipt.manufactured_on),
                str(receipt.expires_on), receipt.location,
            ],
            "certificate": certificate.sha256() if certificate else None,
        }  # fmt: skip
        return self._command(
            "receive_lot",
            request,
            idempotency_key,
            lambda s, plant, now: lots.receive(
                s, plant, receipt, actor=actor, now=now, certificate=certificate
            ),
            LotInfo.from_json,
        )

    def certificate(self, sha256: str) -> Upload:
        """A stored certificate of analysis by its SHA-256."""
        check_names(sha256=sha256)
        with self.db.session() as session:
            return attachments.fetch(session, sha256)

    # ------------------------------------------------------------ status

    def change_status(
        self,
        *,
        actor: str,
        action: StatusAction,
        part: str,
        lot: str,
        reason: str,
        quantity: float | None = None,
        signatures: Sequence[SignatureInput] = (),
        idempotency_key: str | None = None,
    ) -> LotInfo:
        """Release, hold or scrap a lot, signed where the site asks (see
        :func:`engine.commands.lots.change_status`)."""
        check_names(actor=actor, part=part, lot=lot)
        check_texts(reason=reason)
        for signature in signatures:
            check_names(username=signature.username)
            check_texts(meaning=signature.meaning)
        check_passwords(signatures)
        request = {
            "actor": actor, "action": action, "part": part, "lot": lot, "reason": reason,
            "quantity": quantity,
            "signers": [[s.username, s.meaning.strip()] for s in signatures],
        }  # fmt: skip

        def record(
            session: Session, plant: Plant, now: dt.datetime, signers: Sequence[Signer]
        ) -> LotInfo:
            return lots.change_status(
                session, plant, action, part, lot, actor=actor, reason=reason, now=now,
                signers=signers, quantity=quantity,
            )  # fmt: skip

        name = f"{action}_lot"
        if not signatures:
            return self._command(
                name, request, idempotency_key,
                lambda s, plant, now: record(s, plant, now, ()), LotInfo.from_json,
            )  # fmt: skip
        now = self.clock()

        def work() -> LotInfo:
            stored = stored_result(self.db, idempotency_key, name, request, load=LotInfo.from_json)
            if stored is not None:
                return stored
            with self.db.session() as session:
                plant = versions.active_plant(session)[1]
                lots.check_status_change(
                    session, plant, action, part=part, number=lot, reason=reason
                )
            try:
                signers = authenticate(self.db, signatures)
            except SignatureRefused as refused:
                with self.db.transaction() as session:
                    audit_refusal(session, refused, record=f"lot/{part}/{lot}")
                raise
            return run_once_in(
                self.db, idempotency_key, name, request,
                lambda s: record(s, versions.active_plant(s)[1], now, signers),
                load=LotInfo.from_json,
            )  # fmt: skip

        return run_or_replay(self.db, idempotency_key, name, request, work, load=LotInfo.from_json)

    def signature_meaning(self, action: str) -> tuple[str, str] | None:
        """(role, meaning) of the e-signature the active site asks for ``action`` on a lot."""
        _, plant = versions.active_plant(self.db)
        needed = lots.signature_needed(plant, action)
        return None if needed is None else (needed.role, needed.meaning)

    def expire_due(self, *, actor: str, idempotency_key: str | None = None) -> ExpiredLots:
        """Mark every lot past its expiry date expired (see
        :func:`engine.commands.lots.expire_due`); ``actor`` asked for the sweep."""
        check_names(actor=actor)
        return self._command(
            "expire_lots",
            {"actor": actor},
            idempotency_key,
            lambda s, plant, now: ExpiredLots(tuple(lots.expire_due(s, plant, now=now))),
            ExpiredLots.from_json,
        )

    # ------------------------------------------------------------ split, merge, move

    def split(
        self,
        *,
        actor: str,
        part: str,
        lot: str,
        quantity: float,
        new_number: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> LotInfo:
        """See :func:`engine.commands.lots.split`."""
        check_names(actor=actor, part=part, lot=lot, new_number=new_number)
        check_texts(reason=reason)
        request = {"actor": actor, "part": part, "lot": lot, "quantity": quantity,
                   "new": new_number, "reason": reason}  # fmt: skip
        return self._command(
            "split_lot", request, idempotency_key,
            lambda s, plant, now: lots.split(
                s, plant, part, lot, quantity, new_number=new_number, actor=actor,
                reason=reason, now=now,
            ),
            LotInfo.from_json,
        )  # fmt: skip

    def merge(
        self,
        *,
        actor: str,
        part: str,
        lots_merged: Sequence[str],
        new_number: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> LotInfo:
        """See :func:`engine.commands.lots.merge`."""
        check_names(actor=actor, part=part, new_number=new_number)
        for number in lots_merged:
            check_names(lot=number)
        check_texts(reason=reason)
        request = {"actor": actor, "part": part, "lots": list(lots_merged),
                   "new": new_number, "reason": reason}  # fmt: skip
        return self._command(
            "merge_lots", request, idempotency_key,
            lambda s, plant, now: lots.merge(
                s, plant, part, lots_merged, new_number=new_number, actor=actor,
                reason=reason, now=now,
            ),
            LotInfo.from_json,
        )  # fmt: skip

    def move(
        self,
        *,
        actor: str,
        part: str,
        lot: str,
        location: str,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> LotInfo:
        """See :func:`engine.commands.lots.move`."""
        check_names(actor=actor, part=part, lot=lot, location=location)
        check_texts(reason=reason)
        request = {"actor": actor, "part": part, "lot": lot, "location": location,
                   "reason": reason}  # fmt: skip
        return self._command(
            "move_lot", request, idempotency_key,
            lambda s, plant, _: lots.move(
                s, plant, part, lot, location, actor=actor, reason=reason
            ),
            LotInfo.from_json,
        )  # fmt: skip

    # ------------------------------------------------------------ reading

    def lot(self, part: str, number: str) -> LotDetail:
        """One lot with its status today, links and certificate name."""
        check_names(part=part, lot=number)
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            info = materials.find_lot(session, part, number)
            links = tuple(LotLinkInfo(*link) for link in lots.lot_links(session, info.id))
            filename = attachments.stored_name(session, info.certificate_sha256)
            today = site_today(plant, self.clock())
            return LotDetail(
                info, shown_status(info.status, info.expires_on, today), links, filename
            )

    def inventory(
        self,
        *,
        part: str | None = None,
        location: str | None = None,
        statuses: Sequence[str] = ON_HAND,
    ) -> list[StockRow]:
        """See :func:`engine.queries.inventory.inventory`."""
        check_names(part=part, location=location)
        for status in statuses:
            check_names(status=status)
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            return inventory(
                session, today=site_today(plant, self.clock()), part=part, location=location,
                statuses=statuses,
            )  # fmt: skip

    def proposals(self, parts: Sequence[str], work_order: str = "") -> dict[str, FefoLot]:
        """The lot first-expiry-first-out proposes for each part, when the site asks for FEFO
        (empty otherwise), passing over lots kept for kits of other work orders than
        ``work_order`` (all kits when none is given)."""
        for part in parts:
            check_names(part=part)
        check_names(work_order=work_order)
        if not parts:
            return {}
        with self.db.session() as session:
            _, plant = versions.active_plant(session)
            if plant.site.inventory is None or plant.site.inventory.fefo == "off":
                return {}
            today = site_today(plant, self.clock())
            order = kitting.order_id(session, work_order) if work_order else kitting.NO_ORDER
            found = {part: lots.first_to_expire(session, part, today, order) for part in parts}
            return {part: lot for part, lot in found.items() if lot is not None}

    def plant(self) -> Plant:
        """The active config's plant."""
        return versions.active_plant(self.db)[1]

    # ------------------------------------------------------------ kits

    def kit(self, work_order: str) -> Kit:
        """See :func:`engine.commands.kitting.kit`."""
        check_names(work_order=work_order)
        with self.db.session() as session:
            return kitting.kit(session, work_order, now=self.clock())

    def reserve_kit(
        self, *, actor: str, work_order: str, idempotency_key: str | None = None
    ) -> Kit:
        """See :func:`engine.commands.kitting.reserve`."""
        check_names(actor=actor, work_order=work_order)
        return self._command(
            "reserve_kit", {"actor": actor, "work_order": work_order}, idempotency_key,
            lambda s, _, now: kitting.reserve(s, work_order, actor=actor, now=now),
            Kit.from_json,
        )  # fmt: skip

    def unreserve_kit(
        self, *, actor: str, work_order: str, idempotency_key: str | None = None
    ) -> Kit:
        """See :func:`engine.commands.kitting.unreserve`."""
        check_names(actor=actor, work_order=work_order)
        return self._command(
            "unreserve_kit", {"actor": actor, "work_order": work_order}, idempotency_key,
            lambda s, _, now: kitting.unreserve(s, work_order, actor=actor, now=now),
            Kit.from_json,
        )  # fmt: skip
