"""Record review pages: find the compiled record of a unit, lot or work order, read it exceptions
first, acknowledge each exception, release or reject it (or amend it once released) with an
e-signature, and download it as PDF or printable HTML."""

from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.commands.record_review import MEANINGS
from engine.errors import DomainError, Forbidden, Invalid, NotFound
from engine.facade.records import Records
from engine.floor.record_content import BatchRecord
from web.auth import current_caller, require_caller, requires, signature_input
from web.errors import domain_status
from web.pages.nav import QUALITY, READERS
from web.record_pdf import render_pdf
from web.services import services

bp = Blueprint("records", __name__, url_prefix="/records")


def records() -> Records:
    """The record review facade over this app's engine."""
    return Records(services().ferrule)


def pdf_response(record: BatchRecord) -> Response:
    """The record as a PDF download named after it."""
    generated = dt.datetime.now(dt.UTC)
    response = Response(render_pdf(record, generated=generated), mimetype="application/pdf")
    name = f"{record.header.kind}-{record.header.number}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-SHA256"] = record.review.content_hash
    return response


@bp.get("/")
@requires(*READERS)
def find() -> ResponseReturnValue:
    """Open the record of a serial, lot or work order number."""
    number = request.args.get("number", "").strip()
    message = ""
    if number:
        for kind in ("item", "work_order"):
            try:
                records().record(kind, number)
            except NotFound:
                continue
            return redirect(url_for("records.view", kind=kind, number=number), 303)
        message = f"There is no unit, lot or work order '{number}'; check the number."
    html = render_template("record_find.html", number=number, message=message)
    return Response(html, status=404 if message else 200, mimetype="text/html")


def _page(
    kind: str, number: str, status: int = 200, message: str = "", field_name: str = ""
) -> Response:
    caller = current_caller()
    html = render_template(
        "record.html",
        record=records().record(kind, number),
        can_review=caller is not None and bool(caller.roles & set(QUALITY)),
        meanings=MEANINGS,
        form=request.form if request.method == "POST" else {},
        message=message,
        field=field_name,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/<kind>/<number>")
@requires(*READERS)
def view(kind: str, number: str) -> ResponseReturnValue:
    """The record, its exceptions first."""
    return _page(kind, number)


@bp.get("/<kind>/<number>.pdf")
@requires(*READERS)
def pdf(kind: str, number: str) -> ResponseReturnValue:
    """The record as PDF."""
    return pdf_response(records().record(kind, number))


@bp.get("/<kind>/<number>/print")
@requires(*READERS)
def printable(kind: str, number: str) -> ResponseReturnValue:
    """The record as printable HTML (paged by the browser: header, page x of y, the hash)."""
    record = records().record(kind, number)
    return render_template("record_print.html", record=record, generated=dt.datetime.now(dt.UTC))


@bp.get("/<kind>/<number>/print.css")
@requires(*READERS)
def print_style(kind: str, number: str) -> ResponseReturnValue:
    """The printable record's stylesheet: its page header names the record and its hash (a
    stylesheet of its own, since the content security policy allows no inline style)."""
    record = records().record(kind, number)
    header, review = record.header, record.review
    heading = (
        f"{header.title} {header.number} · {review.status} · content SHA-256 {review.content_hash}"
    )
    css = render_template("record_print.css", heading=_css_string(heading))
    return Response(css, mimetype="text/css")


def _css_string(text: str) -> str:
    """``text`` safe inside a double-quoted CSS string."""
    return "".join(c if c.isalnum() or c in " ·-_.:/()" else f"\\{ord(c):x} " for c in text)


def _refused(kind: str, number: str, error: DomainError, field_name: str = "") -> Response:
    if isinstance(error, Invalid):
        return _page(kind, number, 422, error.message, error.field or field_name)
    if isinstance(error, Forbidden):
        return _page(kind, number, domain_status(error), error.message, "password")
    return _page(kind, number, domain_status(error), error.message)


@bp.post("/<kind>/<number>/acknowledge")
@requires(*QUALITY)
def acknowledge(kind: str, number: str) -> ResponseReturnValue:
    """Acknowledge one exception with a comment."""
    form = request.form
    try:
        done = records().acknowledge(
            actor=require_caller().username,
            kind=kind,
            number=number,
            key=form.get("key", ""),
            comment=form.get("comment", ""),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as refused:
        return _refused(kind, number, refused)
    flash(f"Acknowledged: {done.summary}", "done")
    return redirect(url_for("records.view", kind=kind, number=number), 303)


@bp.post("/<kind>/<number>/decision")
@requires(*QUALITY)
def decide(kind: str, number: str) -> ResponseReturnValue:
    """Release or reject the record; the caller signs with their password."""
    actor = require_caller().username
    form = request.form
    decision = form.get("decision", "")
    try:
        result = records().decide(
            actor=actor,
            kind=kind,
            number=number,
            decision=decision,
            reason=form.get("reason", ""),
            signature=signature_input(actor, form.get("password", ""), MEANINGS.get(decision, "")),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as refused:
        return _refused(kind, number, refused, "decision")
    flash(result.message, "done")
    return redirect(url_for("records.view", kind=kind, number=number), 303)


@bp.post("/<kind>/<number>/amend")
@requires(*QUALITY)
def amend(kind: str, number: str) -> ResponseReturnValue:
    """Accept what changed in a released record; the caller signs with their password."""
    actor = require_caller().username
    form = request.form
    try:
        result = records().amend(
            actor=actor,
            kind=kind,
            number=number,
            reason=form.get("reason", ""),
            signature=signature_input(actor, form.get("password", ""), MEANINGS["amended"]),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as refused:
        return _refused(kind, number, refused, "reason")
    flash(result.message, "done")
    return redirect(url_for("records.view", kind=kind, number=number), 303)
