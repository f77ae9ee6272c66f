"""Tables for the records the engine keeps besides production: config versions, people,
equipment, material lots, the audit trail, idempotency keys, API tokens and sign-in attempts.

Configuration versions and audit rows are append-only. ``users``, ``equipment`` and ``lots`` hold
current state; every change to them writes an audit row (:mod:`engine.infra.audit`), and a lot's
``revision`` guards every change to it (``version_id_col``: an ORM update that read an older
revision fails instead of writing over a newer one).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.records.base import APPEND_ONLY, CURRENT_STATE, Base, sealed, utcnow

NAME = 200  # length of names, numbers and usernames


class ConfigVersion(Base):
    """An immutable deployed plant bundle: every text file, binary files (base64), the hash."""

    __tablename__ = "config_versions"
    __table_args__ = (sealed(APPEND_ONLY),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(NAME))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    files: Mapped[dict[str, str]] = mapped_column(JSON)
    assets: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # binary files, base64
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(NAME))
    note: Mapped[str] = mapped_column(Text, default="")


class ConfigActivation(Base):
    """Which version became active when, by whom and why; the newest row names the active one."""

    __tablename__ = "config_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("config_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # deploy | rollback
    activated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    activated_by: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        CheckConstraint("kind IN ('deploy', 'rollback')", name="kind"),
        sealed(APPEND_ONLY),
    )


class User(Base):
    """A person who signs in; ``password_hash`` is argon2, ``active`` false once deactivated."""

    __tablename__ = "users"
    __table_args__ = (sealed(CURRENT_STATE),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(NAME), unique=True)
    full_name: Mapped[str] = mapped_column(String(NAME), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UserRole(Base):
    """A role (as named in the plant config) held by a user."""

    __tablename__ = "user_roles"
    __table_args__ = (sealed(CURRENT_STATE),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(NAME))


class UserQualification(Base):
    """A qualification granted on a day; valid through ``expires_on`` (None: never expires).
    Grants are kept as history; the newest row for a qualification is the one that counts: a
    ``grant`` (with the training record it rests on, ``evidence``) or a ``revoke`` (``reason``)."""

    __tablename__ = "user_qualifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    qualification: Mapped[str] = mapped_column(String(NAME))
    granted_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    granted_by: Mapped[str] = mapped_column(String(NAME))
    kind: Mapped[str] = mapped_column(String(10), default="grant", server_default="grant")
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    evidence_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (
        Index("ix_user_qualifications_user_qual", "user_id", "qualification"),
        CheckConstraint("kind IN ('grant', 'revoke')", name="kind"),
        sealed(APPEND_ONLY),
    )


class EquipmentRecord(Base):
    """A machine's current state and due dates (seeded from the config, moved by commands)."""

    __tablename__ = "equipment"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="idle")
    calibration_due: Mapped[dt.date | None] = mapped_column(Date)
    maintenance_due: Mapped[dt.date | None] = mapped_column(Date)
    state_since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("state IN ('running', 'idle', 'down', 'setup', 'unknown')", name="state"),
        sealed(CURRENT_STATE),
    )


class EquipmentStateChange(Base):
    """One state transition of a machine, for OEE: from ``previous`` to ``state`` at ``at``."""

    __tablename__ = "equipment_state_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment: Mapped[str] = mapped_column(ForeignKey("equipment.name"))
    previous: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column()
    source: Mapped[str] = mapped_column(String(20))  # rules | manual
    actor: Mapped[str] = mapped_column(String(NAME))
    reason: Mapped[str] = mapped_column(Text, default="")
    # state_rule | device_unreachable | adapter_not_running | manual (dsl.model.StateCause)
    cause: Mapped[str] = mapped_column(String(30), default="manual", server_default="manual")

    __table_args__ = (
        Index("ix_equipment_state_changes_equipment_at", "equipment", "at"),
        sealed(APPEND_ONLY),
    )


class Lot(Base):
    """A received lot of a part, or one purchased serialized component (a lot of quantity 1)."""

    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    part: Mapped[str] = mapped_column(String(NAME))
    number: Mapped[str] = mapped_column(String(NAME))
    quantity: Mapped[float] = mapped_column(Float)
    received_quantity: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="available")
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    supplier: Mapped[str] = mapped_column(String(NAME), default="")
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    received_by: Mapped[str] = mapped_column(String(NAME))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    supplier_lot: Mapped[str] = mapped_column(String(NAME), default="", server_default="")
    manufactured_on: Mapped[dt.date | None] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(NAME), default="", server_default="")
    certificate_sha256: Mapped[str] = mapped_column(String(64), default="", server_default="")

    __table_args__ = (
        UniqueConstraint("part", "number", name="uq_lots_part_number"),
        CheckConstraint(
            "status IN ('quarantine', 'available', 'on_hold', 'consumed', 'expired', 'scrapped')",
            name="status",
        ),
        CheckConstraint("quantity >= 0", name="quantity"),
        Index("ix_lots_number", "number"),
        Index("ix_lots_part_status_expires_on", "part", "status", "expires_on"),  # FEFO
        sealed(CURRENT_STATE),
    )
    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012  (every ORM update is guarded)


class LotLink(Base):
    """Lot genealogy: ``quantity`` of lot ``parent_id`` went into lot ``child_id`` by a split
    (a part of one lot became a new lot) or a merge (several lots became one)."""

    __tablename__ = "lot_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[float] = mapped_column(Float)
    at: Mapped[dt.datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(NAME))

    __table_args__ = (
        CheckConstraint("kind IN ('split', 'merge')", name="kind"),
        sealed(APPEND_ONLY),
    )


class LotReservation(Base):
    """``quantity`` of a lot kept for a work order's kit; ``active`` false once given back."""

    __tablename__ = "lot_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    work_order: Mapped[str] = mapped_column(String(NAME), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    quantity: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    reserved_at: Mapped[dt.datetime] = mapped_column()
    reserved_by: Mapped[str] = mapped_column(String(NAME))

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"), sealed(CURRENT_STATE))


class Attachment(Base):
    """A stored file (a certificate of analysis, a photo), named by the SHA-256 of its bytes:
    storing the same bytes twice keeps one row, and a record holding the hash proves which
    bytes it meant."""

    __tablename__ = "attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(NAME))
    filename: Mapped[str] = mapped_column(String(NAME))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column()
    stored_by: Mapped[str] = mapped_column(String(NAME))

    __table_args__ = (sealed(APPEND_ONLY),)


class AuditHead(Base):
    """The newest audit row's sequence number and hash (so deleting the last row is detected)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditRecord(Base):
    """One change: who, when, what, old and new values (canonical JSON text), why.

    ``hash = sha256(prev_hash + canonical JSON of the row)``; ``seq`` runs 1, 2, 3… with no gaps.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(NAME))
    action: Mapped[str] = mapped_column(String(NAME))
    entity: Mapped[str] = mapped_column(String(NAME))
    entity_id: Mapped[str] = mapped_column(String(NAME))
    old: Mapped[str] = mapped_column(Text)
    new: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    sealed: Mapped[str] = mapped_column(Text, default="", server_default="")  # engine.infra.seals
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)


class IdempotencyKey(Base):
    """A command's stored result under the key its caller sent, for safe retries."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    command: Mapped[str] = mapped_column(String(NAME))
    fingerprint: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A machine client's credential; ``roles`` (comma-separated) bounds what it may do."""

    __tablename__ = "api_tokens"
    __table_args__ = (sealed(CURRENT_STATE),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class SigninAttempt(Base):
    """One sign-in try, kept a day for rate limiting (the audit trail keeps the history)."""

    __tablename__ = "signin_attempts"
    __table_args__ = (Index("ix_signin_attempts_who", "username", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
    succeeded: Mapped[bool] = mapped_column(Boolean)
