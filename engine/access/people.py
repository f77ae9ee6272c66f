"""People: users, their roles and qualifications (which expire), and their passwords.

Role and qualification names are the ones the plant config declares, plus Ferrule's own
:data:`SYSTEM_ROLES`; when a plant is given, any other name is refused with a did-you-mean. Every
change writes an audit row; a password change, a deactivation and a role change end the user's
sessions and tokens (:mod:`engine.access.sessions`). Passwords follow
:mod:`engine.access.passwords`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.access import passwords, sessions
from engine.errors import Conflict, Forbidden, Invalid, NotFound, undeclared
from engine.infra import attachments, audit
from engine.infra.attachments import Upload
from engine.infra.jsonable import Jsonable
from engine.infra.statements import Sql, Statement
from engine.records.base import utcnow
from engine.records.tables import User, UserQualification, UserRole

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,199}")
METRICS = "metrics"  # may read /metrics and the details of /readyz, nothing of the plant
SYSTEM_ROLES = frozenset({METRICS})
REVOKE = "revoke"  # the kind of a qualification row that withdraws it


@dataclass(frozen=True, slots=True)
class QualificationGrant(Jsonable):
    """A user's newest grant of one qualification; valid on days before ``expires_on``."""

    name: str
    granted_on: dt.date
    expires_on: dt.date | None
    granted_by: str = ""
    evidence: str = ""  # the training record it rests on
    evidence_sha256: str = ""  # its scan, when one was attached (see engine.infra.attachments)

    def valid_on(self, day: dt.date) -> bool:
        return self.granted_on <= day and (self.expires_on is None or day < self.expires_on)


@dataclass(frozen=True, slots=True)
class UserInfo(Jsonable):
    """A user as shown to admins (never with the password hash)."""

    username: str
    full_name: str
    active: bool
    has_password: bool
    roles: tuple[str, ...]
    qualifications: tuple[QualificationGrant, ...]


# ---------------------------------------------------------------- commands


def create_user(
    session: Session,
    username: str,
    *,
    actor: str,
    full_name: str = "",
    password: str | None = None,
) -> UserInfo:
    """Add a user (without roles); ``password`` may be set now or later."""
    if not USERNAME.fullmatch(username):
        raise Invalid(
            f"'{username}' is not a valid username; use letters, digits, '.', '_', '@' or '-' "
            "(starting with a letter or digit, at most 200 characters).",
            field="username",
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"User '{username}' already exists; choose another username.")
    user = User(username=username, full_name=full_name, active=True, created_at=utcnow())
    if password is not None:
        user.password_hash = passwords.hash_new(password, names=(username, full_name))
    session.add(user)
    session.flush()
    new = {"full_name": full_name, "has_password": password is not None}
    audit.record(session, actor=actor, action="create", entity="user", entity_id=username, new=new)
    return user_info(session, username)


def set_password(session: Session, username: str, password: str, *, actor: str) -> None:
    """Replace a user's password (stored as an argon2 hash); ends their sessions and tokens."""
    user = _user(session, username)
    user.password_hash = passwords.hash_new(password, names=(username, user.full_name))
    audit.record(
        session,
        actor=actor,
        action="set_password",
        entity="user",
        entity_id=username,
        new={"has_password": True},
    )
    _end_sessions(session, username, actor, "password changed")


def grant_role(
    session: Session, username: str, role: str, *, actor: str, plant: Plant | None = None
) -> None:
    """Give a user a role; granting a role the user already has is refused. Ends the user's
    sessions and tokens: they sign in again with what they may do now."""
    user = _user(session, username)
    if plant is not None and role not in SYSTEM_ROLES:
        _check_name(role, "role", plant.roles)
    if session.get(UserRole, (user.id, role)) is not None:
        raise Conflict(f"User '{username}' already has the role '{role}'.")
    session.add(UserRole(user_id=user.id, role=role, granted_at=utcnow(), granted_by=actor))
    audit.record(
        session,
        actor=actor,
        action="grant_role",
        entity="user",
        entity_id=username,
        new={"role": role},
    )
    _end_sessions(session, username, actor, f"role {role} granted")


def revoke_role(session: Session, username: str, role: str, *, actor: str, reason: str) -> None:
    """Take a role away from a user; ends their sessions and tokens."""
    user = _user(session, username)
    if session.get(UserRole, (user.id, role)) is None:
        raise Conflict(f"User '{username}' does not have the role '{role}'; nothing to revoke.")
    session.execute(delete(UserRole).where(UserRole.user_id == user.id, UserRole.role == role))
    audit.record(
        session,
        actor=actor,
        action="revoke_role",
        entity="user",
        entity_id=username,
        old={"role": role},
        new=None,
        reason=reason,
    )
    _end_sessions(session, username, actor, f"role {role} revoked")


def grant_qualification(
    session: Session,
    username: str,
    qualification: str,
    *,
    actor: str,
    plant: Plant | None = None,
    granted_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    evidence: str = "",
    evidence_file: Upload | None = None,
) -> QualificationGrant:
    """Record that a user was trained for ``qualification`` on ``granted_on`` (default today),
    with ``evidence``: the training record it rests on (a reference a person can look up), and
    optionally its scan, ``evidence_file`` (stored content-addressed, size-capped).

    Without ``expires_on``, the expiry is ``granted_on`` plus the qualification's ``valid_for``
    in the plant (no expiry when the plant gives none). A new grant replaces an older one.
    """
    user = _user(session, username)
    granted_on = granted_on or utcnow().date()
    if plant is not None:
        _check_name(qualification, "qualification", plant.qualifications)
        valid_days = plant.qualifications[qualification].valid_for_days
        if expires_on is None and valid_days is not None:
            expires_on = granted_on + dt.timedelta(days=valid_days)
    if expires_on is not None and expires_on <= granted_on:
        raise Invalid(
            f"The expiry {expires_on} is not after the grant date {granted_on}; "
            "give an expiry date later than the day of training.",
            field="expires_on",
        )
    now = utcnow()
    digest = (
        attachments.store(
            session, evidence_file, actor=actor, now=now, what="The training record", field="file"
        )
        if evidence_file is not None
        else ""
    )
    session.add(
        UserQualification(
            user_id=user.id,
            qualification=qualification,
            granted_on=granted_on,
            expires_on=expires_on,
            granted_at=now,
            granted_by=actor,
            evidence=evidence,
            evidence_sha256=digest,
        )
    )
    new = {
        "qualification": qualification,
        "granted_on": granted_on,
        "expires_on": expires_on,
        "evidence": evidence,
        "evidence_sha256": digest,
    }
    audit.record(
        session,
        actor=actor,
        action="grant_qualification",
        entity="user",
        entity_id=username,
        new=new,
    )
    return QualificationGrant(qualification, granted_on, expires_on, actor, evidence, digest)


def revoke_qualification(
    session: Session, username: str, qualification: str, *, actor: str, reason: str
) -> None:
    """Withdraw a qualification the user holds (from today; the grant stays in the history)."""
    user = _user(session, username)
    if qualification not in {q.name for q in _grants(session, user.id)}:
        raise Conflict(
            f"User '{username}' does not hold the qualification '{qualification}'; nothing to "
            "revoke."
        )
    today = utcnow().date()
    session.add(
        UserQualification(
            user_id=user.id,
            qualification=qualification,
            granted_on=today,
            expires_on=None,
            granted_at=utcnow(),
            granted_by=actor,
            kind=REVOKE,
            reason=reason,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="revoke_qualification",
        entity="user",
        entity_id=username,
        old={"qualification": qualification},
        new=None,
        reason=reason,
    )


def deactivate_user(session: Session, username: str, *, actor: str, reason: str) -> None:
    """Stop a user from signing in or acting, and end their sessions and tokens; their records
    stay."""
    _set_active(
        session, username, False, actor=actor, reason=reason,
        already=f"User '{username}' is already deactivated.",
    )  # fmt: skip
    _end_sessions(session, username, actor, "user deactivated")


def reactivate_user(session: Session, username: str, *, actor: str, reason: str) -> None:
    """Let a deactivated user sign in again (with their roles and qualifications as they were;
    the sessions and tokens the deactivation ended stay ended)."""
    _set_active(
        session, username, True, actor=actor, reason=reason,
        already=f"User '{username}' is active; there is nothing to reactivate.",
    )  # fmt: skip


def _set_active(
    session: Session, username: str, active: bool, *, actor: str, reason: str, already: str
) -> None:
    """Set the user's ``active`` flag, audited as a (de)activation; Conflict saying ``already``
    when it is set so."""
    user = _user(session, username)
    if user.active == active:
        raise Conflict(already)
    user.active = active
    audit.record(
        session,
        actor=actor,
        action="reactivate" if active else "deactivate",
        entity="user",
        entity_id=username,
        old={"active": not active},
        new={"active": active},
        reason=reason,
    )


# ---------------------------------------------------------------- queries


def roles_of(session: Session, username: str) -> frozenset[str]:
    """The roles of an active user (none for a deactivated one); NotFound for an unknown one."""
    user = _user(session, username)
    if not user.active:
        return frozenset()
    return frozenset(session.scalars(select(UserRole.role).where(UserRole.user_id == user.id)))


def qualifications_of(session: Session, username: str, on_date: dt.date) -> frozenset[str]:
    """The qualifications an active user holds on ``on_date`` (expired ones left out)."""
    user = _user(session, username)
    if not user.active:
        return frozenset()
    return frozenset(q.name for q in _grants(session, user.id) if q.valid_on(on_date))


def require_role(session: Session, username: str, roles: Collection[str], doing: str) -> None:
    """Forbidden unless the user is active and has one of ``roles``; ``doing`` names the act."""
    user = _user(session, username)
    if not user.active:
        raise Forbidden(
            f"User '{username}' is deactivated and cannot {doing}; an admin can create a new "
            "account."
        )
    held = roles_of(session, username)
    if held.isdisjoint(roles):
        wanted = " or ".join(f"'{r}'" for r in sorted(roles))
        raise Forbidden(
            f"User '{username}' may not {doing}: that needs the role {wanted}; "
            "ask an admin to grant it."
        )


def stored_password(session: Session, username: str) -> str | None:
    """The password hash of an active user (None for an unknown or deactivated one), to be
    checked with :func:`engine.access.passwords.verify` once the session is closed."""
    user = session.scalar(select(User).where(User.username == username))
    return user.password_hash if user is not None and user.active else None


def verify_password(session: Session, username: str, password: str) -> bool:
    """True when the user exists, is active, and ``password`` is theirs; every answer costs the
    same (see :func:`engine.access.passwords.verify`)."""
    return passwords.verify(stored_password(session, username), password)


def user_info(session: Session, username: str) -> UserInfo:
    """One user with their roles and newest qualification grants."""
    user = _user(session, username)
    roles = session.scalars(
        select(UserRole.role).where(UserRole.user_id == user.id).order_by(UserRole.role)
    )
    return UserInfo(
        username=user.username,
        full_name=user.full_name,
        active=user.active,
        has_password=user.password_hash is not None,
        roles=tuple(roles),
        qualifications=tuple(sorted(_grants(session, user.id), key=lambda q: q.name)),
    )


def list_users(session: Session) -> list[UserInfo]:
    """Every user, by username."""
    names = session.scalars(select(User.username).order_by(User.username)).all()
    return [user_info(session, name) for name in names]


# ---------------------------------------------------------------- helpers


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(
            f"There is no user '{username}'; check the spelling, or add the user with "
            f"`ferrule users add {username}`."
        )
    return user


def _grants(session: Session, user_id: int) -> list[QualificationGrant]:
    """The newest grant of each qualification the user holds (revoked ones left out)."""
    rows = session.scalars(
        select(UserQualification)
        .where(UserQualification.user_id == user_id)
        .order_by(UserQualification.id)
    )
    newest = {row.qualification: row for row in rows}
    return [
        QualificationGrant(
            r.qualification, r.granted_on, r.expires_on, r.granted_by, r.evidence, r.evidence_sha256
        )
        for r in newest.values()
        if r.kind != REVOKE
    ]


def _check_name(name: str, kind: str, declared: Collection[str]) -> None:
    if name not in declared:
        raise undeclared(kind, name, declared, field=kind)


def _end_sessions(session: Session, username: str, actor: str, reason: str) -> None:
    """The user's sessions end by the audit row just written; their tokens are revoked here."""
    sessions.revoke_tokens(session, username, actor=actor, reason=reason, now=utcnow())


_USER = Statement(select(User.full_name, User.active).where(User.username == bindparam("username")))


def full_name(session: Session | Sql, username: str) -> str:
    """An active user's full name (the username when none is recorded).

    NotFound for an unknown user; Forbidden for a deactivated one."""
    row = Sql.of(session).first(_USER, {"username": username})
    if row is None:
        raise NotFound(
            f"There is no user '{username}'; check the spelling, or add the user with "
            f"`ferrule users add {username}`."
        )
    name, active = row
    if not active:
        raise Forbidden(f"User '{username}' is deactivated and cannot record production work.")
    return str(name or username)


def evidence_file(session: Session, username: str, sha256: str) -> Upload:
    """The scan of a training record attached to one of the user's qualification grants;
    NotFound when none of their grants holds that hash."""
    user = _user(session, username)
    held = session.scalar(
        select(UserQualification.id).where(
            UserQualification.user_id == user.id, UserQualification.evidence_sha256 == sha256
        )
    )
    if held is None:
        raise NotFound(f"No qualification of '{username}' has the attached file {sha256}.")
    return attachments.fetch(session, sha256)
