"""Who is calling: the roles a signed-in user or an API token may use now, in one query.

The web layer checks them on every request (so that a revoked role, a sign-out elsewhere or a
deactivation takes effect at once); this reads the token or the session's end
(:mod:`engine.access.sessions`), the user's active flag and the user's roles in one statement
instead of one ORM round trip for each, on an engine connection without a transaction of its
own (one statement is consistent by itself). A caller whose user is unknown gets
:func:`engine.access.people.roles_of`'s NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select
from sqlalchemy.orm import Session

from engine.access import people, sessions
from engine.access.tokens import token_digest
from engine.infra.statements import Sql, Statement
from engine.records.base import Base
from engine.records.tables import ApiToken, AuditRecord, User, UserRole

_audit = Base.metadata.tables[AuditRecord.__tablename__]
_tokens = Base.metadata.tables[ApiToken.__tablename__]
_users = Base.metadata.tables[User.__tablename__]
_roles = Base.metadata.tables[UserRole.__tablename__]
_with_roles = _users.outerjoin(_roles, _roles.c.user_id == _users.c.id)

_ENDED = (
    select(_audit.c.seq)
    .where(
        _audit.c.entity == "user",
        _audit.c.entity_id == bindparam("username"),
        _audit.c.seq > bindparam("since"),
        or_(*(_audit.c.action == action for action in sessions.ENDING)),
    )
    .exists()
)
_SESSION = Statement(
    select(_ENDED, _users.c.active, _roles.c.role)
    .select_from(_with_roles)
    .where(_users.c.username == bindparam("username"))
)
_TOKEN = Statement(
    select(
        _tokens.c.username,
        _tokens.c.roles,
        _tokens.c.revoked_at,
        _tokens.c.expires_at,
        _users.c.active,
        _roles.c.role,
    )
    .select_from(_tokens.outerjoin(_with_roles, _users.c.username == _tokens.c.username))
    .where(_tokens.c.token_hash == bindparam("token_hash"))
)


@dataclass(frozen=True, slots=True)
class CallerRoles:
    """A caller's username and the roles it may use now."""

    username: str
    roles: frozenset[str]


def _unknown(connection: Connection, username: str) -> frozenset[str]:
    """:func:`engine.access.people.roles_of` for a user that does not exist: its NotFound."""
    with Session(connection) as session:
        return people.roles_of(session, username)


def _held(connection: Connection, username: str, rows: Sequence[tuple[Any, ...]]) -> frozenset[str]:
    """The roles in ``rows`` (…, active flag, role), none for a deactivated user."""
    active = rows[0][-2]
    if active is None:
        return _unknown(connection, username)
    return frozenset(row[-1] for row in rows if row[-1] is not None) if active else frozenset()


def session_roles(connection: Connection, username: str, since: int) -> frozenset[str] | None:
    """The roles a session that began at audit row ``since`` may use now; None once it has
    ended (a sign-out, a password, role or account change after it; see
    :mod:`engine.access.sessions`)."""
    rows = Sql(connection).all(_SESSION, {"username": username, "since": since})
    if not rows:
        return _unknown(connection, username)
    if rows[0][0] or not rows[0][1]:
        return None
    return _held(connection, username, rows)


def token_roles(connection: Connection, secret: str, now: dt.datetime) -> CallerRoles | None:
    """The user a live token acts as, with the token's roles that the user still holds; None
    for an unknown, revoked or expired token."""
    token_hash = token_digest(secret)
    rows = Sql(connection).all(_TOKEN, {"token_hash": token_hash})
    if not rows:
        return None
    username, scope, revoked_at, expires_at = rows[0][:4]
    if revoked_at is not None or (expires_at is not None and expires_at <= now):
        return None
    allowed = {role for role in scope.split(",") if role}
    return CallerRoles(username, _held(connection, username, rows) & allowed)
