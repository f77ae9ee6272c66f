"""Supervisor, quality and engineer/admin pages through Flask's test client."""

from __future__ import annotations

import html
import io
import math
import zipfile
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from pages_support import form_token, release_unit
from sqlalchemy import select
from testdata import ACME, PASSWORD
from web_support import alerts_of, csrf_of, row_count, sign_in, table_rows

from engine.commands.bom import ConsumptionInput
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.records.tables import AuditRecord


def _text(response: object) -> str:
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _hold_unit(app: Flask) -> str:
    """A unit whose cut length failed its gate: on hold."""
    ferrule = app.extensions["ferrule"].ferrule
    unit = release_unit(app)
    ferrule.start_operation(actor="anna", item=unit, operation="cut")
    ferrule.complete_operation(
        actor="anna",
        item=unit,
        operation="cut",
        data={"length": 502, "strip_length": 7},
        consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
    )
    return unit


def _nonconforming_unit(app: Flask) -> tuple[str, int]:
    """A unit sent to a nonconformance by quality's own command."""
    ferrule = app.extensions["ferrule"].ferrule
    unit = release_unit(app)
    nc = ferrule.open_nonconformance(
        actor="quinn", item=unit, defect_code="nicked-insulation", description="Scratched jacket"
    )
    return unit, nc.id


def test_a_supervisor_creates_and_releases_a_work_order(
    line_client: FlaskClient, line_app: Flask
) -> None:
    csrf = sign_in(line_client, "sam")
    page = line_client.get("/supervisor/").get_data(as_text=True)
    assert '<option value="HA-100"' in page
    response = line_client.post(
        "/supervisor/work-orders",
        data={"csrf_token": csrf, "product": "HA-100", "quantity": "2", "release": "1"},
    )
    assert response.status_code == 303
    page = _text(line_client.get("/supervisor/"))
    assert "Work order WO00001 created and released (2 items)." in page
    assert "<td>WO00001</td><td>HA-100</td><td>2</td>" in page
    assert "1 queued" not in page and "2 queued" in page  # WIP per operation


def test_a_bad_quantity_is_refused_with_the_reason(line_client: FlaskClient) -> None:
    csrf = sign_in(line_client, "sam")
    response = line_client.post(
        "/supervisor/work-orders",
        data={"csrf_token": csrf, "product": "HA-100", "quantity": "many"},
    )
    assert response.status_code == 422
    assert "The quantity 'many' is not a number; enter how many to make, like 10." in _text(
        response
    )


def test_holds_are_listed_and_released_with_a_reason(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = _hold_unit(line_app)
    csrf = sign_in(line_client, "sam")
    page = _text(line_client.get("/supervisor/holds"))
    assert f'data-item="{unit}"' in page
    assert "Cut length outside 500 ± 0.5 mm" in page
    refused = line_client.post(
        "/supervisor/holds/release", data={"csrf_token": csrf, "number": unit, "reason": " "}
    )
    assert refused.status_code == 422
    assert (
        f"Give a reason to release Unit {unit}; it goes into the record and the audit trail."
        in _text(refused)
    )
    done = line_client.post(
        "/supervisor/holds/release",
        data={"csrf_token": csrf, "number": unit, "reason": "re-measured: 500.1 mm"},
    )
    assert done.status_code == 303
    assert f"Unit {unit} was released and waits at &#39;crimp&#39;." in line_client.get(
        "/supervisor/holds"
    ).get_data(as_text=True)


def _audit_since(db: Database, seq: int) -> list[tuple[str, str, str]]:
    """(actor, action, entity id) of the audit rows after ``seq``."""
    with db.session() as session:
        rows = session.execute(
            select(AuditRecord.actor, AuditRecord.action, AuditRecord.entity_id)
            .where(AuditRecord.seq > seq)
            .order_by(AuditRecord.seq)
        )
        return [(actor, action, entity_id) for actor, action, entity_id in rows]


def test_quality_dispositions_a_nonconformance_with_a_signature(
    line_client: FlaskClient, line_app: Flask, db: Database
) -> None:
    unit, nc_id = _nonconforming_unit(line_app)
    csrf = sign_in(line_client, "quinn")
    queue = _text(line_client.get("/quality/"))
    assert f"NC-{nc_id:04d}" in queue and "Scratched jacket" in queue
    page = _text(line_client.get(f"/quality/nc/{nc_id}"))
    assert "You, quinn, are signing the disposition of" in page
    form = {
        "csrf_token": csrf,
        "decision": "rework",
        "target_operation": "cut",
        "reason": "re-cut the wire",
        "meaning": "Disposition approved",
    }
    before = table_rows(db)
    audited = row_count(db, "audit_log")
    wrong = line_client.post(f"/quality/nc/{nc_id}/disposition", data={**form, "password": "no"})
    assert wrong.status_code == 403
    # every alert on the page (the notice, the password field's error) says exactly this
    assert set(alerts_of(wrong)) == {
        "The password for 'quinn' is wrong; the signature was refused. Sign again with your own "
        "username and password."
    }
    # the refused signature decided nothing; only the audit trail keeps the attempt
    # (and the sign-in throttle counts it as a failed sign-in of quinn)
    kept = ("audit_", "signin_attempts")
    after = table_rows(db)
    unaudited = {name: rows for name, rows in after.items() if not name.startswith(kept)}
    assert unaudited == {n: r for n, r in before.items() if not n.startswith(kept)}
    counted = set(after["signin_attempts"]) - set(before["signin_attempts"])
    assert [(r[1], r[2], r[4]) for r in counted] == [("quinn", "127.0.0.1", False)]
    assert _audit_since(db, audited) == [
        ("quinn", "signature_refused", f"nonconformance/{nc_id}"),
        ("quinn", "signature_failed", "quinn"),
    ]
    assert (row_count(db, "dispositions"), row_count(db, "signatures")) == (0, 0)
    done = line_client.post(f"/quality/nc/{nc_id}/disposition", data={**form, "password": PASSWORD})
    assert done.status_code == 303
    assert f"NC-{nc_id:04d} on {unit}: rework at an operation at 'cut', signed by quinn." in _text(
        line_client.get("/quality/")
    )
    history = _text(line_client.get(f"/quality/trace?number={unit}"))
    assert "Signed by Quinn (quinn, quality) — “Disposition approved”" in history


def test_the_trace_shows_history_versions_and_both_genealogies(
    line_client: FlaskClient, line_app: Flask
) -> None:
    unit = release_unit(line_app)
    ferrule = line_app.extensions["ferrule"].ferrule
    ferrule.start_operation(actor="anna", item=unit, operation="cut")
    ferrule.complete_operation(
        actor="anna",
        item=unit,
        operation="cut",
        data={"length": 500, "strip_length": 7},
        consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
    )
    sign_in(line_client, "quinn")
    page = _text(line_client.get(f"/quality/trace?number={unit}"))
    assert "completed 'cut': next → crimp" in page
    assert "<td>v1</td>" in page
    assert "length = 500 mm" in page
    assert (
        'lot <a href="/quality/trace?part=WIRE-18-RD&lot=W-001">WIRE-18-RD W-001</a>: 0.5 m' in page
    )
    forward = _text(line_client.get("/quality/trace?part=WIRE-18-RD&lot=W-001"))
    assert f'<li data-node="{unit}"><a href="/quality/trace?number={unit}">{unit}</a> HA-100' in (
        forward
    )
    missing = line_client.get("/quality/trace?number=NOPE")
    assert missing.status_code == 404


def _zip(files: dict[str, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, text in files.items():
            archive.writestr(f"acme-harness/{path}", text)
    buffer.seek(0)
    return buffer


def _acme_files() -> dict[str, str]:
    return {
        p.relative_to(ACME).as_posix(): p.read_text()
        for p in ACME.rglob("*")
        if p.is_file() and not p.relative_to(ACME).as_posix().startswith("tests/")
    }


def test_a_bundle_with_an_error_is_refused_with_its_diagnostics(
    line_client: FlaskClient,
) -> None:
    files = _acme_files()
    routing = "routings/harness-a.yaml"
    files[routing] = files[routing].replace("pull_force >= 60 N", "pull_force >= 60 bar")
    csrf = sign_in(line_client, "eve")
    response = line_client.post(
        "/admin/config/upload",
        data={"csrf_token": csrf, "action": "deploy", "bundle": (_zip(files), "acme.zip")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = _text(response)
    assert "The plant has 1 error; nothing was deployed and version 1 stays active." in page
    assert "bundle/routings/harness-a.yaml:" in page
    assert "^^^" in page
    assert page.count("data-version=") == 1


def test_a_clean_bundle_is_checked_then_deployed_and_diffed(line_client: FlaskClient) -> None:
    files = _acme_files()
    files["site.yaml"] = files["site.yaml"].replace(
        "Wire-harness assembly, line 1", "Wire-harness assembly, line 2"
    )
    csrf = sign_in(line_client, "eve")
    checked = line_client.post(
        "/admin/config/upload",
        data={"csrf_token": csrf, "action": "check", "bundle": (_zip(files), "acme.zip")},
        content_type="multipart/form-data",
    )
    assert checked.status_code == 200
    page = checked.get_data(as_text=True)
    assert '<span class="badge pass">passed</span>' in page
    deployed = line_client.post(
        "/admin/config/deploy",
        data={"csrf_token": csrf, "bundle": form_token(page, "bundle"), "note": "line 2"},
    )
    assert deployed.status_code == 303
    listing = _text(line_client.get("/admin/config"))
    assert "Version 2 (" in listing and ") deployed and active." in listing
    diff = _text(line_client.get("/admin/config/diff?a=1&b=2"))
    assert '<h3 data-change="site.yaml">site.yaml <small class="muted">changed</small></h3>' in diff
    assert '<span class="del">-description: Wire-harness assembly, line 1' in diff
    assert '<span class="add">+description: Wire-harness assembly, line 2' in diff
    rolled = line_client.post(
        "/admin/config/versions/1/rollback", data={"csrf_token": csrf, "reason": "line 1 again"}
    )
    assert rolled.status_code == 303
    assert "Version 1 is active again." in _text(line_client.get("/admin/config"))


def test_an_admin_adds_a_user_and_grants_a_role(line_client: FlaskClient) -> None:
    csrf = sign_in(line_client, "ada")
    added = line_client.post(
        "/admin/users",
        data={
            "csrf_token": csrf,
            "username": "otto",
            "full_name": "Otto",
            "password": "otto turns lathes",
        },
    )
    assert added.status_code == 303
    granted = line_client.post(
        "/admin/users/role", data={"csrf_token": csrf, "username": "otto", "role": "operator"}
    )
    assert granted.status_code == 303
    page = _text(line_client.get("/admin/users"))
    assert "otto now has the role operator." in page
    row = page.split('data-user="otto"')[1].split("</tr>")[0]
    assert "<td>operator</td>" in row
    unknown = line_client.post(
        "/admin/users/role", data={"csrf_token": csrf, "username": "otto", "role": "wizard"}
    )
    assert unknown.status_code == 422
    assert "The plant declares no role 'wizard'." in _text(unknown)


def test_device_status_shows_live_values(line_client: FlaskClient) -> None:
    sign_in(line_client, "eve")
    page = _text(line_client.get("/admin/devices/live"))
    row = page.split('data-tag="press1.pressure"')[1].split("</tr>")[0]
    assert "<td>70 bar</td>" in row
    assert '<span class="badge pass">good</span>' in row
    assert 'class="reason"' not in row


def test_device_status_says_why_a_value_is_unavailable(
    line_client: FlaskClient, line_tags: StaticTagSource
) -> None:
    line_tags.set_bad("press1.pressure", "press1: connection refused (since 12 s ago)")
    line_tags.set("tester.resistance", math.nan)
    sign_in(line_client, "eve")
    page = _text(line_client.get("/admin/devices/live"))
    rows = {
        key: page.split(f'data-tag="{key}"')[1].split("</tr>")[0]
        for key in ("press1.pressure", "tester.resistance")
    }
    assert (
        '<td><span class="badge bad">bad</span> <span class="reason">press1: connection refused '
        "(since 12 s ago)</span></td>"
    ) in rows["press1.pressure"]
    assert (
        '<td><span class="badge bad">bad</span> <span class="reason">tester.resistance: the value '
        "is not a number</span></td>"
    ) in rows["tester.resistance"]


def test_instruction_images_are_served_and_config_text_is_not(
    line_client: FlaskClient, line_app: Flask
) -> None:
    sign_in(line_client, "anna")
    image = line_client.get("/config/1/files/instructions/img/strip-gauge.svg")
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/svg+xml"
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    config = line_client.get("/config/1/files/site.yaml")
    assert config.status_code == 403
    missing = line_client.get("/config/1/files/instructions/img/nope.png")
    assert missing.status_code == 404
    assert "Config version 1 has no file 'instructions/img/nope.png'" in _text(missing)


CSRF_REFUSED = "This form has expired or did not come from Ferrule; reload the page and try again."


def test_office_forms_need_the_csrf_token(line_client: FlaskClient, db: Database) -> None:
    sign_in(line_client, "sam")
    form = {"product": "HA-100", "quantity": "1", "release": "1"}
    before = table_rows(db)
    for token in ({}, {"csrf_token": "forged"}):
        response = line_client.post("/supervisor/work-orders", data={**form, **token})
        assert (response.status_code, alerts_of(response)) == (403, [CSRF_REFUSED])
    assert table_rows(db) == before  # no work order, no item, no audit row
    assert row_count(db, "work_orders") == 0
    # the same form with the session's token is carried out
    done = line_client.post(
        "/supervisor/work-orders", data={**form, "csrf_token": csrf_of(line_client)}
    )
    assert done.status_code == 303
    assert (row_count(db, "work_orders"), row_count(db, "items")) == (1, 1)


BOARD = "engineer or maintenance or quality or stores or supervisor"  # who may sign dispositions


def _needs(roles: str, username: str, held: str) -> str:
    return f"This needs the role {roles}; {username} has {held}. Ask an admin to grant the role."


def _deploy_form(comment: str) -> Callable[[], dict[str, Any]]:
    """The upload form deploying the acme-harness bundle with ``comment`` added to site.yaml."""

    def form() -> dict[str, Any]:
        files = _acme_files()
        files["site.yaml"] += f"\n# {comment}\n"
        return {"action": "deploy", "bundle": (_zip(files), "acme.zip")}

    return form


def test_a_forbidden_office_post_changes_nothing(
    line_app: Flask, line_client: FlaskClient, db: Database
) -> None:
    ferrule = line_app.extensions["ferrule"].ferrule
    created = ferrule.create_work_order(actor="sam", product="HA-100", quantity=1).number
    queued = release_unit(line_app)
    held = _hold_unit(line_app)
    _, nc_id = _nonconforming_unit(line_app)
    eve = line_app.test_client()
    csrf = sign_in(eve, "eve")
    second = eve.post(
        "/admin/config/upload",
        data={"csrf_token": csrf, **_deploy_form("version 2")()},
        content_type="multipart/form-data",
    )
    assert second.status_code == 303  # version 2 is active: a rollback to 1 would change it
    disposition = {
        "decision": "scrap",
        "reason": "cannot repair",
        "password": PASSWORD,
        "meaning": "Disposition approved",
    }
    # (refused user, message, path, form, user who may, the table the allowed post adds to)
    posts: list[tuple[str, str, str, Callable[[], dict[str, Any]], str, str]] = [
        (
            "anna",
            _needs("admin or supervisor", "anna", "operator"),
            "/supervisor/work-orders",
            lambda: {"product": "HA-100", "quantity": "2", "release": "1"},
            "sam",
            "work_orders",
        ),
        (
            "quinn",
            _needs("admin or supervisor", "quinn", "quality"),
            f"/supervisor/work-orders/{created}/release",
            dict,
            "ada",
            "items",
        ),
        (
            "anna",
            _needs("quality or supervisor", "anna", "operator"),
            "/supervisor/holds",
            lambda: {"number": queued, "reason": "suspect wire batch"},
            "quinn",
            "hold_events",
        ),
        (
            "eve",
            _needs("quality or supervisor", "eve", "engineer"),
            "/supervisor/holds/release",
            lambda: {"number": held, "reason": "re-measured: 500.1 mm"},
            "sam",
            "hold_events",
        ),
        (
            "anna",
            _needs(BOARD, "anna", "operator"),
            f"/quality/nc/{nc_id}/disposition",
            lambda: disposition,
            "quinn",
            "dispositions",
        ),
        (
            "sam",
            _needs("admin", "sam", "supervisor"),
            "/admin/users",
            lambda: {"username": "otto", "full_name": "Otto", "password": "otto turns lathes"},
            "ada",
            "users",
        ),
        (
            "eve",
            _needs("admin", "eve", "engineer"),
            "/admin/users/role",
            lambda: {
                "username": "nobody",
                "role": "operator",
            },  # not eve: a role change ends her session
            "ada",
            "user_roles",
        ),
        (
            "nobody",
            _needs("admin", "nobody", "no role"),
            "/admin/users/qualification",
            lambda: {"username": "nobody", "qualification": "crimping"},
            "ada",
            "user_qualifications",
        ),
        (
            "quinn",
            _needs("admin or engineer", "quinn", "quality"),
            "/admin/config/versions/1/rollback",
            lambda: {"reason": "back to line 1"},
            "eve",
            "config_activations",
        ),
        (
            "sam",
            _needs("admin or engineer", "sam", "supervisor"),
            "/admin/config/upload",
            _deploy_form("version 3"),
            "ada",
            "config_versions",
        ),
    ]
    # a signed-in client and its CSRF token per user (signed in now: sign-ins are audited)
    clients: dict[str, tuple[FlaskClient, str]] = {}
    for username in {user for post in posts for user in (post[0], post[4])}:
        client = line_app.test_client()
        clients[username] = (client, sign_in(client, username))

    def post(username: str, path: str, form: Callable[[], dict[str, Any]]) -> Any:
        client, token = clients[username]
        return client.post(
            path, data={"csrf_token": token, **form()}, content_type="multipart/form-data"
        )

    before = table_rows(db)
    kept = {t: row_count(db, t) for t in ("work_orders", "hold_events", "audit_log")}
    for username, message, path, form, _, _ in posts:
        refused = post(username, path, form)
        assert (path, refused.status_code, alerts_of(refused)) == (path, 403, [message])
        assert table_rows(db) == before, f"{username} changed the database with POST {path}"
    assert {t: row_count(db, t) for t in kept} == kept
    # each refused post would have changed the records had its user held the role
    for _, _, path, form, allowed, table in posts:
        rows = row_count(db, table)
        done = post(allowed, path, form)
        assert (path, done.status_code) == (path, 303), done.get_data(as_text=True)
        assert (path, row_count(db, table)) == (path, rows + 1)
