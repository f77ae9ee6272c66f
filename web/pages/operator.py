"""The operator station: scan a unit or lot, see its operation, instructions and interlocks,
start it, enter the collected data (each field with the gates that check it), scan components,
sign, and read where the item went. On a tablet held upright (800 × 1280) the page is one column
with the start checks and the start button first (ferrule.css)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from dsl.model import FailAction, Operation, Plant
from dsl.units import format_number
from engine.commands.bom import ConsumptionInput
from engine.commands.complete import CompleteResult
from engine.errors import Blocked, Conflict, DomainError, Forbidden, Invalid, NotFound
from engine.floor.validation import InvalidData
from engine.infra.attachments import Upload
from engine.queries.items import ItemView
from web import forms
from web.auth import client_address, require_caller, requires
from web.errors import domain_status
from web.instructions import render_instructions, version_paths
from web.interlocks import Panel, start_panel
from web.metrics import INTERLOCK_BLOCKS
from web.pages.dispatch import station_queue
from web.pages.nav import RUNNERS
from web.services import services

bp = Blueprint("operator", __name__, url_prefix="/station")

OUTCOME = "outcome"


@dataclass(frozen=True, slots=True)
class Said:
    """An outcome in plain words and its kind (ok, warn, bad) for the banner's colour."""

    text: str
    kind: str


def outcome_of(result: CompleteResult, plant: Plant, after: ItemView) -> Said:
    """Where a completion sent the item (``after``: the item now), as the operator reads it."""
    route = result.route
    if route == "next":
        return Said(f"Next: {result.next_operation}", "ok")
    if route == "completed":
        return Said("Completed", "ok")
    if route == "hold":
        return Said(f"Held: {result.reason}", "bad")
    if route == "nonconformance":
        return Said(f"Nonconformance NC-{result.nonconformance_id or 0:04d} opened", "bad")
    if route == "scrap":
        return Said(f"Scrapped: {result.reason}", "bad")
    failed = {g.gate for g in result.gates if g.outcome == "fail"}
    operation = plant.routing_for(after.product).operation(result.operation)
    limit = next(
        (
            g.on_fail.max_loops
            for g in operation.gates
            if g.name in failed and g.on_fail.action is FailAction.REWORK
        ),
        None,
    )
    of = f" of {limit}" if limit is not None else ""
    done = after.rework_counts.get(result.next_operation or "", 0)
    return Said(
        f"Sent back to {result.next_operation} for rework ({done}{of}): {result.reason}",
        "warn",
    )


@dataclass(frozen=True, slots=True)
class GateNote:
    """A gate that checks a field, as shown beside it: its name, rule and what a failure does."""

    name: str
    rule: str
    on_fail: str


def gate_notes(operation: Operation) -> dict[str, list[GateNote]]:
    """For each collected field of ``operation`` (by name), the gates whose rule reads it."""
    prefix = f"field:{operation.id}."
    notes: dict[str, list[GateNote]] = defaultdict(list)
    for gate in operation.gates:
        fields = [r.key for r in gate.check.references if r.key.startswith(prefix)]
        on_fail = gate.on_fail.action.value.replace("_", " ")
        for name in dict.fromkeys(key.removeprefix(prefix) for key in fields):
            notes[name].append(GateNote(gate.name, gate.check.source, on_fail))
    return dict(notes)


def _panel(number: str) -> tuple[Plant, Panel]:
    return start_panel(services().ferrule, number=number, actor=require_caller().username)


def _form(plant: Plant, item: ItemView, operation: Operation) -> forms.OperationForm:
    """The completion form, with what this item draws of each component (a lot draws the
    routing's quantity per product unit times its quantity)."""
    needed = services().ferrule.needed_components(item=item.number, operation=operation.id)
    product = plant.products.get(item.product)
    return forms.operation_form(plant, operation, needed, per=product.unit if product else "")


def _page(
    number: str,
    *,
    status: int = 200,
    message: str = "",
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    """The item page: panel, instructions, and the completion form once started."""
    plant, panel = _panel(number)
    operation = panel.operation
    instructions = None
    if operation is not None and operation.instructions:
        version = panel.item.config_version_id
        text = plant.files.get(operation.instructions, "")
        instructions = render_instructions(
            version, operation.instructions, text, version_paths(services().config, version)
        )
    form = _form(plant, panel.item, operation) if operation and panel.started else None
    html = render_template(
        "station_item.html",
        panel=panel,
        plant=plant,
        instructions=instructions,
        form=form,
        message=message,
        values=values or {},
        problems=problems or {},
        request_key=uuid.uuid4().hex,
        gates=gate_notes(operation) if operation is not None else {},
        deviations=services().ferrule.deviations_in_force(item=number, operation=operation.id)
        if operation is not None
        else [],
        fefo=services().materials.proposals(
            [c.part for c in form.consumptions] if form else [], panel.item.work_order
        ),
    )
    return Response(html, status=status, mimetype="text/html")


@bp.get("/")
@requires(*RUNNERS)
def scan() -> ResponseReturnValue:
    """The scan field; a scanned number, or a GS1 label naming one, opens that item."""
    scan = request.args.get("number", "").strip()
    if not scan:
        return station_queue()  # the landing page: this station's work-centre queue
    try:
        number = services().labels.scanned(scan).number
    except Invalid as bad:
        html = render_template("station.html", message=bad.message, number="")
        return Response(html, status=422, mimetype="text/html")
    return redirect(url_for("operator.item", number=number), 303)


@bp.get("/<number>")
@requires(*RUNNERS)
def item(number: str) -> ResponseReturnValue:
    """The item's current operation, ready to start or complete."""
    try:
        return _page(number)
    except NotFound as missing:
        html = render_template("station.html", message=missing.message, number=number)
        return Response(html, status=404, mimetype="text/html")


@bp.get("/<number>/panel")
@requires(*RUNNERS)
def panel(number: str) -> ResponseReturnValue:
    """The interlock panel alone, for the page's live refresh."""
    _, shown = _panel(number)
    return render_template("_panel.html", panel=shown)


@bp.post("/<number>/start")
@requires(*RUNNERS)
def start(number: str) -> ResponseReturnValue:
    """Start the operation; a block is shown with every check's reason."""
    operation = request.form.get("operation", "")
    try:
        services().ferrule.start_operation(
            actor=require_caller().username,
            item=number,
            operation=operation,
            idempotency_key=request.form.get("request_key") or None,
            tool=request.form.get("tool", "").strip() or None,
        )
    except Blocked as blocked:
        INTERLOCK_BLOCKS.labels(operation).inc()
        return _page(number, status=409, message=blocked.message)
    except (Conflict, Forbidden) as refused:
        return _page(number, status=409, message=refused.message)
    return redirect(url_for("operator.item", number=number), 303)


def _with_photos(
    spec: forms.OperationForm, caller: str
) -> tuple[MultiDict[str, str], dict[str, str]]:
    """The posted form with each photo or attachment field's value the SHA-256 of its file: the
    one sent now, stored first, or the one stored before an error sent the form back. Refusals
    by input."""
    form = request.form.copy()
    problems: dict[str, str] = {}
    for field in spec.fields:
        if field.input_type != "file":
            continue
        taken = request.files.get(field.input_name)
        form[field.input_name] = request.form.get(f"{field.input_name}-sha256", "")
        if taken is None or not taken.filename:
            continue
        upload = Upload(taken.filename, taken.mimetype or "", taken.read())
        ferrule = services().ferrule
        try:
            if field.photo:
                form[field.input_name] = ferrule.store_photo(actor=caller, photo=upload).sha256
            else:
                form[field.input_name] = ferrule.store_file(actor=caller, upload=upload)
        except Invalid as bad:
            problems[field.input_name] = f"{field.name}: {bad.message}"
    return form, problems


@bp.post("/<number>/complete")
@requires(*RUNNERS)
def complete(number: str) -> ResponseReturnValue:
    """Complete the operation with the posted form; errors are shown next to their inputs."""
    ferrule = services().ferrule
    operation_id = request.form.get("operation", "")
    plant, panel = _panel(number)
    if panel.operation is None or panel.operation.id != operation_id:
        where = panel.item.current_operation or panel.item.status
        message = f"{number} is now at '{where}', not '{operation_id}'; this page was old."
        return _page(number, status=409, message=message)
    spec = _form(plant, panel.item, panel.operation)
    caller = require_caller().username
    form, photo_problems = _with_photos(spec, caller)
    posted = forms.parse_completion(form, spec, caller=caller, address=client_address())
    values = forms.entered_values(form, spec)
    if photo_problems:
        return _page(number, status=422, values=values, problems=photo_problems)
    if posted.problems:
        return _page(number, status=422, values=values, problems=posted.problems)
    revision = request.form.get("revision", "")
    try:
        result = ferrule.complete_operation(
            actor=caller,
            item=number,
            operation=operation_id,
            data=posted.data,
            consume=posted.consume,
            signatures=posted.signatures,
            expected_revision=int(revision) if revision.isdigit() else None,
            idempotency_key=request.form.get("request_key") or None,
        )
    except InvalidData as bad:
        placed = forms.problems_by_input([(p.field, p.message) for p in bad.problems], spec)
        return _page(number, status=422, values=values, problems=placed)
    except Invalid as bad:
        placed = forms.problems_by_input([(bad.field, bad.message)], spec)
        return _page(number, status=422, values=values, problems=placed)
    except Forbidden as refused:
        key = spec.signatures[0].username_input if spec.signatures else ""
        status = domain_status(refused)
        return _page(number, status=status, values=values, problems={key: refused.message})
    except (NotFound, Conflict) as refused:
        status = 404 if isinstance(refused, NotFound) else 409
        placed = {"consume": refused.message} if isinstance(refused, NotFound) else {}
        message = "" if placed else refused.message
        return _page(number, status=status, message=message, values=values, problems=placed)
    said = outcome_of(result, plant, ferrule.item(number))
    flash(said.text, f"{OUTCOME}-{said.kind}")
    for signal in result.spc:
        flash(signal.message, f"{OUTCOME}-bad")
    return redirect(url_for("operator.item", number=number), 303)


@bp.get("/<number>/component")
@requires(*RUNNERS)
def component(number: str) -> ResponseReturnValue:
    """Check one scanned component at once: right part, available, not expired, not on hold."""
    part = request.args.get("part", "").strip()
    lot = request.args.get("lot", "").strip()
    if not part or not lot:
        return jsonify({"ok": False, "message": "Scan a lot or serial number."}), 400
    try:
        planned = services().ferrule.check_component(
            item=number, scanned=ConsumptionInput(part, lot)
        )
    except DomainError as problem:
        return jsonify({"ok": False, "message": problem.message}), 200
    said = f"{planned.number}: {format_number(planned.quantity)} {planned.unit} of {planned.part}"
    return jsonify({"ok": True, "message": said}), 200
