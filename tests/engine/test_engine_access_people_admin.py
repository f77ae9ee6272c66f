"""What an admin does to users from the browser, through the access facade: deactivate and
reactivate, reset a password, revoke a role or a qualification, and grant a qualification with the
training record it rests on (and its scan, stored content-addressed). Every change is audited,
and the audit chain verifies afterwards."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from dsl.model import Plant
from engine.access import people
from engine.errors import Conflict, Invalid, NotFound
from engine.facade.access import Access
from engine.facade.audit import AuditTrail
from engine.infra.attachments import MAX_ATTACHMENT, Upload
from engine.infra.db import Database
from engine.records.tables import Attachment, AuditRecord

STRONG = "tangerine lathe quarry 42"
NEWER = "marmalade drill canyon 17"
SCAN = Upload("tr-114.pdf", "application/pdf", b"%PDF-1.4 training record TR-114")


@pytest.fixture
def access(db: Database, plant: Plant) -> Access:
    with db.transaction() as session:
        for username, roles in (("anna", ("operator",)), ("ada", ("admin",))):
            people.create_user(session, username, actor="setup", password=STRONG)
            for role in roles:
                people.grant_role(session, username, role, actor="setup", plant=plant)
    return Access(db)


def _signed_in(access: Access, username: str, password: str = STRONG) -> int:
    tried = access.sign_in(username=username, password=password, address="192.0.2.1")
    assert tried.ok
    return tried.session


def _token(access: Access, username: str) -> str:
    return access.create_token(
        actor=username, name="scale", username=username, roles=("operator",)
    ).secret


def _actions(db: Database, username: str) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(AuditRecord.action, AuditRecord.reason)
            .where(AuditRecord.entity == "user", AuditRecord.entity_id == username)
            .order_by(AuditRecord.seq)
        )
        return [(a, r) for a, r in rows]


def _chain_ok(db: Database) -> None:
    verdict = AuditTrail(db).verify()
    assert verdict.ok, verdict.describe()


def test_deactivating_ends_sessions_and_tokens_and_reactivating_lets_the_user_back(
    access: Access, db: Database
) -> None:
    since = _signed_in(access, "anna")
    secret = _token(access, "anna")
    access.deactivate(actor="ada", username="anna", reason="left the company")
    assert access.session_roles("anna", since) is None
    assert access.token_caller(secret) is None
    assert not access.sign_in(username="anna", password=STRONG, address="192.0.2.1").ok
    assert access.user("anna").active is False

    access.reactivate(actor="ada", username="anna", reason="rehired on line 2")
    assert access.user("anna").active is True
    again = _signed_in(access, "anna")
    assert access.session_roles("anna", again) == frozenset({"operator"})
    assert access.token_caller(secret) is None  # ended tokens stay ended
    assert ("deactivate", "left the company") in _actions(db, "anna")
    assert ("reactivate", "rehired on line 2") in _actions(db, "anna")
    _chain_ok(db)


def test_deactivation_and_reactivation_say_what_is_wrong(access: Access) -> None:
    with pytest.raises(Invalid) as no_reason:
        access.deactivate(actor="ada", username="anna", reason="  ")
    assert no_reason.value.message == (
        "Give a reason to deactivate anna; it goes into the audit trail."
    )
    with pytest.raises(Conflict) as self_service:
        access.deactivate(actor="ada", username="ada", reason="testing")
    assert self_service.value.message == "You cannot deactivate yourself; ask another admin."
    with pytest.raises(Conflict) as active:
        access.reactivate(actor="ada", username="anna", reason="why not")
    assert active.value.message == "User 'anna' is active; there is nothing to reactivate."
    access.deactivate(actor="ada", username="anna", reason="left")
    with pytest.raises(Conflict) as twice:
        access.deactivate(actor="ada", username="anna", reason="left")
    assert twice.value.message == "User 'anna' is already deactivated."
    with pytest.raises(NotFound) as unknown:
        access.deactivate(actor="ada", username="zed", reason="left")
    assert unknown.value.message.startswith("There is no user 'zed'")


def test_a_password_reset_ends_sessions_and_tokens(access: Access, db: Database) -> None:
    since = _signed_in(access, "anna")
    secret = _token(access, "anna")
    access.reset_password(actor="ada", username="anna", password=NEWER)
    assert access.session_roles("anna", since) is None
    assert access.token_caller(secret) is None
    assert not access.sign_in(username="anna", password=STRONG, address="192.0.2.1").ok
    _signed_in(access, "anna", NEWER)
    with pytest.raises(Invalid):
        access.reset_password(actor="ada", username="anna", password="short")
    _chain_ok(db)


def test_revoking_a_role_ends_sessions_and_tokens(access: Access, db: Database) -> None:
    since = _signed_in(access, "anna")
    secret = _token(access, "anna")
    access.revoke_role(actor="ada", username="anna", role="operator", reason="moved to stores")
    assert access.user("anna").roles == ()
    assert access.session_roles("anna", since) is None
    assert access.token_caller(secret) is None
    assert ("revoke_role", "moved to stores") in _actions(db, "anna")
    with pytest.raises(Conflict) as again:
        access.revoke_role(actor="ada", username="anna", role="operator", reason="again")
    assert again.value.message == (
        "User 'anna' does not have the role 'operator'; nothing to revoke."
    )
    with pytest.raises(Conflict) as own:
        access.revoke_role(actor="ada", username="ada", role="admin", reason="testing")
    assert own.value.message == (
        "You cannot revoke your own admin role; ask another admin, so that the site keeps one."
    )
    _chain_ok(db)


def test_a_qualification_carries_who_granted_it_and_its_evidence(
    access: Access, db: Database, plant: Plant
) -> None:
    name = sorted(plant.qualifications)[0]
    grant = access.grant_qualification(
        actor="ada",
        username="anna",
        qualification=name,
        evidence="TR-2026-114, passed",
        evidence_file=SCAN,
    )
    digest = hashlib.sha256(SCAN.content).hexdigest()
    assert (grant.granted_by, grant.evidence, grant.evidence_sha256) == (
        "ada",
        "TR-2026-114, passed",
        digest,
    )
    (shown,) = access.user("anna").qualifications
    assert shown == grant
    assert access.evidence_file(username="anna", sha256=digest) == SCAN
    with pytest.raises(NotFound) as elsewhere:
        access.evidence_file(username="ada", sha256=digest)
    assert elsewhere.value.message == f"No qualification of 'ada' has the attached file {digest}."

    access.grant_qualification(
        actor="ada", username="anna", qualification=name, evidence="refresher", evidence_file=SCAN
    )
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Attachment)) == 1
    _chain_ok(db)


def test_an_empty_or_too_large_evidence_file_is_refused(access: Access, plant: Plant) -> None:
    name = sorted(plant.qualifications)[0]
    with pytest.raises(Invalid) as empty:
        access.grant_qualification(
            actor="ada", username="anna", qualification=name, evidence_file=Upload("a", "", b"")
        )
    assert empty.value.message == "The training record is an empty file; scan it again."
    huge = Upload("scan.tif", "image/tiff", b"x" * (MAX_ATTACHMENT + 1))
    with pytest.raises(Invalid) as large:
        access.grant_qualification(
            actor="ada", username="anna", qualification=name, evidence_file=huge
        )
    assert large.value.message == (
        "The training record is 8.4 MB, more than the 8 MB allowed; scan it at a lower resolution."
    )
    assert access.user("anna").qualifications == ()


def test_revoking_a_qualification_takes_it_away_from_today(
    access: Access, db: Database, plant: Plant
) -> None:
    name = sorted(plant.qualifications)[0]
    access.grant_qualification(actor="ada", username="anna", qualification=name, evidence="TR")
    access.revoke_qualification(
        actor="ada", username="anna", qualification=name, reason="failed the audit"
    )
    assert access.user("anna").qualifications == ()
    with db.session() as session:
        assert name not in people.qualifications_of(session, "anna", people.utcnow().date())
    assert ("revoke_qualification", "failed the audit") in _actions(db, "anna")
    with pytest.raises(Conflict) as again:
        access.revoke_qualification(actor="ada", username="anna", qualification=name, reason="x")
    assert again.value.message == (
        f"User 'anna' does not hold the qualification '{name}'; nothing to revoke."
    )
    access.grant_qualification(actor="ada", username="anna", qualification=name, evidence="TR2")
    assert [q.name for q in access.user("anna").qualifications] == [name]
    _chain_ok(db)
