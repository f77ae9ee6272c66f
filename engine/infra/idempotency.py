"""Idempotency keys: a command sent twice with the same key runs once.

The caller (a tablet on a flaky network, an ERP integration) sends a key with a command. The first
time, the command runs and its JSON result is stored with the key in the same transaction. A retry
with the same key and the same request gets the stored result back without running anything; the
same key with a different request is refused, because that is a caller's bug.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, Invalid
from engine.infra.audit import canonical
from engine.infra.db import Database
from engine.records.base import Base, utcnow
from engine.records.tables import IdempotencyKey

MAX_KEY = 200
_keys = Base.metadata.tables[IdempotencyKey.__tablename__]


class JsonResult(Protocol):
    """What a command returns: a frozen dataclass that turns itself into plain JSON data."""

    def to_json(self) -> Mapping[str, Any]: ...


R = TypeVar("R", bound=JsonResult)


def fingerprint(command: str, request: Mapping[str, Any]) -> str:
    """A stable digest of a command's name and arguments (canonical JSON, SHA-256)."""
    return hashlib.sha256(canonical({"command": command, "request": request}).encode()).hexdigest()


def run_once(
    session: Session,
    key: str | None,
    command: str,
    request_fingerprint: str,
    fn: Callable[[], R],
    *,
    load: Callable[[Mapping[str, Any]], R],
) -> R:
    """Run ``fn`` unless ``key`` was seen; a replay returns ``load(stored JSON)``.

    Call it inside the command's transaction so that the result and the key commit together.
    Two requests racing with one key: the second one's insert collides and it gets a Conflict;
    retrying it then returns the first one's result.
    """
    if key is None:
        return fn()
    if not key or len(key) > MAX_KEY:
        raise Invalid(
            f"The idempotency key must be 1 to {MAX_KEY} characters long; send a UUID.",
            field="idempotency_key",
        )
    stored = session.execute(
        select(_keys.c.command, _keys.c.fingerprint, _keys.c.result).where(_keys.c.key == key)
    ).one_or_none()
    if stored is not None:
        if stored.command != command or stored.fingerprint != request_fingerprint:
            raise Conflict(
                f"idempotency key reused with a different request: key '{key}' was first used "
                f"for '{stored.command}'; send a new key for a new request.",
                code="idempotency_key_reused",
            )
        return load(json.loads(stored.result))
    result = fn()
    try:
        session.execute(
            insert(_keys).values(
                key=key,
                command=command,
                fingerprint=request_fingerprint,
                result=canonical(result.to_json()),
                created_at=utcnow(),
            )
        )
    except IntegrityError as exc:
        raise Conflict(
            f"A request with idempotency key '{key}' is being processed right now; retry it "
            "to get its result.",
            code="idempotency_key_in_flight",
        ) from exc
    return result


def run_once_in(
    db: Database,
    key: str | None,
    command: str,
    request: Mapping[str, Any],
    fn: Callable[[Session], R],
    *,
    load: Callable[[Mapping[str, Any]], R],
) -> R:
    """:func:`run_once` in a transaction of its own: ``fn(session)`` runs, and its result is
    stored with ``key``, in one commit; ``request`` is fingerprinted with ``command``'s name."""
    digest = fingerprint(command, request) if key is not None else ""
    with db.transaction() as session:
        return run_once(session, key, command, digest, lambda: fn(session), load=load)
