"""The config facade: check and deploy plant bundles, list and roll back versions, and read the
files a deployed version holds.

Deploy and rollback run at most once per idempotency key, the key stored in the command's own
transaction (see :mod:`engine.infra.idempotency`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from dsl.loader import LoadResult
from engine import migrations
from engine.commands import versions
from engine.commands.versions import Deployment, VersionInfo
from engine.infra.db import Database
from engine.infra.idempotency import run_once_in


class Config:
    """The plant configuration's versions, bound to a database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def upgrade_schema(self) -> None:
        """Bring the database's tables to the newest migration (``ferrule db upgrade``)."""
        migrations.upgrade(self.db)

    def check(
        self, files: Mapping[str, str], assets: Mapping[str, bytes], *, label: str = "bundle"
    ) -> LoadResult:
        """Every diagnostic of a bundle (file texts and binary files by path); stores nothing."""
        return versions.check_bundle(files, assets=assets, label=label).result

    def deploy(
        self,
        *,
        actor: str,
        source: Path | Mapping[str, str],
        assets: Mapping[str, bytes] | None = None,
        note: str = "",
        label: str = "bundle",
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Check a plant folder or bundle and make it the active version (see
        :func:`engine.commands.versions.check_bundle` and :func:`~.versions.store_bundle`);
        :class:`~engine.commands.versions.ConfigRejected` when it has errors."""
        bundle = versions.check_bundle(source, assets=assets, label=label)
        request = {
            "actor": actor,
            "note": note,
            "files": dict(bundle.files),
            "assets": {p: hashlib.sha256(d).hexdigest() for p, d in bundle.assets.items()},
        }
        return run_once_in(
            self.db,
            idempotency_key,
            "deploy",
            request,
            lambda s: versions.store_bundle(s, bundle, actor=actor, note=note),
            load=Deployment.from_json,
        )

    def rollback(
        self, *, actor: str, version_id: int, reason: str, idempotency_key: str | None = None
    ) -> VersionInfo:
        """See :func:`engine.commands.versions.rollback`."""
        return run_once_in(
            self.db,
            idempotency_key,
            "rollback",
            {"actor": actor, "version": version_id, "reason": reason},
            lambda s: versions.rollback(s, version_id, actor=actor, reason=reason),
            load=VersionInfo.from_json,
        )

    def versions(self) -> list[VersionInfo]:
        """See :func:`engine.commands.versions.list_versions`."""
        return versions.list_versions(self.db)

    def active_version(self) -> VersionInfo | None:
        """See :func:`engine.commands.versions.active_version`."""
        return versions.active_version(self.db)

    def version_files(self, version_id: int) -> tuple[dict[str, str], dict[str, bytes]]:
        """See :func:`engine.commands.versions.version_files`."""
        return versions.version_files(self.db, version_id)
