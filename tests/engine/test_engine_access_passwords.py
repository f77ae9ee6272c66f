"""Passwords: the policy (length, and not easy to guess), the same argon2 work for unknown users as
for known ones, and the sign-in back-off across usernames and addresses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters

from engine.access import passwords, people, throttle
from engine.errors import Invalid
from engine.facade.access import Access
from engine.infra import audit
from engine.infra.db import Database

NOW = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
STRONG = "tangerine lathe quarry 42"
POLICY = "At least 12 characters, and not a common password, a name, a date or a keyboard pattern."


def _refusal(db: Database, password: str, username: str = "anna") -> str:
    with pytest.raises(Invalid) as refused, db.transaction() as session:
        people.create_user(session, username, actor="ada", full_name="Anna Berg", password=password)
    assert refused.value.field == "password"
    return refused.value.message


def test_a_password_must_be_long_and_hard_to_guess(db: Database) -> None:
    assert _refusal(db, "s3cret-pass") == ("The password is too short; use at least 12 characters.")
    assert _refusal(db, STRONG * 41) == "The password is too long; use at most 1,024 characters."
    assert _refusal(db, "password1234") == (
        "The password is too easy to guess: This is a very common password. Choose another, "
        "for example four unrelated words."
    )
    assert _refusal(db, "qwertyuiop12") == (
        "The password is too easy to guess: This is similar to a commonly used password. "
        "Choose another, for example four unrelated words."
    )
    # the user's own names count as easy to guess
    assert _refusal(db, "anna berg anna") == (
        "The password is too easy to guess. Choose another, for example four unrelated words."
    )
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada", password=STRONG)
    with db.session() as session:
        assert people.verify_password(session, "anna", STRONG)


def test_the_policy_is_told_by_the_access_facade(db: Database) -> None:
    policy = Access(db).password_policy()
    assert (policy.min_length, policy.rule) == (12, POLICY)


def _count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every argon2 verification from now on, by the hash's parameters."""
    seen: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> Any:
        seen.append(str(extract_parameters(str(hash))))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen


def test_an_unknown_user_costs_the_same_argon2_work_as_a_wrong_password(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada", password=STRONG)
        people.create_user(session, "bert", actor="ada")  # no password yet
        people.create_user(session, "carl", actor="ada", password=STRONG)
        people.deactivate_user(session, "carl", actor="ada", reason="left")
    seen = _count_verifications(monkeypatch)
    with db.session() as session:
        for username in ("anna", "nobody", "bert", "carl"):
            assert not people.verify_password(session, username, "wrong but long enough")
    assert len(seen) == 4  # one verification each, whoever the user is
    assert len(set(seen)) == 1  # with the same parameters as a real hash


def _signin(access: Access, username: str, address: str, password: str = "wrong") -> str:
    return access.sign_in(username=username, password=password, address=address).refused


def test_failures_from_one_address_across_usernames_back_off(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "ADDRESS_MAX_FAILURES", 3)
    access = Access(db, clock=lambda: NOW)
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada", password=STRONG)
    for username in ("u1", "u2", "u3"):  # one try each: no username reaches its own limit
        assert _signin(access, username, "192.0.2.9") == ""
    refused = "Too many failed sign-ins from 192.0.2.9; wait 5 minutes and try again."
    assert _signin(access, "u4", "192.0.2.9") == refused
    assert _signin(access, "anna", "192.0.2.9", STRONG) == refused  # the right password too
    assert access.sign_in(username="anna", password=STRONG, address="192.0.2.10").ok
    later = Access(db, clock=lambda: NOW + dt.timedelta(minutes=6))
    assert later.sign_in(username="anna", password=STRONG, address="192.0.2.9").ok


def test_a_global_failure_rate_backs_off_every_sign_in(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "GLOBAL_MAX_FAILURES", 4)
    access = Access(db, clock=lambda: NOW)
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada", password=STRONG)
    for number in range(4):  # a spray: each from its own address, each a new username
        assert _signin(access, f"user{number}", f"198.51.100.{number}") == ""
    refused = (
        "Too many failed sign-ins on this server; wait 5 minutes and try again, or ask an admin."
    )
    assert _signin(access, "anna", "203.0.113.1", STRONG) == refused
    later = Access(db, clock=lambda: NOW + dt.timedelta(minutes=6))
    assert later.sign_in(username="anna", password=STRONG, address="203.0.113.1").ok


def test_signing_in_checks_the_password_with_no_transaction_open(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 is slow on purpose; while it runs another command can write (issue 9)."""
    access = Access(db)
    access.add_user(actor="ada", username="nina", full_name="Nina", password=STRONG)
    written: list[bool] = []
    check = passwords.verify

    def while_checking(stored: str | None, password: str) -> bool:
        with db.transaction() as session:  # would wait out the busy timeout on SQLite
            audit.record(
                session,
                actor="bob",
                action="note",
                entity="user",
                entity_id="bob",
                new=None,
                reason="meanwhile",
            )
        written.append(True)
        return check(stored, password)

    monkeypatch.setattr(passwords, "verify", while_checking)
    signed = access.sign_in(username="nina", password=STRONG, address="10.0.0.9")
    assert (signed.ok, written) == (True, [True])
