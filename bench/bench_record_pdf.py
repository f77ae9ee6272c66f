"""Generating the PDF of a 200-operation batch record, against reportlab setting the same text as
plain paragraphs.

The record is made through the engine on the acme-harness plant: a work order of 67 units, each
cut, crimped and tested (the test signed by quality) except the last, which stops after crimp:
200 operations with their values, captures, gates, consumed lots, signatures and audit rows;
every tenth unit is cut out of its gate, held and released, so the record has exceptions. The
figure is the median time, over ``ROUNDS`` rounds, to compile the record (one facade read) and
render its PDF, which is what a download costs. The baseline renders the same text, one plain
reportlab Paragraph per line in the same page frame, without tables, page header or page count.
Last line: ``record_pdf_200_ops_s: <seconds>`` (target <= 2).
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

from argon2 import PasswordHasher
from reportlab.lib.pagesizes import A4
from reportlab.platypus import Paragraph, SimpleDocTemplate
from sqlalchemy import update

from engine.access import people
from engine.access.signatures import SignatureInput
from engine.commands import materials, versions
from engine.commands.bom import ConsumptionInput
from engine.facade.production import Ferrule
from engine.facade.records import Records
from engine.floor.record_content import BatchRecord
from engine.floor.tagsource import RecordingSetpointWriter, StaticTagSource
from engine.infra.db import Database
from engine.records.tables import User
from web.record_pdf import BODY, MARGIN, render_pdf

PLANT = Path(__file__).resolve().parents[1] / "plants" / "acme-harness"
UNITS = 67  # 66 units × 3 operations + 2 operations of the last = 200
ROUNDS = 5
PASSWORD = "bench password of some length"
TAGS: dict[str, float | bool | str] = {
    "press1.pressure": 70.0,
    "press1.fault": False,
    "press1.strokes": 1200.0,
    "press1.target_force": 1200.0,
    "tester.ready": True,
    "tester.resistance": 2.4,
    "tester.insulation": 500.0,
}


def _line(db: Database) -> Ferrule:
    """acme-harness deployed, with an operator, a supervisor, a quality engineer and stock."""
    versions.deploy(db, PLANT, actor="bench", note="bench")
    _, plant = versions.active_plant(db)
    hashed = PasswordHasher().hash(PASSWORD)
    with db.transaction() as session:
        for username, role in (("olga", "operator"), ("sam", "supervisor"), ("quinn", "quality")):
            people.create_user(session, username, actor="bench", full_name=username.title())
            people.grant_role(session, username, role, actor="bench", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(session, "olga", qualification, actor="bench", plant=plant)
        session.execute(update(User).values(password_hash=hashed))
        materials.receive_lot(session, plant, "WIRE-18-RD", "W-001", 1000.0, actor="bench")
        materials.receive_lot(session, plant, "TERM-22", "T-001", 1000.0, actor="bench")
        materials.receive_lot(session, plant, "HOUSING-4P", "H-001", 100.0, actor="bench")
    return Ferrule(db, StaticTagSource(TAGS), RecordingSetpointWriter())


def _run(ferrule: Ferrule, unit: str, operation: str, data: dict[str, object]) -> None:
    consumed = {"cut": "WIRE-18-RD", "crimp": "TERM-22", "test": "HOUSING-4P"}[operation]
    lot = {"WIRE-18-RD": "W-001", "TERM-22": "T-001", "HOUSING-4P": "H-001"}[consumed]
    signatures = (
        [SignatureInput("quinn", PASSWORD, "Reviewed and approved")] if operation == "test" else []
    )
    ferrule.start_operation(actor="olga", item=unit, operation=operation)
    ferrule.complete_operation(
        actor="olga", item=unit, operation=operation, data=data,
        consume=[ConsumptionInput(consumed, lot)], signatures=signatures,
    )  # fmt: skip


def make_record(ferrule: Ferrule) -> str:
    """The work order of :data:`UNITS` units run as the module docstring says; its number."""
    order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=UNITS)
    units = ferrule.release_work_order(actor="sam", number=order.number).items
    for index, unit in enumerate(units):
        off_gate = index % 10 == 0
        _run(ferrule, unit, "cut", {"length": 500.8 if off_gate else 500.0, "strip_length": 7.0})
        if off_gate:
            ferrule.release(actor="sam", item=unit, reason="length accepted by engineering")
        _run(ferrule, unit, "crimp", {"pull_force": 80.0, "crimp_height": 1.55, "visual": "ok"})
        if index < UNITS - 1:
            _run(ferrule, unit, "test", {})
    return order.number


def plain_lines(record: BatchRecord) -> list[str]:
    """The record's text, one line per fact, as the baseline sets it."""
    lines = [f"{record.header.title} {record.header.number}", record.review.content_hash]
    lines += [e.summary for e in record.exceptions]
    for s in record.steps:
        lines.append(f"{s.operation} {s.item} {s.operator} {s.started_at} {s.completed_at}")
        lines += [f"{v.label} {v.value} {v.low} {v.high} {v.outcome}" for v in s.values]
        lines += [f"{c.tag} {c.value} {c.quality}" for c in s.captures]
        lines += [f"{g.gate} {g.outcome} {g.evidence}" for g in s.gates]
        lines += [f"{m.part} {m.lot} {m.quantity} {m.unit}" for m in s.materials]
        lines += [f"{x.full_name} {x.meaning} {x.signed_at}" for x in s.signatures]
    lines += [f"{h.item} {h.action} {h.reason}" for h in record.holds]
    lines += [f"{a.seq} {a.at} {a.actor} {a.action} {a.entity_id} {a.new}" for a in record.audit]
    return lines


def plain_pdf(lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN,
    )  # fmt: skip
    document.build([Paragraph(escape(line), BODY) for line in lines])
    return buffer.getvalue()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Database.from_url(f"sqlite:///{folder}/bench.db")
        db.create_all()
        ferrule = _line(db)
        order = make_record(ferrule)
        records = Records(ferrule)
        record = records.record("work_order", order)
        assert len(record.steps) == 200, len(record.steps)
        lines = plain_lines(record)
        ours, compile_only, baseline = [], [], []
        pages = 0
        for _ in range(ROUNDS):
            started = time.perf_counter()
            compiled = records.record("work_order", order)
            compiled_at = time.perf_counter()
            pdf = render_pdf(compiled, generated=dt.datetime.now(dt.UTC))
            done = time.perf_counter()
            plain_pdf(lines)
            plain_done = time.perf_counter()
            ours.append(done - started)
            compile_only.append(compiled_at - started)
            baseline.append(plain_done - done)
            pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page ")
        db.dispose()
    figure = statistics.median(ours)
    plain = statistics.median(baseline)
    print(
        f"record: {len(record.steps)} operations, {len(record.exceptions)} exceptions, "
        f"{len(record.audit)} audit rows, {len(lines)} lines of text, about {pages} pages",
        file=sys.stderr,
    )
    print(f"compile_record_s: {statistics.median(compile_only):.3f}")
    print(f"render_pdf_s: {figure - statistics.median(compile_only):.3f}")
    print(f"plain_paragraphs_pdf_s: {plain:.3f}")
    print(f"record_pdf_vs_plain_paragraphs: {figure / plain:.2f}")
    print(f"record_pdf_200_ops_s: {figure:.3f}")


if __name__ == "__main__":
    main()
