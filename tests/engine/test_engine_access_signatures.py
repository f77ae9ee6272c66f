"""E-signature re-authentication shares the sign-in throttle, a refusal is audited under the
caller and the named signer, a signature is checked only once the request is otherwise valid (with
no database connection held while argon2 runs), its password is bounded, and the signed content
binds what the operation consumed."""

# ruff: noqa: F811  (the fixture ``line`` comes from engine_exec_support)

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from engine_exec_support import Line, line  # noqa: F401
from sqlalchemy import func, select

from engine.access import passwords, signatures
from engine.access.signatures import SignatureInput, SignatureRefused, SignatureThrottled
from engine.commands import complete
from engine.commands.bom import ConsumptionInput
from engine.errors import Conflict, Invalid, NotFound
from engine.facade.access import Access
from engine.floor.validation import InvalidData
from engine.infra import audit
from engine.records.tables import AuditRecord, SigninAttempt

MEANING = "Reviewed and approved"
WRONG = (
    "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
    "username and password."
)
THROTTLED = (
    "Too many failed sign-ins for quinn; wait 5 minutes and try again, or ask an admin to reset "
    "the password."
)


def _at_test(line: Line) -> str:
    (unit,) = line.release(1)
    assert line.cut(unit) == "next"
    assert line.crimp(unit) == "next"
    line.engine.start_operation(actor=line.operator, item=unit, operation="test")
    return unit


def _complete_test(
    line: Line,
    unit: str,
    password: str,
    *,
    operation: str = "test",
    lot: str = "H-001",
    data: Mapping[str, Any] | None = None,
) -> None:
    line.engine.complete_operation(
        actor=line.operator,
        item=unit,
        operation=operation,
        data=data,
        consume=[ConsumptionInput("HOUSING-4P", lot)],
        signatures=[
            SignatureInput(line.quality, password, MEANING, caller="olga", address="192.0.2.4")
        ],
    )


def _password_checks(line: Line, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every argon2 verification from now on, as the number of database connections checked out
    of the pool while it ran."""
    checks: list[int] = []
    verify = passwords.verify

    def spy(stored: str | None, password: str) -> bool:
        checks.append(line.engine.db.engine.pool.checkedout())  # type: ignore[attr-defined]
        return verify(stored, password)

    monkeypatch.setattr(passwords, "verify", spy)
    return checks


def _counted(line: Line) -> tuple[int, int]:
    """Failed sign-ins the throttle counts, and refused signatures audited."""
    with line.engine.db.session() as session:
        failed = session.scalar(
            select(func.count())
            .select_from(SigninAttempt)
            .where(SigninAttempt.succeeded.is_(False))
        )
        refused = session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "signature_refused")
        )
    return int(failed or 0), int(refused or 0)


def test_wrong_signatures_share_the_sign_in_throttle(line: Line) -> None:
    unit = _at_test(line)
    for attempt in range(1, 6):
        with pytest.raises(SignatureRefused) as refused:
            _complete_test(line, unit, "guess")
        assert (attempt, type(refused.value), refused.value.message) == (
            attempt,
            SignatureRefused,
            WRONG,
        )
    with pytest.raises(SignatureThrottled) as throttled:
        _complete_test(line, unit, line.password)  # the right password is not even checked
    assert throttled.value.message == THROTTLED
    tried = Access(line.engine.db).sign_in(
        username="quinn", password=line.password, address="192.0.2.4"
    )
    assert tried.refused == THROTTLED  # and signing in from that address waits too
    assert (
        Access(line.engine.db)
        .sign_in(username="quinn", password=line.password, address="192.0.2.5")
        .ok
    )


def test_a_refused_signature_is_audited_under_the_caller_and_the_signer(line: Line) -> None:
    unit = _at_test(line)
    with pytest.raises(SignatureRefused):
        _complete_test(line, unit, "guess")
    with line.engine.db.session() as session:
        on_record = audit.history(session, "signature", f"{unit}/test")
        on_signer = audit.history(session, "user", "quinn")
    assert [(r["actor"], r["action"], r["new"], r["reason"]) for r in on_record] == [
        (
            "olga",
            "signature_refused",
            {"signer": "quinn", "address": "192.0.2.4"},
            "wrong password at signing",
        )
    ]
    assert [(r["actor"], r["action"], r["new"]) for r in on_signer][-1] == (
        "quinn",
        "signature_failed",
        {"requested_by": "olga", "record": f"{unit}/test", "address": "192.0.2.4"},
    )


def test_a_signature_is_checked_only_once_the_request_is_otherwise_valid(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = _password_checks(line, monkeypatch)
    with pytest.raises(NotFound) as no_unit:
        _complete_test(line, "HA-NO-SUCH-UNIT", "guess")
    assert no_unit.value.message == (
        "There is no unit or lot 'HA-NO-SUCH-UNIT'; check the number on its label and scan it "
        "again."
    )
    unit = _at_test(line)
    with pytest.raises(Conflict) as wrong_step:
        _complete_test(line, unit, "guess", operation="crimp")
    assert wrong_step.value.message == (
        f"Unit {unit} waits at 'test', not 'crimp'; complete 'test' first."
    )
    with pytest.raises(InvalidData) as bad_data:
        _complete_test(line, unit, "guess", data={"voltage": 12})
    assert bad_data.value.message == (
        "voltage: operation 'test' collects no such field (it collects: none)"
    )
    with pytest.raises(NotFound) as no_lot:
        _complete_test(line, unit, "guess", lot="H-404")
    assert no_lot.value.message == (
        "There is no lot 'H-404' of part 'HOUSING-4P'; check the label, or receive the lot first."
    )
    assert (checks, _counted(line)) == ([], (0, 0))  # no argon2, nothing counted or audited
    with pytest.raises(SignatureRefused):
        _complete_test(line, unit, "guess")
    assert (checks, _counted(line)) == ([0], (1, 1))  # no connection held while argon2 ran
    assert line.engine.item(unit).status == "in_progress"


def test_a_disposition_is_checked_before_its_signature(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    (unit,) = line.release(1)
    nc = line.engine.open_nonconformance(
        actor=line.operator,
        item=unit,
        defect_code="nicked-insulation",
        description="insulation nicked",
    )
    checks = _password_checks(line, monkeypatch)

    def decide(nc_id: int, decision: str, password: str, meaning: str) -> None:
        line.engine.disposition(
            actor=line.quality, nonconformance_id=nc_id, decision=decision, reason="nicked",
            signature=SignatureInput(line.quality, password, meaning, address="192.0.2.4"),
        )  # fmt: skip

    with pytest.raises(NotFound) as missing:
        decide(nc.id + 100, "scrap", "guess", "Disposition approved")
    assert missing.value.message == (
        f"There is no nonconformance #{nc.id + 100}; check the number in the list of open "
        "nonconformances."
    )
    with pytest.raises(Invalid) as decision:
        decide(nc.id, "bin it", "guess", "Disposition approved")
    assert decision.value.message == (
        "'bin it' is not a disposition; use one of use_as_is, rework, repair, scrap, "
        "return_to_vendor"
    )
    with pytest.raises(Invalid) as meaning:
        decide(nc.id, "scrap", "guess", "Scrap approved")
    assert meaning.value.message == (
        "'Scrap approved' is not a meaning a disposition's signature can state; choose "
        "'Disposition approved' or 'Reviewed and approved'."
    )
    assert (checks, _counted(line)) == ([], (0, 0))
    with pytest.raises(SignatureRefused):
        decide(nc.id, "scrap", "guess", "Disposition approved")
    assert (checks, _counted(line)) == ([0], (1, 1))
    assert line.engine.nonconformance(nc.id).open


def test_a_signature_password_is_bounded_before_it_is_hashed(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = _at_test(line)
    checks = _password_checks(line, monkeypatch)
    with pytest.raises(Invalid) as too_long:
        _complete_test(line, unit, "x" * 1025)
    assert too_long.value.message == (
        "The password given to sign as 'quinn' is longer than 1,024 characters, more than any "
        "password has; sign again with your own password."
    )
    assert too_long.value.field == "password"
    assert (checks, _counted(line)) == ([], (0, 0))
    with pytest.raises(SignatureRefused):  # at the bound it is checked, and wrong
        _complete_test(line, unit, "x" * 1024)
    assert (checks, _counted(line)) == ([0], (1, 1))


def test_the_signed_content_binds_the_consumed_lots(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed: list[Mapping[str, Any]] = []

    def spy(content: Mapping[str, Any]) -> str:
        signed.append(content)
        return signatures.content_hash(content)

    monkeypatch.setattr(complete, "content_hash", spy)
    unit = _at_test(line)
    _complete_test(line, unit, line.password)
    (content,) = signed
    assert content["consumed"] == [
        {"part": "HOUSING-4P", "lot": "H-001", "quantity": 1.0, "unit": "pcs"}
    ]
