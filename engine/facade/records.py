"""The record review facade: the compiled batch or device history record of a unit, lot or work
order, its exceptions acknowledged, and its signed release, rejection or amendment.

It works beside :class:`~engine.facade.production.Ferrule` and borrows its plumbing: the same
database, plant cache, clock and signed-command sequence (check the request, re-authenticate the
signer with no session open, then record in one transaction, at most once per idempotency key).
See :mod:`engine.commands.record_review` and :mod:`engine.queries.batch_record`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import record_review
from engine.commands.record_review import ReviewResult
from engine.facade.production import Ferrule
from engine.floor.record_content import BatchRecord, RecordException, record_id
from engine.infra.limits import check_names, check_texts
from engine.queries.batch_record import batch_record


class Records:
    """Compiled records and their review, over the same engine as ``ferrule``."""

    def __init__(self, ferrule: Ferrule) -> None:
        self.ferrule = ferrule

    def record(self, kind: str, number: str) -> BatchRecord:
        """See :func:`engine.queries.batch_record.batch_record`."""
        check_names(kind=kind, number=number)
        with self.ferrule.db.session() as session:
            return self._compiled(session, kind, number)

    def _compiled(self, session: Session, kind: str, number: str) -> BatchRecord:
        """The record as it stands in ``session`` (a command checks against this)."""
        return batch_record(session, self.ferrule.runtime.plants, kind, number)

    def acknowledge(
        self,
        *,
        actor: str,
        kind: str,
        number: str,
        key: str,
        comment: str,
        idempotency_key: str | None = None,
    ) -> RecordException:
        """See :func:`engine.commands.record_review.acknowledge`."""
        check_names(actor=actor, kind=kind, number=number, key=key)
        check_texts(comment=comment)
        request = {
            "actor": actor,
            "record": record_id(kind, number),
            "key": key,
            "comment": comment,
        }
        return self.ferrule.commands.run(
            "acknowledge_exception", request, idempotency_key,
            lambda s, now: record_review.acknowledge(
                s, self._compiled(s, kind, number), key=key, comment=comment, actor=actor, now=now
            ),
            RecordException.from_json,
        )  # fmt: skip

    def decide(
        self,
        *,
        actor: str,
        kind: str,
        number: str,
        decision: str,
        reason: str,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> ReviewResult:
        """Release or reject a record under the actor's signature (see
        :func:`engine.commands.record_review.decide`)."""
        check_names(actor=actor, kind=kind, number=number, decision=decision)
        check_texts(reason=reason)
        return self._signed_review(
            "decide_record", actor=actor, kind=kind, number=number,
            fields={"decision": decision, "reason": reason}, signature=signature,
            idempotency_key=idempotency_key,
            check=lambda session, record, meaning: record_review.check_decision(
                session, record, decision=decision, reason=reason, actor=actor,
                signer=signature.username, meaning=meaning,
            ),
            decide=lambda session, record, signer, now: record_review.decide(
                session, record, decision=decision, reason=reason, actor=actor, signer=signer,
                now=now,
            ),
        )  # fmt: skip

    def amend(
        self,
        *,
        actor: str,
        kind: str,
        number: str,
        reason: str,
        signature: SignatureInput,
        idempotency_key: str | None = None,
    ) -> ReviewResult:
        """Accept what changed in a released record under the actor's signature (see
        :func:`engine.commands.record_review.amend`)."""
        check_names(actor=actor, kind=kind, number=number)
        check_texts(reason=reason)
        return self._signed_review(
            "amend_record", actor=actor, kind=kind, number=number, fields={"reason": reason},
            signature=signature, idempotency_key=idempotency_key,
            check=lambda session, record, meaning: record_review.check_amendment(
                session, record, reason=reason, actor=actor, signer=signature.username,
                meaning=meaning,
            ),
            decide=lambda session, record, signer, now: record_review.amend(
                session, record, reason=reason, actor=actor, signer=signer, now=now
            ),
        )  # fmt: skip

    def _signed_review(
        self,
        name: str,
        *,
        actor: str,
        kind: str,
        number: str,
        fields: dict[str, str],
        signature: SignatureInput,
        idempotency_key: str | None,
        check: Callable[[Session, BatchRecord, str], None],
        decide: Callable[[Session, BatchRecord, Signer, dt.datetime], ReviewResult],
    ) -> ReviewResult:
        """The signed command ``name`` a release, rejection and amendment share: ``check`` the
        record as compiled now (with the signature's meaning), re-authenticate the signer, then
        ``decide`` on the record as compiled in the command's transaction. ``fields`` are the
        request's own, which the idempotency key is bound to with the actor, record and
        signer."""
        self.ferrule.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {
            "actor": actor,
            "record": record_id(kind, number),
            **fields,
            "signer": [signature.username, meaning],
        }

        def checked(session: Session, now: dt.datetime) -> None:
            check(session, self._compiled(session, kind, number), meaning)

        def recorded(
            session: Session, now: dt.datetime, signers: tuple[Signer, ...]
        ) -> ReviewResult:
            (signer,) = signers
            return decide(session, self._compiled(session, kind, number), signer, now)

        return self.ferrule.commands.signed(
            name, request, idempotency_key, check=checked,
            sign=lambda: self.ferrule.commands.signers([signature], record_id(kind, number)),
            fn=recorded, load=ReviewResult.from_json,
        )  # fmt: skip
