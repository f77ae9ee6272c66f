"""What a compiled batch or device history record holds (:mod:`engine.queries.batch_record`
compiles it; :mod:`engine.commands.record_review` reviews it): its result types, the content its
hash covers, and its exceptions.

``content_hash`` is the SHA-256 of the canonical JSON (:func:`engine.infra.audit.canonical`) of
the record's content (header, operations, holds, nonconformances and production audit rows,
not the review itself): what a release signs and the PDF and HTML print.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.infra import audit
from engine.infra.jsonable import Jsonable

LATE_SIGNATURE = dt.timedelta(hours=1)  # a signature given later than this after the act is late
REVIEW_ENTITY = "batch_record"  # audit rows of acknowledgements, decisions and amendments


def record_id(kind: str, number: str) -> str:
    """How a record is named in the audit trail: ``item/HA2611-00001``, ``work_order/WO00001``."""
    return f"{kind}/{number}"


@dataclass(frozen=True, slots=True)
class Header(Jsonable):
    """What the record is of: product, quantity, config versions (with their content hashes)
    and dates; ``items`` are the units or lots it covers, with their status."""

    kind: str
    number: str
    title: str
    product: str
    quantity: float
    work_order: str
    routing: str
    status: str
    config_versions: tuple[str, ...]
    created_at: dt.datetime
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    items: dict[str, str]


@dataclass(frozen=True, slots=True)
class EnteredValue(Jsonable):
    """A value entered at an operation, with the field's limits and whether it is inside them
    (``outcome`` "pass", "fail", or "" when the field has no limits)."""

    field: str
    label: str
    value: str
    low: float | None
    high: float | None
    unit: str | None
    outcome: str
    photo: bool = False
    """The value is the SHA-256 of a stored photo (a ``photo`` field)."""
    attachment: bool = False
    """The value is the SHA-256 of a stored file (an ``attachment`` field)."""


@dataclass(frozen=True, slots=True)
class CapturedValue(Jsonable):
    tag: str
    value: str
    quality: str
    source_time: dt.datetime | None


@dataclass(frozen=True, slots=True)
class GateLine(Jsonable):
    """A gate's verdict; ``sampled`` false when the sampling plan skipped it (``draw`` is the
    recorded random draw of a random plan)."""

    gate: str
    outcome: str
    sampled: bool
    draw: float | None
    evidence: str


@dataclass(frozen=True, slots=True)
class MaterialLine(Jsonable):
    """A part lot or a made component consumed at an operation (``component``: its number)."""

    part: str
    lot: str | None
    component: str | None
    quantity: float
    unit: str


@dataclass(frozen=True, slots=True)
class SignatureLine(Jsonable):
    username: str
    full_name: str
    role: str
    meaning: str
    signed_at: dt.datetime
    content_hash: str
    late: bool


@dataclass(frozen=True, slots=True)
class Step(Jsonable):
    """One operation run: who, when, where, with what, and where it routed the item.
    ``calibration_due`` and ``calibration_ok`` are the equipment's calibration as its start
    checked it (None when the run used no equipment or the start did not check it)."""

    run: int
    item: str
    operation: str
    title: str
    operator: str
    equipment: str | None
    calibration_due: str | None
    calibration_ok: bool | None
    started_at: dt.datetime
    completed_at: dt.datetime
    route: str
    route_operation: str | None
    route_reason: str
    config_version_id: int
    values: tuple[EnteredValue, ...]
    captures: tuple[CapturedValue, ...]
    gates: tuple[GateLine, ...]
    materials: tuple[MaterialLine, ...]
    signatures: tuple[SignatureLine, ...]
    tool: str | None = None
    """The tool scanned for the run (``applicator-22 A-17``), None when it needed none."""


@dataclass(frozen=True, slots=True)
class HoldLine(Jsonable):
    id: int
    item: str
    action: str
    source: str
    actor: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class NonconformanceLine(Jsonable):
    id: int
    item: str
    operation: str | None
    gate: str | None
    defect_code: str
    description: str
    opened_by: str
    opened_at: dt.datetime
    decision: str | None
    target_operation: str | None
    decision_reason: str
    decided_by: str | None
    decided_at: dt.datetime | None
    signatures: tuple[SignatureLine, ...]


@dataclass(frozen=True, slots=True)
class AuditLine(Jsonable):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    old: str
    new: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecordException(Jsonable):
    """Something a reviewer must read: ``key`` names it for an acknowledgement."""

    key: str
    kind: str
    item: str
    operation: str | None
    at: dt.datetime
    summary: str
    acknowledged_by: str | None = None
    acknowledged_at: dt.datetime | None = None
    comment: str = ""

    json_properties = ("acknowledged",)

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None


@dataclass(frozen=True, slots=True)
class ReviewEntry(Jsonable):
    """A decision (released, rejected) or an amendment, with its signatures."""

    action: str
    actor: str
    at: dt.datetime
    reason: str
    content_hash: str
    signatures: tuple[SignatureLine, ...]


@dataclass(frozen=True, slots=True)
class Review(Jsonable):
    """Where the review stands: ``status`` is "open" until the newest decision; ``signed_hash``
    the content hash the newest decision or amendment signed (None: none yet)."""

    status: str
    content_hash: str
    signed_hash: str | None
    history: tuple[ReviewEntry, ...]

    json_properties = ("locked", "changed_since_signed")

    @property
    def locked(self) -> bool:
        """A released record changes only by signed amendments."""
        return self.status == "released"

    @property
    def changed_since_signed(self) -> bool:
        return self.signed_hash is not None and self.signed_hash != self.content_hash


@dataclass(frozen=True, slots=True)
class BatchRecord(Jsonable):
    """The compiled record, exceptions first."""

    header: Header
    exceptions: tuple[RecordException, ...]
    steps: tuple[Step, ...]
    holds: tuple[HoldLine, ...]
    nonconformances: tuple[NonconformanceLine, ...]
    audit: tuple[AuditLine, ...]
    review: Review

    json_properties = ("open_exceptions",)

    @property
    def open_exceptions(self) -> int:
        """How many exceptions no one has acknowledged yet."""
        return sum(1 for e in self.exceptions if not e.acknowledged)


def hash_content(content: Mapping[str, Any]) -> str:
    """SHA-256 of canonical JSON (sorted keys, no spaces): the record's content hash."""
    return hashlib.sha256(audit.canonical(content).encode()).hexdigest()


# ---------------------------------------------------------------- exceptions


def exceptions_of(
    steps: Iterable[Step],
    holds: Iterable[HoldLine],
    ncs: Iterable[NonconformanceLine],
    review: Review,
) -> list[RecordException]:
    """What a reviewer must read first: values outside their limits, failed gates, reworks,
    calibration overdue at use, device values not good when captured, late signatures, holds
    (a gate's hold released by a person overrides the gate), nonconformances (a use-as-is
    disposition overrides the defect), and a content changed since it was signed."""
    found: list[RecordException] = []
    for s in steps:
        found += _step_exceptions(s)
    for h in holds:
        if h.action == "hold":
            by = "a gate" if h.source == "gate" else h.actor
            summary = f"put on hold by {by}: {h.reason}"
            found.append(RecordException(f"hold:{h.id}", "hold", h.item, None, h.at, summary))
        elif h.source == "manual":
            summary = f"hold released by {h.actor}: {h.reason}"
            found.append(
                RecordException(f"release:{h.id}", "override", h.item, None, h.at, summary)
            )
    for n in ncs:
        state = f"dispositioned {n.decision} by {n.decided_by}" if n.decision else "still open"
        summary = f"nonconformance #{n.id} {n.defect_code}: {n.description} ({state})"
        found.append(
            RecordException(
                f"nc:{n.id}", "nonconformance", n.item, n.operation, n.opened_at, summary
            )
        )
        if n.decision == "use_as_is" and n.decided_at is not None:
            summary = (
                f"nonconformance #{n.id} accepted as is by {n.decided_by}: {n.decision_reason}"
            )
            found.append(
                RecordException(
                    f"use_as_is:{n.id}", "override", n.item, n.operation, n.decided_at, summary
                )
            )
        found += _late(f"nc:{n.id}", n.item, n.operation, n.signatures)
    if review.changed_since_signed and review.history:
        last = review.history[-1]
        summary = (
            f"the record changed after it was {last.action} by {last.actor} (signed content "
            f"{last.content_hash[:12]}…, now {review.content_hash[:12]}…); amend it with a "
            "signature"
        )
        found.append(
            RecordException(
                f"changed:{review.content_hash}",
                "changed_after_signing",
                "",
                None,
                last.at,
                summary,
            )
        )
    return found  # fmt: skip


def _step_exceptions(s: Step) -> list[RecordException]:
    found: list[RecordException] = []
    at, key = s.completed_at, f"run:{s.run}"

    def add(suffix: str, kind: str, summary: str) -> None:
        found.append(RecordException(f"{key}:{suffix}", kind, s.item, s.operation, at, summary))

    for v in s.values:
        if v.outcome == "fail":
            add(f"value:{v.field}", "out_of_limits", f"{v.label} = {v.value} is outside "
                f"{_limits(v)}")  # fmt: skip
    for g in s.gates:
        if g.outcome == "fail":
            add(f"gate:{g.gate}", "gate_failed", f"gate '{g.gate}' failed ({g.evidence})")
        elif g.outcome == "deviation":
            add(f"gate:{g.gate}", "deviation", f"gate '{g.gate}' failed ({g.evidence})")
    if s.route == "rework":
        add("rework", "rework", f"sent to rework at '{s.route_operation}': {s.route_reason}")
    if s.calibration_ok is False or (
        s.calibration_due is not None and s.calibration_due < s.started_at.date().isoformat()
    ):
        add("calibration", "calibration_overdue",
            f"{s.equipment} was used with its calibration due {s.calibration_due}")  # fmt: skip
    for c in s.captures:
        if c.quality != "good":
            add(f"capture:{c.tag}", "device_value", f"{c.tag} was captured with quality "
                f"'{c.quality}' ({c.value}): not a good device value")  # fmt: skip
    found += _late(key, s.item, s.operation, s.signatures)
    return found


def _late(
    key: str, item: str, operation: str | None, signatures: Iterable[SignatureLine]
) -> list[RecordException]:
    return [
        RecordException(
            f"{key}:late:{s.username}:{s.meaning}", "late_signature", item, operation, s.signed_at,
            f"'{s.meaning}' signed by {s.username} more than "
            f"{LATE_SIGNATURE.total_seconds() / 3600:g} h after the act",
        )
        for s in signatures
        if s.late
    ]  # fmt: skip


def _limits(value: EnteredValue) -> str:
    unit = f" {value.unit}" if value.unit else ""
    if value.low is not None and value.high is not None:
        return f"{value.low:g}–{value.high:g}{unit}"
    if value.low is not None:
        return f"the minimum {value.low:g}{unit}"
    return f"the maximum {value.high:g}{unit}"
