"""The engine's records on the command line: ``ferrule db upgrade``, ``deploy``, ``versions``,
``rollback``, ``audit verify`` and ``users …``.

Every command opens the database named by ``--database-url`` (default: the environment variable
FERRULE_DATABASE_URL, else ``sqlite:///var/ferrule.db``). Refusals print ``error: …`` and exit 1.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from dsl.loader import read_folder
from dsl.model import Plant
from engine import migrations
from engine.access import people
from engine.access.signatures import SignatureInput
from engine.commands import versions
from engine.commands.versions import ConfigRejected
from engine.configtest.bundle import run_bundle
from engine.errors import DomainError
from engine.facade.config import Config
from engine.infra import anchors, audit, seals
from engine.infra.db import DEFAULT_URL, URL_VARIABLE, Database

F = TypeVar("F", bound=Callable[..., Any])


def database_option(command: F) -> F:
    """``--database-url``, read from FERRULE_DATABASE_URL when not given."""
    return click.option(
        "--database-url",
        envvar=URL_VARIABLE,
        default=DEFAULT_URL,
        show_default=True,
        help=f"SQLAlchemy URL of the database (or set {URL_VARIABLE}).",
    )(command)


def by_option(command: F) -> F:
    """``--by``: who is doing this, for the audit trail."""
    return click.option(
        "--by",
        "actor",
        default=getpass.getuser,
        show_default="your login name",
        help="Who does this (recorded in the audit trail).",
    )(command)


@contextmanager
def _open(url: str, *, migrated: bool = True) -> Iterator[Database]:
    """Open the database; turn domain errors into ``error: …`` and exit status 1."""
    db = Database.from_url(url)
    try:
        if migrated:
            _require_schema(db)
        yield db
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        db.dispose()


def _require_schema(db: Database) -> None:
    current, wanted = migrations.current(db), migrations.head()
    if current is None:
        raise click.ClickException(
            f"The database {db.url} has no Ferrule tables yet; run `ferrule db upgrade` first."
        )
    if current != wanted:
        raise click.ClickException(
            f"The database {db.url} is at schema revision {current}, this Ferrule needs {wanted}; "
            "run `ferrule db upgrade`."
        )


# ---------------------------------------------------------------- ferrule db


@click.group("db")
def db_group() -> None:
    """The database: create and upgrade its schema."""


@db_group.command("upgrade")
@database_option
def upgrade_command(database_url: str) -> None:
    """Create the tables, or bring them up to this Ferrule's schema."""
    with _open(database_url, migrated=False) as db:
        before = migrations.current(db)
        after = migrations.upgrade(db)
        if before == after:
            click.echo(f"{db.url}: schema already at revision {after}")
        else:
            click.echo(f"{db.url}: schema upgraded from {before or 'empty'} to revision {after}")


# ---------------------------------------------------------------- config versions


@click.command("deploy")
@click.argument("plant_dir", type=click.Path(file_okay=False))
@click.option("--note", default="", help="Why this version is deployed.")
@click.option(
    "--approver",
    default=None,
    help="Under change control: the user who approves the deploy with an e-signature "
    "(their password is asked for).",
)
@by_option
@database_option
def deploy_command(
    plant_dir: str, note: str, approver: str | None, actor: str, database_url: str
) -> None:
    """Check PLANT_DIR and, if it has no errors, store it as a version and activate it.

    Under change control (site.yaml's change_control, in the active version) the plant's config
    tests must pass and --approver must sign; the first deploy of a database needs neither."""
    folder = Path(plant_dir.rstrip("/") or plant_dir)
    with _open(database_url) as db:
        config = Config(db, tester=run_bundle)
        approval = _approval(config, folder, approver, actor) if approver else None
        try:
            deployment = config.deploy(
                actor=actor, source=folder, note=note, label=str(folder), approval=approval
            )
        except ConfigRejected as exc:
            click.echo(exc.render(), err=True)
            raise click.ClickException(exc.message) from exc
        except DomainError as exc:
            if exc.code == "approval_required":
                raise click.ClickException(f"{exc.message} Give --approver USER.") from exc
            raise
        for warning in deployment.warnings:
            click.echo(warning.render(deployment.sources), err=True)
        version = deployment.version
        what = "deployed" if deployment.created else "re-activated identical"
        click.echo(
            f"{what} version {version.id} of site {version.site} "
            f"(content {version.content_hash[:12]}, {version.files} files); it is now active"
        )
        if deployment.approval is not None:
            signed = deployment.approval
            click.echo(
                f"approved by {signed.username} ({signed.role}) — “{signed.meaning}” at "
                f"{signed.signed_at:%Y-%m-%d %H:%M:%S} UTC; config tests: "
                f"{deployment.tests.summary if deployment.tests else 'not run'}"
            )


def _approval(config: Config, folder: Path, approver: str, actor: str) -> SignatureInput:
    """Show the approver what they sign (the files changed, the config tests' result), then ask
    for their password."""
    control = config.change_control()
    if control is None:
        return SignatureInput(approver, "", "", caller=actor)  # the engine says why not
    texts, binary = read_folder(folder)
    review = config.review(texts, {p: (folder / p).read_bytes() for p in binary}, label=str(folder))
    running = f"version {review.running.id}" if review.running else "nothing deployed"
    click.echo(f"changes against {running}:")
    for change in review.changes:
        click.echo(f"  {change.change:<8} {change.path}{' (binary)' if change.binary else ''}")
    if review.tests is not None:
        click.echo(
            review.tests.output if not review.tests.ok else f"config tests: {review.tests.summary}"
        )
    password = click.prompt(
        f"{approver}, sign '{control.meaning}' for deploying {folder} (password)",
        hide_input=True,
        err=True,
    )
    return SignatureInput(approver, password, control.meaning, caller=actor)


@click.command("versions")
@database_option
def versions_command(database_url: str) -> None:
    """List the stored config versions, newest first; * marks the active one."""
    with _open(database_url) as db:
        config = Config(db)
        listing = config.versions()
        if not listing:
            click.echo("no config deployed yet; deploy one with `ferrule deploy PLANT_DIR`")
            return
        approvals = config.approvals()
        for version in listing:
            mark = "*" if version.active else " "
            when = version.created_at.strftime("%Y-%m-%d %H:%M:%SZ")
            note = f"  {version.note}" if version.note else ""
            signed = approvals.get(version.id)
            approved = f"  (approved by {signed.username})" if signed is not None else ""
            click.echo(
                f"{mark} {version.id:>4}  {when}  {version.content_hash[:12]}  "
                f"{version.created_by}{approved}{note}"
            )


@click.command("rollback")
@click.argument("version", type=int)
@click.option("--reason", default="", help="Why the older version comes back.")
@click.option(
    "--approver",
    default=None,
    metavar="USER",
    help="Under change control: the approver who signs the rollback (asked for a password).",
)
@by_option
@database_option
def rollback_command(
    version: int, reason: str, approver: str | None, actor: str, database_url: str
) -> None:
    """Re-activate the stored config VERSION (work in progress keeps its own version)."""
    with _open(database_url) as db:
        config = Config(db)
        approval = None
        if approver:
            control = config.change_control()
            meaning = control.meaning if control is not None else ""
            password = click.prompt(
                f"{approver}, sign '{meaning}' for rolling back to version {version} (password)",
                hide_input=True,
                err=True,
            )
            approval = SignatureInput(approver, password, meaning, caller=actor)
        try:
            info = config.rollback(
                actor=actor, version_id=version, reason=reason, approval=approval
            )
        except DomainError as exc:
            if exc.code == "approval_required":
                raise click.ClickException(f"{exc.message} Give --approver USER.") from exc
            raise click.ClickException(exc.message) from exc
        click.echo(f"version {info.id} of site {info.site} is active again")


# ---------------------------------------------------------------- audit


@click.group("audit")
def audit_group() -> None:
    """The audit trail."""


KEY_OPTION = click.option(
    "--key",
    "key_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="FERRULE_ANCHOR_KEY",
    required=True,
    help="The anchor signing key (Ed25519 PEM; for verify its .pub is enough) "
    "[env FERRULE_ANCHOR_KEY]. Keep it out of the database and its backups.",
)
ANCHORS_OPTION = click.option(
    "--anchors",
    "anchors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="FERRULE_ANCHORS",
    help="The append-only file of signed chain heads [env FERRULE_ANCHORS].",
)


@audit_group.command("verify")
@database_option
@ANCHORS_OPTION
@click.option(
    "--key",
    "key_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="FERRULE_ANCHOR_KEY",
    help="The anchors' public (or private) key [env FERRULE_ANCHOR_KEY].",
)
def verify_command(database_url: str, anchors_path: Path | None, key_path: Path | None) -> None:
    """Check the hash chain, and with --anchors the signed heads kept outside the database;
    exit 1 naming the first edited, inserted or deleted record, or each broken anchor."""
    if anchors_path is not None and key_path is None:
        raise click.UsageError("--anchors needs --key (the anchors' public key) to check them")
    with _open(database_url) as db, db.session() as session:
        verdict = audit.verify(session)
        problems = (
            anchors.check(session, anchors_path, key_path)
            if anchors_path is not None and key_path is not None
            else []
        )
    click.echo(verdict.describe(), err=not verdict.ok)
    for problem in problems:
        click.echo(f"anchor broken: {problem}", err=True)
    if anchors_path is None:
        click.echo(
            "not checked: a rewrite of the whole chain together with its head, or a cut-off tail "
            "(run with --anchors FILE --key KEY to check them against signed heads)"
        )
    elif not problems:
        click.echo(f"anchors intact: every signed head in {anchors_path} matches the chain")
    click.echo(f"not checked: {', '.join(seals.working_tables())} (working data, not records)")
    if not verdict.ok or problems:
        raise SystemExit(1)


@audit_group.command("anchor")
@database_option
@KEY_OPTION
@ANCHORS_OPTION
def anchor_command(database_url: str, key_path: Path, anchors_path: Path | None) -> None:
    """Sign the chain's head now and append it to the anchors file (run it from a timer)."""
    if anchors_path is None:
        raise click.UsageError("name the anchors file with --anchors or FERRULE_ANCHORS")
    with _open(database_url) as db, db.session() as session:
        now = anchors.head(session)
    if now is None:
        click.echo("the audit trail is empty; nothing to anchor")
        return
    signed = anchors.append(now, key_path, anchors_path)
    with _open(database_url) as db, db.transaction() as session:
        audit.record(
            session,
            actor="ferrule",
            action="anchor",
            entity="audit_anchor",
            entity_id=now.seq,
            new=signed,
            reason=f"signed checkpoint appended to {anchors_path}",
        )
    click.echo(f"anchored record #{now.seq} ({now.hash[:12]}…) in {anchors_path}")


@audit_group.command("keygen")
@KEY_OPTION
def keygen_command(key_path: Path) -> None:
    """Create the anchor signing key (0600) and its public key for auditors."""
    if key_path.exists():
        raise click.UsageError(f"{key_path} exists; Ferrule never overwrites a signing key")
    public = anchors.create_key(key_path)
    click.echo(
        f"signing key: {key_path} (keep it secret)\npublic key: {public} (give it to auditors)"
    )


# ---------------------------------------------------------------- users


@click.group("users")
def users_group() -> None:
    """Users, their roles and qualifications."""


@users_group.command("add")
@click.argument("username")
@click.option("--name", "full_name", default="", help="Full name, shown on signatures.")
@click.option("--password", is_flag=True, help="Prompt for a password.")
@click.option("--role", "roles", multiple=True, help="A role to grant (repeatable).")
@by_option
@database_option
def add_user_command(
    *,
    username: str,
    full_name: str,
    password: bool,
    roles: tuple[str, ...],
    actor: str,
    database_url: str,
) -> None:
    """Add USERNAME, optionally with a password and roles."""
    secret = _prompt_password() if password else None
    with _open(database_url) as db, db.transaction() as session:
        plant = _active_plant(db)
        people.create_user(session, username, actor=actor, full_name=full_name, password=secret)
        for role in roles:
            people.grant_role(session, username, role, actor=actor, plant=plant)
    click.echo(f"added user {username}" + (f" with roles {', '.join(roles)}" if roles else ""))


@users_group.command("grant")
@click.argument("username")
@click.option("--role", "roles", multiple=True, help="A role to grant (repeatable).")
@click.option(
    "--qualification", "qualifications", multiple=True, help="A qualification (repeatable)."
)
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Expiry of the qualifications (default: the plant's valid_for after today).",
)
@by_option
@database_option
def grant_command(
    *,
    username: str,
    roles: tuple[str, ...],
    qualifications: tuple[str, ...],
    expires: dt.datetime | None,
    actor: str,
    database_url: str,
) -> None:
    """Grant USERNAME roles and qualifications named in the active plant config."""
    if not roles and not qualifications:
        raise click.UsageError("give at least one --role or --qualification")
    expires_on = expires.date() if expires else None
    with _open(database_url) as db, db.transaction() as session:
        plant = _active_plant(db)
        for role in roles:
            people.grant_role(session, username, role, actor=actor, plant=plant)
        for name in qualifications:
            grant = people.grant_qualification(
                session, username, name, actor=actor, plant=plant, expires_on=expires_on
            )
            until = f"until {grant.expires_on}" if grant.expires_on else "without expiry"
            click.echo(f"{username}: qualification {name} {until}")
        for role in roles:
            click.echo(f"{username}: role {role}")


@users_group.command("password")
@click.argument("username")
@by_option
@database_option
def password_command(username: str, actor: str, database_url: str) -> None:
    """Set USERNAME's password (prompted, never on the command line)."""
    secret = _prompt_password()
    with _open(database_url) as db, db.transaction() as session:
        people.set_password(session, username, secret, actor=actor)
    click.echo(f"password of {username} set")


@users_group.command("deactivate")
@click.argument("username")
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@by_option
@database_option
def deactivate_command(username: str, reason: str, actor: str, database_url: str) -> None:
    """Stop USERNAME from signing in or acting; their records stay."""
    with _open(database_url) as db, db.transaction() as session:
        people.deactivate_user(session, username, actor=actor, reason=reason)
    click.echo(f"deactivated {username}")


@users_group.command("list")
@database_option
def list_users_command(database_url: str) -> None:
    """List users with their roles and qualifications."""
    today = dt.datetime.now(dt.UTC).date()
    with _open(database_url) as db, db.session() as session:
        for user in people.list_users(session):
            state = "" if user.active else "  (deactivated)"
            quals = ", ".join(
                q.name + ("" if q.valid_on(today) else " (expired)") for q in user.qualifications
            )
            click.echo(
                f"{user.username:<16} roles: {', '.join(user.roles) or '-'}; "
                f"qualifications: {quals or '-'}{state}"
            )


def _active_plant(db: Database) -> Plant | None:
    """The active plant, to check role and qualification names; None before the first deploy."""
    active = versions.active_version(db)
    return None if active is None else versions.plant_for_version(db, active.id)


def _prompt_password() -> str:
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


COMMANDS = (
    db_group,
    deploy_command,
    versions_command,
    rollback_command,
    audit_group,
    users_group,
)
