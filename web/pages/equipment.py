"""Equipment pages: every machine with what is due and the latest event rule firings, a machine's
card (status, due dates, signed calibration and maintenance forms, their history and the state
history), a failed calibration's impact list with one button to hold it all, and a bulk hold from
a pasted list (a recall)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.access.signatures import SignatureInput
from engine.commands.bulk_hold import BulkHoldResult
from engine.commands.calibration import CARE_MEANINGS, CARE_ROLES, CalibrationInput
from engine.commands.maintenance import MaintenanceInput
from engine.errors import DomainError, Forbidden, Invalid
from engine.facade.event_rules import EventRules
from web.auth import require_caller, requires, signature_input
from web.errors import domain_status
from web.pages.nav import EQUIPMENT_READERS, HOLDERS
from web.services import services

bp = Blueprint("equipment", __name__, url_prefix="/equipment")

DONE = "done"
MEASURED_ROWS = 4  # name/value rows the calibration form offers
FIRINGS_SHOWN = 20  # the latest event rule firings the overview lists


@bp.get("/")
@requires(*EQUIPMENT_READERS)
def overview() -> ResponseReturnValue:
    """Every machine: state, since when, due dates; and what is overdue or due soon."""
    care = services().equipment
    care.open_due_orders()
    return render_template(
        "equipment_list.html",
        machines=care.equipment_list(),
        due=care.due_work(),
        firings=EventRules(services().config.db).firings(limit=FIRINGS_SHOWN),
    )


def _day(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid("Give the day it was performed, like 2027-03-01.", field=field) from None


def _card(
    name: str, status: int = 200, message: str = "", field: str = "", form: str = ""
) -> Response:
    html = render_template(
        "equipment_card.html",
        card=services().equipment.equipment_card(name),
        meanings=CARE_MEANINGS,
        may_record=bool(require_caller().roles & set(CARE_ROLES)),
        today=dt.date.today().isoformat(),
        measured_rows=range(MEASURED_ROWS),
        form=request.form if request.method == "POST" else {},
        failed_form=form,
        message=message,
        field=field,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/<name>")
@requires(*EQUIPMENT_READERS)
def card(name: str) -> ResponseReturnValue:
    """One machine's card with the calibration and maintenance forms (opening the
    maintenance orders that have come due first)."""
    services().equipment.open_due_orders()
    return _card(name)


def _measured(form: Any) -> dict[str, float | str]:
    """The measured values typed into the form's rows: numbers where they read as one."""
    values: dict[str, float | str] = {}
    for n in range(MEASURED_ROWS):
        name = form.get(f"measured_name_{n}", "").strip()
        text = form.get(f"measured_value_{n}", "").strip()
        if name:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            values[name] = number if math.isfinite(number) else text
    return values


def _own_signature(actor: str, form: Any) -> SignatureInput:
    """The form's password and meaning: the caller signs their own care record."""
    return signature_input(actor, form.get("password", ""), form.get("meaning", ""))


def _refused(name: str, error: DomainError, form: str) -> Response:
    if isinstance(error, Invalid):
        return _card(name, 422, error.message, error.field or "", form)
    if isinstance(error, Forbidden):
        return _card(name, domain_status(error), error.message, "password", form)
    return _card(name, 409, error.message, "", form)


@bp.post("/<name>/calibration")
@requires(*CARE_ROLES)
def calibrate(name: str) -> ResponseReturnValue:
    """Record a signed calibration; a failed one leads to its impact list."""
    actor = require_caller().username
    form = request.form
    try:
        given = CalibrationInput(
            result=form.get("result", ""),
            performed_on=_day(form.get("performed_on", ""), "performed_on"),
            performed_by=form.get("performed_by", ""),
            certificate=form.get("certificate", ""),
            measured=_measured(form),
            note=form.get("note", ""),
        )
        recorded = services().equipment.record_calibration(
            actor=actor,
            equipment_name=name,
            given=given,
            signature=_own_signature(actor, form),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as error:
        return _refused(name, error, "calibration")
    if recorded.result == "fail":
        flash(
            f"Calibration #{recorded.id} of {name} failed: {name} is down. Below is everything "
            "made on it since its last passed calibration.",
            "fail",
        )
        return redirect(url_for("equipment.impact", calibration_id=recorded.id), 303)
    flash(f"Calibration #{recorded.id} of {name} passed; next due {recorded.next_due}.", DONE)
    return redirect(url_for("equipment.card", name=name), 303)


@bp.post("/<name>/maintenance")
@requires(*CARE_ROLES)
def maintain(name: str) -> ResponseReturnValue:
    """Record signed maintenance."""
    actor = require_caller().username
    form = request.form
    try:
        given = MaintenanceInput(
            _day(form.get("performed_on", ""), "performed_on"),
            form.get("performed_by", ""),
            form.get("work_done", ""),
        )
        recorded = services().equipment.record_maintenance(
            actor=actor,
            equipment_name=name,
            given=given,
            signature=_own_signature(actor, form),
            idempotency_key=form.get("request_key") or None,
        )
    except DomainError as error:
        return _refused(name, error, "maintenance")
    closed = f"; maintenance order {recorded.order} is done" if recorded.order else ""
    flash(
        f"Maintenance #{recorded.id} of {name} recorded; next due {recorded.next_due}{closed}.",
        DONE,
    )
    return redirect(url_for("equipment.card", name=name), 303)


def _impact_page(calibration_id: int, status: int = 200, message: str = "") -> Response:
    care = services().equipment
    html = render_template(
        "equipment_impact.html",
        calibration=care.calibration(calibration_id),
        impact=care.impact(calibration_id),
        may_hold=bool(require_caller().roles & set(HOLDERS)),
        message=message,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/calibrations/<int:calibration_id>/impact")
@requires(*EQUIPMENT_READERS)
def impact(calibration_id: int) -> ResponseReturnValue:
    """What a failed calibration puts in doubt, with the button that holds it all."""
    return _impact_page(calibration_id)


def _held_notice(result: BulkHoldResult) -> None:
    text = f"{len(result.held):,} units and lots put on hold"
    if result.skipped:
        text += f"; {len(result.skipped):,} skipped (first: {result.skipped[0].reason})"
    if result.remaining:
        text += f"; {result.remaining:,} are left to hold: press Hold all again"
    flash(text + ".", DONE)


@bp.post("/calibrations/<int:calibration_id>/hold")
@requires(*HOLDERS)
def hold_impact(calibration_id: int) -> ResponseReturnValue:
    """Hold everything on the impact list."""
    try:
        result = services().equipment.hold_impact(
            actor=require_caller().username,
            calibration_id=calibration_id,
            reason=request.form.get("reason", ""),
            idempotency_key=request.form.get("request_key") or None,
        )
    except DomainError as error:
        return _impact_page(calibration_id, domain_status(error), error.message)
    _held_notice(result)
    return redirect(url_for("equipment.impact", calibration_id=calibration_id), 303)


def _bulk_page(status: int = 200, message: str = "") -> Response:
    html = render_template(
        "equipment_bulk_hold.html",
        form=request.form if request.method == "POST" else {},
        message=message,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/hold-list")
@requires(*HOLDERS)
def bulk_hold_form() -> ResponseReturnValue:
    """Paste a list of serials and lots (a recall) to hold them all at once."""
    return _bulk_page()


@bp.post("/hold-list")
@requires(*HOLDERS)
def bulk_hold() -> ResponseReturnValue:
    """Hold every pasted serial and lot, one per line (or separated by commas or spaces)."""
    numbers = request.form.get("items", "").replace(",", " ").split()
    try:
        result = services().equipment.hold_items(
            actor=require_caller().username,
            items=numbers,
            reason=request.form.get("reason", ""),
            idempotency_key=request.form.get("request_key") or None,
        )
    except DomainError as error:
        return _bulk_page(domain_status(error), error.message)
    _held_notice(result)
    return redirect(url_for("equipment.bulk_hold_form"), 303)
