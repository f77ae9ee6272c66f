"""The nonconformance desk of the facade: open a nonconformance on a unit, lot or machine,
propose and sign dispositions (the material review board), link a CAPA, add photos, and read
them back with a Pareto of defects. :class:`~engine.facade.production.Ferrule` includes it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import dispositions, nonconformances
from engine.commands.nonconformances import NonconformanceInfo, Subject
from engine.facade.commands import Commands
from engine.floor.runtime import Runtime
from engine.infra import attachments
from engine.infra.attachments import StoredPhoto, Upload
from engine.infra.db import Database
from engine.infra.limits import check_names, check_texts
from engine.queries import nc_pareto
from engine.queries.nc_pareto import Pareto


class NonconformanceDesk:
    """Nonconformances and their dispositions, over the production facade's plumbing."""

    db: Database
    runtime: Runtime
    commands: Commands

    def open_nonconformance(
        self,
        *,
        actor: str,
        defect_code: str,
        description: str,
        item: str | None = None,
        part: str | None = None,
        lot: str | None = None,
        equipment: str | None = None,
        quantity: float | None = None,
        idempotency_key: str | None = None,
    ) -> NonconformanceInfo:
        """See :func:`engine.commands.nonconformances.open_nonconformance`."""
        subject = Subject(item=item, part=part, lot=lot, equipment=equipment)
        check_names(actor=actor, item=item, part=part, lot=lot, equipment=equipment)
        check_names(defect_code=defect_code)
        check_texts(description=description)
        nonconformances.check_subject(subject)
        request = {"actor": actor, "item": item, "part": part, "lot": lot,
                   "equipment": equipment, "code": defect_code, "text": description,
                   "quantity": quantity}  # fmt: skip
        return self.commands.run(
            "open_nonconformance",
            request,
            idempotency_key,
            lambda s, now: nonconformances.open_nonconformance(
                s, self.runtime, subject=subject, actor=actor, defect_code=defect_code,
                description=description, now=now, quantity=quantity,
            ),
            NonconformanceInfo.from_json,
        )  # fmt: skip

    def disposition(
        self,
        *,
        actor: str,
        nonconformance_id: int,
        decision: str,
        reason: str,
        signature: SignatureInput,
        target_operation: str | None = None,
        quantity: float | None = None,
        idempotency_key: str | None = None,
    ) -> NonconformanceInfo:
        """Propose a disposition, signed (see :func:`engine.commands.dispositions.disposition`):
        the request is checked before the signer's password is."""
        check_names(actor=actor, decision=decision, target_operation=target_operation)
        check_texts(reason=reason)
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {
            "actor": actor, "nc": nonconformance_id, "decision": decision, "reason": reason,
            "target": target_operation, "quantity": quantity,
            "signer": [signature.username, meaning],
        }  # fmt: skip

        def check(session: Session, now: dt.datetime) -> None:
            dispositions.check_disposition(
                session, self.runtime, nonconformance_id=nonconformance_id, actor=actor,
                decision=decision, reason=reason, signer=signature.username, meaning=meaning,
                target_operation=target_operation, quantity=quantity,
            )  # fmt: skip

        def record(
            session: Session, now: dt.datetime, signers: tuple[Signer, ...]
        ) -> NonconformanceInfo:
            (signer,) = signers
            return dispositions.disposition(
                session, self.runtime, nonconformance_id=nonconformance_id, actor=actor,
                decision=decision, reason=reason, signer=signer, now=now,
                target_operation=target_operation, quantity=quantity,
            )  # fmt: skip

        return self.commands.signed(
            "disposition", request, idempotency_key, check=check,
            sign=lambda: self.commands.signers([signature], f"nonconformance/{nonconformance_id}"),
            fn=record, load=NonconformanceInfo.from_json,
        )  # fmt: skip

    def sign_disposition(
        self,
        *,
        actor: str,
        nonconformance_id: int,
        signature: SignatureInput,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> NonconformanceInfo:
        """A review board member signs (or rejects) the pending disposition (see
        :func:`engine.commands.dispositions.sign`)."""
        check_names(actor=actor)
        check_texts(reason=reason)
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {"actor": actor, "nc": nonconformance_id, "reason": reason,
                   "signer": [signature.username, meaning]}  # fmt: skip

        def check(session: Session, now: dt.datetime) -> None:
            dispositions.check_sign(
                session, nonconformance_id=nonconformance_id, actor=actor,
                signer=signature.username, meaning=meaning, reason=reason,
            )  # fmt: skip

        def record(
            session: Session, now: dt.datetime, signers: tuple[Signer, ...]
        ) -> NonconformanceInfo:
            (signer,) = signers
            return dispositions.sign(
                session, nonconformance_id=nonconformance_id, actor=actor,
                signer=signer, reason=reason, now=now,
            )  # fmt: skip

        return self.commands.signed(
            "sign_disposition", request, idempotency_key, check=check,
            sign=lambda: self.commands.signers([signature], f"nonconformance/{nonconformance_id}"),
            fn=record, load=NonconformanceInfo.from_json,
        )  # fmt: skip

    def link_capa(
        self,
        *,
        actor: str,
        nonconformance_id: int,
        capa: str,
        url: str | None = None,
        idempotency_key: str | None = None,
    ) -> NonconformanceInfo:
        """See :func:`engine.commands.nonconformances.link_capa`."""
        check_names(actor=actor, capa=capa)
        check_texts(url=url)
        return self.commands.run(
            "link_capa",
            {"actor": actor, "nc": nonconformance_id, "capa": capa, "url": url},
            idempotency_key,
            lambda s, now: nonconformances.link_capa(
                s, self.runtime, nonconformance_id=nonconformance_id, actor=actor, capa=capa,
                url=url, now=now,
            ),
            NonconformanceInfo.from_json,
        )  # fmt: skip

    def add_nonconformance_photo(
        self, *, actor: str, nonconformance_id: int, photo: Upload
    ) -> NonconformanceInfo:
        """See :func:`engine.commands.nonconformances.add_photo`."""
        check_names(actor=actor)
        return self.commands.run(
            "add_nonconformance_photo",
            {"actor": actor, "nc": nonconformance_id, "photo": photo.sha256()},
            None,
            lambda s, now: nonconformances.add_photo(
                s, nonconformance_id=nonconformance_id, actor=actor, photo=photo, now=now
            ),
            NonconformanceInfo.from_json,
        )

    def store_photo(self, *, actor: str, photo: Upload) -> StoredPhoto:
        """Store a photo taken for a ``photo`` field of ``collect:`` (or anything else that
        keeps one): its SHA-256 is what the completion then carries as the field's value."""
        check_names(actor=actor)

        def store(session: Session, now: dt.datetime) -> StoredPhoto:
            digest = attachments.store_photo(session, photo, actor=actor, now=now, field="photo")
            kind = attachments.photo_type(photo.content) or ""
            return StoredPhoto(digest, kind, len(photo.content))

        return self.commands.run(
            "store_photo", {"actor": actor, "photo": photo.sha256()}, None, store,
            StoredPhoto.from_json,
        )  # fmt: skip

    def store_file(self, *, actor: str, upload: Upload) -> str:
        """Store a file for an ``attachment`` field of ``collect:``; its SHA-256, which the
        completion then carries as the field's value."""
        check_names(actor=actor)
        with self.db.transaction() as session:
            return attachments.store(
                session, upload, actor=actor, now=self.commands.clock(), what="The file",
                field="attachment",
            )  # fmt: skip

    def stored_file(self, sha256: str) -> Upload:
        """Any stored file by its SHA-256 (an attachment field's, a certificate, a photo)."""
        check_names(sha256=sha256)
        with self.db.session() as session:
            return attachments.fetch(session, sha256)

    def photo(self, sha256: str) -> Upload:
        """A stored photo by its SHA-256; NotFound when none is stored under it."""
        check_names(sha256=sha256)
        with self.db.session() as session:
            attachments.require_stored(session, sha256, field="photo", photo=True)
            return attachments.fetch(session, sha256)

    def nonconformance_photo(self, nonconformance_id: int, sha256: str) -> Upload:
        """See :func:`engine.commands.nonconformances.photo`."""
        check_names(sha256=sha256)
        with self.db.session() as session:
            return nonconformances.photo(
                session, nonconformance_id=nonconformance_id, sha256=sha256
            )

    def nonconformance(self, nonconformance_id: int) -> NonconformanceInfo:
        with self.db.session() as session:
            return nonconformances.nonconformance(session, nonconformance_id)

    def nonconformances(
        self, *, open_only: bool = False, item: str | None = None
    ) -> list[NonconformanceInfo]:
        check_names(item=item)
        with self.db.session() as session:
            return nonconformances.nonconformances(session, open_only=open_only, item_number=item)

    def nonconformance_pareto(self, *, by: str, since: dt.datetime, until: dt.datetime) -> Pareto:
        """See :func:`engine.queries.nc_pareto.pareto`."""
        with self.db.session() as session:
            return nc_pareto.pareto(session, by=by, since=since, until=until)
