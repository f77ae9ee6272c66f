"""The inspection facade: AQL lot inspection of received lots (ANSI/ASQ Z1.4, see
docs/sampling.md): start an inspection (the plan), record samples one by one (the decision
comes as soon as the plan allows), a stream's switching state and history, and the signed
reinstatement of a discontinued stream. The work is done in
:mod:`engine.commands.inspection`, :mod:`engine.floor.aql_streams` and
:mod:`engine.queries.inspection`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import inspection, versions
from engine.facade.production import Ferrule
from engine.floor.aql_streams import InspectionInfo, Stream, StreamState, stream_state
from engine.infra.limits import check_names, check_texts
from engine.queries import inspection as inspection_queries


class Inspection(Ferrule):
    """AQL lot inspection, over the production facade's plumbing."""

    def start_receiving_inspection(
        self,
        *,
        actor: str,
        part: str,
        lot: str,
        steady: bool = True,
        idempotency_key: str | None = None,
    ) -> InspectionInfo:
        """See :func:`engine.commands.inspection.start_receiving`."""
        check_names(actor=actor, part=part, lot=lot)
        return self.commands.run(
            "start_inspection",
            {"actor": actor, "part": part, "lot": lot, "steady": steady},
            idempotency_key,
            lambda s, now: inspection.start_receiving(
                s,
                versions.active_plant(s)[1],
                part=part,
                lot=lot,
                actor=actor,
                now=now,
                steady=steady,
            ),
            InspectionInfo.from_json,
        )

    def start_operation_inspection(
        self,
        *,
        actor: str,
        work_order: str,
        operation: str,
        steady: bool = True,
        idempotency_key: str | None = None,
    ) -> InspectionInfo:
        """See :func:`engine.commands.inspection.start_operation`."""
        check_names(actor=actor, work_order=work_order, operation=operation)
        request = {"actor": actor, "work_order": work_order, "operation": operation,
                   "steady": steady}  # fmt: skip
        return self.commands.run(
            "start_inspection",
            request,
            idempotency_key,
            lambda s, now: inspection.start_operation(
                s,
                versions.active_plant(s)[1],
                work_order=work_order,
                operation=operation,
                actor=actor,
                now=now,
                steady=steady,
            ),
            InspectionInfo.from_json,
        )

    def record_sample(
        self,
        *,
        actor: str,
        inspection_id: int,
        conforming: bool,
        defect_code: str = "",
        note: str = "",
        idempotency_key: str | None = None,
    ) -> InspectionInfo:
        """See :func:`engine.commands.inspection.record_sample`."""
        check_names(actor=actor, defect_code=defect_code)
        check_texts(note=note)
        request = {"actor": actor, "inspection": inspection_id, "conforming": conforming,
                   "defect_code": defect_code, "note": note}  # fmt: skip
        return self.commands.run(
            "inspection_sample",
            request,
            idempotency_key,
            lambda s, now: inspection.record_sample(
                s,
                versions.active_plant(s)[1],
                inspection_id=inspection_id,
                conforming=conforming,
                actor=actor,
                now=now,
                defect_code=defect_code,
                note=note,
            ),
            InspectionInfo.from_json,
        )

    def reinstate_inspection(
        self,
        *,
        actor: str,
        part: str,
        supplier: str,
        reason: str,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> StreamState:
        """Quality reinstates a discontinued stream, signed (see
        :func:`engine.commands.inspection.reinstate`)."""
        check_names(actor=actor, part=part, supplier=supplier)
        check_texts(reason=reason)
        self.commands.check_signatures([signature])
        stream = Stream(part=part, supplier=supplier)
        request = {"actor": actor, "part": part, "supplier": supplier, "reason": reason,
                   "signer": [signature.username, signature.meaning.strip()]}  # fmt: skip

        def check(session: Session, now: dt.datetime) -> None:
            inspection.check_reinstate(session, stream, actor=actor, reason=reason)

        def record(session: Session, now: dt.datetime, signers: tuple[Signer, ...]) -> StreamState:
            (signer,) = signers
            return inspection.reinstate(
                session, stream, actor=actor, signer=signer, reason=reason, now=now
            )

        return self.commands.signed(
            "reinstate_inspection", request, idempotency_key, check=check,
            sign=lambda: self.commands.signers([signature], f"inspection/{part}/{supplier}"),
            fn=record, load=StreamState.from_json,
        )  # fmt: skip

    def inspection(self, inspection_id: int) -> InspectionInfo:
        """One inspection with its plan, samples and decision; NotFound for an unknown id."""
        with self.db.session() as session:
            return inspection.inspection(session, inspection_id)

    def switching_state(self, *, part: str, supplier: str = "", operation: str = "") -> StreamState:
        """The switching state of a part's lots from a supplier (or of a product's lots at an
        operation), replayed from its decisions."""
        check_names(part=part, supplier=supplier, operation=operation)
        with self.db.session() as session:
            return stream_state(session, Stream(part, supplier, operation))

    def inspections(
        self, *, part: str, supplier: str | None = None, operation: str = ""
    ) -> list[InspectionInfo]:
        """A part's receiving inspections (of one supplier when given), or a product's at an
        operation, newest first."""
        check_names(part=part, supplier=supplier, operation=operation)
        with self.db.session() as session:
            return inspection_queries.history(session, part, supplier=supplier, operation=operation)

    def lot_inspections(self, *, part: str, lot: str) -> list[InspectionInfo]:
        """The receiving inspections of a lot."""
        check_names(part=part, lot=lot)
        with self.db.session() as session:
            return inspection_queries.of_lot(session, part, lot)
