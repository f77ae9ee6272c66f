"""Ending a user's sessions and API tokens on the server, at once.

A browser session carries the audit sequence number of its sign-in (``since``). It has ended as
soon as an audit row of :data:`ENDING` follows that one for its user: a sign-out (on any device),
a password change, a deactivation, or a role granted or revoked. The check is part of the one
query that reads the caller's roles on every request (:mod:`engine.access.callers`), so nothing
is kept per session on the server. The same changes but a sign-out revoke the user's API tokens
outright (:func:`revoke_tokens`): a machine client keeps working when its person signs out of a
browser, not when that person's password, account or roles change.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.infra import audit
from engine.records.tables import ApiToken

SIGN_OUT = "signout"
ENDING = (SIGN_OUT, "set_password", "deactivate", "grant_role", "revoke_role")


def revoke_tokens(
    session: Session, username: str, *, actor: str, reason: str, now: dt.datetime
) -> None:
    """Revoke every live token acting as ``username``, each revocation audited with ``reason``."""
    live = session.scalars(
        select(ApiToken.id).where(ApiToken.username == username, ApiToken.revoked_at.is_(None))
    ).all()
    if not live:
        return
    session.execute(update(ApiToken).where(ApiToken.id.in_(live)).values(revoked_at=now))
    audit.record_many(
        session,
        [
            audit.Change(actor, "revoke", "api_token", token_id, None, {"revoked": True}, reason)
            for token_id in live
        ],
    )
