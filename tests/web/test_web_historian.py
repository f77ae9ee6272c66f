"""The tag historian in the web layer: the export API (CSV streamed, Parquet) and its refusals,
the trend page, the device and equipment pages drawing trends as SVG, the operation record linking
to its equipment's trends, ``ferrule history export``, and the historian process recording from a
real tag cache file."""

from __future__ import annotations

import datetime as dt
import html
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from testdata import ACME
from web_support import Api, sign_in

from adapters.cache import TagCacheWriter
from dsl.model import Plant
from engine.commands import historian as writing
from engine.commands import versions
from engine.commands.bom import ConsumptionInput
from engine.facade.audit import AuditTrail
from engine.facade.historian import Recorder
from engine.floor.historian import HistorySpec, Sample
from engine.infra.db import Database
from engine.records.historian import BAD, GOOD, HistoryPoint
from web.cli import cli
from web.tags import CacheTagSource

KEY = "press1.pressure"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
START = NOW - dt.timedelta(minutes=30)


def _ms(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1000)


def _z(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _record(db: Database) -> None:
    """Three stored points of the press pressure in the last half hour: 70 bar, a bad stretch,
    then 72.5 bar."""
    with db.transaction() as session:
        ids = writing.tag_ids(session, [HistorySpec(KEY, "bar", 1000, 0.5, 600_000)])
        writing.create_partitions(session, {writing.day_of(_ms(START)), writing.day_of(_ms(NOW))})
        writing.store(
            session,
            [
                (ids[KEY], Sample(_ms(START), 70.0, GOOD)),
                (ids[KEY], Sample(_ms(START) + 600_000, None, BAD, "press1: connection refused")),
                (ids[KEY], Sample(_ms(START) + 900_000, 72.5, GOOD)),
            ],
        )


def stamp(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_the_api_exports_csv_and_parquet(
    api: Api, db: Database, plant: Plant, users: object
) -> None:
    _record(db)
    query = f"from={_z(START)}&to={_z(NOW)}"
    response = api.get(f"/api/tags/{KEY}/history?{query}", "sam")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="press1.pressure-history.csv"'
    )
    assert response.get_data(as_text=True) == (
        "time,value,quality,reason\r\n"
        f"{stamp(START)},70.0,good,\r\n"
        f"{stamp(START + dt.timedelta(minutes=10))},,bad,press1: connection refused\r\n"
        f"{stamp(START + dt.timedelta(minutes=15))},72.5,good,\r\n"
    )
    parquet = api.get(f"/api/tags/{KEY}/history?{query}&format=parquet", "sam")
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.get_data()))
    assert table.column_names == ["time", "value", "quality", "reason"]
    assert table.column("value").to_pylist() == [70.0, None, 72.5]
    assert table.column("quality").to_pylist() == ["good", "bad", "good"]
    assert table.column("time").to_pylist()[0] == START
    assert table.schema.metadata == {b"ferrule.tag": KEY.encode()}
    assert AuditTrail(db).verify().ok


def test_the_api_refuses_what_it_cannot_export(
    api: Api, db: Database, plant: Plant, users: object
) -> None:
    _record(db)
    cases = {
        f"/api/tags/{KEY}/history?format=xml": (400, "format: 'xml' is not csv or parquet."),
        f"/api/tags/{KEY}/history?from=2026-11-30T08:00": (
            400,
            "from: '2026-11-30T08:00' is not a time with its zone; write it like "
            "2026-11-30T14:00:00Z.",
        ),
        f"/api/tags/{KEY}/history?from={_z(NOW)}&to={_z(START)}": (
            422,
            "The period's start must be before its end.",
        ),
        "/api/tags/press1.strokes/history": (
            404,
            "The historian has no values of tag 'press1.strokes'.",
        ),
    }
    for path, (status, message) in cases.items():
        response = api.get(path, "sam")
        assert (response.status_code, response.json["message"]) == (status, message), path


def _text(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return html.unescape(response.get_data(as_text=True))


def test_the_trend_page_draws_the_values_and_shades_the_gap(
    client: FlaskClient, db: Database, plant: Plant, users: object
) -> None:
    _record(db)
    sign_in(client, "sam")
    page = _text(client, f"/trends/{KEY}?from={_z(START)}&to={_z(NOW)}")
    assert 'aria-label="Trend of press1.pressure (bar)"' in page
    assert len(re.findall(r"<polyline [^>]*data-line", page)) == 2  # before and after the gap
    assert "<title>bad: press1: connection refused</title>" in page
    assert "download" in page and "format=parquet" in page
    for label in ("1h", "8h", "24h", "7d", "← earlier", "later →"):
        assert f'data-period="{label}"' in page
    missing = client.get("/trends/press1.strokes")
    assert missing.status_code == 404


def test_the_device_and_equipment_pages_show_the_recorded_trends(
    client: FlaskClient, db: Database, plant: Plant, users: object
) -> None:
    _record(db)
    sign_in(client, "ada")
    devices = _text(client, "/admin/devices?period=1h")
    assert 'data-trend="press1.pressure"' in devices
    assert 'href="/trends/press1.pressure" data-trend-link' in devices
    assert "<svg" in devices
    sign_in(client, "sam")
    card = _text(client, "/equipment/crimp-press-1")
    assert 'data-trend="press1.pressure"' in card
    assert 'data-period="24h"' in card
    tester = _text(client, "/equipment/tester-1")
    assert "data-trends" not in tester  # its tags are recorded but nothing was stored yet


def test_the_operation_record_links_to_the_trend_around_the_operation(
    app: Flask, client: FlaskClient, shop: Plant
) -> None:
    ferrule = app.extensions["ferrule"].ferrule
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=1)
    (unit,) = ferrule.release_work_order(actor="sam", number=order.number).items
    for operation, data, consumed in (
        ("cut", {"length": 500.0, "strip_length": 7.0}, ConsumptionInput("WIRE-18-RD", "W-001")),
        (
            "crimp",
            {"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok"},
            ConsumptionInput("TERM-22", "T-001"),
        ),
    ):
        ferrule.start_operation(actor="anna", item=unit, operation=operation)
        ferrule.complete_operation(
            actor="anna", item=unit, operation=operation, data=data, consume=[consumed]
        )
    sign_in(client, "quinn")
    page = _text(client, f"/records/item/{unit}")
    links = re.findall(r'<a href="(/trends/[^"]+)" data-trend-link>trend of ([^<]+)</a>', page)
    assert [key for _href, key in links] == [KEY]  # the crimp runs on crimp-press-1 (press1)
    found = re.search(r"from=([^&]+)&to=([^&\"]+)", links[0][0])
    assert found is not None
    start = dt.datetime.fromisoformat(found.group(1).replace("%3A", ":"))
    end = dt.datetime.fromisoformat(found.group(2).replace("%3A", ":"))
    assert dt.timedelta(minutes=10) <= end - start < dt.timedelta(minutes=11)


def test_ferrule_history_export_writes_csv_and_parquet(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ferrule.db'}"
    db = Database.from_url(url)
    db.create_all()
    versions.deploy(db, ACME, actor="admin", note="test")
    _record(db)
    db.dispose()
    env = {"FERRULE_DATABASE_URL": url, "FERRULE_VAR": str(tmp_path)}
    runner = CliRunner()
    args = ["history", "export", KEY, "--from", _z(START), "--to", _z(NOW)]
    shown = runner.invoke(cli, args, env=env)
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines()[0] == "time,value,quality,reason"
    assert len(shown.output.splitlines()) == 4
    target = tmp_path / "out.parquet"
    written = runner.invoke(cli, [*args, "--format", "parquet", "-o", str(target)], env=env)
    assert written.exit_code == 0, written.output
    assert pq.read_table(target).num_rows == 3
    refused = runner.invoke(cli, [*args, "--format", "parquet"], env=env)
    assert refused.exit_code == 2
    assert "Parquet is binary: give --output FILE." in refused.output
    unknown = runner.invoke(cli, ["history", "export", "press1.strokes"], env=env)
    assert unknown.exit_code == 1
    assert unknown.output == "Error: The historian has no values of tag 'press1.strokes'.\n"


def _cache(path: Path) -> TagCacheWriter:
    writer = TagCacheWriter(path, [KEY, "tester.resistance", "tester.ready"], [5.0, 5.0, 5.0])
    now = time.time()
    writer.publish(KEY, 70.0, now, now)
    writer.mark_bad("tester.resistance", "tester: connection refused", now)
    writer.publish("tester.ready", True, now, now)
    writer.beat(now)
    return writer


def test_the_recorder_reads_a_real_tag_cache_file(
    tmp_path: Path, db: Database, plant: Plant
) -> None:
    writer = _cache(tmp_path / "tags.mmap")
    try:
        clock = [_ms(NOW)]
        recorder = Recorder(db, CacheTagSource(tmp_path / "tags.mmap"), clock_ms=lambda: clock[0])
        assert recorder.load_config()
        assert [s.key for s in recorder.specs] == [KEY, "tester.ready", "tester.resistance"]
        recorder.sample()
        assert recorder.flush().written == 3
        clock[0] += 1000
        now = time.time()
        writer.publish(KEY, 70.4, now, now)  # inside the 0.5 bar deadband: not stored
        recorder.sample()
        assert recorder.flush().written == 0
        clock[0] += 1000
        writer.publish(KEY, 71.0, now, now)
        recorder.sample()
        assert recorder.flush().written == 1
    finally:
        writer.close()
    with db.session() as session:
        rows = session.execute(
            select(HistoryPoint.value, HistoryPoint.quality, HistoryPoint.reason).order_by(
                HistoryPoint.tag_id, HistoryPoint.at_ms
            )
        ).all()
    assert {tuple(r) for r in rows} == {
        (70.0, GOOD, None),
        (71.0, GOOD, None),
        (None, BAD, "tester: connection refused"),
        (1.0, GOOD, None),
    }
    assert len(rows) == 4


@pytest.mark.timeout(60)
def test_the_historian_process_records_until_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ferrule.db'}"
    db = Database.from_url(url)
    db.create_all()
    versions.deploy(db, ACME, actor="admin", note="test")
    writer = _cache(tmp_path / "tags.mmap")
    env = {**os.environ, "FERRULE_DATABASE_URL": url, "FERRULE_VAR": str(tmp_path)}
    command = [sys.executable, "-c", "from web.cli import main; main()", "historian"]
    process = subprocess.Popen(
        [*command, "--cache", str(tmp_path / "tags.mmap")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        stored = 0
        while time.monotonic() < deadline and stored < 3:
            writer.beat(time.time())
            now = time.time()
            writer.publish(KEY, 70.0, now, now)
            writer.publish("tester.ready", True, now, now)
            time.sleep(0.2)
            with db.session() as session:
                stored = len(session.execute(select(HistoryPoint.tag_id)).all())
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        writer.close()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    assert b"ferrule historian: recording 3 tags into sqlite:///" in out
    with db.session() as session:
        qualities = sorted(session.execute(select(HistoryPoint.quality)).scalars())
    assert qualities[:2] == [GOOD, GOOD] and BAD in qualities
    db.dispose()
