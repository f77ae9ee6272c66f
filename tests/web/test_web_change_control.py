"""Change control on the config page and the API: a site whose active version declares
change_control deploys a bundle only with its own config tests passing and the approver's
e-signature; the page shows the diff against the active version and the test result and asks for
the signature, and a refused signature says why. The web runs the tests in a child process (one
test here runs it for real); the others run them in-process to stay quick."""

from __future__ import annotations

import base64
import html
import io
import sys
import zipfile
from collections.abc import Iterator, Mapping

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pages_support import form_token
from testdata import ACME, CHANGE_CONTROL, CUT_CONFIG_TEST, PASSWORD
from web_support import Api, alerts_of, row_count, sign_in

import web.app
from dsl.loader import read_folder
from engine.commands import versions
from engine.configtest.bundle import run_bundle
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from web.app import create_app
from web.settings import Settings

HELD = (
    "case 'cut goes to crimp', step 2 (complete cut): expected next 'crimp', got held (Cut "
    "length outside 500 ± 0.5 mm)"
)


def _bundle(
    description: str = "line 1 (serialized units, v2)", tests: str = CUT_CONFIG_TEST
) -> tuple[dict[str, str], dict[str, bytes]]:
    """acme-harness under change control, with another description and tests/cut.yaml."""
    texts, binary = read_folder(ACME)
    files = {p: t for p, t in texts.items() if not p.startswith("tests/")}
    files["site.yaml"] = files["site.yaml"].replace("line 1 (serialized units)", description)
    files["site.yaml"] += CHANGE_CONTROL
    if tests:
        files["tests/cut.yaml"] = tests
    return files, {p: (ACME / p).read_bytes() for p in binary if not p.startswith("tests/")}


def _zip(files: Mapping[str, str], assets: Mapping[str, bytes]) -> io.BytesIO:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for path, text in {**files, **assets}.items():
            archive.writestr(f"acme-harness/{path}", text)
    data.seek(0)
    return data


@pytest.fixture
def controlled_db(db: Database, users: dict[str, tuple[str, ...]]) -> Database:
    """Version 1: acme-harness under change control (the first deploy needs no approval)."""
    files, assets = _bundle("line 1 (serialized units)")
    versions.deploy(db, files, assets=assets, actor="ada", note="bootstrap")
    return db


def _app(settings: Settings, db: Database, **kw: object) -> Flask:
    app = create_app(
        settings, db=db, tags=StaticTagSource({}), setpoints=RecordingSetpointWriter(), **kw
    )  # type: ignore[arg-type]
    app.testing = True
    return app


@pytest.fixture
def app(settings: Settings, controlled_db: Database) -> Flask:
    return _app(settings, controlled_db, config_tester=run_bundle)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _check(
    client: FlaskClient, csrf: str, tests: str = CUT_CONFIG_TEST, action: str = "check"
) -> object:
    files, assets = _bundle(tests=tests)
    return client.post(
        "/admin/config/upload",
        data={
            "csrf_token": csrf,
            "action": action,
            "note": "v2",
            "bundle": (_zip(files, assets), "acme.zip"),
        },
        content_type="multipart/form-data",
    )


# ---------------------------------------------------------------- the config page


def test_the_config_page_shows_the_diff_the_tests_and_asks_for_the_signature(
    client: FlaskClient,
) -> None:
    csrf = sign_in(client, "eve")
    checked = _check(client, csrf)
    assert checked.status_code == 200  # type: ignore[attr-defined]
    page = _text(checked)
    assert (
        "Change control: a deploy needs the electronic signature of a user with the role\n  "
        "<strong>quality</strong>,\n  meaning “Approved for production”, and the bundle's config "
        "tests must pass." in page
    )
    tests = page.split('<section class="card" id="tests">')[1].split("</section>")[0]
    assert '<span class="badge pass">passed</span>' in tests
    assert "<p data-tests>1 case, 1 passed, 0 failed</p>" in page
    assert "<h2>Changes against v1 (active)</h2>" in page
    assert '<h3 data-change="site.yaml">site.yaml <small class="muted">changed</small></h3>' in page
    assert (
        '<span class="del">-description: Wire-harness assembly, line 1 (serialized units)</span>'
        in page
    )
    assert (
        '<span class="add">+description: Wire-harness assembly, line 1 (serialized units, v2)'
        "</span>" in page
    )
    assert "tests/cut.yaml" not in page.split('id="changes"')[1]  # tests are not part of a version
    assert "<legend>Electronic signature of the approver</legend>" in page
    assert '<input id="approver" name="approver" value="" autocomplete="off" required>' in page
    assert '<input id="meaning" name="meaning" value="Approved for production" readonly>' in page
    assert (
        '<input id="password" name="password" type="password" autocomplete="off" required>' in page
    )
    assert '<button type="submit" class="primary">Sign and deploy</button>' in page


def test_check_and_deploy_under_change_control_stops_at_the_review(
    client: FlaskClient, controlled_db: Database
) -> None:
    csrf = sign_in(client, "eve")
    response = _check(client, csrf, action="deploy")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert alerts_of(response) == [
        "Deploys are under change control: check the changes and the config tests below, then a "
        "user with the role 'quality' signs to deploy."
    ]
    assert row_count(controlled_db, "config_versions") == 1


def test_a_refused_signature_says_why_and_deploys_nothing(
    client: FlaskClient, controlled_db: Database
) -> None:
    csrf = sign_in(client, "eve")
    packed = form_token(_check(client, csrf).get_data(as_text=True), "bundle")  # type: ignore[attr-defined]

    def deploy(approver: str, password: str) -> object:
        return client.post(
            "/admin/config/deploy",
            data={
                "csrf_token": csrf,
                "bundle": packed,
                "note": "v2",
                "approver": approver,
                "meaning": "Approved for production",
                "password": password,
            },
        )

    wrong = deploy("quinn", "not the password")
    assert wrong.status_code == 403  # type: ignore[attr-defined]
    assert alerts_of(wrong) == [
        "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
        "username and password."
    ]
    assert 'value="quinn"' in _text(wrong)  # the form keeps the approver for another try
    no_role = deploy("eve", PASSWORD)
    assert no_role.status_code == 403  # type: ignore[attr-defined]
    assert alerts_of(no_role) == [
        "User 'eve' cannot sign 'Approved for production' for the deploy on site "
        "'acme-harness': that needs the role 'quality'."
    ]
    missing = deploy("", "")
    assert missing.status_code == 403  # type: ignore[attr-defined]
    assert alerts_of(missing)[0].startswith(
        "Site 'acme-harness' is under change control: a deploy needs the electronic signature"
    )
    assert row_count(controlled_db, "config_versions") == 1


def test_an_approved_deploy_is_listed_with_its_approval(
    client: FlaskClient, controlled_db: Database
) -> None:
    csrf = sign_in(client, "eve")
    packed = form_token(_check(client, csrf).get_data(as_text=True), "bundle")  # type: ignore[attr-defined]
    deployed = client.post(
        "/admin/config/deploy",
        data={
            "csrf_token": csrf,
            "bundle": packed,
            "note": "v2",
            "approver": "quinn",
            "meaning": "Approved for production",
            "password": PASSWORD,
        },
    )
    assert deployed.status_code == 303, _text(deployed)
    listing = _text(client.get("/admin/config"))
    assert ") deployed and active, approved by quinn (quality)." in listing
    assert "<span data-approval>Quinn (quinn, quality) — “Approved for production”, " in listing
    with controlled_db.session() as session:
        (activation,) = [a for a in versions.activations(session) if a.version_id == 2]
    trail = client.get("/audit/?entity=config_version&entity_id=2")
    assert trail.status_code == 403  # eve is an engineer: the audit trail is not hers
    quality = client.application.test_client()
    sign_in(quality, "quinn")
    rows = _text(quality.get("/audit/?entity=config_version&entity_id=2"))
    assert "<strong>approved_by</strong>:\n          quinn" in rows
    assert "<strong>tests</strong>:\n          1 case, 1 passed, 0 failed" in rows
    assert f"<strong>activation</strong>:\n          {activation.id}" in rows


def test_failing_tests_are_shown_and_refuse_the_deploy(
    client: FlaskClient, controlled_db: Database
) -> None:
    csrf = sign_in(client, "eve")
    checked = _check(client, csrf, tests=CUT_CONFIG_TEST.replace("500 mm", "503 mm"))
    page = _text(checked)
    assert '<span class="badge fail">failed</span>' in page
    assert f"<li><code>tests/cut.yaml:12</code>: {HELD}</li>" in page
    assert "data-not-deployable" in page and "Sign and deploy" not in page
    files, assets = _bundle(tests=CUT_CONFIG_TEST.replace("500 mm", "503 mm"))
    refused = client.post(  # sent anyway, without the page's form
        "/admin/config/deploy",
        data={
            "csrf_token": csrf,
            "bundle": (_zip(files, assets), "acme.zip"),
            "approver": "quinn",
            "meaning": "Approved for production",
            "password": PASSWORD,
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert alerts_of(refused)[0].startswith(
        f"The config tests fail: 1 of 1 cases failed (tests/cut.yaml:12: {HELD})."
    )
    assert row_count(controlled_db, "config_versions") == 1


def test_a_zip_without_tests_cannot_be_deployed_under_change_control(client: FlaskClient) -> None:
    csrf = sign_in(client, "eve")
    page = _text(_check(client, csrf, tests=""))
    assert "<p data-tests>No config tests: the bundle has no tests/*.yaml with cases.</p>" in page
    assert "data-not-deployable" in page


# ---------------------------------------------------------------- the API


def _body(tests: str = CUT_CONFIG_TEST, **extra: object) -> dict[str, object]:
    files, assets = _bundle(tests=tests)
    encoded = {p: base64.b64encode(d).decode() for p, d in assets.items()}
    return {"files": files, "assets": encoded, "note": "v2", **extra}


@pytest.fixture
def api(app: Flask, controlled_db: Database) -> Api:
    return Api(app, controlled_db)


SIGNED = {"username": "quinn", "password": PASSWORD, "meaning": "Approved for production"}


def test_the_api_deploys_with_an_approval_and_refuses_without(api: Api) -> None:
    missing = api.post("/api/config/versions", "eve", _body())
    assert (missing.status_code, missing.json["error"]) == (403, "approval_required")
    wrong = api.post("/api/config/versions", "eve", _body(approval={**SIGNED, "password": "nope"}))
    assert (wrong.status_code, wrong.json["error"]) == (403, "signature_refused")
    failing = api.post(
        "/api/config/versions",
        "eve",
        _body(CUT_CONFIG_TEST.replace("500 mm", "503 mm"), approval=SIGNED),
    )
    assert (failing.status_code, failing.json["error"], failing.json["field"]) == (
        422,
        "config_tests_failed",
        "tests",
    )
    assert HELD in failing.json["message"]
    deployed = api.post("/api/config/versions", "eve", _body(approval=SIGNED))
    assert deployed.status_code == 201, deployed.json
    assert deployed.json["approval"]["username"] == "quinn"
    assert deployed.json["approval"]["meaning"] == "Approved for production"
    assert deployed.json["tests"]["summary"] == "1 case, 1 passed, 0 failed"


def test_the_api_rolls_back_only_with_an_approval(api: Api) -> None:
    assert api.post("/api/config/versions", "eve", _body(approval=SIGNED)).status_code == 201
    missing = api.post("/api/config/versions/1/rollback", "eve", {"reason": "v2 misbehaves"})
    assert (missing.status_code, missing.json["error"]) == (403, "approval_required")
    assert missing.json["message"].startswith(
        "Site 'acme-harness' is under change control: a rollback needs the electronic signature"
    )
    back = api.post(
        "/api/config/versions/1/rollback", "eve", {"reason": "v2 misbehaves", "approval": SIGNED}
    )
    assert (back.status_code, back.json["id"], back.json["active"]) == (200, 1, True)


def test_the_config_page_asks_the_approver_to_sign_a_rollback(client: FlaskClient) -> None:
    csrf = sign_in(client, "eve")
    packed = form_token(_check(client, csrf).get_data(as_text=True), "bundle")  # type: ignore[attr-defined]
    signed = {"approver": "quinn", "meaning": "Approved for production", "password": PASSWORD}
    client.post(
        "/admin/config/deploy", data={"csrf_token": csrf, "bundle": packed, "note": "v2", **signed}
    )
    page = _text(client.get("/admin/config"))
    assert 'id="rollback-approver-1" name="approver" placeholder="approver (quality)"' in page
    refused = client.post(
        "/admin/config/versions/1/rollback", data={"csrf_token": csrf, "reason": "v2 misbehaves"}
    )
    assert refused.status_code == 403
    assert "a rollback needs the electronic signature of a user with the role" in _text(refused)
    back = client.post(
        "/admin/config/versions/1/rollback",
        data={"csrf_token": csrf, "reason": "v2 misbehaves", **signed},
    )
    assert back.status_code == 303, _text(back)
    assert "Version 1 is active again." in _text(client.get("/admin/config"))


def test_the_api_review_shows_changes_tests_and_the_change_control(api: Api) -> None:
    body = _body()
    del body["note"]
    review = api.post("/api/config/review", "eve", body)
    assert review.status_code == 200
    answer = review.json
    assert (answer["ok"], answer["site"], answer["active_version"]) == (True, "acme-harness", 1)
    assert answer["change_control"] == {
        "approver": "quality",
        "meaning": "Approved for production",
        "two_person": False,
    }
    assert [c["path"] for c in answer["changes"]] == ["site.yaml"]
    assert answer["tests"]["summary"] == "1 case, 1 passed, 0 failed"


# ---------------------------------------------------------------- the child process


@pytest.fixture
def real_api(settings: Settings, controlled_db: Database) -> Iterator[Api]:
    """The app with the web's own tester: the tests run in ``python -m engine.configtest``."""
    yield Api(_app(settings, controlled_db), controlled_db)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_the_web_runs_the_tests_in_a_child_process(
    real_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = _body(CUT_CONFIG_TEST.replace("500 mm", "503 mm"))
    del body["note"]
    review = real_api.post("/api/config/review", "eve", body)
    assert review.status_code == 200, review.json
    tests = review.json["tests"]
    assert (tests["summary"], tests["failures"][0]["message"]) == (
        "1 case, 0 passed, 1 failed",
        HELD,
    )
    monkeypatch.setattr(web.app, "CONFIG_TEST_SECONDS", 0.001)
    slow = real_api.post("/api/config/review", "eve", body)
    assert (slow.status_code, slow.json["tests"]) == (200, None)
    assert slow.json["tests_problem"].startswith("The config tests took longer than 0.001 s")
    deploy = real_api.post("/api/config/versions", "eve", {**body, "approval": SIGNED})
    assert (deploy.status_code, deploy.json["error"]) == (409, "config_tests_timeout")
    monkeypatch.setattr(web.app, "CONFIG_TEST_SECONDS", 25)
    monkeypatch.setattr(
        web.app, "CONFIG_TEST_COMMAND", (sys.executable, "-c", "raise SystemExit(3)")
    )
    broken = real_api.post("/api/config/review", "eve", body)
    assert broken.json["tests_problem"] == (
        "The config tests could not be run (the error was logged); run `ferrule test "
        "PLANT_DIR` to see why."
    )
