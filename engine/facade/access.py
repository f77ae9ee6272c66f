"""The access facade: signing in and out, the roles of a caller (a session or a token), API
tokens, users with their roles and qualifications, and the password policy.

Each method opens its own session or transaction; commands write audit rows, and the ones that
take an idempotency key run at most once per key (see :mod:`engine.infra.idempotency`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.access import callers, passwords, people, tokens
from engine.access.callers import CallerRoles
from engine.access.passwords import PasswordPolicy
from engine.access.people import QualificationGrant, UserInfo
from engine.access.tokens import SignIn, TokenInfo
from engine.commands import versions
from engine.errors import Conflict, Invalid
from engine.infra.attachments import Upload
from engine.infra.db import Database
from engine.infra.idempotency import run_once_in
from engine.infra.jsonable import Jsonable
from engine.infra.limits import check_names, check_texts
from engine.records.base import utcnow

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class NewToken(Jsonable):
    """A token just created, with its secret (shown only this once)."""

    token: TokenInfo
    secret: str


@dataclass(frozen=True, slots=True)
class _Revoked(Jsonable):
    """A revocation's result as the idempotency store keeps it (None: no such token)."""

    token: TokenInfo | None


class Access:
    """Who may do what, bound to a database."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock: Clock = clock or utcnow

    # ------------------------------------------------------------ signing in

    def sign_in(self, *, username: str, password: str, address: str) -> SignIn:
        """Check a password unless the throttle refuses the try first (see
        :mod:`engine.access.throttle`); every try and every refusal is remembered and audited.
        The argon2 check runs with no transaction open, so it never holds the write lock."""
        now = self.clock()
        with self.db.transaction() as session:
            refused = tokens.sign_in_refusal(session, username, address, now)
            if refused:
                return SignIn(False, refused)
        with self.db.session() as session:
            stored = people.stored_password(session, username)
        ok = passwords.verify(stored, password)
        with self.db.transaction() as session:
            return tokens.record_sign_in(session, username, address, ok, now)

    def sign_out(self, username: str) -> None:
        """End every session of the user (see :func:`engine.access.tokens.sign_out`)."""
        with self.db.transaction() as session:
            tokens.sign_out(session, username)

    def session_roles(self, username: str, since: int) -> frozenset[str] | None:
        """See :func:`engine.access.callers.session_roles` (None: the session has ended)."""
        with self.db.engine.connect() as connection:
            return callers.session_roles(connection, username, since)

    def token_caller(self, secret: str) -> CallerRoles | None:
        """See :func:`engine.access.callers.token_roles`."""
        with self.db.engine.connect() as connection:
            return callers.token_roles(connection, secret, self.clock())

    # ------------------------------------------------------------ API tokens

    def tokens(self) -> list[TokenInfo]:
        """See :func:`engine.access.tokens.list_tokens`."""
        with self.db.session() as session:
            return tokens.list_tokens(session)

    def create_token(
        self,
        *,
        actor: str,
        name: str,
        username: str,
        roles: tuple[str, ...],
        expires_at: dt.datetime | None = None,
        idempotency_key: str | None = None,
    ) -> NewToken:
        """See :func:`engine.access.tokens.issue_token`: for someone else, only with roles the
        actor holds too."""
        request = {
            "actor": actor,
            "name": name,
            "username": username,
            "roles": list(roles),
            "expires_at": expires_at.isoformat() if expires_at else None,
        }

        def create(session: Session) -> NewToken:
            token, secret = tokens.issue_token(
                session,
                name=name,
                username=username,
                roles=roles,
                created_by=actor,
                expires_at=expires_at,
            )
            return NewToken(token, secret)

        return run_once_in(
            self.db, idempotency_key, "create_token", request, create, load=NewToken.from_json
        )

    def revoke_token(
        self, *, actor: str, token_id: int, idempotency_key: str | None = None
    ) -> TokenInfo | None:
        """See :func:`engine.access.tokens.revoke_token`; None when there is no such token."""
        now = self.clock()
        return run_once_in(
            self.db,
            idempotency_key,
            "revoke_token",
            {"actor": actor, "token": token_id},
            lambda s: _Revoked(tokens.revoke_token(s, token_id, actor=actor, now=now)),
            load=_Revoked.from_json,
        ).token

    # ------------------------------------------------------------ users

    def password_policy(self) -> PasswordPolicy:
        """What a new password must be (see :mod:`engine.access.passwords`)."""
        return passwords.POLICY

    def roles(self) -> list[str]:
        """The roles a user can be granted: the active config's and Ferrule's own."""
        _, plant = versions.active_plant(self.db)
        return sorted(set(plant.roles) | people.SYSTEM_ROLES)

    def users(self) -> list[UserInfo]:
        """See :func:`engine.access.people.list_users`."""
        with self.db.session() as session:
            return people.list_users(session)

    def add_user(
        self, *, actor: str, username: str, full_name: str = "", password: str | None = None
    ) -> UserInfo:
        """See :func:`engine.access.people.create_user`."""
        with self.db.transaction() as session:
            return people.create_user(
                session, username, actor=actor, full_name=full_name, password=password
            )

    def grant_role(self, *, actor: str, username: str, role: str) -> None:
        """Give a user a role the active config declares, or one of Ferrule's own (see
        :func:`engine.access.people.grant_role`); ends the user's sessions and tokens."""
        with self.db.transaction() as session:
            _, plant = versions.active_plant(session)
            people.grant_role(session, username, role, actor=actor, plant=plant)

    def grant_qualification(
        self,
        *,
        actor: str,
        username: str,
        qualification: str,
        evidence: str = "",
        evidence_file: Upload | None = None,
    ) -> QualificationGrant:
        """Record training for a qualification the active config declares, valid as long as it
        says, with the training record it rests on (``evidence``) and its scan (see
        :func:`engine.access.people.grant_qualification`)."""
        check_texts(evidence=evidence)
        with self.db.transaction() as session:
            _, plant = versions.active_plant(session)
            return people.grant_qualification(
                session,
                username,
                qualification,
                actor=actor,
                plant=plant,
                evidence=evidence,
                evidence_file=evidence_file,
            )

    def evidence_file(self, *, username: str, sha256: str) -> Upload:
        """See :func:`engine.access.people.evidence_file`."""
        check_names(username=username, sha256=sha256)
        with self.db.session() as session:
            return people.evidence_file(session, username, sha256)

    def revoke_qualification(
        self, *, actor: str, username: str, qualification: str, reason: str
    ) -> None:
        """See :func:`engine.access.people.revoke_qualification` (a reason is required)."""
        reason = _reason(reason, f"revoke {qualification} from {username}")
        with self.db.transaction() as session:
            people.revoke_qualification(
                session, username, qualification, actor=actor, reason=reason
            )

    def revoke_role(self, *, actor: str, username: str, role: str, reason: str) -> None:
        """See :func:`engine.access.people.revoke_role`: ends the user's sessions and tokens."""
        reason = _reason(reason, f"revoke the role {role} from {username}")
        if actor == username and role == ADMIN:
            raise Conflict(
                "You cannot revoke your own admin role; ask another admin, so that the site "
                "keeps one."
            )
        with self.db.transaction() as session:
            people.revoke_role(session, username, role, actor=actor, reason=reason)

    def deactivate(self, *, actor: str, username: str, reason: str) -> None:
        """See :func:`engine.access.people.deactivate_user`: ends the user's sessions and
        tokens; an admin cannot deactivate themselves."""
        reason = _reason(reason, f"deactivate {username}")
        if actor == username:
            raise Conflict("You cannot deactivate yourself; ask another admin.")
        with self.db.transaction() as session:
            people.deactivate_user(session, username, actor=actor, reason=reason)

    def reactivate(self, *, actor: str, username: str, reason: str) -> None:
        """See :func:`engine.access.people.reactivate_user`."""
        reason = _reason(reason, f"reactivate {username}")
        with self.db.transaction() as session:
            people.reactivate_user(session, username, actor=actor, reason=reason)

    def reset_password(self, *, actor: str, username: str, password: str) -> None:
        """Set a new password for a user (see :func:`engine.access.people.set_password`): ends
        their sessions and tokens."""
        check_names(actor=actor, username=username)
        with self.db.transaction() as session:
            people.set_password(session, username, password, actor=actor)

    def user(self, username: str) -> UserInfo:
        """See :func:`engine.access.people.user_info`."""
        check_names(username=username)
        with self.db.session() as session:
            return people.user_info(session, username)


ADMIN = "admin"


def _reason(reason: str, doing: str) -> str:
    """A required reason, checked as a text; Invalid says what to write."""
    check_texts(reason=reason)
    if not reason.strip():
        raise Invalid(f"Give a reason to {doing}; it goes into the audit trail.", field="reason")
    return reason.strip()
