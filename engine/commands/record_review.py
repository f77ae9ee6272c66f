"""Reviewing a compiled record by exception: acknowledge each exception with a comment, then
release or reject the record under a quality e-signature; a released record is locked, and what
changes in it afterwards is accepted only by a signed amendment.

A decision and an amendment keep the content hash of the record as signed, in their own row, in
the signature bound to it and in their audit row (under the chain). The request is checked
(:func:`check_decision`, :func:`check_amendment`) before the signer's password is. Each function
is handed the record as :func:`engine.queries.batch_record.batch_record` compiled it in the
command's own session (commands do not import queries; the facade compiles it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.access.people import require_role
from engine.access.signatures import Signed, Signer, store
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.floor.record_content import REVIEW_ENTITY, BatchRecord, RecordException, record_id
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, insert_rows
from engine.records.batch_records import (
    AMENDMENT_RECORD,
    DECISION_RECORD,
    RecordAcknowledgement,
    RecordAmendment,
    RecordDecision,
)

REVIEW_ROLE = "quality"
MEANINGS = {
    "released": "Record reviewed and released",
    "rejected": "Record reviewed and rejected",
    "amended": "Record amendment approved",
}
FINISHED = ("completed", "scrapped")

_INSERT_ACK = insert_rows(RecordAcknowledgement.__table__)  # type: ignore[arg-type]
_INSERT_DECISION = insert_rows(
    RecordDecision.__table__,  # type: ignore[arg-type]
    returning=RecordDecision.__table__.c.id,
)
_INSERT_AMENDMENT = insert_rows(
    RecordAmendment.__table__,  # type: ignore[arg-type]
    returning=RecordAmendment.__table__.c.id,
)


@dataclass(frozen=True, slots=True)
class ReviewResult(Jsonable):
    """A decision or amendment recorded: on which record, by whom, when, on which content."""

    kind: str
    number: str
    action: str
    actor: str
    at: dt.datetime
    content_hash: str
    message: str


def _label(kind: str, number: str, *, start: bool = False) -> str:
    """How messages name a record; ``start`` for the start of a sentence."""
    article = "The" if start else "the"
    return f"{article} record of {'work order ' if kind == 'work_order' else ''}{number}"


def _text(text: str, field: str, doing: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise Invalid(
            f"Give a {field} to {doing}; it goes into the record and the audit trail.", field=field
        )
    return stripped


def _unlocked(record: BatchRecord, doing: str) -> None:
    if record.review.locked:
        last = next(e for e in reversed(record.review.history) if e.action == "released")
        raise Conflict(
            f"{_label(record.header.kind, record.header.number, start=True)} was released by "
            f"{last.actor} on {last.at:%Y-%m-%d %H:%M} UTC and is locked; {doing} is no longer "
            "possible (a change to it needs a signed amendment)."
        )


def acknowledge(
    session: Session,
    record: BatchRecord,
    *,
    key: str,
    comment: str,
    actor: str,
    now: dt.datetime,
) -> RecordException:
    """A reviewer (quality) acknowledges one exception of ``record`` (as compiled in this
    transaction) with a comment."""
    kind, number = record.header.kind, record.header.number
    label = _label(kind, number)
    require_role(session, actor, (REVIEW_ROLE,), f"acknowledge an exception of {label}")
    text = _text(comment, "comment", "acknowledge an exception")
    _unlocked(record, "acknowledging an exception")
    found = next((e for e in record.exceptions if e.key == key), None)
    if found is None:
        raise NotFound(
            f"{_label(kind, number, start=True)} has no exception '{key}'; reload the record "
            "to see its exceptions."
        )
    if found.acknowledged:
        raise Conflict(
            f"That exception was already acknowledged by {found.acknowledged_by}: {found.comment}"
        )
    row = {"kind": kind, "number": number, "exception_key": key, "comment": text}
    Sql(session).execute(_INSERT_ACK, {**row, "actor": actor, "at": now})
    audit.record(
        session, actor=actor, action="acknowledge", entity=REVIEW_ENTITY,
        entity_id=record_id(kind, number), new={"exception": key, "summary": found.summary},
        reason=text,
    )  # fmt: skip
    return RecordException(
        found.key, found.kind, found.item, found.operation, found.at, found.summary,
        actor, now, text,
    )  # fmt: skip


def _signer_checks(record: BatchRecord, action: str, actor: str, signer: str, meaning: str) -> None:
    title = _label(record.header.kind, record.header.number, start=True)
    if signer != actor:
        raise Forbidden(
            f"{title} must be signed by '{actor}' who {action} it, not by '{signer}'; sign with "
            "your own username and password.",
            code="signature_not_actor",
        )
    wanted = MEANINGS[action]
    if meaning != wanted:
        said = f"not '{meaning}'" if meaning else "state it"
        raise Invalid(f"The signature must mean '{wanted}'; {said}.", field="meaning")


def check_decision(
    session: Session,
    record: BatchRecord,
    *,
    decision: str,
    reason: str,
    actor: str,
    signer: str,
    meaning: str,
) -> None:
    """Everything :func:`decide` checks (on ``record`` as compiled now) before the signature is
    verified; reads only."""
    kind, number = record.header.kind, record.header.number
    label = _label(kind, number)
    if decision not in ("released", "rejected"):
        raise Invalid(
            f"'{decision}' is not a decision; use released or rejected.", field="decision"
        )
    require_role(session, actor, (REVIEW_ROLE,), f"decide on {label}")
    _signer_checks(record, decision, actor, signer, meaning)
    if decision == "rejected":
        _text(reason, "reason", "reject a record")
    _unlocked(record, "another decision")
    if decision == "released":
        busy = next(
            ((n, status) for n, status in record.header.items.items() if status not in FINISHED),
            None,
        )
        if busy is not None:
            raise Conflict(
                f"{busy[0]} is {busy[1].replace('_', ' ')}; a record is released once every unit "
                "or lot in it is completed or scrapped."
            )
        waiting = [e for e in record.exceptions if not e.acknowledged]
        if waiting:
            raise Conflict(
                f"{len(waiting)} exception(s) of {label} are not acknowledged yet (first: "
                f"{waiting[0].summary}); acknowledge each with a comment before releasing."
            )


def decide(
    session: Session,
    record: BatchRecord,
    *,
    decision: str,
    reason: str,
    actor: str,
    signer: Signer,
    now: dt.datetime,
) -> ReviewResult:
    """Release or reject ``record`` (as compiled in this transaction) under the actor's
    e-signature (already re-authenticated)."""
    check_decision(
        session, record, decision=decision, reason=reason, actor=actor, signer=signer.username,
        meaning=signer.meaning,
    )  # fmt: skip
    kind, number, digest = record.header.kind, record.header.number, record.review.content_hash
    text = reason.strip()
    row = {"kind": kind, "number": number, "reason": text, "content_hash": digest}
    decision_id: int = Sql(session).scalar(
        _INSERT_DECISION, {**row, "decision": decision, "actor": actor, "at": now}
    )
    return _signed(
        session, record, action=decision, row_id=decision_id, record_type=DECISION_RECORD,
        signer=signer, reason=text, now=now,
    )  # fmt: skip


def _signed(
    session: Session,
    record: BatchRecord,
    *,
    action: str,
    row_id: int,
    record_type: str,
    signer: Signer,
    reason: str,
    now: dt.datetime,
) -> ReviewResult:
    """Store the signature of a decision or amendment and audit both; the result."""
    kind, number, digest = record.header.kind, record.header.number, record.review.content_hash
    signed = store(
        session, [Signed(signer, REVIEW_ROLE)], record_type=record_type, record_id=row_id,
        digest=digest, now=now, version_id=_version_of(record),
    )  # fmt: skip
    new = {"action": action, "content_hash": digest, "id": row_id}
    change = audit.Change(
        signer.username, action, REVIEW_ENTITY, record_id(kind, number), None, new, reason
    )
    audit.record_many(session, [change, *signed])
    message = f"{_label(kind, number, start=True)} was {action}, signed by {signer.username}."
    return ReviewResult(kind, number, action, signer.username, now, digest, message)


def _version_of(record: BatchRecord) -> int:
    """The config version a review signature points at: the record's newest one."""
    return max(int(v.split(" ", 1)[0]) for v in record.header.config_versions)


def check_amendment(
    session: Session,
    record: BatchRecord,
    *,
    reason: str,
    actor: str,
    signer: str,
    meaning: str,
) -> None:
    """Everything :func:`amend` checks (on ``record`` as compiled now) before the signature is
    verified; reads only."""
    kind, number = record.header.kind, record.header.number
    label = _label(kind, number)
    require_role(session, actor, (REVIEW_ROLE,), f"amend {label}")
    _signer_checks(record, "amended", actor, signer, meaning)
    _text(reason, "reason", "amend a record")
    if not record.review.locked:
        raise Conflict(
            f"{_label(kind, number, start=True)} is not released; review and release it instead "
            "of amending it."
        )
    if not record.review.changed_since_signed:
        raise Conflict(
            f"Nothing in {label} changed since it was signed; there is nothing to amend."
        )


def amend(
    session: Session,
    record: BatchRecord,
    *,
    reason: str,
    actor: str,
    signer: Signer,
    now: dt.datetime,
) -> ReviewResult:
    """Accept what changed in a released record under the actor's e-signature."""
    check_amendment(
        session, record, reason=reason, actor=actor, signer=signer.username,
        meaning=signer.meaning,
    )  # fmt: skip
    kind, number = record.header.kind, record.header.number
    text = reason.strip()
    row = {"kind": kind, "number": number, "reason": text}
    amendment_id: int = Sql(session).scalar(
        _INSERT_AMENDMENT,
        {**row, "content_hash": record.review.content_hash, "actor": actor, "at": now},
    )
    return _signed(
        session, record, action="amended", row_id=amendment_id, record_type=AMENDMENT_RECORD,
        signer=signer, reason=text, now=now,
    )  # fmt: skip
