"""Supervisor pages: the dispatch list (create, plan, release, cancel and close work orders), WIP
per operation, holds with their release, and the live board.

The live board (``/supervisor/board``) redraws itself through server-sent events: the browser
opens ``/supervisor/board/events``, which checks the change marker (the newest audit sequence
number, one primary-key lookup) every :data:`BOARD_POLL_S` and sends the board's HTML fragment
when it moved. A stream ends after :data:`BOARD_STREAM_S`, below gunicorn's worker timeout, and
the browser reconnects after :data:`BOARD_RETRY_MS` with the last marker it saw (``Last-Event-ID``),
getting a fresh board only if something changed meanwhile: a board holds one worker while its
stream is open, never for good (docs/dispatch.md).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from engine.commands.workorders import WorkOrderInfo
from engine.errors import DomainError, Invalid
from engine.facade.board import SupervisorBoard
from engine.queries.board import Board
from engine.queries.items import ItemInStatus, WipRow
from web.auth import require_caller, requires
from web.pages.dispatch import plan_from_form
from web.pages.nav import HOLDERS, SUPERVISORS
from web.services import services

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")

DONE = "done"
BOARD_POLL_S = 1.0
BOARD_STREAM_S = 20.0
BOARD_RETRY_MS = 1000
BOARD_HEARTBEAT_S = 10.0


def _wip_by_operation(rows: list[WipRow]) -> list[tuple[str, dict[str, int]]]:
    """Items per operation, by status, in the order operations first appear."""
    grouped: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = grouped.setdefault(row.operation or "(none)", {})
        counts[row.status] = counts.get(row.status, 0) + row.count
    return list(grouped.items())


def _dispatch(status: int = 200, message: str = "", form: dict[str, str] | None = None) -> Response:
    ferrule = services().ferrule
    _, plant = ferrule.plant()
    orders = sorted(
        (o for o in ferrule.work_orders() if o.status in ("created", "released")),
        key=lambda o: (o.priority, o.due_date or dt.date.max, o.number),
    )
    wip = ferrule.wip()
    html = render_template(
        "supervisor.html",
        orders=orders,
        products=sorted(plant.products.values(), key=lambda p: p.name),
        wip=wip,
        by_operation=_wip_by_operation(wip),
        message=message,
        form=form or {},
        request_key=uuid.uuid4().hex,
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/")
@requires(*SUPERVISORS)
def dispatch() -> ResponseReturnValue:
    """Released and waiting work orders, WIP per operation, and the new-order form."""
    return _dispatch()


def _quantity(text: str) -> float:
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise Invalid(
            f"The quantity '{text}' is not a number; enter how many to make, like 10.",
            field="quantity",
        ) from None


@bp.post("/work-orders")
@requires(*SUPERVISORS)
def create_work_order() -> ResponseReturnValue:
    """Create a work order, and release it at once when asked."""
    ferrule = services().ferrule
    actor = require_caller().username
    form = request.form.to_dict()
    try:
        order = ferrule.create_work_order(
            actor=actor,
            product=form.get("product", ""),
            quantity=_quantity(form.get("quantity", "")),
            number=form.get("number", "").strip() or None,
            plan=plan_from_form(form),
            idempotency_key=form.get("request_key") or None,
        )
        if form.get("release"):
            order = ferrule.release_work_order(actor=actor, number=order.number)
    except DomainError as refused:
        return _dispatch(422 if isinstance(refused, Invalid) else 409, refused.message, form)
    said = "created and released" if order.status == "released" else "created"
    flash(f"Work order {order.number} {said} ({len(order.items)} items).", DONE)
    return redirect(url_for("supervisor.dispatch"), 303)


@bp.post("/work-orders/<number>/release")
@requires(*SUPERVISORS)
def release_work_order(number: str) -> ResponseReturnValue:
    """Release a created work order: its units or lots get their numbers."""
    try:
        order = services().ferrule.release_work_order(
            actor=require_caller().username, number=number
        )
    except DomainError as refused:
        return _dispatch(409, refused.message)
    flash(f"Work order {order.number} released: {', '.join(order.items)}.", DONE)
    return redirect(url_for("supervisor.dispatch"), 303)


def _order_command(
    number: str, command: Callable[[str, str], WorkOrderInfo]
) -> ResponseReturnValue:
    """Run ``command(actor, reason)`` on work order ``number``; say what it became."""
    try:
        order = command(require_caller().username, request.form.get("reason", ""))
    except DomainError as refused:
        return _dispatch(422 if isinstance(refused, Invalid) else 409, refused.message)
    said = order.status if not order.status_reason else f"{order.status}: {order.status_reason}"
    flash(f"Work order {number} {said}.", DONE)
    return redirect(url_for("supervisor.dispatch"), 303)


@bp.post("/work-orders/<number>/plan")
@requires(*SUPERVISORS)
def plan_work_order(number: str) -> ResponseReturnValue:
    """Change a work order's due date, priority or ERP reference."""
    form = request.form.to_dict()
    return _order_command(
        number,
        lambda actor, reason: services().dispatch.plan_work_order(
            actor=actor, number=number, plan=plan_from_form(form), reason=reason
        ),
    )


@bp.post("/work-orders/<number>/cancel")
@requires(*SUPERVISORS)
def cancel_work_order(number: str) -> ResponseReturnValue:
    """Cancel a work order on which no work started (reason required)."""
    return _order_command(
        number,
        lambda actor, reason: services().ferrule.cancel_work_order(
            actor=actor, number=number, reason=reason
        ),
    )


@bp.post("/work-orders/<number>/close")
@requires(*SUPERVISORS)
def close_work_order(number: str) -> ResponseReturnValue:
    """No more work: completes the order, or scraps what was not started (reason required)."""
    return _order_command(
        number,
        lambda actor, reason: services().dispatch.close_work_order(
            actor=actor, number=number, reason=reason
        ),
    )


def _held() -> list[ItemInStatus]:
    """Items on hold or waiting for a disposition, by number."""
    return services().ferrule.items_in_status("on_hold", "nonconforming")


def _holds(status: int = 200, message: str = "") -> Response:
    html = render_template("holds.html", held=_held(), message=message)
    return Response(html, status=status, mimetype="text/html")


@bp.get("/holds")
@requires(*HOLDERS)
def holds() -> ResponseReturnValue:
    """Held items with a release form each, and a form to hold an item."""
    return _holds()


def _hold_command(release: bool) -> ResponseReturnValue:
    ferrule = services().ferrule
    number = request.form.get("number", "").strip()
    reason = request.form.get("reason", "")
    command = ferrule.release if release else ferrule.hold
    try:
        state = command(actor=require_caller().username, item=number, reason=reason)
    except DomainError as refused:
        return _holds(422 if isinstance(refused, Invalid) else 409, refused.message)
    flash(state.message, DONE)
    return redirect(url_for("supervisor.holds"), 303)


@bp.post("/holds")
@requires(*HOLDERS)
def hold() -> ResponseReturnValue:
    """Put an item on hold (reason required)."""
    return _hold_command(release=False)


@bp.post("/holds/release")
@requires(*HOLDERS)
def release() -> ResponseReturnValue:
    """Release a held item (reason required); it carries on where it was."""
    return _hold_command(release=True)


# ---------------------------------------------------------------- the live board


def _board_facade() -> SupervisorBoard:
    return SupervisorBoard(services().config.db)


def _board_fragment(board: Board) -> str:
    return render_template("supervisor_board_fragment.html", board=board)


@bp.get("/board")
@requires(*SUPERVISORS)
def board() -> ResponseReturnValue:
    """The live board: WIP per operation in routing order and each open order's progress."""
    return render_template("supervisor_board.html", board=_board_facade().board())


def board_event(board: Board, html: str) -> str:
    """One server-sent event carrying the board's fragment, its marker as the event id."""
    data = "".join(f"data: {line}\n" for line in html.splitlines() or [""])
    return f"id: {board.marker}\nevent: board\n{data}\n"


@bp.get("/board/events")
@requires(*SUPERVISORS)
def board_events() -> ResponseReturnValue:
    """Server-sent events: the board's fragment whenever the change marker moves past the one
    the browser last saw (``Last-Event-ID``, or ``?since=``), for a bounded time."""
    seen = request.headers.get("Last-Event-ID") or request.args.get("since", "")
    facade = _board_facade()
    lifetime = float(current_app.config.get("FERRULE_BOARD_STREAM_S", BOARD_STREAM_S))

    def stream() -> Iterator[str]:
        yield f"retry: {BOARD_RETRY_MS}\n\n"
        last = int(seen) if seen.isdigit() else -1
        began = spoke = time.monotonic()
        while time.monotonic() - began < lifetime:
            if facade.marker() != last:
                shown = facade.board()
                last = shown.marker
                spoke = time.monotonic()
                yield board_event(shown, _board_fragment(shown))
            elif time.monotonic() - spoke >= BOARD_HEARTBEAT_S:
                spoke = time.monotonic()
                yield ": still here\n\n"
            time.sleep(BOARD_POLL_S)

    return Response(
        stream_with_context(stream()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
