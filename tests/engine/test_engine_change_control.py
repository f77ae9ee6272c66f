"""Change control of config deploys (21 CFR Part 11, Annex 11 §10): site.yaml's change_control is
checked like the other site keys; under it a deploy is refused when the bundle's config tests fail
(naming the failing case) or have no case, and without a valid e-signature of the named role
(by another person with two_person); an approved deploy records the approver, the meaning, the
time and the test summary. The first deploy and sites without change_control work as before."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from testdata import ACME, CHANGE_CONTROL, CUT_CONFIG_TEST, PASSWORD

from dsl.loader import load_files, read_folder
from engine import migrations
from engine.access import people
from engine.access.signatures import SignatureInput, SignatureRefused
from engine.cli.records import deploy_command, versions_command
from engine.commands import versions
from engine.configtest.bundle import run_bundle
from engine.errors import Conflict, Forbidden, Invalid
from engine.facade.config import Config
from engine.infra import audit
from engine.infra.db import Database
from engine.records.production import Signature
from engine.records.tables import AuditRecord, User

FAILING = CUT_CONFIG_TEST.replace("length: 500 mm", "length: 503 mm")
HELD = (
    "tests/cut.yaml:12: case 'cut goes to crimp', step 2 (complete cut): expected next 'crimp', "
    "got held (Cut length outside 500 ± 0.5 mm)"
)


def _plant(
    tmp_path: Path, name: str, *, control: str = CHANGE_CONTROL, tests: str = CUT_CONFIG_TEST
) -> Path:
    """acme-harness with ``control`` appended to site.yaml and tests/cut.yaml holding ``tests``
    (its own tests left out)."""
    folder = tmp_path / name
    shutil.copytree(ACME, folder, ignore=shutil.ignore_patterns("tests"))
    site = folder / "site.yaml"
    site.write_text(site.read_text() + control)
    if tests:
        (folder / "tests").mkdir()
        (folder / "tests" / "cut.yaml").write_text(tests)
    return folder


def _edit(folder: Path, relative: str, old: str, new: str) -> None:
    path = folder / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.fixture
def config(db: Database, password_hash: str) -> Config:
    """The config facade with the in-process test runner, and users: ada (admin), eve (engineer),
    quinn (quality), qara (quality and engineer), all with PASSWORD."""
    with db.transaction() as session:
        for username, roles in {
            "ada": ("admin",),
            "eve": ("engineer",),
            "quinn": ("quality",),
            "qara": ("quality", "engineer"),
        }.items():
            people.create_user(session, username, actor="test", full_name=username.title())
            for role in roles:
                people.grant_role(session, username, role, actor="test")
        session.execute(update(User).values(password_hash=password_hash))
    return Config(db, tester=run_bundle)


@pytest.fixture
def controlled(config: Config, tmp_path: Path) -> Path:
    """Version 1 deployed with change control (the first deploy needs no approval); returns the
    next bundle: version 1 with another description."""
    first = config.deploy(actor="ada", source=_plant(tmp_path, "v1"), note="bootstrap")
    assert (first.version.id, first.approval, first.tests) == (1, None, None)
    changed = _plant(tmp_path, "v2")
    _edit(changed, "site.yaml", "line 1 (serialized units)", "line 1 (serialized units, v2)")
    return changed


def _sign(username: str = "quinn", password: str = PASSWORD, meaning: str = "") -> SignatureInput:
    return SignatureInput(
        username, password, meaning or "Approved for production", caller="ada", address="10.0.0.9"
    )


def _audit_rows(db: Database, action: str) -> list[tuple[str, str, str, dict[str, object]]]:
    with db.session() as session:
        rows = session.scalars(select(AuditRecord).where(AuditRecord.action == action))
        return [(r.actor, r.entity, r.entity_id, json.loads(r.new)) for r in rows]


# ---------------------------------------------------------------- the site.yaml key


def _acme_with(site_tail: str, materials_tail: str = "") -> dict[str, str]:
    texts, _ = read_folder(ACME)
    texts = {p: t for p, t in texts.items() if not p.startswith("tests/")}
    texts["site.yaml"] += site_tail
    texts["materials.yaml"] += materials_tail
    return texts


def test_change_control_is_read_into_the_site() -> None:
    result = load_files(_acme_with(CHANGE_CONTROL + "  two_person: true\n"), "plants/acme")
    assert result.plant is not None, result.render()
    control = result.plant.site.change_control
    assert control is not None
    assert (control.approver, control.meaning, control.two_person) == (
        "quality",
        "Approved for production",
        True,
    )
    defaults = load_files(_acme_with("\nchange_control: {approver: admin}\n"), "plants/acme")
    assert defaults.plant is not None
    assert defaults.plant.site.change_control is not None
    assert defaults.plant.site.change_control.meaning == "Approved for production"
    assert defaults.plant.site.change_control.two_person is False
    plain = load_files(_acme_with(""), "plants/acme")
    assert plain.plant is not None and plain.plant.site.change_control is None


def test_change_control_mistakes_are_reported_compiler_style() -> None:
    texts = _acme_with("\nchange_control:\n  approver: qualty\n  two_person: yes\n  meening: x\n")
    line = texts["site.yaml"].count("\n") - 2  # the line of 'approver: qualty'
    result = load_files(texts, "plants/acme")
    assert result.plant is None
    assert result.render().splitlines() == [
        f"plants/acme/site.yaml:{line}:13: error: unknown role 'qualty'; did you mean 'quality'?",
        "      approver: qualty",
        "                ^^^^^^",
        f"plants/acme/site.yaml:{line + 1}:15: error: 'two_person' must be true or false, found "
        "'yes'",
        "      two_person: yes",
        "                  ^^^",
        f"plants/acme/site.yaml:{line + 2}:3: error: unknown key 'meening' in a plant file; did "
        "you mean 'meaning'?",
        "      meening: x",
        "      ^^^^^^^",
        "  hint: allowed keys: approver, meaning, two_person",
    ]


def test_change_control_is_set_once_and_names_an_approver() -> None:
    twice = load_files(
        _acme_with(CHANGE_CONTROL, "\nchange_control: {approver: quality}\n"), "plants/acme"
    )
    assert [(d.span.path, d.message, d.hint) for d in twice.errors] == [
        (
            "plants/acme/site.yaml",
            "'change_control' is set twice",
            "first set at plants/acme/materials.yaml:34:1; keep one of them",
        )
    ]
    missing = load_files(_acme_with("\nchange_control: {two_person: true}\n"), "plants/acme")
    assert [(d.message, d.hint) for d in missing.errors] == [
        (
            "a plant file is missing the required key 'approver'",
            "approver: The role whose e-signature approves each deploy.",
        )
    ]


# ---------------------------------------------------------------- refusals


def test_without_an_approval_the_deploy_is_refused_naming_the_role(
    config: Config, controlled: Path
) -> None:
    with pytest.raises(Forbidden) as refused:
        config.deploy(actor="ada", source=controlled)
    assert refused.value.code == "approval_required"
    assert refused.value.message == (
        "Site 'acme-harness' is under change control: a deploy needs the electronic signature of "
        "a user with the role 'quality', meaning 'Approved for production'. Nothing was deployed "
        "and version 1 stays active; sign with the approver's username and password."
    )
    assert [v.id for v in config.versions()] == [1]


def test_failing_config_tests_refuse_the_deploy_naming_the_case(
    config: Config, controlled: Path, db: Database
) -> None:
    (controlled / "tests" / "cut.yaml").write_text(FAILING)
    with pytest.raises(Invalid) as refused:
        config.deploy(actor="ada", source=controlled, approval=_sign())
    assert refused.value.code == "config_tests_failed"
    assert refused.value.message == (
        f"The config tests fail: 1 of 1 cases failed ({HELD}). Site 'acme-harness' is under "
        "change control: a config is deployed only when its tests pass; nothing was deployed and "
        "version 1 stays active. Fix the config or its tests (`ferrule test PLANT_DIR`) and "
        "deploy again."
    )
    assert [v.id for v in config.versions()] == [1]
    assert _audit_rows(db, "signature_refused") == []  # no password was even checked


def test_a_bundle_without_config_tests_is_refused(
    config: Config, controlled: Path, tmp_path: Path
) -> None:
    untested = _plant(tmp_path, "untested", tests="")
    with pytest.raises(Invalid) as refused:
        config.deploy(actor="ada", source=untested, approval=_sign())
    assert refused.value.code == "config_tests_missing"
    assert refused.value.message.startswith(
        "The bundle has no config tests (tests/*.yaml with cases). Site 'acme-harness' is under "
        "change control"
    )


def test_a_wrong_password_is_refused_and_audited(
    config: Config, controlled: Path, db: Database
) -> None:
    with pytest.raises(SignatureRefused) as refused:
        config.deploy(actor="ada", source=controlled, approval=_sign(password="wrong password"))
    assert refused.value.message == (
        "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
        "username and password."
    )
    assert _audit_rows(db, "signature_refused") == [
        ("ada", "signature", "config/deploy", {"signer": "quinn", "address": "10.0.0.9"})
    ]
    assert _audit_rows(db, "signature_failed")[0][:3] == ("quinn", "user", "quinn")
    assert [v.id for v in config.versions()] == [1]


def test_an_approver_without_the_role_is_refused(config: Config, controlled: Path) -> None:
    with pytest.raises(Forbidden) as refused:
        config.deploy(actor="ada", source=controlled, approval=_sign("eve"))
    assert refused.value.code == "signature_role"
    assert refused.value.message == (
        "User 'eve' cannot sign 'Approved for production' for the deploy on site 'acme-harness': "
        "that needs the role 'quality'."
    )


def test_another_meaning_is_refused(config: Config, controlled: Path) -> None:
    with pytest.raises(Invalid) as refused:
        config.deploy(actor="ada", source=controlled, approval=_sign(meaning="Reviewed"))
    assert (refused.value.field, refused.value.message) == (
        "approval.meaning",
        "The approval of a deploy must state 'Approved for production', not 'Reviewed'.",
    )


def test_two_person_refuses_the_deployer_as_approver(config: Config, tmp_path: Path) -> None:
    config.deploy(
        actor="ada", source=_plant(tmp_path, "v1", control=CHANGE_CONTROL + "  two_person: true\n")
    )
    changed = _plant(tmp_path, "v2", control=CHANGE_CONTROL + "  two_person: true\n")
    _edit(changed, "site.yaml", "line 1 (serialized units)", "line 1 (v2)")
    with pytest.raises(Forbidden) as refused:
        config.deploy(actor="qara", source=changed, approval=_sign("qara"))
    assert refused.value.code == "two_person"
    assert refused.value.message == (
        "A deploy needs two people here: 'qara' deploys it and cannot also approve it. Ask "
        "another user with the role 'quality' to sign."
    )
    approved = config.deploy(actor="qara", source=changed, approval=_sign("quinn"))
    assert approved.approval is not None and approved.approval.username == "quinn"


def test_without_two_person_the_deployer_may_approve_holding_the_role(
    config: Config, controlled: Path
) -> None:
    approved = config.deploy(actor="qara", source=controlled, approval=_sign("qara"))
    assert approved.approval is not None
    assert (approved.approval.username, approved.version.created_by) == ("qara", "qara")


def test_a_signature_is_refused_where_no_approval_is_asked(config: Config, tmp_path: Path) -> None:
    plain = _plant(tmp_path, "plain", control="")
    with pytest.raises(Invalid) as first:
        config.deploy(actor="ada", source=plain, approval=_sign())
    assert first.value.message == (
        "This deploy takes no approval: no version is active yet (the first deploy needs no "
        "approval). Deploy without a signature."
    )
    config.deploy(actor="ada", source=plain)
    _edit(plain, "site.yaml", "line 1 (serialized units)", "line 1 (v2)")
    with pytest.raises(Invalid) as later:
        config.deploy(actor="ada", source=plain, approval=_sign())
    assert "site 'acme-harness' declares no change_control" in later.value.message
    assert config.deploy(actor="ada", source=plain).version.id == 2  # today's behaviour


def test_without_a_test_runner_a_controlled_deploy_is_refused(
    db: Database, config: Config, controlled: Path
) -> None:
    with pytest.raises(Conflict) as refused:
        Config(db).deploy(actor="ada", source=controlled, approval=_sign())
    assert refused.value.code == "config_tests_not_run"


# ---------------------------------------------------------------- the approved deploy


def test_an_approved_deploy_records_approver_meaning_time_and_tests(
    config: Config, controlled: Path, db: Database
) -> None:
    deployed = config.deploy(
        actor="ada", source=controlled, note="v2 description", approval=_sign()
    )
    approval, tests = deployed.approval, deployed.tests
    assert approval is not None and tests is not None
    assert (deployed.version.id, deployed.version.active) == (2, True)
    assert (approval.version, approval.username, approval.full_name, approval.role) == (
        2,
        "quinn",
        "Quinn",
        "quality",
    )
    assert approval.meaning == "Approved for production"
    assert (tests.summary, tests.ok) == ("1 case, 1 passed, 0 failed", True)
    with db.session() as session:
        (signature,) = session.scalars(select(Signature))
        (activation,) = [a for a in versions.activations(session) if a.version_id == 2]
        assert (signature.record_type, signature.record_id, signature.config_version_id) == (
            "config_activation",
            activation.id,
            2,
        )
        assert (signature.username, signature.signed_at) == ("quinn", approval.signed_at)
        assert audit.verify(session).ok
    deploys = _audit_rows(db, "deploy")
    assert deploys[-1] == (
        "ada",
        "config_version",
        "2",
        {
            "version": 2,
            "content_hash": deployed.version.content_hash,
            "site": "acme-harness",
            "replaces": 1,
            "activation": activation.id,
            "tests": "1 case, 1 passed, 0 failed",
            "approved_by": "quinn",
            "approver_role": "quality",
            "meaning": "Approved for production",
            "signed_at": approval.signed_at.isoformat(),
        },
    )
    assert _audit_rows(db, "sign")[-1][:3] == ("quinn", "config_activation", str(activation.id))
    assert config.approvals() == {2: approval}
    assert deployed.to_json()["approval"]["username"] == "quinn"


def test_the_change_control_in_force_is_the_active_versions(
    config: Config, controlled: Path, tmp_path: Path
) -> None:
    lifted = _plant(tmp_path, "lifted", control="")
    with pytest.raises(Forbidden):  # a bundle cannot lift its own approval
        config.deploy(actor="ada", source=lifted)
    assert config.deploy(actor="ada", source=lifted, approval=_sign()).version.id == 2
    assert config.change_control() is None
    _edit(lifted, "site.yaml", "line 1 (serialized units)", "line 1 (v3)")
    assert config.deploy(actor="ada", source=lifted).version.id == 3


def test_a_rollback_under_change_control_needs_the_approvers_signature(
    config: Config, controlled: Path, db: Database
) -> None:
    config.deploy(actor="ada", source=controlled, approval=_sign())
    with pytest.raises(Forbidden) as refused:
        config.rollback(actor="ada", version_id=1, reason="v2 misbehaves")
    assert refused.value.code == "approval_required"
    assert refused.value.message == (
        "Site 'acme-harness' is under change control: a rollback needs the electronic signature "
        "of a user with the role 'quality', meaning 'Approved for production'. Nothing was "
        "rolled back and version 2 stays active; sign with the approver's username and password."
    )
    with pytest.raises(SignatureRefused):
        config.rollback(
            actor="ada", version_id=1, reason="v2 misbehaves", approval=_sign(password="wrong")
        )
    active = config.active_version()
    assert active is not None and active.id == 2
    back = config.rollback(actor="ada", version_id=1, reason="v2 misbehaves", approval=_sign())
    assert (back.id, back.active) == (1, True)
    actor, entity, entity_id, new = _audit_rows(db, "rollback")[-1]
    assert (actor, entity, entity_id) == ("ada", "config_version", "1")
    assert (new["approved_by"], new["approver_role"], new["replaces"]) == ("quinn", "quality", 2)


def test_a_rollback_without_change_control_takes_no_signature(
    config: Config, tmp_path: Path
) -> None:
    config.deploy(actor="ada", source=_plant(tmp_path, "v1", control=""))
    changed = _plant(tmp_path, "v2", control="")
    _edit(changed, "site.yaml", "line 1 (serialized units)", "line 1 (v2)")
    config.deploy(actor="ada", source=changed)
    with pytest.raises(Invalid) as refused:
        config.rollback(actor="ada", version_id=1, reason="back", approval=_sign())
    assert refused.value.message == (
        "This rollback takes no approval: site 'acme-harness' declares no change_control. Roll "
        "back without a signature."
    )
    assert config.rollback(actor="ada", version_id=1, reason="back").id == 1


# ---------------------------------------------------------------- what a deploy shows


def test_the_review_shows_the_diff_against_the_active_version_and_the_tests(
    config: Config, controlled: Path
) -> None:
    (controlled / "instructions" / "img" / "strip-gauge.svg").write_text("<svg/>")
    (controlled / "instructions" / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\x00")
    texts, binary = read_folder(controlled)
    assets = {p: (controlled / p).read_bytes() for p in binary}
    review = config.review(texts, assets, label="upload")
    assert review.result.plant is not None
    assert review.running is not None and review.running.id == 1
    assert review.tests is not None and review.tests.summary == "1 case, 1 passed, 0 failed"
    assert review.change_control is not None and review.change_control.approver == "quality"
    by_path = {c.path: c for c in review.changes}
    assert sorted(by_path) == [
        "instructions/img/strip-gauge.svg",
        "instructions/photo.png",
        "site.yaml",
    ]
    site = by_path["site.yaml"]
    assert (site.change, site.binary) == ("changed", False)
    assert site.lines[:2] == ("--- v1/site.yaml", "+++ upload/site.yaml")
    assert "-description: Wire-harness assembly, line 1 (serialized units)" in site.lines
    assert "+description: Wire-harness assembly, line 1 (serialized units, v2)" in site.lines
    assert all(line[0] in " +-@" for line in site.lines[2:])
    photo = by_path["instructions/photo.png"]
    assert (photo.change, photo.binary, photo.lines) == ("added", True, ())
    assert by_path["instructions/img/strip-gauge.svg"].change == "changed"


def test_the_diff_between_versions_names_text_and_binary_changes(db: Database) -> None:
    first = {"site.yaml": "a\nb\n", "old.md": "gone\n"}
    second = {"site.yaml": "a\nc\n", "new.md": "here\n"}
    changes = versions.changecontrol.file_changes(
        (first, {"logo.png": b"\x89PNG1"}, "v1"), (second, {"logo.png": b"\x89PNG2"}, "v2")
    )
    assert [(c.path, c.change, c.binary, c.lines) for c in changes] == [
        ("logo.png", "changed", True, ()),
        ("new.md", "added", False, ("--- /dev/null", "+++ v2/new.md", "@@ -0,0 +1 @@", "+here")),
        ("old.md", "removed", False, ("--- v1/old.md", "+++ /dev/null", "@@ -1 +0,0 @@", "-gone")),
        (
            "site.yaml",
            "changed",
            False,
            ("--- v1/site.yaml", "+++ v2/site.yaml", "@@ -1,2 +1,2 @@", " a", "-b", "+c"),
        ),
    ]


# ---------------------------------------------------------------- ferrule deploy


def test_ferrule_deploy_bootstraps_then_needs_an_approver(
    empty_db: Database, password_hash: str, tmp_path: Path
) -> None:
    migrations.upgrade(empty_db)
    with empty_db.transaction() as session:
        people.create_user(session, "quinn", actor="test", full_name="Quinn")
        people.grant_role(session, "quinn", "quality", actor="test")
        session.execute(update(User).values(password_hash=password_hash))
    db = empty_db
    url = db.engine.url.render_as_string(hide_password=False)

    def deploy(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        result = CliRunner().invoke(deploy_command, [*args, "--database-url", url], input=stdin)
        return result.exit_code, result.stdout, result.stderr

    code, out, _ = deploy(str(_plant(tmp_path, "v1")), "--by", "ada")
    assert (code, out.startswith("deployed version 1 of site acme-harness")) == (0, True)
    changed = _plant(tmp_path, "v2")
    _edit(changed, "site.yaml", "line 1 (serialized units)", "line 1 (v2)")
    code, _, err = deploy(str(changed), "--by", "ada")
    assert code == 1
    assert err.endswith("sign with the approver's username and password. Give --approver USER.\n")
    code, out, err = deploy(
        str(changed), "--by", "ada", "--approver", "quinn", stdin=PASSWORD + "\n"
    )
    assert code == 0, err
    assert "changes against version 1:\n  changed  site.yaml\n" in out
    assert "config tests: 1 case, 1 passed, 0 failed\n" in out
    assert "quinn, sign 'Approved for production' for deploying" in err
    assert "deployed version 2 of site acme-harness" in out
    assert "approved by quinn (quality) — “Approved for production” at " in out
    listing = CliRunner().invoke(versions_command, ["--database-url", url]).stdout
    assert listing.splitlines()[0].endswith("  ada  (approved by quinn)")
    code, _, err = deploy(str(changed), "--by", "ada", "--approver", "quinn", stdin="nope\n")
    assert code == 1 and "The password for 'quinn' is wrong" in err


def test_a_bundle_from_files_in_memory_runs_its_tests(tmp_path: Path) -> None:
    folder = _plant(tmp_path, "mem", tests=FAILING)
    texts, binary = read_folder(folder)
    assets = {p: (folder / p).read_bytes() for p in binary}
    result = run_bundle(texts, assets, "upload")
    assert (result.cases, result.passed, result.ok) == (1, 0, False)
    assert [(f.file, f.line) for f in result.failures] == [("tests/cut.yaml", 12)]
    assert result.output.endswith("upload: 1 case, 0 passed, 1 failed")
    assert json.loads(json.dumps(result.to_json()))["summary"] == "1 case, 0 passed, 1 failed"
    assert base64  # the web sends binary files base64-encoded (engine.configtest.__main__)
