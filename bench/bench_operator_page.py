"""How fast the operator page renders: the interlock panel and the generated data-collection
form, through Flask's test client on SQLite (WAL), with a signed-in operator.

Two pages are measured in turn: a unit waiting at 'crimp' (the interlock panel evaluates four
checks on live tag values) and a unit with 'crimp' started (the form with its fields,
component scan and limits). Last line: ``operator_page_p99_ms: <p99 over both pages>``
(target <= 100).
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import tempfile
import time
from pathlib import Path

from flask.testing import FlaskClient

from engine.access import people
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from web.app import create_app
from web.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 300  # requests per page
WARMUP = 20
PASSWORD = "bench password"
TAGS: dict[str, float | bool | str] = {
    "press1.pressure": 70.0,
    "press1.fault": False,
    "press1.strokes": 100.0,
    "press1.target_force": 1200.0,
    "tester.ready": True,
    "tester.resistance": 2.4,
    "tester.insulation": 500.0,
}


def _setup(folder: Path) -> tuple[FlaskClient, list[str]]:
    db = Database.from_url(f"sqlite:///{folder / 'bench.db'}")
    db.create_all()
    deployed = versions.deploy(db, REPO / "plants" / "acme-harness", actor="bench")
    plant = versions.plant_for_version(db, deployed.version.id)
    with db.transaction() as session:
        for name, role in (("olga", "operator"), ("sam", "supervisor")):
            people.create_user(session, name, actor="bench", password=PASSWORD)
            people.grant_role(session, name, role, actor="bench", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(session, "olga", qualification, actor="bench", plant=plant)
        materials.receive_lot(session, plant, "WIRE-18-RD", "W-1", 100.0, actor="bench")
    settings = Settings(
        var_dir=folder,
        database_url="unused",
        secret_key="bench-" + "0" * 32,
        secure_cookies=False,
        session_timeout=dt.timedelta(minutes=30),
        tag_cache=folder / "tags.mmap",
    )
    app = create_app(
        settings, db=db, tags=StaticTagSource(TAGS), setpoints=RecordingSetpointWriter()
    )
    ferrule = app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=2)
    units = list(ferrule.release_work_order(actor="sam", number=order.number).items)
    for unit in units:
        ferrule.start_operation(actor="olga", item=unit, operation="cut")
        ferrule.complete_operation(
            actor="olga",
            item=unit,
            operation="cut",
            data={"length": 500, "strip_length": 7},
            consume=[ConsumptionInput("WIRE-18-RD", "W-1")],
        )
    ferrule.start_operation(actor="olga", item=units[1], operation="crimp")
    client = app.test_client()
    page = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    signed = client.post(
        "/signin", data={"username": "olga", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert signed.status_code == 303, signed.status_code
    return client, units


def _measure(client: FlaskClient, path: str, marker: str) -> list[float]:
    for _ in range(WARMUP):
        client.get(path)
    times: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and marker in response.get_data(as_text=True)
    return times


def _p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        client, (waiting, started) = _setup(Path(folder))
        panel = _measure(client, f"/station/{waiting}", "Start crimp</button>")
        form = _measure(client, f"/station/{started}", "Complete crimp</button>")
    for name, times in (("interlock panel", panel), ("data-collection form", form)):
        print(
            f"{name}: {len(times)} renders, p50 {statistics.median(times):.2f} ms, "
            f"p99 {_p99(times):.2f} ms, max {max(times):.2f} ms"
        )
    print(f"operator_page_p99_ms: {_p99(panel + form):.2f}")


if __name__ == "__main__":
    main()
