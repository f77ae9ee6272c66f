"""Electronic signatures (21 CFR Part 11): re-authentication, meaning, and binding to a record.

The signer gives username and password again at the moment of signing (§11.200) and states what
the signature means (§11.50). The stored signature names the signer, the time and the meaning, and
holds the SHA-256 of the signed record's content, bound to that record by type and id (§11.70).
A refused signature (wrong password) is audited by the caller in its own transaction, so that the
refusal is kept even though the command is rolled back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dsl.model import SignatureRequirement
from engine.access import people
from engine.access.people import full_name
from engine.errors import Forbidden, Invalid
from engine.infra import audit
from engine.infra.statements import Sql, insert_rows
from engine.records.production import Signature, table

_signatures = table(Signature)


@dataclass(frozen=True, slots=True)
class SignatureInput:
    """What a signer types: username, password, and the meaning they state."""

    username: str
    password: str
    meaning: str


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
    """A signer failed to re-authenticate; ``username`` is who tried."""

    def __init__(self, username: str) -> None:
        super().__init__(
            f"The password for '{username}' is wrong; the signature was refused. "
            "Sign again with your own username and password.",
            code="signature_refused",
        )
        self.username = username


def authenticate(session: Session, inputs: Sequence[SignatureInput]) -> tuple[Signer, ...]:
    """Verify every signer's password; SignatureRefused on the first wrong one."""
    signers: list[Signer] = []
    for given in inputs:
        if not people.verify_password(session, given.username, given.password):
            raise SignatureRefused(given.username)
        signers.append(
            Signer(
                given.username,
                full_name(session, given.username),
                people.roles_of(session, given.username),
                given.meaning.strip(),
            )
        )
    return tuple(signers)


def audit_refusal(session: Session, refused: SignatureRefused, *, record: str) -> None:
    """Keep a refused signature attempt in the audit trail (in its own transaction)."""
    audit.record(
        session,
        refused.username,
        "signature_refused",
        "signature",
        record,
        None,
        {"username": refused.username},
        "wrong password at signing",
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
