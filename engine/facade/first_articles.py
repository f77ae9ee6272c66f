"""The first-article desk of the facade: quality's signed decision on the first unit of a work
order at an operation that asks for one. :class:`~engine.facade.production.Ferrule` includes
it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from engine.access.signatures import SignatureInput, Signer
from engine.commands import first_articles
from engine.commands.first_articles import FirstArticleInfo
from engine.facade.commands import Commands
from engine.floor.runtime import Runtime
from engine.infra.limits import check_names, check_texts


class FirstArticleDesk:
    """First-article approvals, over the production facade's plumbing."""

    runtime: Runtime
    commands: Commands

    def decide_first_article(
        self,
        *,
        actor: str,
        item: str,
        operation: str,
        signature: SignatureInput,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> FirstArticleInfo:
        """Approve or reject the first article, signed (see
        :func:`engine.commands.first_articles.decide`); the meaning says which."""
        check_names(actor=actor, item=item, operation=operation)
        check_texts(note=note)
        self.commands.check_signatures([signature])
        meaning = signature.meaning.strip()
        request = {"actor": actor, "item": item, "operation": operation, "note": note,
                   "signer": [signature.username, meaning]}  # fmt: skip

        def check(session: Session, now: dt.datetime) -> None:
            first_articles.check_decision(
                session, self.runtime, item_number=item, operation_id=operation, actor=actor,
                signer=signature.username, meaning=meaning, note=note,
            )  # fmt: skip

        def record(
            session: Session, now: dt.datetime, signers: tuple[Signer, ...]
        ) -> FirstArticleInfo:
            (signer,) = signers
            return first_articles.decide(
                session, self.runtime, item_number=item, operation_id=operation, actor=actor,
                signer=signer, note=note, now=now,
            )  # fmt: skip

        return self.commands.signed(
            "first_article", request, idempotency_key, check=check,
            sign=lambda: self.commands.signers([signature], f"item/{item}"),
            fn=record, load=FirstArticleInfo.from_json,
        )  # fmt: skip
