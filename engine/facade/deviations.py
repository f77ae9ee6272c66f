"""The deviation desk of the facade: quality approves a planned deviation (signed), withdraws
one, and anyone reads them; the station asks which are in force for the item at hand.
:class:`~engine.facade.production.Ferrule` includes it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import deviations
from engine.commands.deviations import DeviationInfo, DeviationInput
from engine.commands.versions import require_active_version_id
from engine.facade.commands import Commands
from engine.floor.items import find_item
from engine.floor.runtime import Runtime
from engine.infra.db import Database
from engine.infra.limits import check_names, check_texts


class DeviationDesk:
    """Planned deviations, over the production facade's plumbing."""

    db: Database
    runtime: Runtime
    commands: Commands

    def approve_deviation(
        self,
        *,
        actor: str,
        given: DeviationInput,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> DeviationInfo:
        """A signed deviation (see :func:`engine.commands.deviations.create`)."""
        check_names(actor=actor, product=given.product, operation=given.operation)
        check_names(gate=given.gate, subject=given.subject)
        for number in given.work_orders:
            check_names(work_order=number)
        check_texts(reason=given.reason)
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {"actor": actor, "given": repr(given), "signer": [signature.username, meaning]}

        def check(session: Session, now: dt.datetime) -> None:
            plant = self.runtime.plants(session, require_active_version_id(session))
            deviations.check_deviation(
                session, plant, actor=actor, signer=signature.username, meaning=meaning,
                given=given, now=now,
            )  # fmt: skip

        def record(
            session: Session, now: dt.datetime, signers: tuple[Signer, ...]
        ) -> DeviationInfo:
            (signer,) = signers
            plant = self.runtime.plants(session, require_active_version_id(session))
            return deviations.create(
                session, plant, actor=actor, signer=signer, given=given, now=now
            )

        return self.commands.signed(
            "approve_deviation", request, idempotency_key, check=check,
            sign=lambda: self.commands.signers([signature], "deviation"),
            fn=record, load=DeviationInfo.from_json,
        )  # fmt: skip

    def withdraw_deviation(
        self, *, actor: str, deviation_id: int, reason: str, idempotency_key: str | None = None
    ) -> DeviationInfo:
        """See :func:`engine.commands.deviations.withdraw`."""
        check_names(actor=actor)
        check_texts(reason=reason)
        return self.commands.run(
            "withdraw_deviation",
            {"actor": actor, "deviation": deviation_id, "reason": reason},
            idempotency_key,
            lambda s, now: deviations.withdraw(
                s, deviation_id=deviation_id, actor=actor, reason=reason, now=now
            ),
            DeviationInfo.from_json,
        )

    def deviations(self) -> list[DeviationInfo]:
        """Every deviation, newest first."""
        with self.db.session() as session:
            return deviations.deviations(session)

    def deviation(self, deviation_id: int) -> DeviationInfo:
        with self.db.session() as session:
            return deviations.deviation(session, deviation_id)

    def deviations_in_force(self, *, item: str, operation: str) -> list[DeviationInfo]:
        """The deviations that apply to ``item`` at ``operation`` now (the station shows them)."""
        check_names(item=item, operation=operation)
        with self.db.session() as session:
            row = find_item(session, item)
            return deviations.in_force(
                session, product=row.product, operation=operation,
                work_order_id=row.work_order_id, now=self.commands.clock(),
            )  # fmt: skip
