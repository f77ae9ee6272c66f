"""The sign-in throttle, shared by signing in and by e-signature re-authentication.

Every password try is kept a day in ``signin_attempts`` (in the database, so every worker and host
counts the same). A try is refused before its password is checked when, within :data:`WINDOW`,
there were :data:`MAX_FAILURES` failures for that username from that address since its last
success, :data:`ADDRESS_MAX_FAILURES` from that address for any usernames (one place spraying a
password over many accounts), or :data:`GLOBAL_MAX_FAILURES` on the whole server (spraying from
many places). The last one also delays honest people while it lasts; it is set far above what a
plant's own typing mistakes reach.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from engine.records.tables import SigninAttempt

WINDOW = dt.timedelta(minutes=5)
MAX_FAILURES = 5
ADDRESS_MAX_FAILURES = 20
GLOBAL_MAX_FAILURES = 200
RETENTION = dt.timedelta(days=1)


def _failures(session: Session, username: str, address: str, now: dt.datetime) -> tuple[int, ...]:
    """Failures in the window: for this username and address since its last success, from this
    address, and in all (one scan of the window)."""
    attempt = SigninAttempt
    last_success = (
        select(func.max(attempt.at))
        .where(
            attempt.username == username, attempt.address == address, attempt.succeeded.is_(True)
        )
        .scalar_subquery()
    )
    pair = and_(
        attempt.username == username,
        attempt.address == address,
        or_(last_success.is_(None), attempt.at > last_success),
    )
    row = session.execute(
        select(
            func.coalesce(func.sum(case((pair, 1), else_=0)), 0),
            func.coalesce(func.sum(case((attempt.address == address, 1), else_=0)), 0),
            func.count(),
        ).where(attempt.succeeded.is_(False), attempt.at > now - WINDOW)
    ).one()
    return tuple(int(n) for n in row)


def refusal(session: Session, username: str, address: str, now: dt.datetime) -> str:
    """Why a password try must wait, for the person trying ("" when it may go ahead)."""
    pair, from_address, everywhere = _failures(session, username, address, now)
    minutes = int(WINDOW.total_seconds() // 60)
    if pair >= MAX_FAILURES:
        return (
            f"Too many failed sign-ins for {username}; wait {minutes} minutes and try again, "
            "or ask an admin to reset the password."
        )
    if from_address >= ADDRESS_MAX_FAILURES:
        return f"Too many failed sign-ins from {address}; wait {minutes} minutes and try again."
    if everywhere >= GLOBAL_MAX_FAILURES:
        return (
            f"Too many failed sign-ins on this server; wait {minutes} minutes and try again, or "
            "ask an admin."
        )
    return ""


def record_attempt(
    session: Session, username: str, address: str, succeeded: bool, now: dt.datetime
) -> None:
    """Remember a password try, and forget every try older than :data:`RETENTION`."""
    session.execute(delete(SigninAttempt).where(SigninAttempt.at < now - RETENTION))
    session.add(SigninAttempt(username=username, address=address, at=now, succeeded=succeeded))
    session.flush()
