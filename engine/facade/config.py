"""The config facade: check, review and deploy plant bundles, list and roll back versions, and
read the files a deployed version holds.

Deploy and rollback run at most once per idempotency key, the key stored in the command's own
transaction (see :mod:`engine.infra.idempotency`).

Under change control (:mod:`engine.commands.changecontrol`) a deploy runs the bundle's own config
tests and re-authenticates the approver before its transaction, in that order, so that a bundle
whose tests fail costs no signature. Running the tests is ``ferrule test``'s, a layer above this
one: whoever builds the facade hands in a :data:`BundleTester` (the CLI runs them in its own
process, the web in a child process with a time limit). A facade without one cannot deploy under
change control, and its review shows no test result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dsl.loader import LoadResult
from dsl.model import ChangeControl
from engine import migrations
from engine.access.signatures import (
    SignatureInput,
    SignatureRefused,
    Signer,
    audit_refusal,
    authenticate,
)
from engine.commands import changecontrol, versions
from engine.commands.changecontrol import Approval, ConfigTestResult, FileChange
from engine.commands.versions import CheckedBundle, Deployment, VersionInfo
from engine.errors import Conflict
from engine.infra.db import Database
from engine.infra.idempotency import run_once_in
from engine.infra.limits import check_names, check_texts

BundleTester = Callable[[Mapping[str, str], Mapping[str, bytes], str], ConfigTestResult]
"""Runs a bundle's config tests: (text files with ``tests/``, binary files, label) → result;
Conflict when they cannot be run (they take too long, the runner fails)."""

APPROVAL_RECORD = "config/deploy"  # what a refused approval signature is audited on


@dataclass(frozen=True, slots=True)
class Review:
    """What a bundle would change, before it is deployed: every diagnostic (``result``), the
    version it would replace and the files that differ from it, the bundle's config test result
    (None when it has no tests, no tester is at hand, or it has errors) and the change control
    in force (None: no approval is asked for)."""

    result: LoadResult
    running: VersionInfo | None
    changes: tuple[FileChange, ...]
    tests: ConfigTestResult | None
    change_control: ChangeControl | None
    has_tests: bool
    tests_problem: str = ""
    """Why the tests could not be run (took too long, failed to start), "" when they ran."""


class Config:
    """The plant configuration's versions, bound to a database; ``tester`` runs a bundle's config
    tests (see the module docstring)."""

    def __init__(self, db: Database, *, tester: BundleTester | None = None) -> None:
        self.db = db
        self.tester = tester

    def upgrade_schema(self) -> None:
        """Bring the database's tables to the newest migration (``ferrule db upgrade``)."""
        migrations.upgrade(self.db)

    def check(
        self, files: Mapping[str, str], assets: Mapping[str, bytes], *, label: str = "bundle"
    ) -> LoadResult:
        """Every diagnostic of a bundle (file texts and binary files by path); stores nothing."""
        return versions.check_bundle(files, assets=assets, label=label).result

    def change_control(self) -> ChangeControl | None:
        """The change control in force (the active version's), None when none is."""
        with self.db.session() as session:
            return versions.change_control(session)

    def review(
        self, files: Mapping[str, str], assets: Mapping[str, bytes], *, label: str = "bundle"
    ) -> Review:
        """Check a bundle, compare it with the active version and run its config tests; stores
        nothing. The tests run only for a bundle without errors that has some."""
        bundle = versions.check_bundle(files, assets=assets, label=label)
        running, changes = versions.bundle_changes(self.db, bundle)
        tests, problem = None, ""
        if bundle.result.plant is not None:
            try:
                tests = self._tests(bundle)
            except Conflict as not_run:  # the tester could not run them: say why, show the rest
                problem = not_run.message
        control = self.change_control()
        return Review(bundle.result, running, changes, tests, control, bundle.has_tests, problem)

    def deploy(
        self,
        *,
        actor: str,
        source: Path | Mapping[str, str],
        assets: Mapping[str, bytes] | None = None,
        note: str = "",
        label: str = "bundle",
        approval: SignatureInput | None = None,
        idempotency_key: str | None = None,
    ) -> Deployment:
        """Check a plant folder or bundle and make it the active version (see
        :func:`engine.commands.versions.check_bundle` and :func:`~.versions.store_bundle`);
        :class:`~engine.commands.versions.ConfigRejected` when it has errors.

        Under change control the bundle's config tests must pass and ``approval`` is the
        approver's signature (its password is checked here, throttled like signing in; a refusal
        is audited). Without change control no ``approval`` may be given."""
        bundle = versions.check_bundle(source, assets=assets, label=label)
        signer, tests = self._approve(bundle, actor, approval)
        request = {
            "actor": actor,
            "note": note,
            "files": dict(bundle.files),
            "assets": {p: hashlib.sha256(d).hexdigest() for p, d in bundle.assets.items()},
            "approver": [signer.username, signer.meaning] if signer is not None else None,
        }
        return run_once_in(
            self.db,
            idempotency_key,
            "deploy",
            request,
            lambda s: versions.store_bundle(
                s, bundle, actor=actor, note=note, signer=signer, tests=tests
            ),
            load=Deployment.from_json,
        )

    def _approve(
        self, bundle: CheckedBundle, actor: str, approval: SignatureInput | None
    ) -> tuple[Signer | None, ConfigTestResult | None]:
        """Under change control: the bundle's test result (refused when they fail) and the
        approver, re-authenticated; (None, None) when no change control is in force. A bundle
        with errors goes on unapproved: storing it refuses it with its diagnostics."""
        plant = bundle.result.plant
        with self.db.session() as session:
            control = versions.change_control(session)
            running = versions.active_version(session)
        if plant is None:
            return None, None
        if control is None:
            if approval is not None:
                raise changecontrol.unasked_approval(versions.no_approval_because(running))
            return None, None
        keeps = f"version {running.id} stays active" if running else "no version is active"
        tests = self._tests(bundle)
        changecontrol.check_tests(control, tests, site=plant.site.name, keeps=keeps)
        if approval is None:
            raise changecontrol.approval_needed(control, site=plant.site.name, keeps=keeps)
        return self._approver(control, approval, actor), tests

    def _approver(self, control: ChangeControl, approval: SignatureInput, actor: str) -> Signer:
        """The approver of a deploy or rollback, re-authenticated (throttled like signing in;
        a refusal is audited) once the request is otherwise valid."""
        check_names(username=approval.username)
        check_texts(meaning=approval.meaning)
        changecontrol.check_approval_request(
            control, approval.username, approval.meaning, actor=actor
        )
        try:
            (signer,) = authenticate(self.db, [approval])
        except SignatureRefused as refused:
            with self.db.transaction() as session:
                audit_refusal(session, refused, record=APPROVAL_RECORD)
            raise
        return signer

    def _tests(self, bundle: CheckedBundle) -> ConfigTestResult | None:
        if self.tester is None or not bundle.has_tests:
            return None if self.tester is None else _NO_TESTS
        files = dict(bundle.files)
        return self.tester(files, {**bundle.assets, **bundle.test_assets}, bundle.label)

    def rollback(
        self,
        *,
        actor: str,
        version_id: int,
        reason: str,
        approval: SignatureInput | None = None,
        idempotency_key: str | None = None,
    ) -> VersionInfo:
        """See :func:`engine.commands.versions.rollback`; under change control ``approval`` is
        the approver's signature, checked as for a deploy."""
        with self.db.session() as session:
            control = versions.change_control(session)
            running = versions.active_version(session)
        signer = None
        if approval is not None:
            if control is None:
                why = versions.no_approval_because(running)
                raise changecontrol.unasked_approval(why, "rollback")
            signer = self._approver(control, approval, actor)
        return run_once_in(
            self.db,
            idempotency_key,
            "rollback",
            {
                "actor": actor,
                "version": version_id,
                "reason": reason,
                "approver": [signer.username, signer.meaning] if signer is not None else None,
            },
            lambda s: versions.rollback(s, version_id, actor=actor, reason=reason, signer=signer),
            load=VersionInfo.from_json,
        )

    def versions(self) -> list[VersionInfo]:
        """See :func:`engine.commands.versions.list_versions`."""
        return versions.list_versions(self.db)

    def approvals(self) -> dict[int, Approval]:
        """The newest approval of each version deployed under change control, by version id."""
        with self.db.session() as session:
            return changecontrol.approvals(session)

    def active_version(self) -> VersionInfo | None:
        """See :func:`engine.commands.versions.active_version`."""
        return versions.active_version(self.db)

    def version_files(self, version_id: int) -> tuple[dict[str, str], dict[str, bytes]]:
        """See :func:`engine.commands.versions.version_files`."""
        return versions.version_files(self.db, version_id)

    def changes(self, old_id: int, new_id: int) -> tuple[FileChange, ...]:
        """See :func:`engine.commands.versions.version_changes`."""
        return versions.version_changes(self.db, old_id, new_id)


_NO_TESTS = ConfigTestResult(0, 0, (), (), "no config tests (tests/*.yaml) in the bundle")
