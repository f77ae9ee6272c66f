"""Sessions and tokens end on the server: sign-out ends every session of the user; a password
change, a deactivation or a role change ends every session and every token. Tokens are made for
oneself, or carry only roles their maker holds too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from dsl.model import Plant
from engine.access import people
from engine.errors import Invalid
from engine.facade.access import Access
from engine.infra import audit
from engine.infra.db import Database

STRONG = "tangerine lathe quarry 42"


@pytest.fixture
def access(db: Database, plant: Plant) -> Access:
    with db.transaction() as session:
        for username, roles in (
            ("anna", ("operator",)),
            ("ada", ("admin",)),
            ("olivia", ("admin", "supervisor")),
            ("sam", ("supervisor",)),
        ):
            people.create_user(session, username, actor="setup", password=STRONG)
            for role in roles:
                people.grant_role(session, username, role, actor="setup", plant=plant)
    return Access(db)


def _session(access: Access, username: str) -> int:
    tried = access.sign_in(username=username, password=STRONG, address="192.0.2.1")
    assert tried.ok
    return tried.session


def test_sign_out_ends_every_session_of_the_user(access: Access) -> None:
    tablet, desk = _session(access, "anna"), _session(access, "anna")
    other = _session(access, "sam")
    assert access.session_roles("anna", tablet) == {"operator"}
    access.sign_out("anna")
    assert access.session_roles("anna", tablet) is None
    assert access.session_roles("anna", desk) is None
    assert access.session_roles("sam", other) == {"supervisor"}
    assert access.session_roles("anna", _session(access, "anna")) == {"operator"}


CHANGES: dict[str, Callable[[Session], None]] = {
    "password": lambda s: people.set_password(s, "sam", "another long phrase 7", actor="ada"),
    "deactivation": lambda s: people.deactivate_user(s, "sam", actor="ada", reason="left"),
    "role granted": lambda s: people.grant_role(s, "sam", "operator", actor="ada"),
    "role revoked": lambda s: people.revoke_role(s, "sam", "supervisor", actor="ada", reason="x"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_to_the_account_ends_its_sessions_and_tokens(
    access: Access, db: Database, change: str
) -> None:
    since = _session(access, "sam")
    secret = access.create_token(actor="olivia", name="line", username="sam", roles=("supervisor",))
    assert access.token_caller(secret.secret) is not None
    with db.transaction() as session:
        CHANGES[change](session)
    assert access.session_roles("sam", since) is None
    assert access.token_caller(secret.secret) is None
    (token,) = access.tokens()
    assert token.revoked_at is not None


def test_sign_out_leaves_the_users_api_tokens(access: Access) -> None:
    made = access.create_token(actor="ada", name="script", username="ada", roles=("admin",))
    access.sign_out("ada")
    assert access.token_caller(made.secret) is not None


def test_a_token_for_someone_else_carries_only_roles_its_maker_holds(
    access: Access, db: Database
) -> None:
    with pytest.raises(Invalid) as refused:
        access.create_token(actor="ada", name="erp", username="sam", roles=("supervisor",))
    assert refused.value.message == (
        "ada does not hold the role supervisor; a token for someone else can only use roles "
        "its maker holds too. Leave the role out, or let someone who holds it make the token."
    )
    assert access.tokens() == []
    made = access.create_token(actor="olivia", name="erp", username="sam", roles=("supervisor",))
    own = access.create_token(actor="ada", name="script", username="ada", roles=("admin",))
    assert [t.username for t in access.tokens()] == ["ada", "sam"]
    with db.session() as session:
        (row,) = audit.history(session, "api_token", made.token.id)
    assert (row["actor"], row["new"]["username"], row["new"]["roles"]) == (
        "olivia",
        "sam",
        ["supervisor"],
    )
    assert own.token.created_by == "ada"
