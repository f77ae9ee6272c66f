"""Access records for the web layer: API tokens scoped by role, and signing in and out.

They live in the engine's database (not in a worker's memory) so that every gunicorn worker and
every host sharing one PostgreSQL sees the same tokens and the same failed-sign-in counts
(:mod:`engine.access.throttle`). A token's secret is shown once when it is created; only its
SHA-256 is stored (the secret has 256 bits of entropy, so a fast hash is enough — unlike a
password). A person may make a token for someone else only with roles they hold themselves
(:func:`issue_token`), so that a token never lets its maker act as another person beyond that.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.access import people, sessions, throttle
from engine.errors import Invalid
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.base import utcnow
from engine.records.tables import ApiToken

TOKEN_PREFIX = "ferrule_"  # noqa: S105  (a prefix, not a secret)


@dataclass(frozen=True, slots=True)
class TokenInfo(Jsonable):
    """A token as listed to admins (never with its secret)."""

    id: int
    name: str
    username: str
    roles: tuple[str, ...]
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


def token_digest(secret: str) -> str:
    """How a token secret is stored: its SHA-256, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        username=row.username,
        roles=tuple(r for r in row.roles.split(",") if r),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def create_token(
    session: Session,
    *,
    name: str,
    username: str,
    roles: tuple[str, ...],
    created_by: str,
    expires_at: dt.datetime | None = None,
) -> tuple[TokenInfo, str]:
    """Store a new token acting as ``username`` within ``roles``; returns it and its secret.

    The roles must be ones the user holds (NotFound for an unknown user); at use, a token's roles
    are further cut to what its user still holds then.
    """
    missing = sorted(set(roles) - people.roles_of(session, username))
    if missing:
        raise Invalid(
            f"{username} does not hold the role {', '.join(missing)}; a token can only use roles "
            "its user has. Grant the role first, or leave it out.",
            field="roles",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        username=username,
        roles=",".join(sorted(set(roles))),
        token_hash=token_digest(secret),
        created_at=utcnow(),
        created_by=created_by,
        expires_at=expires_at,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    new = {"name": name, "username": username, "roles": row.roles.split(",")}
    audit.record(
        session,
        actor=created_by,
        action="create",
        entity="api_token",
        entity_id=row.id,
        new=new,
    )
    return _info(row), secret


def issue_token(
    session: Session,
    *,
    name: str,
    username: str,
    roles: tuple[str, ...],
    created_by: str,
    expires_at: dt.datetime | None = None,
) -> tuple[TokenInfo, str]:
    """:func:`create_token` as a person asks for it: a token for someone else may only use roles
    its maker holds too (the audit row names both), so it never acts beyond its maker's rights."""
    if created_by != username:
        missing = sorted(set(roles) - people.roles_of(session, created_by))
        if missing:
            raise Invalid(
                f"{created_by} does not hold the role {', '.join(missing)}; a token for someone "
                "else can only use roles its maker holds too. Leave the role out, or let someone "
                "who holds it make the token.",
                field="roles",
            )
    return create_token(
        session,
        name=name,
        username=username,
        roles=roles,
        created_by=created_by,
        expires_at=expires_at,
    )


def list_tokens(session: Session) -> list[TokenInfo]:
    """Every token, newest first."""
    return [_info(r) for r in session.scalars(select(ApiToken).order_by(ApiToken.id.desc()))]


def revoke_token(
    session: Session, token_id: int, *, actor: str, now: dt.datetime
) -> TokenInfo | None:
    """Mark a token revoked (revoking it again changes nothing); None if there is no such token."""
    changed = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount  # type: ignore[attr-defined]
    if changed:
        audit.record(
            session,
            actor=actor,
            action="revoke",
            entity="api_token",
            entity_id=token_id,
            new={"revoked": True},
        )
    row = session.get(ApiToken, token_id)
    return _info(row) if row is not None else None


@dataclass(frozen=True, slots=True)
class SignIn:
    """A sign-in try: ``ok`` when the password was right; ``refused`` says why the password was
    not even checked (see :mod:`engine.access.throttle`), "" when it was; ``session`` is the
    audit sequence number of a successful sign-in, which the session carries (see
    :mod:`engine.access.sessions`)."""

    ok: bool
    refused: str = ""
    session: int = 0


def sign_in_refusal(session: Session, username: str, address: str, now: dt.datetime) -> str:
    """Why the throttle refuses this try now ("" when it does not); a refusal is audited."""
    refused = throttle.refusal(session, username, address, now)
    if refused:
        audit.record(
            session,
            actor=username,
            action="signin_refused",
            entity="user",
            entity_id=username,
            new={"address": address},
            reason="too many failed sign-ins",
        )
    return refused


def record_sign_in(
    session: Session, username: str, address: str, ok: bool, now: dt.datetime
) -> SignIn:
    """Remember and audit a checked password (see :func:`engine.access.passwords.verify`)."""
    throttle.record_attempt(session, username, address, ok, now)
    action, reason = ("signin", "") if ok else ("signin_failed", "wrong username or password")
    seq = audit.record(
        session,
        actor=username,
        action=action,
        entity="user",
        entity_id=username,
        new={"address": address},
        reason=reason,
    )
    return SignIn(ok, session=seq if ok else 0)


def sign_out(session: Session, username: str) -> None:
    """End every browser session of the user (see :mod:`engine.access.sessions`)."""
    audit.record(
        session,
        actor=username,
        action=sessions.SIGN_OUT,
        entity="user",
        entity_id=username,
        new=None,
        reason="",
    )
