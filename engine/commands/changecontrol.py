"""Change control of config deploys (21 CFR Part 11, EU GMP Annex 11 §10): what a new config
changes, whether its own config tests pass, and who approved it with an e-signature.

A site opts in with ``change_control`` in site.yaml (:class:`dsl.model.ChangeControl`). The
policy in force is the *active* version's (:func:`engine.commands.versions.change_control`), so a
bundle cannot lift its own approval, and the first deploy of a database (nothing active yet)
needs none. Under it a deploy is refused unless the bundle's config tests pass (the refusal names
the failing cases) and a user holding the approver role signs it, stating the configured meaning;
with ``two_person`` the approver is someone else than the person deploying. The signature is
bound to the activation it approves (:data:`APPROVED_RECORD`), and the activation's audit row
names the approver, the meaning, the time and the test summary.

This module holds the checks and the records; :mod:`engine.commands.versions` applies them when
it stores a bundle. Running the tests is ``ferrule test``'s (:mod:`engine.configtest`), which the
caller does before the transaction and hands in as a :class:`ConfigTestResult`.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.model import ChangeControl, SignatureRequirement
from engine.access import signatures
from engine.access.signatures import Signed, Signer
from engine.errors import Conflict, Forbidden, Invalid
from engine.infra import audit
from engine.infra.jsonable import Jsonable
from engine.records.production import Signature

APPROVED_RECORD = "config_activation"  # what a deploy's approval signature is bound to
_FAILURES_NAMED = 3  # failing cases a refusal names (the test report lists every one)


@dataclass(frozen=True, slots=True)
class Approval(Jsonable):
    """The e-signature that approved a deploy under change control (bound to its activation)."""

    activation: int
    version: int
    username: str
    full_name: str
    role: str
    meaning: str
    signed_at: dt.datetime
    content_hash: str


@dataclass(frozen=True, slots=True)
class CaseFailure(Jsonable):
    """A config test case that failed: where (``tests/…`` and line), and what did not hold."""

    file: str
    line: int
    message: str


@dataclass(frozen=True, slots=True)
class ConfigTestResult(Jsonable):
    """What ``ferrule test`` says about a bundle's own config tests: the cases run and passed,
    each failure, each test file that could not be read (rendered), and the report as printed."""

    cases: int
    passed: int
    failures: tuple[CaseFailure, ...]
    problems: tuple[str, ...]
    output: str

    json_properties = ("ok", "summary")

    @property
    def ok(self) -> bool:
        return not self.failures and not self.problems

    @property
    def summary(self) -> str:
        """``6 cases, 5 passed, 1 failed`` (and the test file errors, if any)."""
        text = (
            f"{self.cases} case{'' if self.cases == 1 else 's'}, {self.passed} passed, "
            f"{len(self.failures)} failed"
        )
        errors = len(self.problems)
        return text + (f", {errors} test file error{'' if errors == 1 else 's'}" if errors else "")


@dataclass(frozen=True, slots=True)
class FileChange(Jsonable):
    """One file that differs between two versions (or a version and a bundle): ``change`` is
    added, removed or changed; a text file has its unified diff, a binary file none."""

    path: str
    change: str
    binary: bool
    lines: tuple[str, ...]


# ---------------------------------------------------------------- checks


def check_tests(
    control: ChangeControl, tests: ConfigTestResult | None, *, site: str, keeps: str
) -> None:
    """Refuse a bundle whose config tests were not run, have no case, or failed (naming the
    failing cases). ``keeps`` says what stays active (``version 3 stays active``)."""
    del control  # every change control asks for passing tests
    rule = f"Site '{site}' is under change control: a config is deployed only when its tests pass"
    if tests is None:
        raise Conflict(
            f"{rule}, and they were not run here; nothing was deployed and {keeps}. Deploy with "
            "`ferrule deploy PLANT_DIR --approver USER` or on the config page.",
            code="config_tests_not_run",
        )
    if tests.cases == 0 and not tests.problems:
        raise Invalid(
            f"The bundle has no config tests (tests/*.yaml with cases). {rule}; nothing was "
            f"deployed and {keeps}. Upload the plant folder with its tests/ folder.",
            field="tests",
            code="config_tests_missing",
        )
    if tests.ok:
        return
    if tests.failures:
        named = "; ".join(
            f"{f.file}:{f.line}: {f.message}" for f in tests.failures[:_FAILURES_NAMED]
        )
        more = len(tests.failures) - _FAILURES_NAMED
        what = f"{len(tests.failures)} of {tests.cases} cases failed ({named}"
        what += f"; and {more} more)" if more > 0 else ")"
    else:
        what = f"a test file has errors ({tests.problems[0].splitlines()[0]})"
    raise Invalid(
        f"The config tests fail: {what}. {rule}; nothing was deployed and {keeps}. Fix the config "
        "or its tests (`ferrule test PLANT_DIR`) and deploy again.",
        field="tests",
        code="config_tests_failed",
    )


def approval_needed(
    control: ChangeControl, *, site: str, keeps: str, what: str = "deploy"
) -> Forbidden:
    """The refusal of a deploy (or a rollback) sent without the approver's signature."""
    who = f"a user with the role '{control.approver}'"
    if control.two_person:
        who += f" other than the person {'deploying' if what == 'deploy' else 'rolling back'}"
    done = "deployed" if what == "deploy" else "rolled back"
    return Forbidden(
        f"Site '{site}' is under change control: a {what} needs the electronic signature of "
        f"{who}, meaning '{control.meaning}'. Nothing was {done} and {keeps}; sign with the "
        "approver's username and password.",
        code="approval_required",
    )


def check_approval_request(
    control: ChangeControl, username: str, meaning: str, *, actor: str
) -> None:
    """What is refused before any password is checked: another meaning than the configured one,
    and with ``two_person`` an approver who is the person deploying."""
    if meaning.strip() != control.meaning:
        raise Invalid(
            f"The approval of a deploy must state '{control.meaning}', not '{meaning.strip()}'.",
            field="approval.meaning",
        )
    if control.two_person and username == actor:
        raise Forbidden(
            f"A deploy needs two people here: '{actor}' deploys it and cannot also approve it. "
            f"Ask another user with the role '{control.approver}' to sign.",
            code="two_person",
        )


def check_approval(control: ChangeControl, signer: Signer, *, actor: str, site: str) -> None:
    """A signer whose password was verified may approve: the meaning, two people when asked, and
    the approver role (the same refusals as any signature: ``signature_role``)."""
    check_approval_request(control, signer.username, signer.meaning, actor=actor)
    requirement = SignatureRequirement(control.approver, control.meaning, control.span)
    signatures.cover([requirement], [signer], f"the deploy on site '{site}'")


def unasked_approval(why: str, what: str = "deploy") -> Invalid:
    """The refusal of a signature no change control asks for: it would approve nothing the site
    requires. ``why`` says why none is asked (no version is active yet, …)."""
    again = "Deploy" if what == "deploy" else "Roll back"
    return Invalid(
        f"This {what} takes no approval: {why}. {again} without a signature.", field="approval"
    )


# ---------------------------------------------------------------- records


def sign(
    session: Session,
    control: ChangeControl,
    signer: Signer,
    *,
    activation: int,
    version: int,
    content: Mapping[str, object],
    now: dt.datetime,
) -> tuple[Approval, list[audit.Change]]:
    """Store the approver's signature over ``content`` (what the activation records) on the
    activation; returns the approval and the signature's audit change, for the caller to record
    with the activation's own."""
    digest = signatures.content_hash(content)
    changes = signatures.store(
        session,
        [Signed(signer, control.approver)],
        record_type=APPROVED_RECORD,
        record_id=activation,
        digest=digest,
        now=now,
        version_id=version,
    )
    approval = Approval(
        activation, version, signer.username, signer.full_name, control.approver,
        signer.meaning, now, digest,
    )  # fmt: skip
    return approval, changes


def approvals(session: Session) -> dict[int, Approval]:
    """The newest approval of each version deployed under change control, by version id."""
    rows = session.scalars(
        select(Signature).where(Signature.record_type == APPROVED_RECORD).order_by(Signature.id)
    )
    found: dict[int, Approval] = {}
    for row in rows:
        found[row.config_version_id] = Approval(
            row.record_id, row.config_version_id, row.username, row.full_name, row.role,
            row.meaning, row.signed_at, row.content_hash,
        )  # fmt: skip
    return found


# ---------------------------------------------------------------- differences


def file_changes(
    old: tuple[Mapping[str, str], Mapping[str, bytes], str],
    new: tuple[Mapping[str, str], Mapping[str, bytes], str],
) -> tuple[FileChange, ...]:
    """Every file that differs between two sets of (text files, binary files, label): a unified
    diff for a text file, none for a binary one (or a file that turned from one into the other)."""
    (old_texts, old_binary, old_label), (new_texts, new_binary, new_label) = old, new
    changes: list[FileChange] = []
    for path in sorted({*old_texts, *old_binary, *new_texts, *new_binary}):
        was = old_texts.get(path, old_binary.get(path))
        now = new_texts.get(path, new_binary.get(path))
        if was == now:
            continue
        change = "added" if was is None else "removed" if now is None else "changed"
        if path in old_binary or path in new_binary:
            changes.append(FileChange(path, change, True, ()))
            continue
        lines = difflib.unified_diff(
            old_texts.get(path, "").splitlines(),
            new_texts.get(path, "").splitlines(),
            fromfile=f"{old_label}/{path}" if was is not None else "/dev/null",
            tofile=f"{new_label}/{path}" if now is not None else "/dev/null",
            lineterm="",
        )
        changes.append(FileChange(path, change, False, tuple(lines)))
    return tuple(changes)
