"""Users, roles, qualifications with expiry, passwords, deactivation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dsl.model import Plant
from engine.access import people
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.infra import audit
from engine.infra.db import Database

DAY = dt.date(2026, 3, 1)


def test_create_user_with_password_and_roles(db: Database, plant: Plant) -> None:
    with db.transaction() as session:
        people.create_user(
            session,
            "anna",
            actor="ada",
            full_name="Anna Berg",
            password="tangerine lathe quarry 42",
        )
        people.grant_role(session, "anna", "operator", actor="ada", plant=plant)
        people.grant_role(session, "anna", "quality", actor="ada", plant=plant)
    with db.session() as session:
        assert people.roles_of(session, "anna") == {"operator", "quality"}
        assert people.verify_password(session, "anna", "tangerine lathe quarry 42")
        assert not people.verify_password(session, "anna", "wrong-pass")
        assert not people.verify_password(session, "nobody", "s3cret-pass")
        info = people.user_info(session, "anna")
        assert info.to_json() == {
            "username": "anna",
            "full_name": "Anna Berg",
            "active": True,
            "has_password": True,
            "roles": ["operator", "quality"],
            "qualifications": [],
        }
        assert [r["action"] for r in audit.history(session, "user", "anna")] == [
            "create",
            "grant_role",
            "grant_role",
        ]


def test_qualifications_expire_after_their_valid_for(db: Database, plant: Plant) -> None:
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada")
        grant = people.grant_qualification(
            session, "anna", "crimping", actor="ada", plant=plant, granted_on=DAY
        )
        people.grant_qualification(
            session,
            "anna",
            "cutting",
            actor="ada",
            granted_on=DAY,
            expires_on=DAY + dt.timedelta(days=10),
        )
    assert grant.expires_on == DAY + dt.timedelta(days=365)  # crimping: valid_for 365 d
    with db.session() as session:
        assert people.qualifications_of(session, "anna", DAY) == {"crimping", "cutting"}
        assert people.qualifications_of(session, "anna", DAY + dt.timedelta(days=9)) == {
            "crimping",
            "cutting",
        }
        assert people.qualifications_of(session, "anna", DAY + dt.timedelta(days=10)) == {
            "crimping"
        }
        assert people.qualifications_of(session, "anna", DAY + dt.timedelta(days=365)) == set()
        assert people.qualifications_of(session, "anna", DAY - dt.timedelta(days=1)) == set()


def test_a_new_grant_renews_a_qualification(db: Database, plant: Plant) -> None:
    later = DAY + dt.timedelta(days=400)
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada")
        people.grant_qualification(
            session, "anna", "crimping", actor="ada", plant=plant, granted_on=DAY
        )
        people.grant_qualification(
            session, "anna", "crimping", actor="ada", plant=plant, granted_on=later
        )
    with db.session() as session:
        assert people.qualifications_of(session, "anna", later) == {"crimping"}
        (grant,) = people.user_info(session, "anna").qualifications
        assert grant.expires_on == later + dt.timedelta(days=365)


def test_names_the_plant_does_not_declare_are_refused_with_a_suggestion(
    db: Database, plant: Plant
) -> None:
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada")
    with pytest.raises(Invalid) as role, db.transaction() as session:
        people.grant_role(session, "anna", "qualty", actor="ada", plant=plant)
    assert role.value.message == (
        "The plant declares no role 'qualty'. Did you mean 'quality'? Declared: admin, engineer, "
        "maintenance, operator, quality, stores, supervisor."
    )
    with pytest.raises(Invalid) as qual, db.transaction() as session:
        people.grant_qualification(session, "anna", "welding", actor="ada", plant=plant)
    assert qual.value.message == (
        "The plant declares no qualification 'welding'. Declared: crimping, cutting, testing."
    )


def test_deactivated_users_lose_their_roles_and_cannot_sign_in(db: Database, users: Any) -> None:
    with db.transaction() as session:
        people.deactivate_user(session, users.supervisor, actor="ada", reason="left the company")
    with db.session() as session:
        assert people.roles_of(session, users.supervisor) == frozenset()
        assert not people.verify_password(session, users.supervisor, users.password)
        with pytest.raises(Forbidden) as caught:
            people.require_role(session, users.supervisor, ["supervisor"], "release a hold")
    assert caught.value.message == (
        "User 'sam' is deactivated and cannot release a hold; an admin can create a new account."
    )


def test_require_role_says_which_role_is_needed(db: Database, users: Any) -> None:
    with db.session() as session:
        people.require_role(session, users.quality, ["quality"], "sign")
        with pytest.raises(Forbidden) as caught:
            people.require_role(session, users.operator, ["supervisor", "quality"], "hold a lot")
    assert caught.value.message == (
        "User 'olga' may not hold a lot: that needs the role 'quality' or 'supervisor'; ask an "
        "admin to grant it."
    )


def test_user_errors_say_how_to_fix_them(db: Database) -> None:
    with db.transaction() as session:
        people.create_user(session, "anna", actor="ada")
    cases: list[tuple[Any, type[Exception], str]] = [
        (
            lambda s: people.create_user(s, "anna", actor="ada"),
            Conflict,
            "User 'anna' already exists; choose another username.",
        ),
        (
            lambda s: people.create_user(s, "bad name", actor="ada"),
            Invalid,
            "'bad name' is not a valid username; use letters, digits, '.', '_', '@' or '-' "
            "(starting with a letter or digit, at most 200 characters).",
        ),
        (
            lambda s: people.set_password(s, "anna", "short", actor="ada"),
            Invalid,
            "The password is too short; use at least 12 characters.",
        ),
        (
            lambda s: people.roles_of(s, "bob"),
            NotFound,
            "There is no user 'bob'; check the spelling, or add the user with "
            "`ferrule users add bob`.",
        ),
        (
            lambda s: people.revoke_role(s, "anna", "operator", actor="ada", reason="x"),
            Conflict,
            "User 'anna' does not have the role 'operator'; nothing to revoke.",
        ),
        (
            lambda s: people.grant_qualification(
                s, "anna", "cutting", actor="ada", granted_on=DAY, expires_on=DAY
            ),
            Invalid,
            "The expiry 2026-03-01 is not after the grant date 2026-03-01; give an expiry date "
            "later than the day of training.",
        ),
    ]
    for call, error, message in cases:
        with pytest.raises(error) as caught, db.transaction() as session:
            call(session)
        assert caught.value.message == message  # type: ignore[attr-defined]


def test_revoke_role(db: Database, users: Any) -> None:
    with db.transaction() as session:
        people.revoke_role(session, users.quality, "quality", actor="ada", reason="moved to stores")
    with db.session() as session:
        assert people.roles_of(session, users.quality) == frozenset()
        assert [u.username for u in people.list_users(session)] == [
            "ada",
            "erin",
            "olga",
            "quinn",
            "sam",
        ]
