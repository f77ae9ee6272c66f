"""Idempotency keys: a command sent twice with the same key runs once.

The caller (a tablet on a flaky network, an ERP integration) sends a key with a command. The first
time, the command runs and its JSON result is stored with the key in the same transaction. A retry
with the same key and the same request gets the stored result back without running anything; the
same key with a different request is refused, because that is a caller's bug. Requests racing with
one key all get the first one's result: a racer whose own run failed (it found the record already
changed, or the key already inserted) reads the stored result once the first one has committed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, DomainError, Invalid
from engine.infra.audit import canonical
from engine.infra.db import Database
from engine.infra.limits import check_names
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


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY:
        raise Invalid(
            f"The idempotency key must be 1 to {MAX_KEY} characters long; send a UUID.",
            field="idempotency_key",
        )
    check_names(idempotency_key=key)


def replay(
    session: Session,
    key: str,
    command: str,
    request_fingerprint: str,
    load: Callable[[Mapping[str, Any]], R],
) -> R | None:
    """The result stored under ``key`` (None: not seen); a Conflict when the key was first used
    for another request."""
    _check_key(key)
    stored = session.execute(
        select(_keys.c.command, _keys.c.fingerprint, _keys.c.result).where(_keys.c.key == key)
    ).one_or_none()
    if stored is None:
        return None
    if stored.command != command or stored.fingerprint != request_fingerprint:
        raise Conflict(
            f"idempotency key reused with a different request: key '{key}' was first used "
            f"for '{stored.command}'; send a new key for a new request.",
            code="idempotency_key_reused",
        )
    return load(json.loads(stored.result))


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
    :func:`run_once_in` then returns the first one's result.
    """
    if key is None:
        return fn()
    stored = replay(session, key, command, request_fingerprint, load)
    if stored is not None:
        return stored
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


def stored_result(
    db: Database,
    key: str | None,
    command: str,
    request: Mapping[str, Any],
    *,
    load: Callable[[Mapping[str, Any]], R],
) -> R | None:
    """The result already stored for this request under ``key`` (None: none, or no key), read
    without a write transaction: a command with slow work before its transaction (a device
    write) asks first, so that a replay does not do that work again."""
    if key is None:
        return None
    with db.session() as session:
        return replay(session, key, command, fingerprint(command, request), load)


def run_or_replay(
    db: Database,
    key: str | None,
    command: str,
    request: Mapping[str, Any],
    work: Callable[[], R],
    *,
    load: Callable[[Mapping[str, Any]], R],
) -> R:
    """``work()``; when it fails and a request with the same key committed meanwhile (it changed
    the same records first, or inserted the key first), that request's stored result. A racer that
    lost sees the winner's effects only after the winner's commit, so one read finds it."""
    try:
        return work()
    except DomainError:
        stored = stored_result(db, key, command, request, load=load)
        if stored is None:
            raise
        return stored


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
    stored with ``key``, in one commit; ``request`` is fingerprinted with ``command``'s name.
    Requests racing with one key all get the first one's result (:func:`run_or_replay`)."""
    digest = fingerprint(command, request) if key is not None else ""

    def work() -> R:
        with db.transaction() as session:
            return run_once(session, key, command, digest, lambda: fn(session), load=load)

    return run_or_replay(db, key, command, request, work, load=load)
