"""The audit facade: search and export the audit trail, and verify its hash chain."""

from __future__ import annotations

from collections.abc import Iterator

from engine.infra import audit
from engine.infra.db import Database
from engine.queries.audit_trail import AuditEntry, AuditFilter, csv_lines, search


class AuditTrail:
    """The audit trail of one database, read-only."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def search(
        self, where: AuditFilter, *, before: int | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """See :func:`engine.queries.audit_trail.search`."""
        with self.db.session() as session:
            return search(session, where, before=before, limit=limit)

    def csv(self, where: AuditFilter) -> Iterator[str]:
        """Every matching row as CSV text, produced while it is sent (see
        :func:`engine.queries.audit_trail.csv_lines`)."""
        with self.db.session() as session:
            yield from csv_lines(session, where)

    def verify(self) -> audit.Verdict:
        """Walk the whole chain (see :func:`engine.infra.audit.verify`)."""
        with self.db.session() as session:
            return audit.verify(session)
