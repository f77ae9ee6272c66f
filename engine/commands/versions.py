"""Config versions: deploy a plant bundle, list versions, roll back, and load a version's plant.

``deploy`` checks the bundle first; any error refuses it and leaves the running version untouched.
A version stores every file of the bundle and a content hash over all of them (text and binary),
and never changes; activating one (by deploy or rollback) appends a row to ``config_activations``.
A bundle identical to an earlier version re-activates that version instead of storing a copy. One
database serves one site.

Change control (:mod:`engine.commands.changecontrol`): when the active version's site declares
``change_control``, a deploy also needs the bundle's own config tests to pass and an approver's
e-signature, stored on the activation and named in its audit row.

A plant folder is read as regular files only: a symbolic link or a special file anywhere in it is
refused, naming it, so that a deploy never copies a file from outside the folder (a link to the
secret key, say). Text the loader keeps out of the config (a device's private key) is not stored
as a binary file either.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import stat
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dsl.diagnostics import Diagnostic
from dsl.loader import LoadResult, load_files, read_folder
from dsl.model import ChangeControl, Plant
from engine.access.signatures import Signer
from engine.commands import changecontrol, equipment
from engine.commands.changecontrol import Approval, ConfigTestResult, FileChange
from engine.errors import Conflict, Invalid, NotFound
from engine.infra import audit
from engine.infra.db import Database, database_of
from engine.infra.jsonable import Jsonable
from engine.records.base import utcnow
from engine.records.tables import ConfigActivation, ConfigVersion

_plants_by_hash: dict[str, Plant] = {}
_plants_by_database: weakref.WeakKeyDictionary[Database, dict[int, Plant]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True, slots=True)
class VersionInfo(Jsonable):
    """A stored config version; ``active`` tells whether it governs new work now."""

    id: int
    site: str
    content_hash: str
    created_at: dt.datetime
    created_by: str
    note: str
    files: int
    active: bool


@dataclass(frozen=True, slots=True)
class Deployment(Jsonable):
    """What ``deploy`` did: the version now active, its warnings, whether it was new, and under
    change control its approval and the config tests' result."""

    version: VersionInfo
    created: bool
    warnings: tuple[Diagnostic, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    approval: Approval | None = None
    tests: ConfigTestResult | None = None

    json_hidden = frozenset({"sources"})  # the bundle's text, for rendering warnings here only


class ConfigRejected(Invalid):
    """A bundle with errors; ``render()`` prints them compiler-style."""

    def __init__(
        self, message: str, diagnostics: tuple[Diagnostic, ...], sources: Mapping[str, str]
    ):
        super().__init__(message, field="bundle", code="config_rejected")
        self.diagnostics = diagnostics
        self.sources = dict(sources)

    def render(self) -> str:
        return "\n".join(d.render(self.sources) for d in self.diagnostics)

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "diagnostics": [d.to_json() for d in self.diagnostics]}


# ---------------------------------------------------------------- commands


def deploy(
    db: Database,
    source: str | Path | Mapping[str, str],
    *,
    actor: str,
    note: str = "",
    assets: Mapping[str, bytes] | None = None,
    label: str = "bundle",
) -> Deployment:
    """Check a plant (a folder, or file texts by relative path) and make it the active version
    (:func:`check_bundle`, then :func:`store_bundle` in a transaction of its own).

    Raises :class:`ConfigRejected` (nothing stored, nothing activated) when the plant has errors.
    """
    bundle = check_bundle(source, assets=assets, label=label)
    with db.transaction() as session:
        return store_bundle(session, bundle, actor=actor, note=note)


@dataclass(frozen=True, slots=True)
class CheckedBundle:
    """A plant bundle as read and checked by :func:`check_bundle`, not stored yet."""

    label: str
    files: Mapping[str, str]
    assets: Mapping[str, bytes]
    result: LoadResult
    test_assets: Mapping[str, bytes] = field(default_factory=dict)
    """Binary files under ``tests/`` (not stored with a version)."""

    @property
    def plant_files(self) -> dict[str, str]:
        """The text files a version stores: all but ``tests/``."""
        return {p: t for p, t in self.files.items() if not p.startswith("tests/")}

    @property
    def has_tests(self) -> bool:
        return any(p.startswith("tests/") and p.count("/") == 1 for p in self.files)


def check_bundle(
    source: str | Path | Mapping[str, str],
    *,
    assets: Mapping[str, bytes] | None = None,
    label: str = "bundle",
) -> CheckedBundle:
    """Read a plant (a folder, or file texts by relative path) and check it; no database.

    For a folder, binary files (images) are read too; for file texts, pass them as ``assets``.
    ``label`` prefixes paths in diagnostics for file texts (a folder uses its own path).
    """
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise NotFound(f"There is no plant folder '{folder}'; give the path of a plant folder.")
        _refuse_links_and_special_files(folder)
        texts, binary = read_folder(folder)
        assets = _binary_files(folder, binary)
        files: Mapping[str, str] = texts
        label = str(source)
    else:
        files, assets = source, assets or {}
    result = load_files(files, label, binary_paths=frozenset(assets))
    tests = {p: d for p, d in assets.items() if p.startswith("tests/")}
    plant_assets = {p: d for p, d in assets.items() if p not in tests}
    return CheckedBundle(label, files, plant_assets, result, tests)


def _refuse_links_and_special_files(folder: Path) -> None:
    """Invalid naming the first symbolic link (never followed) or special file in ``folder``."""
    for root, folders, names in os.walk(folder):
        for name in sorted(folders + names):
            path = Path(root) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise Invalid(
                    f"{path} is a symbolic link; Ferrule deploys only regular files inside the "
                    "plant folder. Replace the link with a copy of the file.",
                    field="bundle",
                )
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise Invalid(
                    f"{path} is not a regular file (a pipe, socket or device); remove it from the "
                    "plant folder.",
                    field="bundle",
                )


def _binary_files(folder: Path, paths: frozenset[str]) -> dict[str, bytes]:
    """The folder's binary files to store (images, PDFs): not its tests, and not text the loader
    kept out of the config."""
    found: dict[str, bytes] = {}
    for path in sorted(paths):
        if path.startswith("tests/"):
            continue
        data = (folder / path).read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            found[path] = data
    return found


def _bundle_hash(plant_hash: str, assets: Mapping[str, bytes]) -> str:
    """A version's content hash: over its text files (the plant's own hash) and every binary
    file's bytes; a bundle without binary files keeps the plant's hash."""
    if not assets:
        return plant_hash
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in assets.items()}
    canonical = audit.canonical({"files": plant_hash, "assets": digests})
    return hashlib.sha256(canonical.encode()).hexdigest()


def store_bundle(
    session: Session,
    bundle: CheckedBundle,
    *,
    actor: str,
    note: str = "",
    signer: Signer | None = None,
    tests: ConfigTestResult | None = None,
) -> Deployment:
    """Make a checked bundle the active version, in the caller's transaction (a bundle identical
    to a stored version re-activates it). Raises :class:`ConfigRejected` when it has errors.

    Under change control (:func:`change_control`) ``tests`` must have passed and ``signer`` (whose
    password was just verified) must approve (:func:`.changecontrol.check_approval`); the
    signature is stored on the activation. Without change control no signer may be given."""
    result = bundle.result
    running = active_version(session)
    plant = result.plant
    keeps = f"version {running.id} stays active" if running else "no version is active"
    if plant is None:
        count = len(result.errors)
        raise ConfigRejected(
            f"The plant has {count} error{'s' if count != 1 else ''}; nothing was deployed and "
            f"{keeps}. Fix the errors (`ferrule check {bundle.label}`) and deploy again.",
            result.diagnostics,
            result.sources,
        )
    if running is not None and running.site != plant.site.name:
        raise Conflict(
            f"This database runs site '{running.site}'; refusing to deploy site "
            f"'{plant.site.name}'. Give each site its own database (FERRULE_DATABASE_URL)."
        )
    control = change_control(session)
    if control is None and signer is not None:
        raise changecontrol.unasked_approval(no_approval_because(running))
    if control is not None:
        site = plant.site.name
        changecontrol.check_tests(control, tests, site=site, keeps=keeps)
        if signer is None:
            raise changecontrol.approval_needed(control, site=site, keeps=keeps)
        changecontrol.check_approval(control, signer, actor=actor, site=site)
    digest = _bundle_hash(plant.content_hash, bundle.assets)
    stored = session.scalar(select(ConfigVersion).where(ConfigVersion.content_hash == digest))
    created = stored is None
    if stored is None:
        stored = ConfigVersion(
            site=plant.site.name,
            content_hash=digest,
            files=dict(plant.files),
            assets={path: base64.b64encode(data).decode() for path, data in bundle.assets.items()},
            created_at=utcnow(),
            created_by=actor,
            note=note,
        )
        session.add(stored)
        session.flush()
        _plants_by_hash.setdefault(digest, plant)
    approval = None
    if running is None or running.id != stored.id:
        approving = None if control is None or signer is None else (control, signer, tests)
        approval = _activate(session, stored, "deploy", actor, note, approving, running)
        equipment.seed(session, plant, actor)
    info = _info(session, stored)
    return Deployment(
        info, created, result.warnings, result.sources, approval=approval, tests=tests
    )


def rollback(
    target: Database | Session,
    version_id: int,
    *,
    actor: str,
    reason: str = "",
    signer: Signer | None = None,
) -> VersionInfo:
    """Re-activate an older version; work in progress keeps the version it was released on.

    A rollback changes what runs as much as a deploy does: under the running version's change
    control ``signer`` (whose password was just verified) must approve it, as for a deploy (the
    version's config tests passed when it was first approved). Given a Database, it runs in a
    transaction of its own; given a Session, in the caller's."""
    if isinstance(target, Database):
        with target.transaction() as session:
            return rollback(session, version_id, actor=actor, reason=reason, signer=signer)
    stored = _stored(target, version_id)
    running = active_version(target)
    if running is not None and running.id == version_id:
        raise Conflict(f"Version {version_id} is already active; nothing to roll back to.")
    control = change_control(target)
    keeps = f"version {running.id} stays active" if running else "no version is active"
    if control is None and signer is not None:
        raise changecontrol.unasked_approval(no_approval_because(running), "rollback")
    if control is not None:
        if signer is None:
            raise changecontrol.approval_needed(
                control, site=stored.site, keeps=keeps, what="rollback"
            )
        changecontrol.check_approval(control, signer, actor=actor, site=stored.site)
    plant = plant_for_version(target, version_id)
    approving = None if control is None or signer is None else (control, signer, None)
    _activate(target, stored, "rollback", actor, reason, approving, running)
    equipment.seed(target, plant, actor)
    return _info(target, stored)


# ---------------------------------------------------------------- change control


def change_control(session: Session) -> ChangeControl | None:
    """The change control in force: the active version's; None before the first deploy (the
    bootstrap) or when its site declares none."""
    version_id = active_version_id(session)
    if version_id is None:
        return None
    return plant_for_version(session, version_id).site.change_control


def no_approval_because(running: VersionInfo | None) -> str:
    """Why a deploy onto ``running`` takes no approval (there is no change control in force)."""
    if running is None:
        return "no version is active yet (the first deploy needs no approval)"
    return f"site '{running.site}' declares no change_control"


def version_changes(source: Database | Session, old_id: int, new_id: int) -> tuple[FileChange, ...]:
    """What changed from version ``old_id`` to version ``new_id``."""
    if isinstance(source, Database):
        with source.session() as session:
            return version_changes(session, old_id, new_id)
    old_texts, old_binary = version_files(source, old_id)
    new_texts, new_binary = version_files(source, new_id)
    old = (old_texts, old_binary, f"v{old_id}")
    return changecontrol.file_changes(old, (new_texts, new_binary, f"v{new_id}"))


def bundle_changes(
    source: Database | Session, bundle: CheckedBundle
) -> tuple[VersionInfo | None, tuple[FileChange, ...]]:
    """The active version, and what the bundle changes in it (every file added before the
    first deploy); a bundle's tests are not part of a version and not compared."""
    if isinstance(source, Database):
        with source.session() as session:
            return bundle_changes(session, bundle)
    running = active_version(source)
    texts, binary = version_files(source, running.id) if running is not None else ({}, {})
    label = f"v{running.id}" if running is not None else "none"
    new = (bundle.plant_files, bundle.assets, bundle.label)
    return running, changecontrol.file_changes((texts, binary, label), new)


# ---------------------------------------------------------------- queries


def active_version_id(session: Session) -> int | None:
    """The id of the active version (one indexed lookup), None before the first deploy."""
    return session.scalar(
        select(ConfigActivation.version_id).order_by(ConfigActivation.id.desc()).limit(1)
    )


def require_active_version_id(session: Session) -> int:
    """The active version's id; NotFound when nothing has been deployed yet."""
    version_id = active_version_id(session)
    if version_id is None:
        raise NotFound(
            "No plant config is deployed yet; deploy one with `ferrule deploy PLANT_DIR`."
        )
    return version_id


def active_version(source: Database | Session) -> VersionInfo | None:
    """The active version, None before the first deploy."""
    if isinstance(source, Database):
        with source.session() as session:
            return active_version(session)
    version_id = active_version_id(source)
    return None if version_id is None else _info(source, _stored(source, version_id))


def active_plant(source: Database | Session) -> tuple[int, Plant]:
    """The active version's id and its plant; NotFound before the first deploy."""
    if isinstance(source, Database):
        with source.session() as session:
            return active_plant(session)
    version_id = require_active_version_id(source)
    return version_id, plant_for_version(source, version_id)


def list_versions(source: Database | Session) -> list[VersionInfo]:
    """Every stored version, newest first."""
    if isinstance(source, Database):
        with source.session() as session:
            return list_versions(session)
    active = active_version_id(source)
    rows = source.scalars(select(ConfigVersion).order_by(ConfigVersion.id.desc()))
    return [_describe(row, row.id == active) for row in rows]


def activations(source: Database | Session) -> list[ConfigActivation]:
    """The activation history, oldest first."""
    if isinstance(source, Database):
        with source.session() as session:
            return activations(session)
    return list(source.scalars(select(ConfigActivation).order_by(ConfigActivation.id)))


def plant_for_version(source: Database | Session, version_id: int) -> Plant:
    """The plant of a stored version, loaded once per process (versions never change)."""
    database = source if isinstance(source, Database) else database_of(source)
    cache = _plants_by_database.setdefault(database, {})
    plant = cache.get(version_id)
    if plant is not None:
        return plant
    if isinstance(source, Database):
        with source.session() as session:
            return plant_for_version(session, version_id)
    content_hash = source.scalar(
        select(ConfigVersion.content_hash).where(ConfigVersion.id == version_id)
    )
    if content_hash is None:
        raise _no_version(source, version_id)
    plant = _plants_by_hash.get(content_hash)
    if plant is None:
        plant = _load_stored(_stored(source, version_id))
        _plants_by_hash[content_hash] = plant
    cache[version_id] = plant
    return plant


def version_files(
    source: Database | Session, version_id: int
) -> tuple[dict[str, str], dict[str, bytes]]:
    """A version's text files and binary files, as deployed."""
    if isinstance(source, Database):
        with source.session() as session:
            return version_files(session, version_id)
    stored = _stored(source, version_id)
    return dict(stored.files), {p: base64.b64decode(d) for p, d in stored.assets.items()}


# ---------------------------------------------------------------- helpers


def _activate(  # noqa: PLR0917  (one activation, with or without an approval)
    session: Session,
    stored: ConfigVersion,
    kind: str,
    actor: str,
    reason: str,
    approving: tuple[ChangeControl, Signer, ConfigTestResult | None] | None,
    running: VersionInfo | None,
) -> Approval | None:
    """Record the activation and its audit row; with ``approving``, the approver's signature on
    the activation, named in the audit row with the meaning, the time and the test summary."""
    now = utcnow()
    activation = ConfigActivation(
        version_id=stored.id, kind=kind, activated_at=now, activated_by=actor, reason=reason
    )
    session.add(activation)
    session.flush()
    new: dict[str, object] = {
        "version": stored.id,
        "content_hash": stored.content_hash,
        "site": stored.site,
        "replaces": running.id if running is not None else None,
    }
    approval: Approval | None = None
    signed: list[audit.Change] = []
    if approving is not None:
        control, signer, tests = approving
        new |= {"activation": activation.id, "tests": tests.summary if tests else None}
        content = {**new, "deployed_by": actor, "note": reason}
        approval, signed = changecontrol.sign(
            session, control, signer, activation=activation.id, version=stored.id,
            content=content, now=now,
        )  # fmt: skip
        new |= {
            "approved_by": signer.username,
            "approver_role": control.approver,
            "meaning": signer.meaning,
            "signed_at": now.isoformat(),
        }
    change = audit.Change(actor, kind, "config_version", stored.id, None, new, reason)
    audit.record_many(session, [change, *signed])
    session.flush()
    return approval


def _load_stored(stored: ConfigVersion) -> Plant:
    label, binary = f"plants/{stored.site}", frozenset(stored.assets)
    result = load_files(stored.files, label, binary_paths=binary)
    if result.plant is None:
        first = result.errors[0].render(result.sources) if result.errors else "unknown error"
        raise Conflict(
            f"Config version {stored.id} no longer loads with this Ferrule ({first}); deploy a "
            "corrected config."
        )
    return result.plant


def _stored(session: Session, version_id: int) -> ConfigVersion:
    stored = session.get(ConfigVersion, version_id)
    if stored is None:
        raise _no_version(session, version_id)
    return stored


def _no_version(session: Session, version_id: int) -> NotFound:
    newest = session.scalar(select(func.max(ConfigVersion.id)))
    known = f"versions are 1 to {newest}" if newest else "no version is stored yet"
    return NotFound(f"There is no config version {version_id} ({known}); see `ferrule versions`.")


def _info(session: Session, stored: ConfigVersion) -> VersionInfo:
    return _describe(stored, active_version_id(session) == stored.id)


def _describe(stored: ConfigVersion, active: bool) -> VersionInfo:
    return VersionInfo(
        id=stored.id,
        site=stored.site,
        content_hash=stored.content_hash,
        created_at=stored.created_at,
        created_by=stored.created_by,
        note=stored.note,
        files=len(stored.files) + len(stored.assets),
        active=active,
    )
