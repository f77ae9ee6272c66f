"""The plumbing every facade's commands share: run a command once per idempotency key at the
facade's clock, and the signed-command sequence (check the request in a read session,
re-authenticate the signers with no connection held, then record in the command's transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from engine.access.signatures import (
    SignatureInput,
    SignatureRefused,
    Signer,
    audit_refusal,
    authenticate,
    check_passwords,
)
from engine.infra.db import Database
from engine.infra.idempotency import JsonResult, run_once_in, run_or_replay, stored_result
from engine.infra.limits import check_names, check_texts

R = TypeVar("R", bound=JsonResult)
Clock = Callable[[], dt.datetime]


class Commands:
    """Runs a facade's commands on ``db``; ``clock`` gives each command its time."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def run(
        self,
        name: str,
        request: Mapping[str, Any],
        key: str | None,
        fn: Callable[[Session, dt.datetime], R],
        load: Callable[[Mapping[str, Any]], R],
    ) -> R:
        """``fn`` in one transaction, once per idempotency ``key`` (a retry gets its result)."""
        now = self.clock()
        return run_once_in(self.db, key, name, request, lambda session: fn(session, now), load=load)

    @staticmethod
    def check_signatures(inputs: Sequence[SignatureInput]) -> None:
        """The texts of signatures, and their passwords' length, before anything is read."""
        for signature in inputs:
            check_names(username=signature.username)
            check_texts(meaning=signature.meaning)
        check_passwords(inputs)

    def signers(self, inputs: Sequence[SignatureInput], record: str) -> tuple[Signer, ...]:
        """Re-authenticate signers once the request was checked and before the command's
        transaction (argon2 is slow on purpose; no connection is held meanwhile, see
        :func:`engine.access.signatures.authenticate`); a refusal is audited."""
        try:
            return authenticate(self.db, inputs)
        except SignatureRefused as refused:
            with self.db.transaction() as session:
                audit_refusal(session, refused, record=record)
            raise

    def signed(
        self,
        name: str,
        request: Mapping[str, Any],
        key: str | None,
        *,
        check: Callable[[Session, dt.datetime], None],
        sign: Callable[[], tuple[Signer, ...]],
        fn: Callable[[Session, dt.datetime, tuple[Signer, ...]], R],
        load: Callable[[Mapping[str, Any]], R],
    ) -> R:
        """A signed command: ``check`` the request (a read session), ``sign`` (re-authenticate
        the signers, no session open), then ``fn`` in the command's transaction, which checks
        everything again as it is then. A replay returns the stored result without checking
        the signatures again (nothing is signed or recorded again)."""
        now = self.clock()

        def work() -> R:
            stored = stored_result(self.db, key, name, request, load=load)
            if stored is not None:
                return stored
            with self.db.session() as session:
                check(session, now)
            signers = sign()
            return run_once_in(
                self.db, key, name, request, lambda s: fn(s, now, signers), load=load
            )

        return run_or_replay(self.db, key, name, request, work, load=load)
