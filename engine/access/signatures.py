"""Electronic signatures (21 CFR Part 11): re-authentication, meaning, and binding to a record.

The signer gives username and password again at the moment of signing (§11.200) and states what
the signature means (§11.50). The stored signature names the signer, the time and the meaning, and
holds the SHA-256 of the signed record's content, bound to that record by type and id (§11.70).

Re-authentication is a password check like signing in, so it goes through the same throttle
(:mod:`engine.access.throttle`): a wrong signature counts as a failed sign-in of the signer from
the caller's address, and too many of them refuse both. A refused signature is audited (in a
transaction of its own, so that the refusal is kept though the command is rolled back) under the
caller who sent it, on the record, and under the named signer, on their user.

A command checks its request first and authenticates its signers only then (a request that is
wrong anyway costs no argon2 check and counts against no one), and argon2 runs with no database
connection held: what it needs is read in a short session before it (:func:`authenticate`). A
password longer than :data:`MAX_PASSWORD` is refused before anything is read or hashed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import SignatureRequirement
from engine.access import passwords, people, throttle
from engine.access.people import full_name
from engine.errors import Forbidden, Invalid
from engine.infra import audit
from engine.infra.db import Database
from engine.infra.statements import Sql, insert_rows
from engine.records.base import utcnow
from engine.records.production import Signature, table
from engine.records.tables import User

_signatures = table(Signature)

LOCAL = "local"  # the address of a signature given in this process (the CLI, config tests)
# What a signed disposition of a nonconformance may mean.
DISPOSITION_MEANINGS = ("Disposition approved", "Reviewed and approved")
# The longest password a signature may give: longer ones are refused before argon2 hashes them.
MAX_PASSWORD = passwords.MAX_LENGTH


@dataclass(frozen=True, slots=True)
class SignatureInput:
    """What a signer types: username, password, and the meaning they state; with who sent it
    (``caller``, "" for the signer themself) and from which ``address``."""

    username: str
    password: str
    meaning: str
    caller: str = ""
    address: str = LOCAL


@dataclass(frozen=True, slots=True)
class Signer:
    """A signer whose password was just verified."""

    username: str
    full_name: str
    roles: frozenset[str]
    meaning: str


@dataclass(frozen=True, slots=True)
class Signed:
    """A requirement met by a signer: ``role`` is the role they signed in."""

    signer: Signer
    role: str


class SignatureRefused(Forbidden):
    """A signer failed to re-authenticate; ``given`` is what was sent."""

    reason = "wrong password at signing"

    def __init__(self, given: SignatureInput, message: str = "", code: str = "") -> None:
        super().__init__(
            message
            or f"The password for '{given.username}' is wrong; the signature was refused. "
            "Sign again with your own username and password.",
            code=code or "signature_refused",
        )
        self.given = given


class SignatureThrottled(SignatureRefused):
    """A signer's password was not even checked: too many failed sign-ins (the throttle's
    message says how long to wait)."""

    reason = "too many failed sign-ins"

    def __init__(self, given: SignatureInput, message: str) -> None:
        super().__init__(given, message, "too_many_attempts")


def check_passwords(inputs: Sequence[SignatureInput]) -> None:
    """Invalid for a password longer than :data:`MAX_PASSWORD`: no password is that long, and
    hashing it would only cost the server time. Nothing is read, counted or audited."""
    for given in inputs:
        if len(given.password) > MAX_PASSWORD:
            raise Invalid(
                f"The password given to sign as '{given.username}' is longer than "
                f"{MAX_PASSWORD:,} characters, more than any password has; sign again with your "
                "own password.",
                field="password",
            )


@dataclass(frozen=True, slots=True)
class _Claim:
    """What a signature's check needs from the database: the signer's stored hash and who they
    are (None for both unless the user exists and is active)."""

    stored: str | None
    signer: Signer | None


_HASH = select(User.password_hash, User.active)


def _claim(session: Session, given: SignatureInput) -> _Claim:
    """Read what checking ``given`` needs; SignatureThrottled when the throttle refuses it."""
    waiting = throttle.refusal(session, given.username, given.address, utcnow())
    if waiting:
        raise SignatureThrottled(given, waiting)
    row = session.execute(_HASH.where(User.username == given.username)).one_or_none()
    if row is None or not row.active:
        return _Claim(None, None)
    signer = Signer(
        given.username,
        full_name(session, given.username),
        people.roles_of(session, given.username),
        given.meaning.strip(),
    )
    return _Claim(row.password_hash, signer)


def authenticate(db: Database, inputs: Sequence[SignatureInput]) -> tuple[Signer, ...]:
    """Verify every signer's password, throttled like signing in; SignatureThrottled or
    SignatureRefused on the first that fails (Invalid for a password too long to be one).

    Each signer's throttle state, hash and roles are read in a short session of their own; the
    argon2 check runs after it is closed, so that no connection is held while it runs. An
    unknown or deactivated signer costs one argon2 check like a wrong password
    (:func:`engine.access.passwords.verify`)."""
    check_passwords(inputs)
    signers: list[Signer] = []
    for given in inputs:
        with db.session() as session:
            claim = _claim(session, given)
        verified = passwords.verify(claim.stored, given.password)
        if not verified or claim.signer is None:
            raise SignatureRefused(given)
        signers.append(claim.signer)
    return tuple(signers)


def audit_refusal(session: Session, refused: SignatureRefused, *, record: str) -> None:
    """Keep a refused signature in the audit trail, under the caller on the record and under the
    signer on their user, and count a wrong password as a failed sign-in (call it in a
    transaction of its own)."""
    given, now = refused.given, utcnow()
    caller = given.caller or given.username
    if not isinstance(refused, SignatureThrottled):
        throttle.record_attempt(session, given.username, given.address, False, now)
    audit.record_many(
        session,
        [
            audit.Change(
                caller,
                "signature_refused",
                "signature",
                record,
                None,
                {"signer": given.username, "address": given.address},
                refused.reason,
            ),
            audit.Change(
                given.username,
                "signature_failed",
                "user",
                given.username,
                None,
                {"requested_by": caller, "record": record, "address": given.address},
                refused.reason,
            ),
        ],
    )


def cover(
    requirements: Sequence[SignatureRequirement], signers: Sequence[Signer], what: str
) -> tuple[Signed, ...]:
    """Match each requirement to a distinct signer with its role and meaning.

    ``what`` names the signed thing in messages (e.g. "'test' on Unit HA2611-00001")."""
    left = list(signers)
    matched: list[Signed] = []
    for requirement in requirements:
        found = next(
            (s for s in left if requirement.role in s.roles and s.meaning == requirement.meaning),
            None,
        )
        if found is None:
            raise _missing(requirement, left, what)
        left.remove(found)
        matched.append(Signed(found, requirement.role))
    if left:
        extra = left[0]
        raise Invalid(
            f"{what} does not ask for a signature meaning '{extra.meaning}' by '{extra.username}'; "
            "sign only what the operation asks for.",
            field="signatures",
        )
    return tuple(matched)


def _missing(
    requirement: SignatureRequirement, candidates: Sequence[Signer], what: str
) -> Forbidden | Invalid:
    for signer in candidates:
        if requirement.role not in signer.roles:
            return Forbidden(
                f"User '{signer.username}' cannot sign '{requirement.meaning}' for {what}: "
                f"that needs the role '{requirement.role}'.",
                code="signature_role",
            )
        if signer.meaning != requirement.meaning:
            return Invalid(
                f"The signature for {what} must state '{requirement.meaning}', "
                f"not '{signer.meaning}'.",
                field="signatures",
            )
    return Forbidden(
        f"{what} needs a signature by a user with the role '{requirement.role}' meaning "
        f"'{requirement.meaning}'; sign with your username and password.",
        code="signature_required",
    )


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of a record's canonical JSON content."""
    return hashlib.sha256(audit.canonical(content).encode()).hexdigest()


_INSERT = insert_rows(_signatures)


def store(
    session: Session | Sql,
    signed: Sequence[Signed],
    *,
    record_type: str,
    record_id: int,
    digest: str,
    now: dt.datetime,
    version_id: int,
) -> list[audit.Change]:
    """Insert the signature rows; returns their audit changes for the caller to record."""
    if not signed:
        return []
    rows = [
        {
            "record_type": record_type,
            "record_id": record_id,
            "username": s.signer.username,
            "full_name": s.signer.full_name,
            "role": s.role,
            "meaning": s.signer.meaning,
            "signed_at": now,
            "content_hash": digest,
            "config_version_id": version_id,
        }
        for s in signed
    ]
    Sql.of(session).executemany(_INSERT, rows)
    return [
        audit.Change(
            s.signer.username,
            "sign",
            record_type,
            record_id,
            None,
            {"meaning": s.signer.meaning, "role": s.role, "content_hash": digest},
        )
        for s in signed
    ]
