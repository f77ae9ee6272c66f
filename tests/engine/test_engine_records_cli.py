"""The records commands: db upgrade, deploy, versions, rollback, audit verify, users."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from testdata import NOT_CHECKED

from engine.cli.records import COMMANDS
from engine.infra.db import Database
from web.cli import cli

Invoke = Callable[..., Result]
ACME = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


@click.group()
def ferrule() -> None:
    """The engine's commands alone, as web/cli.py registers them."""


for _command in COMMANDS:
    ferrule.add_command(_command)


@pytest.fixture
def run(empty_db: Database) -> Invoke:
    url = empty_db.engine.url.render_as_string(hide_password=False)

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(
            ferrule, [*args, "--database-url", url], input=stdin, catch_exceptions=False
        )

    return invoke


def test_the_commands_are_registered_in_ferrule() -> None:

    for name in ("db", "deploy", "versions", "rollback", "audit", "users"):
        assert name in cli.commands


def test_db_upgrade_creates_then_keeps_the_schema(run: Invoke, empty_db: Database) -> None:
    first = run("db", "upgrade")
    assert first.exit_code == 0
    assert first.stdout == f"{empty_db.url}: schema upgraded from empty to revision 0001\n"
    again = run("db", "upgrade")
    assert again.stdout == f"{empty_db.url}: schema already at revision 0001\n"


def test_commands_on_an_unmigrated_database_say_to_upgrade(run: Invoke, empty_db: Database) -> None:
    result = run("versions")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: The database {empty_db.url} has no Ferrule tables yet; run `ferrule db upgrade` "
        "first.\n"
    )


def test_deploy_versions_and_rollback(run: Invoke, tmp_path: Path) -> None:
    run("db", "upgrade")
    assert run("versions").stdout == (
        "no config deployed yet; deploy one with `ferrule deploy PLANT_DIR`\n"
    )
    first = run("deploy", str(ACME), "--note", "first", "--by", "ada")
    assert first.exit_code == 0, first.output
    assert re.fullmatch(
        r"deployed version 1 of site acme-harness \(content [0-9a-f]{12}, \d+ files\); "
        r"it is now active\n",
        first.stdout,
    )
    changed = tmp_path / "acme-harness"
    shutil.copytree(ACME, changed)
    site = changed / "site.yaml"
    site.write_text(site.read_text().replace("(serialized units)", "(serialized units, v2)"))
    assert run("deploy", str(changed), "--by", "ada").exit_code == 0
    listing = run("versions").stdout.splitlines()
    assert [line[:7] for line in listing] == ["*    2 ", "     1 "]
    assert listing[1].endswith("  ada  first")
    rolled = run("rollback", "1", "--reason", "v2 is wrong", "--by", "ada")
    assert rolled.stdout == "version 1 of site acme-harness is active again\n"
    again = run("rollback", "1")
    assert (again.exit_code, again.stderr) == (
        1,
        "Error: Version 1 is already active; nothing to roll back to.\n",
    )


def test_deploy_prints_diagnostics_and_refuses_on_error(run: Invoke, tmp_path: Path) -> None:
    run("db", "upgrade")
    run("deploy", str(ACME))
    broken = tmp_path / "acme-harness"
    shutil.copytree(ACME, broken)
    routing = broken / "routings" / "harness-a.yaml"
    routing.write_text(routing.read_text().replace("not press1.fault", "not press1.falt"))
    result = run("deploy", str(broken))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert re.match(rf"{re.escape(str(routing))}:\d+:\d+: error: .*press1\.falt", lines[0])
    assert "^" in result.stderr
    assert lines[-1] == (
        "Error: The plant has 1 error; nothing was deployed and version 1 stays active. Fix the "
        f"errors (`ferrule check {broken}`) and deploy again."
    )
    assert run("versions").stdout.startswith("*    1 ")


def test_audit_verify_exit_codes(run: Invoke, empty_db: Database) -> None:
    run("db", "upgrade")
    run("deploy", str(ACME))
    ok = run("audit", "verify")
    assert (ok.exit_code, ok.stdout) == (
        0,
        "audit trail intact: 3 records; 4 sealed records match their seals\n"
        "not checked: a rewrite of the whole chain together with its head, or a cut-off tail "
        "(run with --anchors FILE --key KEY to check them against signed heads)\n"
        f"{NOT_CHECKED}\n",
    )
    with empty_db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2"))
    broken = run("audit", "verify")
    assert (broken.exit_code, broken.stderr) == (
        1,
        "audit trail broken: record #2 was edited (its content no longer matches its hash)\n",
    )


def test_users_add_grant_list_and_deactivate(run: Invoke) -> None:
    run("db", "upgrade")
    run("deploy", str(ACME))
    added = run(
        "users",
        "add",
        "anna",
        "--name",
        "Anna Berg",
        "--role",
        "operator",
        "--password",
        stdin="amber-lathe-quartz-41\namber-lathe-quartz-41\n",
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.endswith("added user anna with roles operator\n")
    granted = run(
        "users",
        "grant",
        "anna",
        "--qualification",
        "crimping",
        "--expires",
        "2099-01-31",
    )
    assert granted.stdout == "anna: qualification crimping until 2099-01-31\n"
    typo = run("users", "grant", "anna", "--role", "qualty")
    assert (typo.exit_code, typo.stderr) == (
        1,
        "Error: The plant declares no role 'qualty'. Did you mean 'quality'? Declared: admin, "
        "engineer, maintenance, operator, quality, stores, supervisor.\n",
    )
    listing = run("users", "list")
    assert listing.stdout == "anna             roles: operator; qualifications: crimping\n"
    gone = run("users", "deactivate", "anna", "--reason", "left")
    assert gone.stdout == "deactivated anna\n"
    assert run("users", "list").stdout.endswith("(deactivated)\n")
    missing = run("users", "deactivate", "bob", "--reason", "x")
    assert missing.stderr == (
        "Error: There is no user 'bob'; check the spelling, or add the user with "
        "`ferrule users add bob`.\n"
    )
