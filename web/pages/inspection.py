"""The AQL inspection pages (quality): start the inspection of a received lot, then record its
samples one by one on the inspection's page, which shows the plan (n, Ac, Re and the switching
state) and the decision as soon as the plan allows (docs/sampling.md)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.errors import DomainError
from web.auth import require_caller, requires
from web.errors import domain_status
from web.pages.nav import QUALITY, READERS
from web.services import services

bp = Blueprint("inspection", __name__, url_prefix="/inspections")


def _index_page(status: int = 200, message: str = "") -> Response:
    part = request.values.get("part", "").strip()
    lot = request.values.get("lot", "").strip()
    desk = services().inspection
    html = render_template(
        "inspection_index.html",
        part=part,
        lot=lot,
        of_lot=desk.lot_inspections(part=part, lot=lot) if part and lot else [],
        recent=desk.inspections(part=part) if part else [],
        may_inspect=bool(require_caller().roles & set(QUALITY)),
        message=message,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/")
@requires(*READERS)
def index() -> ResponseReturnValue:
    """Start the inspection of a received lot (``?part=&lot=`` from the lot page); a part's
    recent inspections."""
    return _index_page()


@bp.post("/")
@requires(*QUALITY)
def start() -> ResponseReturnValue:
    try:
        started = services().inspection.start_receiving_inspection(
            actor=require_caller().username,
            part=request.form.get("part", "").strip(),
            lot=request.form.get("lot", "").strip(),
            idempotency_key=request.form.get("request_key") or None,
        )
    except DomainError as error:
        return _index_page(domain_status(error), error.message)
    return redirect(url_for("inspection.inspection", inspection_id=started.id), 303)


def _inspection_page(inspection_id: int, status: int = 200, message: str = "") -> Response:
    desk = services().inspection
    found = desk.inspection(inspection_id)
    state = desk.switching_state(
        part=found.part, supplier=found.supplier, operation=found.operation
    )
    html = render_template(
        "inspection.html",
        inspection=found,
        state=state,
        may_inspect=bool(require_caller().roles & set(QUALITY)),
        message=message,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/<int:inspection_id>")
@requires(*READERS)
def inspection(inspection_id: int) -> ResponseReturnValue:
    """An inspection: the plan, the samples so far, the decision."""
    return _inspection_page(inspection_id)


@bp.post("/<int:inspection_id>/samples")
@requires(*QUALITY)
def sample(inspection_id: int) -> ResponseReturnValue:
    try:
        recorded = services().inspection.record_sample(
            actor=require_caller().username,
            inspection_id=inspection_id,
            conforming=request.form.get("result") == "conforming",
            defect_code=request.form.get("defect_code", "").strip(),
            idempotency_key=request.form.get("request_key") or None,
        )
    except DomainError as error:
        return _inspection_page(inspection_id, domain_status(error), error.message)
    if recorded.accepted is not None:
        verdict = "accepted" if recorded.accepted else "rejected"
        flash(f"Lot '{recorded.lot}' is {verdict}.", "done")
    return redirect(url_for("inspection.inspection", inspection_id=inspection_id), 303)
