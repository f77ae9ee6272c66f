"""OEE in the API, the pages and the metrics: the KPIs of the crimping work centre on Friday
27 November 2026 (CET), its downtime Pareto and timeline drawn as SVG, and a stop coded from the
stops page.

The press (seeded the day before) runs 06:00-10:00, is down 10:00-10:30, runs until 22:00 local.
In shift time (06:00-22:00 less 75 min of breaks: 53,100 s) it runs 51,300 s and is down 1,800 s.
"""

from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from web_support import Api, sign_in

from dsl.model import Plant
from engine.commands import equipment
from engine.facade.audit import AuditTrail
from engine.infra.db import Database
from engine.records.tables import EquipmentRecord

BERLIN = ZoneInfo("Europe/Berlin")
PRESS = "crimp-press-1"
DAY = dt.date(2026, 11, 27)
FAULT = "unplanned/breakdown/press fault"


def local(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, 27, hour, minute, tzinfo=BERLIN).astimezone(dt.UTC)


PERIOD = "start=2026-11-27T00:00:00%2B01:00&end=2026-11-28T00:00:00%2B01:00"


@pytest.fixture
def friday(db: Database, plant: Plant, users: object) -> Plant:
    """The press's Friday (its record seeded the day before, as if deployed then)."""
    del users  # the demo users exist
    with db.transaction() as session:
        session.execute(
            update(EquipmentRecord)
            .where(EquipmentRecord.name == PRESS)
            .values(state_since=local(0) - dt.timedelta(days=1))
        )
        for at, state in ((local(6), "running"), (local(10), "down"), (local(10, 30), "running"),
                          (local(22), "idle")):  # fmt: skip
            equipment.record_state_change(session, PRESS, state, actor="sam", at=at)
    return plant


def test_the_api_gives_the_kpis_and_codes_a_stop(api: Api, friday: Plant, db: Database) -> None:
    stops = api.get(f"/api/oee/stops/{PRESS}?{PERIOD}", "anna")
    assert stops.status_code == 200
    down = [s for s in stops.json["stops"] if s["state"] == "down"]
    assert [(s["start"], s["needs_reason"]) for s in down] == [("2026-11-27T09:00:00+00:00", True)]
    coded = api.post(
        f"/api/oee/stops/{PRESS}/codings", "anna",
        json={"parts": [{"start": "2026-11-27T10:00:00+01:00", "end": "2026-11-27T10:30:00+01:00",
                         "reason": FAULT}]},
    )  # fmt: skip
    assert coded.status_code == 201
    assert [c["reason"] for c in coded.json["codings"]] == [FAULT]
    report = api.get(f"/api/oee?work_center=crimping&{PERIOD}", "sam")
    assert report.status_code == 200
    times = report.json["times"]
    assert (times["planned_busy_s"], times["production_s"], times["delay_s"]) == (
        53_100, 51_300, 1_800
    )  # fmt: skip
    assert report.json["kpis"]["availability"] == pytest.approx(51_300 / 53_100)
    assert report.json["losses"] == [{"reason": FAULT, "seconds": 1_800}]
    shifts = api.get(f"/api/oee/shifts?equipment={PRESS}&{PERIOD}", "quinn").json["shifts"]
    assert [(s["shift"], s["report"]["times"]["delay_s"]) for s in shifts] == [
        ("early", 1_800), ("late", 0),
    ]  # fmt: skip
    assert AuditTrail(db).verify().ok


def test_the_api_gives_the_six_big_losses_that_add_up_to_the_planned_busy_time(
    api: Api, friday: Plant
) -> None:
    report = api.get(f"/api/oee/losses?work_center=crimping&{PERIOD}", "quinn")
    assert report.status_code == 200
    assert report.json["scope"] == "work center crimping"
    assert report.json["losses"] == {
        "breakdowns_s": 1_800,  # down 30 min: longer than code_after (5 min)
        "setup_s": 0,
        "small_stops_s": 0,
        "reduced_speed_s": 51_300,  # running, and nothing made
        "startup_rejects_s": 0,
        "production_rejects_s": 0,
        "startup_rejects": 0,
        "production_rejects": 0,
        "fully_productive_s": 0,
    }
    assert report.json["orders"] == []
    assert api.get(f"/api/oee/losses?work_center=crimping&{PERIOD}", "anna").status_code == 403


def test_the_api_says_what_is_wrong_with_a_request(api: Api, friday: Plant) -> None:
    bad = api.get("/api/oee?work_center=crimping&start=friday&end=2026-11-28T00:00:00Z", "sam")
    assert (bad.status_code, bad.json["message"]) == (
        400,
        "start: 'friday' is not a timestamp with a time zone; write it like "
        "2027-01-31T06:00:00+01:00.",
    )
    odd = api.get(
        "/api/oee?work_center=crimping&start=2026-11-27T00:05:00Z&end=2026-11-28T00:00:00Z", "sam"
    )
    assert (odd.status_code, odd.json["message"]) == (
        422,
        "A KPI period runs forward from quarter-hour to quarter-hour; 2026-11-27T00:05:00+00:00 "
        "to 2026-11-28T00:00:00+00:00 does not.",
    )
    nowhere = api.get(f"/api/oee?work_center=painting&{PERIOD}", "sam")
    assert (nowhere.status_code, nowhere.json["message"]) == (
        404,
        "There is no work center 'painting' in the deployed config.",
    )
    assert api.get(f"/api/oee?work_center=crimping&{PERIOD}", "anna").status_code == 403
    wrong = api.post(
        f"/api/oee/stops/{PRESS}/codings", "sam",
        json={"parts": [{"start": "2026-11-27T09:00:00Z", "end": "2026-11-27T09:30:00Z",
                         "reason": "unplanned/gremlins"}]},
    )  # fmt: skip
    assert wrong.status_code == 422
    assert wrong.json["message"].startswith("'unplanned/gremlins' is not a downtime reason here")


def test_the_page_draws_kpis_pareto_and_timeline_and_a_stop_is_coded_from_the_stops_page(
    line_app: Flask, line_client: FlaskClient, friday: Plant
) -> None:
    csrf = sign_in(line_client, "omar")
    stops = line_client.get(f"/oee/stops/{PRESS}?day={DAY}")
    assert stops.status_code == 200
    assert 'data-stop="2026-11-27T09:00:00+00:00" data-needs-reason' in stops.get_data(True)
    done = line_client.post(
        f"/oee/stops/{PRESS}",
        data={"csrf_token": csrf, "day": DAY.isoformat(), "start": "2026-11-27T09:00:00+00:00",
              "end": "2026-11-27T09:30:00+00:00", "reason": FAULT},
        follow_redirects=True,
    )  # fmt: skip
    text = html.unescape(done.get_data(as_text=True))
    assert f"Coded 09:00:00–09:30:00 UTC as {FAULT}." in text
    assert "data-needs-reason" not in text.split('data-stop="2026-11-27T09:00:00+00:00"')[1][:20]
    page = html.unescape(line_client.get(f"/oee/?work_center=crimping&day={DAY}").get_data(True))
    assert "<title>Availability: 96.6 %</title>" in page
    assert f'data-loss="{FAULT}"' in page
    assert 'data-timeline="crimp-press-1"' in page
    assert "<title>down 09:00:00–09:30:00 UTC · unplanned/breakdown/press fault</title>" in page
    assert 'data-shift="early"' in page and 'data-shift="late"' in page
    assert "<title>Breakdowns: 30.0 min</title>" in page
    assert "<title>Reduced speed: 855.0 min</title>" in page
    assert "<title>Small stops: 0.0 min</title>" in page
    trend = page.split("data-trend>")[1].split("</section>")[0]
    assert "OEE index per shift, last 10 shifts" in trend  # Monday 23 to Friday 27 November
    assert ">23.11 early</text>" in trend and ">27.11 late</text>" in trend


def test_metrics_give_each_work_centres_oee(api: Api, friday: Plant) -> None:
    scraper = {"Authorization": f"Bearer {api.metrics_token()}"}
    metrics = api.client.get("/metrics", headers=scraper).get_data(as_text=True)
    assert "# TYPE ferrule_oee_availability gauge" in metrics
    assert 'ferrule_oee_loss_seconds{loss="breakdowns",work_center="crimping"}' in metrics


def test_the_station_lists_the_stops_of_its_work_centre_that_need_a_reason(
    line_app: Flask, line_client: FlaskClient, db: Database
) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.transaction() as session:  # ran from 40 until 20 minutes ago, then down, not coded
        session.execute(
            update(EquipmentRecord)
            .where(EquipmentRecord.name == PRESS)
            .values(state_since=now - dt.timedelta(hours=1))
        )
        for minutes, state in ((40, "running"), (20, "down")):
            at = now - dt.timedelta(minutes=minutes)
            equipment.record_state_change(session, PRESS, state, actor="sam", at=at)
    sign_in(line_client, "anna")
    page = html.unescape(line_client.get("/station/?work_center=crimping").get_data(True))
    assert "data-stops-to-code" in page
    assert f"{PRESS}: down {now - dt.timedelta(minutes=20):%H:%M}–" in page
    assert "(20 min)" in page
    other = line_client.get("/station/?work_center=testing").get_data(True)
    assert "data-stops-to-code" not in other
