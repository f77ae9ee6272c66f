"""Maintenance-order pages: the list (by status and machine) and one order, with starting and
cancelling it; recording the maintenance on the machine's card closes it. Reading either page
first opens the orders that have come due (cheap and idempotent)."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine.commands.calibration import CARE_ROLES
from engine.errors import DomainError
from web.auth import require_caller, requires
from web.errors import domain_status
from web.pages.nav import EQUIPMENT_READERS
from web.services import services

bp = Blueprint("maintenance", __name__, url_prefix="/maintenance")

STATUSES = (
    ("active", "open or in progress"),
    ("open", "open"),
    ("in_progress", "in progress"),
    ("done", "done"),
    ("cancelled", "cancelled"),
    ("", "any"),
)


@bp.get("/orders")
@requires(*EQUIPMENT_READERS)
def orders() -> ResponseReturnValue:
    """Maintenance orders, open or in progress unless another status is asked for."""
    care = services().equipment
    care.open_due_orders()
    status = request.args.get("status", "active")
    equipment = request.args.get("equipment", "")
    return render_template(
        "maintenance_orders.html",
        orders=care.maintenance_orders(status=status, equipment=equipment),
        machines=[m.name for m in care.equipment_list()],
        statuses=STATUSES,
        status=status,
        equipment=equipment,
    )


def _order_page(number: str, status: int = 200, message: str = "") -> Response:
    care = services().equipment
    care.open_due_orders()
    html = render_template(
        "maintenance_order.html",
        order=care.maintenance_order(number),
        may_work=bool(require_caller().roles & set(CARE_ROLES)),
        message=message,
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/orders/<number>")
@requires(*EQUIPMENT_READERS)
def order(number: str) -> ResponseReturnValue:
    """One maintenance order, with start and cancel for the care roles."""
    return _order_page(number)


@bp.post("/orders/<number>/start")
@requires(*CARE_ROLES)
def start(number: str) -> ResponseReturnValue:
    try:
        services().equipment.start_maintenance_order(
            actor=require_caller().username, number=number,
            idempotency_key=request.form.get("request_key") or None,
        )  # fmt: skip
    except DomainError as error:
        return _order_page(number, domain_status(error), error.message)
    flash(f"Maintenance order {number} is in progress.", "done")
    return redirect(url_for("maintenance.order", number=number), 303)


@bp.post("/orders/<number>/cancel")
@requires(*CARE_ROLES)
def cancel(number: str) -> ResponseReturnValue:
    try:
        services().equipment.cancel_maintenance_order(
            actor=require_caller().username, number=number,
            reason=request.form.get("reason", ""),
            idempotency_key=request.form.get("request_key") or None,
        )  # fmt: skip
    except DomainError as error:
        return _order_page(number, domain_status(error), error.message)
    flash(f"Maintenance order {number} is cancelled.", "done")
    return redirect(url_for("maintenance.order", number=number), 303)
