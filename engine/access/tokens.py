"""Access records for the web layer: API tokens scoped by role, and sign-in attempts.

They live in the engine's database (not in a worker's memory) so that every gunicorn worker and
every host sharing one PostgreSQL sees the same tokens and the same failed-sign-in counts.
A token's secret is shown once when it is created; only its SHA-256 is stored (the secret has
256 bits of entropy, so a fast hash is enough — unlike a password).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from engine.access import people
from engine.errors import Invalid
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.base import utcnow
from engine.records.tables import ApiToken, SigninAttempt

TOKEN_PREFIX = "ferrule_"  # noqa: S105  (a prefix, not a secret)
SIGNIN_WINDOW = dt.timedelta(minutes=5)
SIGNIN_MAX_FAILURES = 5
SIGNIN_RETENTION = dt.timedelta(days=1)


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
    audit.record(session, created_by, "create", "api_token", row.id, None, new)
    return _info(row), secret


def token_for_secret(session: Session, secret: str, now: dt.datetime) -> TokenInfo | None:
    """The live (not revoked, not expired) token with this secret, or None."""
    digest = token_digest(secret)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    return _info(row)


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
        audit.record(session, actor, "revoke", "api_token", token_id, None, {"revoked": True})
    row = session.get(ApiToken, token_id)
    return _info(row) if row is not None else None


def recent_failures(session: Session, username: str, address: str, now: dt.datetime) -> int:
    """Failed sign-ins for this username from this address in the window since the last success."""
    last_success = (
        select(func.max(SigninAttempt.at))
        .where(
            SigninAttempt.username == username,
            SigninAttempt.address == address,
            SigninAttempt.succeeded.is_(True),
        )
        .scalar_subquery()
    )
    count = session.scalar(
        select(func.count())
        .select_from(SigninAttempt)
        .where(
            SigninAttempt.username == username,
            SigninAttempt.address == address,
            SigninAttempt.succeeded.is_(False),
            SigninAttempt.at > now - SIGNIN_WINDOW,
            (SigninAttempt.at > last_success) | last_success.is_(None),
        )
    )
    return int(count or 0)


def record_attempt(
    session: Session, username: str, address: str, succeeded: bool, now: dt.datetime
) -> None:
    """Remember a sign-in try and forget this pair's tries older than a day."""
    session.execute(
        delete(SigninAttempt).where(
            SigninAttempt.username == username,
            SigninAttempt.address == address,
            SigninAttempt.at < now - SIGNIN_RETENTION,
        )
    )
    session.add(SigninAttempt(username=username, address=address, at=now, succeeded=succeeded))
    session.flush()


@dataclass(frozen=True, slots=True)
class SignIn:
    """A sign-in try: ``ok`` when the password was right; ``refused`` says why the password was
    not even checked (too many recent failures), "" when it was."""

    ok: bool
    refused: str = ""


def sign_in(
    session: Session, username: str, password: str, address: str, now: dt.datetime
) -> SignIn:
    """Check a password, at most :data:`SIGNIN_MAX_FAILURES` failures per username and address
    in :data:`SIGNIN_WINDOW`; every try (and every refusal) is remembered and audited."""
    where = {"address": address}
    if recent_failures(session, username, address, now) >= SIGNIN_MAX_FAILURES:
        audit.record(
            session, username, "signin_refused", "user", username, None, where,
            "too many failed sign-ins",
        )  # fmt: skip
        minutes = int(SIGNIN_WINDOW.total_seconds() // 60)
        return SignIn(
            False,
            f"Too many failed sign-ins for {username}; wait {minutes} minutes and try again, "
            "or ask an admin to reset the password.",
        )
    ok = people.verify_password(session, username, password)
    record_attempt(session, username, address, ok, now)
    action, reason = ("signin", "") if ok else ("signin_failed", "wrong username or password")
    audit.record(session, username, action, "user", username, None, where, reason)
    return SignIn(ok)


def sign_out(session: Session, username: str) -> None:
    """Audit the end of a user's session."""
    audit.record(session, username, "signout", "user", username, None, None, "")
