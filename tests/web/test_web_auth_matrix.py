"""Every API endpoint × every role, from one table, on real records: a caller without credentials
gets 401, a role the route does not allow gets 403 with the API's message and changes nothing,
and every allowed role runs the handler on a real work order, unit, lot, nonconformance, token or
config version and gets the route's success status. No call may answer 5xx. The table must list
every route the API declares."""

from __future__ import annotations

import base64
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from testdata import ACME, PASSWORD
from web_support import USERS, Api, table_rows

from dsl.model import Plant
from engine.access import people
from engine.records.tables import Lot
from web.openapi import OPERATIONS

# the roles in the order they call; "none" is a signed-in user holding no role
ROLES = ("operator", "supervisor", "quality", "engineer", "admin", "none")
ANY = frozenset(ROLES)
USER_OF = {
    "operator": "anna",
    "supervisor": "sam",
    "quality": "quinn",
    "engineer": "eve",
    "admin": "ada",
    "none": "nobody",
}
PLANNERS = frozenset({"supervisor", "admin"})
RUNNERS = frozenset({"operator", "supervisor"})
HOLDERS = frozenset({"supervisor", "quality"})
CONFIGURERS = frozenset({"engineer", "admin"})
# the audit trail: quality, admin, and a site's own "auditor" role (no user of the matrix holds it)
AUDITORS = frozenset({"quality", "admin", "auditor"})

UNAUTHENTICATED = {
    "error": "unauthenticated",
    "message": "Sign in first (API clients: send 'Authorization: Bearer <token>').",
}
CUT = {
    "data": {"length": 500, "strip_length": 7},
    "consume": [{"part": "WIRE-18-RD", "lot": "W-001"}],
}
SIGNED = {"password": PASSWORD, "meaning": "Disposition approved"}
# who may open a nonconformance, and the roles of the site's review board the matrix's users hold
REPORTERS = frozenset({"operator", "supervisor", "quality", "engineer", "stores", "maintenance"})
BOARD = frozenset({"quality", "engineer", "supervisor", "stores", "maintenance"})
# acme-harness's board: use as is needs quality + engineer, repair quality + supervisor
DECISION_OF = {"quality": "scrap", "engineer": "use_as_is", "supervisor": "repair"}
PROPOSED_FOR = {"quality": ("eve", "use_as_is"), "engineer": ("quinn", "use_as_is"),
                "supervisor": ("quinn", "repair")}  # fmt: skip
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()


def _deviation(order: str, valid_from: str, valid_until: str) -> dict[str, Any]:
    """A deviation of the crimp pull test for ``order``."""
    return {
        "product": "HA-100", "operation": "crimp", "gate": "pull test", "subject": "pull_force",
        "low": 55, "high": 60, "work_orders": [order], "valid_from": valid_from,
        "valid_until": valid_until, "reason": "concession CC-118",
        "signature": {"password": PASSWORD, "meaning": "Deviation approved"},
    }  # fmt: skip


def forbidden(allowed: frozenset[str], role: str) -> dict[str, str]:
    """The 403 body for ``role``'s user calling a route that needs one of ``allowed``."""
    user = USER_OF[role]
    held = ", ".join(sorted(USERS[user])) or "no role"
    needed = " or ".join(sorted(allowed))
    return {
        "error": "forbidden",
        "message": (
            f"This needs the role {needed}; {user} has {held}. Ask an admin to grant the role."
        ),
    }


def _deploy_body(role: str) -> dict[str, Any]:
    """The acme-harness bundle with a comment naming ``role``: a new version per caller."""
    files = {
        p.relative_to(ACME).as_posix(): p.read_text()
        for p in ACME.rglob("*")
        if p.is_file() and p.suffix in (".yaml", ".md") and "tests" not in p.parts
    }
    files["site.yaml"] += f"\n# deployed by {role}\n"
    assets = {
        p.relative_to(ACME).as_posix(): base64.b64encode(p.read_bytes()).decode()
        for p in ACME.rglob("*.svg")
    }
    return {"files": files, "assets": assets, "note": f"by {role}"}


@dataclass(frozen=True)
class Case:
    """One route: ``path`` and string values of ``body`` name records as ``{placeholders}``
    (see :class:`World`); an allowed role gets ``status`` and an answer with the fields ``shows``
    (a list answer: one of its elements has them)."""

    method: str
    path: str
    allowed: frozenset[str]
    status: int
    body: Any = None
    shows: Mapping[str, object] = field(default_factory=dict)


# goods-in: "stores" (which no user of the matrix holds), supervisors and quality
STORES = frozenset({"stores", "supervisor", "quality"})
STOCK_READERS = STORES | {"engineer", "admin"}
KITTERS = frozenset({"stores", "supervisor"})
MATERIALS: list[Case] = [
    Case(
        "POST",
        "/api/lots",
        STORES,
        201,
        {"part": "HOUSING-4P", "supplier_lot": "R-{user}", "quantity": 5},
        shows={"number": "R-{user}", "status": "available"},
    ),
    Case("GET", "/api/lots/{part}/{lot}", STOCK_READERS, 200, shows={"status": "available"}),
    Case("GET", "/api/lots/HOUSING-4P/{certified}/certificate", STOCK_READERS, 200),
    Case(
        "POST",
        "/api/lots/HOUSING-4P/{lot_to_hold}/status",
        HOLDERS,
        200,
        {"action": "hold", "reason": "cracked boxes"},
        shows={"number": "{lot_to_hold}", "status": "on_hold"},
    ),
    Case(
        "POST",
        "/api/lots/HOUSING-4P/{lot_to_move}/move",
        STORES,
        200,
        {"location": "line-1"},
        shows={"number": "{lot_to_move}", "location": "line-1"},
    ),
    Case(
        "POST",
        "/api/lots/HOUSING-4P/{lot_to_split}/split",
        STORES,
        201,
        {"quantity": 1, "new_number": "S-{user}", "reason": "one box to the line"},
        shows={"number": "S-{user}", "quantity": 1},
    ),
    Case(
        "POST",
        "/api/lots/merge",
        STORES,
        201,
        {
            "part": "HOUSING-4P",
            "lots": ["{lot_to_merge}", "{lot_to_merge}-B"],
            "new_number": "M-{user}",
            "reason": "one pallet",
        },
        shows={"number": "M-{user}", "quantity": 10.0},
    ),
    Case("POST", "/api/lots/expire", HOLDERS, 200, shows={"lots": []}),
    Case("GET", "/api/inventory", STOCK_READERS, 200, shows={"part": "WIRE-18-RD"}),
    Case(
        "GET",
        "/api/inventory/fefo?part=WIRE-18-RD",
        STOCK_READERS | {"operator"},
        200,
        shows={"WIRE-18-RD": {"expires_on": None, "lot": "W-001"}},
    ),
    Case("GET", "/api/work-orders/{order}/kit", STORES, 200, shows={"work_order": "{order}"}),
    Case("POST", "/api/work-orders/{order}/kit", KITTERS, 200, shows={"work_order": "{order}"}),
    Case("DELETE", "/api/work-orders/{order}/kit", KITTERS, 200, shows={"complete": False}),
]

# labels and travellers: every role of the floor and the office, "stores" among them
PRINTERS = STORES | RUNNERS | CONFIGURERS
LABEL_FORMATS = ("pdf", "svg", "zpl")
LABELS: list[Case] = [
    *(Case("GET", f"/api/labels/item/{{traced}}.{fmt}", PRINTERS, 200) for fmt in LABEL_FORMATS),
    *(Case("GET", f"/api/labels/lot/{{lot_id}}.{fmt}", PRINTERS, 200) for fmt in LABEL_FORMATS),
    Case("GET", "/api/work-orders/{order}/traveller.pdf", PRINTERS, 200),
]

# the machines: "maintenance" (which no user of the matrix holds) and whoever watches them;
# calibrations and maintenance are signed by maintenance or quality
PRESS = "crimp-press-1"
EQUIPMENT_READERS = frozenset({"maintenance", "supervisor", "quality", "engineer", "admin"})
CARERS = frozenset({"maintenance", "quality"})
CARE_SIGNED = {"password": PASSWORD, "meaning": "Performed and verified"}
TODAY = dt.date.today().isoformat()
FAILED_CALIBRATION = {
    "result": "fail",
    "performed_on": TODAY,
    "performed_by": "Metrology lab",
    "certificate": "CAL-1",
    "note": "Force 6 % low at 5 kN",
    "signature": CARE_SIGNED,
}
PASSED_CALIBRATION = {**FAILED_CALIBRATION, "result": "pass", "note": ""}
EQUIPMENT: list[Case] = [
    Case("GET", "/api/equipment", EQUIPMENT_READERS, 200),
    Case("GET", f"/api/equipment/{PRESS}", EQUIPMENT_READERS, 200),
    Case(
        "GET",
        "/api/calibrations/{failed_calibration}/impact",
        EQUIPMENT_READERS,
        200,
        shows={"total": 1},
    ),
    Case(
        "POST",
        "/api/calibrations/{impact_to_hold}/hold-impact",
        HOLDERS,
        200,
        {"reason": "press out of calibration"},
        shows={"held": ["{impact_unit}"], "remaining": 0},
    ),
    Case(
        "POST",
        f"/api/equipment/{PRESS}/calibrations",
        CARERS,
        201,
        PASSED_CALIBRATION,
        shows={"equipment": PRESS, "result": "pass"},
    ),
    Case(
        "POST",
        f"/api/equipment/{PRESS}/maintenance",
        CARERS,
        201,
        {
            "performed_on": TODAY,
            "performed_by": "Max",
            "work_done": "Die replaced",
            "signature": CARE_SIGNED,
        },
        shows={"equipment": PRESS},
    ),
    Case("GET", f"/api/maintenance-orders?equipment={PRESS}", EQUIPMENT_READERS, 200),
    Case("POST", "/api/maintenance-orders/open-due", CARERS, 200),
    # no order MO-99999 exists: an allowed role is let through to the 404, others refused first
    Case("GET", "/api/maintenance-orders/MO-99999", EQUIPMENT_READERS, 404),
    # nothing recorded yet: an allowed role is let through to the 404, others refused first
    Case("GET", "/api/tags/press1.pressure/history", EQUIPMENT_READERS, 404),
    Case("POST", "/api/maintenance-orders/MO-99999/start", CARERS, 404),
    Case("POST", "/api/maintenance-orders/MO-99999/cancel", CARERS, 404, {"reason": "sold"}),
    Case(
        "POST",
        "/api/items/hold",
        HOLDERS,
        200,
        {"items": ["{recalled}"], "reason": "supplier recall"},
        shows={"held": ["{recalled}"], "remaining": 0},
    ),
    Case(
        "POST",
        "/api/recalls/hold",
        HOLDERS,
        200,
        {"supplier_lot": "{supplier_recall}", "reason": "supplier recall"},
        shows={"lots": [{"number": "{supplier_recall}", "part": "HOUSING-4P", "reason": ""}]},
    ),
]

# SPC: the charts and signals are read in the office; only quality acknowledges a signal
READERS = frozenset({"supervisor", "quality", "engineer", "admin"})
CHART = "harness-a/crimp/pull_force/i-mr"
PULL_FORCE = "pull_force: {type: number, unit: N, required: true, min: 0 N, max: 500 N}"
SPC: list[Case] = [
    Case("GET", "/api/spc/charts", READERS, 200),
    Case("GET", f"/api/spc/charts/{CHART}", READERS, 200, shows={"total_points": 2}),
    Case("GET", "/api/spc/signals", READERS, 200),
    Case("GET", "/api/event-rules/firings", READERS, 200),
    Case(
        "POST",
        "/api/spc/signals/{signal}/acknowledge",
        frozenset({"quality"}),
        200,
        {"comment": "press re-set"},
        shows={"id": "{signal}", "acknowledged_by": "quinn"},
    ),
]

# OEE over an early shift of the past, when the press stood idle (it has no state history)
SHIFT = f"start=2026-11-02T05:00:00Z&end=2026-11-02T13:00:00Z&equipment={PRESS}"
OEE: list[Case] = [
    Case(
        "GET",
        f"/api/oee?{SHIFT}",
        READERS,
        200,
        shows={"scope": PRESS, "start": "2026-11-02T05:00:00+00:00"},
    ),
    Case("GET", f"/api/oee/shifts?{SHIFT}", READERS, 200),
    Case("GET", f"/api/oee/losses?{SHIFT}", READERS, 200),
    Case("GET", f"/api/oee/stops/{PRESS}?{SHIFT}", READERS | RUNNERS, 200),
    Case(
        "POST",
        f"/api/oee/stops/{PRESS}/codings",
        RUNNERS | PLANNERS,
        201,
        {
            "parts": [
                {
                    "start": "2026-11-02T05:00:00Z",
                    "end": "2026-11-02T05:30:00Z",
                    "reason": "unplanned/breakdown/press fault",
                }
            ]
        },
    ),
]

# user administration: admins only, each change on a user made for it in _build_world
ADMINS = frozenset({"admin"})
USER_ADMIN: list[Case] = [
    Case("GET", "/api/users", ADMINS, 200, shows={"username": "anna", "roles": ["operator"]}),
    Case("GET", "/api/users/ada", ADMINS, 200, shows={"username": "ada", "active": True}),
    Case(
        "POST",
        "/api/users/leaver/deactivate",
        ADMINS,
        200,
        {"reason": "left the company"},
        shows={"username": "leaver", "active": False},
    ),
    Case(
        "POST",
        "/api/users/returner/reactivate",
        ADMINS,
        200,
        {"reason": "back from leave"},
        shows={"username": "returner", "active": True},
    ),
    Case(
        "POST",
        "/api/users/forgetful/password",
        ADMINS,
        200,
        {"password": "a brand new horse battery"},
        shows={"username": "forgetful", "has_password": True},
    ),
    Case(
        "POST",
        "/api/users/mover/roles/supervisor/revoke",
        ADMINS,
        200,
        {"reason": "moved to stores"},
        shows={"username": "mover", "roles": []},
    ),
    Case(
        "POST",
        "/api/users/trainee/qualifications",
        ADMINS,
        200,
        {"qualification": "crimping", "evidence": "TR-7"},
        shows={"username": "trainee"},
    ),
    Case(
        "POST",
        "/api/users/trained/qualifications/crimping/revoke",
        ADMINS,
        200,
        {"reason": "course expired"},
        shows={"username": "trained", "qualifications": []},
    ),
]


# tools and fixtures: read like the machines, calibrated and held or retired by maintenance or
# quality (signed), the units made with a tool held by holders
TOOLS: list[Case] = [
    Case("GET", "/api/tools", EQUIPMENT_READERS, 200),
    Case("GET", "/api/tools/A-17", EQUIPMENT_READERS, 200),
    Case("GET", "/api/tools/A-17/units", EQUIPMENT_READERS, 200, shows={"total": 0}),
    Case(
        "POST",
        "/api/tools/A-17/calibrations",
        CARERS,
        201,
        PASSED_CALIBRATION,
        shows={"tool": "A-17", "result": "pass"},
    ),
    Case(
        "POST",
        "/api/tools/A-18/status",
        CARERS,
        200,
        {"action": "hold", "reason": "burr on the anvil", "signature": CARE_SIGNED},
        shows={"tool": "A-18", "status": "held"},
    ),
    Case(
        "POST", "/api/tools/A-17/hold-units", HOLDERS, 200, {"reason": "recall"}, shows={"held": []}
    ),
]


# AQL receiving inspection (docs/sampling.md): quality inspects, readers read
INSPECTORS = frozenset({"quality"})
INSPECTIONS: list[Case] = [
    Case(
        "POST",
        "/api/inspections",
        INSPECTORS,
        201,
        {"part": "TERM-22", "lot": "{to_inspect}"},
        shows={"lot": "{to_inspect}", "sample_size": 13, "ac": 0, "re": 1},
    ),
    Case(
        "POST",
        "/api/inspections/{inspection}/samples",
        INSPECTORS,
        201,
        {"conforming": False, "defect_code": "PLATING"},
        shows={"accepted": False, "defects": 1},
    ),
    Case("GET", "/api/inspections/{inspected}", READERS, 200, shows={"lot": "AQL-READ"}),
    Case("GET", "/api/inspections?part=TERM-22&supplier=", READERS, 200),
]


MATRIX: list[Case] = [
    Case("GET", "/api/me", ANY, 200, shows={"username": "{user}"}),
    Case("GET", "/api/tokens", frozenset({"admin"}), 200, shows={"id": "{token}"}),
    Case(
        "POST",
        "/api/tokens",
        frozenset({"admin"}),
        201,
        {"name": "script", "username": "{user}", "roles": ["admin"]},
    ),
    Case(
        "DELETE",
        "/api/tokens/{token}",
        frozenset({"admin"}),
        200,
        shows={"id": "{token}", "username": "ada"},
    ),
    Case("GET", "/api/work-orders", ANY, 200, shows={"number": "{order}"}),
    Case(
        "POST",
        "/api/work-orders",
        PLANNERS,
        201,
        {"product": "HA-100", "quantity": 1},
        shows={"product": "HA-100", "status": "created", "created_by": "{user}"},
    ),
    Case(
        "GET",
        "/api/work-orders/{order}",
        ANY,
        200,
        shows={"number": "{order}", "status": "released"},
    ),
    Case(
        "POST",
        "/api/work-orders/{created}/release",
        PLANNERS,
        200,
        shows={"number": "{created}", "status": "released"},
    ),
    Case(
        "POST",
        "/api/work-orders/{cancellable}/cancel",
        PLANNERS,
        200,
        {"reason": "customer withdrew"},
        shows={"number": "{cancellable}", "status": "cancelled"},
    ),
    Case(
        "POST",
        "/api/work-orders/{finished}/complete",
        PLANNERS,
        200,
        shows={"number": "{finished}", "status": "completed"},
    ),
    Case(
        "PATCH",
        "/api/work-orders/{order}",
        PLANNERS,
        200,
        {"priority": 2, "reason": "customer pulled in"},
        shows={"number": "{order}", "priority": 2},
    ),
    Case(
        "POST",
        "/api/work-orders/{closable}/close",
        PLANNERS,
        200,
        {"reason": "no more needed"},
        shows={"number": "{closable}", "status": "closed"},
    ),
    Case("GET", "/api/work-centers", RUNNERS, 200, shows={"name": "cutting"}),
    Case("GET", "/api/work-centers/cutting/queue", RUNNERS, 200, shows={"work_center": "cutting"}),
    Case("GET", "/api/schedule", PLANNERS, 200),
    Case(
        "POST",
        "/api/items/{queued_at_cut}/operations/cut/start",
        RUNNERS,
        200,
        shows={"item": "{queued_at_cut}", "operation": "cut", "allowed": True},
    ),
    Case(
        "POST",
        "/api/items/{started}/operations/cut/complete",
        RUNNERS,
        200,
        CUT,
        shows={"item": "{started}", "operation": "cut", "next_operation": "crimp"},
    ),
    Case(
        "POST",
        "/api/items/{holdable}/hold",
        HOLDERS,
        200,
        {"reason": "suspect wire batch"},
        shows={"item": "{holdable}", "status": "on_hold"},
    ),
    Case(
        "POST",
        "/api/items/{held}/release",
        HOLDERS,
        200,
        {"reason": "batch cleared"},
        shows={"item": "{held}", "status": "queued"},
    ),
    Case(
        "GET",
        "/api/items/{traced}",
        ANY,
        200,
        shows={"number": "{traced}", "current_operation": "crimp"},
    ),
    Case(
        "GET",
        "/api/items/{traced}/history",
        ANY,
        200,
        shows={"kind": "complete", "operation": "cut", "actor": "anna"},
    ),
    Case("GET", "/api/items/{traced}/genealogy", ANY, 200, shows={"root": "{traced}"}),
    Case("GET", "/api/records/item/{traced}", ANY, 200, shows={"open_exceptions": 0}),
    Case("GET", "/api/records/item/{traced}/pdf", ANY, 200),
    Case("GET", "/api/lots/{part}/{lot}/where-used", ANY, 200, shows={"number": "{traced}"}),
    Case("GET", "/api/wip", ANY, 200, shows={"work_order": "{order}", "operation": "crimp"}),
    Case("GET", "/api/nonconformances", ANY, 200, shows={"id": "{nc}"}),
    Case(
        "POST",
        "/api/nonconformances",
        REPORTERS,
        201,
        {
            "item": "{suspect}",
            "defect_code": "nicked-insulation",
            "description": "insulation nicked",
        },
        shows={"item": "{suspect}"},
    ),
    Case("GET", "/api/nonconformances/{nc}", ANY, 200, shows={"id": "{nc}"}),
    Case(
        "POST",
        "/api/nonconformances/{to_decide}/disposition",
        BOARD,
        200,
        {"decision": "{decision}", "reason": "as the board decides", "signature": SIGNED},
        shows={"id": "{to_decide}"},
    ),
    Case(
        "POST",
        "/api/nonconformances/{to_sign}/disposition/signatures",
        BOARD,
        200,
        {"signature": SIGNED},
        shows={"id": "{to_sign}", "decision": "{signed_decision}", "open": False},
    ),
    Case(
        "POST",
        "/api/nonconformances/{nc}/capa",
        frozenset({"quality"}),
        200,
        {"capa": "CAPA-{user}"},
        shows={"capa": "CAPA-{user}", "capa_url": "https://qms.acme.example/capa/CAPA-{user}"},
    ),
    Case(
        "POST",
        "/api/nonconformances/{nc}/photos",
        REPORTERS,
        201,
        {"photo": {"filename": "burr.png", "content_base64": PNG}},
        shows={"id": "{nc}"},
    ),
    Case(
        "POST",
        "/api/items/{traced}/operations/cut/first-article",
        frozenset({"quality"}),
        409,
        {"signature": {"password": PASSWORD, "meaning": "First article approved"}},
        shows={"message": "Operation 'cut' asks for no first-article inspection."},
    ),
    Case(
        "POST",
        "/api/photos",
        REPORTERS | {"admin"},
        201,
        {"photo": {"filename": "crimp.png", "content_base64": PNG}},
        shows={"media_type": "image/png"},
    ),
    Case("GET", "/api/deviations", ANY, 200),
    Case(
        "POST",
        "/api/deviations",
        frozenset({"quality"}),
        201,
        _deviation("{order}", "{valid_from}", "{valid_until}"),
    ),
    Case(
        "POST",
        "/api/deviations/{deviation}/withdraw",
        frozenset({"quality"}),
        200,
        {"reason": "the soft lot is used up"},
        shows={"withdrawn_by": "quinn"},
    ),
    Case(
        "GET",
        "/api/nonconformances/pareto?by=defect_code",
        ANY,
        200,
        shows={"by": "defect_code"},
    ),
    Case("GET", "/api/config/versions", CONFIGURERS, 200, shows={"id": "{active}"}),
    Case(
        "POST",
        "/api/config/validate",
        CONFIGURERS,
        200,
        {"files": {"site.yaml": "site: x\n"}},
        shows={"ok": False},
    ),
    Case(
        "POST",
        "/api/config/review",
        CONFIGURERS,
        200,
        {"files": {"site.yaml": "site: x\n"}},
        shows={"ok": False, "active_version": "{active}"},
    ),
    Case("POST", "/api/config/versions", CONFIGURERS, 201, _deploy_body, shows={"created": True}),
    Case(
        "POST",
        "/api/config/versions/{older}/rollback",
        CONFIGURERS,
        200,
        {"reason": "back to a known version"},
        shows={"id": "{older}", "active": True},
    ),
    Case("GET", "/api/devices", ANY, 200, shows={"name": "press1"}),
    Case("GET", "/api/audit?entity=work_order&entity_id={order}", AUDITORS, 200),
    Case("GET", "/api/audit.csv?actor=anna", AUDITORS, 200),
    Case("GET", "/api/events/schema.json", ANY, 200, shows={"title": "Ferrule event"}),
    Case("GET", "/api/events/dead-letters", frozenset({"admin"}), 200),
    # no dead letter exists: an admin is let through to the 404, everyone else is refused first
    Case("POST", "/api/events/dead-letters/999/replay", frozenset({"admin"}), 404),
    Case("POST", "/api/erp/b2mml", PLANNERS, 415),  # the matrix sends JSON: refused as not XML
    Case(
        "POST",
        "/api/erp/orders",
        PLANNERS,
        201,
        {
            "id": "D-{user}",
            "orders": [{"id": "E-{user}", "material": "4711-HA100", "quantity": 1}],
        },
        shows={"document_id": "D-{user}"},
    ),
    Case("GET", "/api/erp/performance/{order}.xml", PLANNERS, 200),
    Case("GET", "/api/erp/lots/W-001.xml", PLANNERS, 200),
    *MATERIALS,
    *LABELS,
    *EQUIPMENT,
    *TOOLS,
    *INSPECTIONS,
    *SPC,
    *OEE,
    *USER_ADMIN,
]


def _lot(api: Api, number: str, **extra: object) -> str:
    """A lot of 5 housings received by sam: its number."""
    body = {"part": "HOUSING-4P", "supplier_lot": number, "quantity": 5, **extra}
    return str(_ok(api.post("/api/lots", "sam", body), 201)["number"])


def _terminals(api: Api, number: str) -> str:
    """A lot of 150 terminals received by sam (AQL 1.0, level II: n = 13, Ac 0, Re 1)."""
    body = {"part": "TERM-22", "supplier_lot": number, "quantity": 150}
    return str(_ok(api.post("/api/lots", "sam", body), 201)["number"])


def _inspection(api: Api, number: str) -> str:
    """The id of an open AQL inspection of a new lot of terminals, started by quinn."""
    body = {"part": "TERM-22", "lot": _terminals(api, number)}
    return str(_ok(api.post("/api/inspections", "quinn", body), 201)["id"])


@dataclass
class World:
    """The records the calls name: ``shared`` by every role, and ``own`` records per key and
    role, so that each allowed role acts on a record still in the state its command needs. A
    role the route forbids names the records of the route's first allowed role (before that role
    has used them: a forbidden call would have succeeded had the role been allowed)."""

    shared: dict[str, str] = field(default_factory=dict)
    own: dict[str, dict[str, str]] = field(default_factory=dict)

    def fields(self, case: Case, role: str | None) -> dict[str, str]:
        """The placeholders of ``case`` for ``role`` (None: a caller without credentials)."""
        owner = role if role in case.allowed else next(r for r in ROLES if r in case.allowed)
        owned = {key: by_role[owner] for key, by_role in self.own.items() if owner in by_role}
        return {**self.shared, **owned, "user": USER_OF[role] if role else ""}


def _fill(value: Any, fields: Mapping[str, str]) -> Any:
    """``value`` with every ``{placeholder}`` in its strings replaced from ``fields``."""
    if isinstance(value, str):
        return value.format_map(fields)
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    return value


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def _order(api: Api, quantity: int, *, release: bool = True) -> tuple[str, list[str]]:
    """A work order of HA-100 created (and released) by sam: its number and items."""
    body = {"product": "HA-100", "quantity": quantity}
    number = _ok(api.post("/api/work-orders", "sam", body), 201)["number"]
    if not release:
        return number, []
    items: list[str] = _ok(api.post(f"/api/work-orders/{number}/release", "sam"))["items"]
    return number, items


def _nonconformance(api: Api, unit: str) -> int:
    opened = {"item": unit, "defect_code": "nicked-insulation", "description": "jacket cut"}
    nc_id: int = _ok(api.post("/api/nonconformances", "quinn", opened), 201)["id"]
    return nc_id


def _build_world(api: Api, plant: Plant) -> World:
    """Every record the matrix names, made through the API as the users whose work it is."""
    with api.db.transaction() as session:  # the supervisor runs operations in the matrix too
        for qualification in plant.qualifications:
            people.grant_qualification(session, "sam", qualification, actor="test", plant=plant)
    for user in USER_OF.values():
        api.token(user)  # every caller's token exists before the first snapshot
    world = World()
    order, units = _order(api, 13)
    traced, *units = units
    _ok(api.post(f"/api/items/{traced}/operations/cut/start", "anna"))
    _ok(api.post(f"/api/items/{traced}/operations/cut/complete", "anna", CUT))
    nc = _nonconformance(api, units.pop())
    world.shared.update(order=order, traced=traced, part="WIRE-18-RD", lot="W-001", nc=str(nc))

    def own(key: str, roles: frozenset[str], make: Callable[[str], str]) -> None:
        world.own[key] = {role: make(role) for role in ROLES if role in roles}

    own("queued_at_cut", RUNNERS, lambda role: units.pop())

    def started(role: str) -> str:
        unit = units.pop()
        _ok(api.post(f"/api/items/{unit}/operations/cut/start", USER_OF[role]))
        return unit

    own("started", RUNNERS, started)
    own("holdable", HOLDERS, lambda role: units.pop())

    def held(role: str) -> str:
        unit = units.pop()
        _ok(api.post(f"/api/items/{unit}/hold", "sam", {"reason": "check the crimp tool"}))
        return unit

    own("held", HOLDERS, held)
    own("suspect", frozenset({"operator", "supervisor", "quality"}), lambda role: units.pop())
    world.own["suspect"]["engineer"] = _order(api, 1)[1][0]
    own("to_decide", BOARD, lambda role: str(_nonconformance(api, _order(api, 1)[1][0])))
    own("decision", BOARD, DECISION_OF.__getitem__)

    def to_sign(role: str) -> str:
        """A nonconformance whose disposition waits for ``role``'s signature."""
        nc_id = _nonconformance(api, _order(api, 1)[1][0])
        proposer, decision = PROPOSED_FOR[role]
        body = {"decision": decision, "reason": "the board agrees", "signature": SIGNED}
        _ok(api.post(f"/api/nonconformances/{nc_id}/disposition", proposer, body))
        return str(nc_id)

    own("to_sign", BOARD, to_sign)
    own("signed_decision", BOARD, lambda role: PROPOSED_FOR[role][1])
    now = dt.datetime.now(dt.UTC)
    period = {
        "valid_from": now.isoformat(),
        "valid_until": (now + dt.timedelta(days=3)).isoformat(),
    }
    world.shared.update(period)
    deviation = _ok(api.post("/api/deviations", "quinn", _deviation(order, **period)), 201)
    world.own["deviation"] = {"quality": str(deviation["id"])}
    assert units == []
    own("created", PLANNERS, lambda role: _order(api, 1, release=False)[0])
    own("cancellable", PLANNERS, lambda role: _order(api, 2)[0])
    own("closable", PLANNERS, lambda role: _order(api, 2)[0])

    def finished(role: str) -> str:
        """A released order whose only unit was scrapped: all its items are finished."""
        number, (unit,) = _order(api, 1)
        scrap = {"decision": "scrap", "reason": "cannot repair", "signature": SIGNED}
        nc_id = _nonconformance(api, unit)
        _ok(api.post(f"/api/nonconformances/{nc_id}/disposition", "quinn", scrap))
        return number

    own("finished", PLANNERS, finished)

    def token(role: str) -> str:
        body = {"name": "line display", "username": "ada", "roles": ["admin"]}
        return str(_ok(api.post("/api/tokens", "ada", body), 201)["token"]["id"])

    own("token", frozenset({"admin"}), token)
    # version 1 is the fixture's; version 2 (with an SPC chart) is deployed here; the matrix
    # deploys two more, then each configurer rolls back to one that is not active
    second = _ok(
        api.post("/api/config/versions", "eve", _with_spc_chart(_deploy_body("setup"))), 201
    )
    world.own["older"] = {"engineer": "1", "admin": str(second["version"]["id"])}
    world.shared["active"] = str(second["version"]["id"])
    coa = {"filename": "coa.pdf", "content_base64": base64.b64encode(b"%PDF CoA").decode()}
    world.shared["certified"] = _lot(api, "H-COA", certificate=coa)
    for key in ("lot_to_hold", "lot_to_move", "lot_to_split", "lot_to_merge"):
        own(key, STORES, lambda role, key=key: _lot(api, f"{key}-{role}"))
    own("to_inspect", INSPECTORS, lambda role: _terminals(api, f"AQL-{role}"))
    own("inspection", INSPECTORS, lambda role: _inspection(api, f"AQL-S-{role}"))
    world.shared["inspected"] = _inspection(api, "AQL-READ")
    for number in world.own["lot_to_merge"].values():
        _lot(api, f"{number}-B")
    beyond = _crimped(api, pull_force=95)
    (signal,) = _ok(api.get("/api/spc/signals", "quinn"))["signals"]
    world.shared.update(signal=str(signal["id"]), lot_id=_lot_id(api, "W-001"))
    # each holder holds what was crimped on the press before a failed calibration of its own:
    # the supervisor the unit beyond the limits, quality one crimped after a passed calibration
    world.shared["failed_calibration"] = _failed_calibration(api)
    world.own["impact_to_hold"] = {"supervisor": world.shared["failed_calibration"]}
    world.own["impact_unit"] = {"supervisor": beyond}
    _ok(api.post(f"/api/equipment/{PRESS}/calibrations", "quinn", PASSED_CALIBRATION), 201)
    world.own["impact_unit"]["quality"] = _crimped(api, pull_force=80)
    world.own["impact_to_hold"]["quality"] = _failed_calibration(api)
    own("recalled", HOLDERS, lambda role: _order(api, 1)[1][0])
    own("supplier_recall", HOLDERS, lambda role: _lot(api, f"recall-{role}"))
    with api.db.transaction() as session:
        for username in ("leaver", "returner", "forgetful", "mover", "trainee", "trained"):
            people.create_user(session, username, actor="test")
        people.deactivate_user(session, "returner", actor="test", reason="on leave")
        people.grant_role(session, "mover", "supervisor", actor="test")
        people.grant_qualification(session, "trained", "crimping", actor="test", plant=plant)
    return world


def _with_spc_chart(body: dict[str, Any]) -> dict[str, Any]:
    """``body``, a deployment, with an individuals chart on the crimp pull force (74–86 N)."""
    routing = body["files"]["routings/harness-a.yaml"]
    assert PULL_FORCE in routing
    spc = "spc: {chart: i-mr, limits: {center: 80, sigma: 2}, rules: [we1], on_signal: notify}"
    body["files"]["routings/harness-a.yaml"] = routing.replace(
        PULL_FORCE, f"{PULL_FORCE[:-1]}, {spc}}}"
    )
    return body


def _crimped(api: Api, *, pull_force: float) -> str:
    """A unit cut and crimped by anna on the press: its number."""
    _, (unit,) = _order(api, 1)
    crimp = {
        "data": {"pull_force": pull_force, "crimp_height": 1.55, "visual": "ok"},
        "consume": [{"part": "TERM-22", "lot": "T-001"}],
    }
    for operation, body in (("cut", CUT), ("crimp", crimp)):
        _ok(api.post(f"/api/items/{unit}/operations/{operation}/start", "anna"))
        _ok(api.post(f"/api/items/{unit}/operations/{operation}/complete", "anna", body))
    return unit


def _failed_calibration(api: Api) -> str:
    """A failed calibration of the press, signed by quinn: its id."""
    path = f"/api/equipment/{PRESS}/calibrations"
    return str(_ok(api.post(path, "quinn", FAILED_CALIBRATION), 201)["id"])


def _lot_id(api: Api, number: str) -> str:
    """The database id of the received lot ``number`` (what its label's URL names)."""
    with api.db.session() as session:
        lot_id = session.scalar(select(Lot.id).where(Lot.number == number))
    assert lot_id is not None
    return str(lot_id)


def _shows(answer: Any, expected: Mapping[str, object]) -> bool:
    """Whether the answer (or, for a list, one of its elements) has the expected fields."""
    if not expected:  # any answer of the right status (a CSV download has no JSON)
        return True
    candidates = answer if isinstance(answer, list) else [answer]
    return any(
        isinstance(c, dict) and all(str(c.get(k)) == str(v) for k, v in expected.items())
        for c in candidates
    )


def _route(method: str, path: str, api: Api) -> str:
    sample = path.format_map(defaultdict(lambda: "1")).split("?", 1)[0]
    rule, _ = api.app.url_map.bind("localhost").match(sample, method=method, return_rule=True)
    return f"{method} {rule.rule}"


def test_the_matrix_lists_every_api_route(api: Api) -> None:
    declared = {f"{op.method.upper()} {op.rule}" for op in OPERATIONS}
    listed = [_route(case.method, case.path, api) for case in MATRIX]
    assert sorted(listed) == sorted(declared)  # each route once


def test_a_forbidden_call_says_which_roles_it_needs_and_which_the_caller_has(
    api: Api, users: object
) -> None:
    refused = api.post("/api/work-orders", "anna", {"product": "HA-100", "quantity": 1})
    assert (refused.status_code, refused.json) == (
        403,
        {
            "error": "forbidden",
            "message": "This needs the role admin or supervisor; anna has operator. Ask an admin "
            "to grant the role.",
        },
    )
    assert refused.json == forbidden(PLANNERS, "operator")
    body = {"decision": "scrap", "reason": "r", "signature": SIGNED}
    refused = api.post("/api/nonconformances/1/disposition", "nobody", body)
    assert (refused.status_code, refused.json) == (
        403,
        {
            "error": "forbidden",
            "message": "This needs the role engineer or maintenance or quality or stores or "
            "supervisor; nobody has no role. Ask an admin to grant the role.",
        },
    )


def test_every_role_gets_exactly_what_the_matrix_allows(api: Api, shop: Plant) -> None:
    world = _build_world(api, shop)
    wrong: list[str] = []

    def call(case: Case, role: str | None) -> Any:
        fields = world.fields(case, role)
        path = _fill(case.path, fields)
        body = case.body(role or "anonymous") if callable(case.body) else _fill(case.body, fields)
        who = role or "without credentials"
        try:
            response = api.call(case.method, path, USER_OF[role] if role else None, json=body)
        except AssertionError as undocumented:  # the answer does not fit the OpenAPI document
            wrong.append(f"{case.method} {path} as {who}: {undocumented}")
            return None, fields, path
        if response.status_code >= 500:
            wrong.append(f"{case.method} {path} as {who}: server error {response.status_code}")
        return response, fields, path

    for case in MATRIX:
        before = table_rows(api.db)
        response, _, path = call(case, None)
        if response is not None and (response.status_code, response.json) != (
            401,
            UNAUTHENTICATED,
        ):
            wrong.append(
                f"{case.method} {path} without credentials: {response.status_code} {response.json}"
            )
        for role in ROLES:
            if role in case.allowed:
                continue
            response, _, path = call(case, role)
            expected = (403, forbidden(case.allowed, role))
            if response is not None and (response.status_code, response.json) != expected:
                wrong.append(
                    f"{case.method} {path} as {role}: {response.status_code} {response.json}"
                )
        if table_rows(api.db) != before:
            wrong.append(f"{case.method} {case.path}: a refused call changed the database")
        for role in ROLES:
            if role not in case.allowed:
                continue
            response, fields, path = call(case, role)
            if response is None:
                continue
            if response.status_code != case.status:
                wrong.append(
                    f"{case.method} {path} as {role}: {response.status_code} {response.json}"
                )
            elif not _shows(response.json, _fill(dict(case.shows), fields)):
                wrong.append(f"{case.method} {path} as {role}: answered {response.json}")
    assert wrong == []


def test_the_openapi_document_states_each_routes_roles(api: Api) -> None:
    document = api.client.get("/api/openapi.json").json
    assert document is not None
    operation = document["paths"]["/api/nonconformances/{nc_id}/disposition"]["post"]
    assert operation["description"] == "Roles: quality, engineer, supervisor, stores, maintenance."
