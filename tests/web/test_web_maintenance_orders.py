"""Maintenance orders over the API and on the pages: opened when maintenance is warned, started,
cancelled with a reason, closed by recording the maintenance; the equipment card shows the usage
counter and the orders."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from test_web_equipment_care import PRESS, SIGNED
from testdata import ACME
from web_support import Api, alerts_of, sign_in

from adapters.cache import TagCacheWriter
from engine.access import people
from engine.commands import versions
from engine.facade.audit import AuditTrail
from engine.facade.equipment import EquipmentCare
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.records.tables import User
from web.cli import cli
from web.event_rules_process import open_due_orders

WARNED = 18_500.0  # strokes of press1: 1,500 of its 20,000 left, within the warning


def add_technician(db: Database, password_hash: str, username: str = "max") -> str:
    """A user with the maintenance role (and the test password)."""
    with db.transaction() as session:
        people.create_user(session, username, actor="test", full_name="Max Technician")
        people.grant_role(session, username, "maintenance", actor="test")
        session.execute(
            update(User).where(User.username == username).values(password_hash=password_hash)
        )
    return username


def test_orders_over_the_api_open_once_start_cancel_and_close_by_the_maintenance(
    line_app: Flask, line_tags: StaticTagSource, db: Database, password_hash: str
) -> None:
    api = Api(line_app, db)
    technician = add_technician(db, password_hash)
    nothing = api.post("/api/maintenance-orders/open-due", technician)
    assert (nothing.status_code, nothing.json) == (200, {"orders": []})
    line_tags.set("press1.strokes", WARNED)
    opened = api.post("/api/maintenance-orders/open-due", technician)
    assert opened.status_code == 200
    (order,) = opened.json["orders"]
    assert (order["number"], order["equipment"], order["status"]) == ("MO-00001", PRESS, "open")
    assert api.post("/api/maintenance-orders/open-due", technician).json == {"orders": []}
    listed = api.get(f"/api/maintenance-orders?status=active&equipment={PRESS}", "sam")
    assert [o["number"] for o in listed.json["orders"]] == ["MO-00001"]
    wrong = api.get("/api/maintenance-orders?status=closed", "sam")
    assert wrong.status_code == 422
    assert wrong.json["message"] == (
        "Unknown status 'closed'; choose one of active, open, in_progress, done, cancelled."
    )
    started = api.post("/api/maintenance-orders/MO-00001/start", technician)
    assert (started.status_code, started.json["status"]) == (200, "in_progress")
    again = api.post("/api/maintenance-orders/MO-00001/start", technician)
    assert again.status_code == 409
    assert again.json["message"] == (
        "Maintenance order MO-00001 is in progress; only an open order can be started."
    )
    no_reason = api.post("/api/maintenance-orders/MO-00001/cancel", technician, {"reason": ""})
    assert no_reason.status_code == 400
    maintained = api.post(
        f"/api/equipment/{PRESS}/maintenance", technician,
        {"performed_on": dt.date.today().isoformat(), "performed_by": "Max",
         "work_done": "Die replaced", "signature": SIGNED},
    )  # fmt: skip
    assert maintained.status_code == 201
    assert (maintained.json["order"], maintained.json["counter_at"]) == ("MO-00001", WARNED)
    closed = api.get("/api/maintenance-orders/MO-00001", "quinn").json
    assert (closed["status"], closed["maintenance_id"], closed["closed_by"]) == (
        "done", maintained.json["id"], technician,
    )  # fmt: skip
    card = api.get(f"/api/equipment/{PRESS}", "quinn").json
    assert (card["usage_counter"], card["uses_since_maintenance"]) == ("press1.strokes", 0)
    assert [o["number"] for o in card["orders"]] == ["MO-00001"]
    verdict = AuditTrail(db).verify()
    assert verdict.ok, verdict


def test_the_pages_show_the_counter_and_the_order_and_cancel_it_with_a_reason(
    line_app: Flask, line_client: FlaskClient, line_tags: StaticTagSource, db: Database,
    password_hash: str,
) -> None:  # fmt: skip
    technician = add_technician(db, password_hash)
    line_tags.set("press1.strokes", WARNED)
    token = sign_in(line_client, technician)
    card = line_client.get(f"/equipment/{PRESS}").get_data(as_text=True)
    assert "Usage counter press1.strokes reads <strong>18,500</strong>." in card
    assert "18,500 of 20,000 counts since its last maintenance." in card
    assert 'data-order="MO-00001"' in card
    listed = line_client.get(f"/maintenance/orders?status=open&equipment={PRESS}")
    assert 'data-order="MO-00001"' in listed.get_data(as_text=True)
    refused = line_client.post(
        "/maintenance/orders/MO-00001/cancel", data={"csrf_token": token, "reason": " "}
    )
    assert refused.status_code == 422
    assert alerts_of(refused) == ["Say why the maintenance order is cancelled."]
    cancelled = line_client.post(
        "/maintenance/orders/MO-00001/cancel",
        data={"csrf_token": token, "reason": "Press goes back to the supplier"},
    )
    assert cancelled.status_code == 303
    page = line_client.get(cancelled.headers["Location"]).get_data(as_text=True)
    assert "Maintenance order MO-00001 is cancelled." in page
    assert ": Press goes back to the supplier." in page
    line_tags.set_bad("press1.strokes", "press1: connection refused (since 3 s ago)")
    blind = line_client.get(f"/equipment/{PRESS}").get_data(as_text=True)
    assert (
        "Uses cannot be counted: press1.strokes is unavailable: press1: connection refused "
        f"(since 3 s ago), so the uses of {PRESS} since its last maintenance cannot be counted. "
        f"No operation may start on {PRESS} meanwhile."
    ) in blind.replace("\n", " ")
    operator = line_app.test_client()
    sign_in(operator, "anna")
    assert operator.get("/maintenance/orders").status_code == 403


def test_ferrule_maintenance_open_due_reads_the_counter_from_the_tag_cache(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ferrule.db'}"
    db = Database.from_url(url)
    db.create_all()
    versions.deploy(db, ACME, actor="admin", note="test")
    db.dispose()
    cache = tmp_path / "tags.mmap"
    writer = TagCacheWriter(cache, ["press1.strokes"], [5.0])
    now = time.time()
    writer.publish("press1.strokes", WARNED, now, now)
    writer.beat(now)
    env = {"FERRULE_DATABASE_URL": url, "FERRULE_VAR": str(tmp_path)}
    runner = CliRunner()
    opened = runner.invoke(cli, ["maintenance", "open-due", "--cache", str(cache)], env=env)
    assert opened.exit_code == 0, opened.output
    assert opened.output.splitlines() == [
        f"MO-00001 {PRESS}: Maintenance is due on 2027-03-31 or in 1500 uses",
        "1 maintenance orders opened",
    ]
    again = runner.invoke(cli, ["maintenance", "open-due", "--cache", str(cache)], env=env)
    assert again.output == "0 maintenance orders opened\n"
    writer.close()


def test_the_rules_process_opens_due_orders_with_nobody_looking(
    line_app: Flask, line_tags: StaticTagSource, db: Database
) -> None:
    line_tags.set("press1.strokes", WARNED)
    care = EquipmentCare(db, line_tags)
    stop = threading.Event()
    worker = threading.Thread(target=open_due_orders, args=(care, stop))
    worker.start()
    deadline = time.monotonic() + 30
    while not care.maintenance_orders() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert [(o.number, o.equipment, o.status) for o in care.maintenance_orders()] == [
        ("MO-00001", PRESS, "open")
    ]
