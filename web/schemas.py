"""JSON Schemas of the API's bodies (OpenAPI 3.1 components), written as data.

Request schemas are strict (``additionalProperties: false``) so a misspelt field is an error that
names it; response schemas describe what the engine's results serialise to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.access.people import METRICS

Schema = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Response:
    """One documented response: a status, what it means, and its body's schema (None: no body)."""

    status: int
    description: str
    schema: Schema | None = None
    media_type: str = "application/json"


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


def obj(required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None) -> Schema:
    """A closed object schema: every ``required`` property must be there, nothing unknown."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
        "additionalProperties": False,
    }


def open_obj(
    required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None
) -> Schema:
    """A response object: these properties, and possibly more added later."""
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": list(required),
    }


STRING: Schema = {"type": "string"}
TEXT: Schema = {"type": "string", "minLength": 1}
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 200}  # fits a name column
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
INTEGER: Schema = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP: Schema = {"type": ["string", "null"], "format": "date-time"}
ROLE: Schema = {
    "enum": [
        "operator", "supervisor", "quality", "engineer", "admin", "auditor", "stores",
        "maintenance", METRICS,
    ]
}  # fmt: skip
ANY_OBJECT: Schema = {"type": "object"}

NUMBER_OR_NULL: Schema = {"type": ["number", "null"]}
INTEGER_OR_NULL: Schema = {"type": ["integer", "null"]}
STRINGS: Schema = {"type": "array", "items": STRING}
STRING_MAP: Schema = {"type": "object", "additionalProperties": STRING}
DATE: Schema = {"type": "string", "format": "date"}
NULLABLE_DATE: Schema = {"type": ["string", "null"], "format": "date"}

COMPONENTS: dict[str, Schema] = {
    "Error": open_obj(
        {"error": STRING, "message": STRING},
        {
            "field": NULLABLE_STRING,
            "checks": {"type": "array", "items": ANY_OBJECT},
            "diagnostics": array_of("Diagnostic"),
            "problems": {
                "type": "array",
                "items": open_obj({"message": STRING}, {"field": NULLABLE_STRING}),
            },
        },
    ),
    "Token": open_obj(
        {
            "id": INTEGER,
            "name": STRING,
            "username": STRING,
            "roles": STRINGS,
            "created_at": TIMESTAMP,
            "created_by": STRING,
            "expires_at": NULLABLE_TIMESTAMP,
            "revoked_at": NULLABLE_TIMESTAMP,
        }
    ),
    "NewToken": open_obj(
        {"token": ref("Token"), "secret": {"type": "string", "pattern": "^ferrule_"}}
    ),
    "WorkOrder": open_obj(
        {
            "number": STRING,
            "product": STRING,
            "routing": STRING,
            "quantity": NUMBER,
            "status": STRING,
            "config_version_id": INTEGER,
            "created_by": STRING,
            "created_at": TIMESTAMP,
            "released_at": NULLABLE_TIMESTAMP,
            "items": STRINGS,
            "due_date": NULLABLE_DATE,
            "priority": {"type": "integer", "minimum": 1, "maximum": 9},
            "erp_reference": STRING,
            "status_reason": STRING,
        }
    ),
    "QueueEntry": open_obj(
        {
            "item": STRING,
            "kind": {"enum": ["unit", "lot"]},
            "quantity": NUMBER,
            "product": STRING,
            "operation": STRING,
            "status": STRING,
            "work_order": STRING,
            "due_date": NULLABLE_DATE,
            "priority": INTEGER,
            "erp_reference": STRING,
        }
    ),
    "WorkCenterQueue": open_obj(
        {
            "work_center": STRING,
            "description": STRING,
            "total": INTEGER,
            "offset": INTEGER,
            "waiting": array_of("QueueEntry"),
            "running": array_of("QueueEntry"),
        }
    ),
    "WorkCenterLoad": open_obj({"name": STRING, "description": STRING, "waiting": INTEGER}),
    "PlannedOperation": open_obj(
        {
            "work_order": STRING,
            "operation": STRING,
            "resource": STRING,
            "quantity": NUMBER,
            "start": TIMESTAMP,
            "finish": TIMESTAMP,
            "note": STRING,
        }
    ),
    "PlannedOrder": open_obj(
        {
            "work_order": STRING,
            "product": STRING,
            "status": STRING,
            "priority": INTEGER,
            "due_date": NULLABLE_DATE,
            "finish": TIMESTAMP,
            "late": BOOLEAN,
            "operations": array_of("PlannedOperation"),
        }
    ),
    "Schedule": open_obj(
        {
            "planned_at": TIMESTAMP,
            "orders": array_of("PlannedOrder"),
            "resources": STRINGS,
            "horizon": TIMESTAMP,
            "late": array_of("PlannedOrder"),
        }
    ),
    "ItemState": open_obj(
        {
            "item": STRING,
            "status": STRING,
            "current_operation": NULLABLE_STRING,
            "revision": INTEGER,
            "message": STRING,
        }
    ),
    "Item": open_obj(
        {
            "number": STRING,
            "product": STRING,
            "kind": {"enum": ["unit", "lot"]},
            "quantity": NUMBER,
            "status": STRING,
            "status_reason": STRING,
            "current_operation": NULLABLE_STRING,
            "operation_started": BOOLEAN,
            "started_by": NULLABLE_STRING,
            "rework_counts": {"type": "object", "additionalProperties": INTEGER},
            "revision": INTEGER,
            "work_order": STRING,
            "config_version_id": INTEGER,
        }
    ),
    "Check": open_obj({"name": STRING}, {"because": STRING}),
    "StartResult": open_obj(
        {
            "item": STRING,
            "operation": STRING,
            "allowed": BOOLEAN,
            "checks": array_of("Check"),
            "message": STRING,
            "revision": INTEGER,
        }
    ),
    "GateVerdict": open_obj(
        {
            "gate": STRING,
            "outcome": STRING,
            "sampled": BOOLEAN,
            "draw": NUMBER_OR_NULL,
            "because": STRING,
        }
    ),
    "CompleteResult": open_obj(
        {
            "item": STRING,
            "operation": STRING,
            "run_id": INTEGER,
            "route": STRING,
            "next_operation": NULLABLE_STRING,
            "reason": STRING,
            "status": STRING,
            "revision": INTEGER,
            "nonconformance_id": INTEGER_OR_NULL,
            "gates": array_of("GateVerdict"),
        },
        # control-chart signals the completion raised (docs/spc.md), each with its message
        {"spc": {"type": "array", "items": open_obj({"rule": STRING, "message": STRING})}},
    ),
    "Deviation": open_obj(
        {
            "id": INTEGER,
            "number": STRING,
            "product": STRING,
            "operation": STRING,
            "gate": STRING,
            "subject": STRING,
            "low": NUMBER,
            "high": NUMBER,
            "unit": STRING,
            "work_orders": {"type": "array", "items": STRING},
            "valid_from": TIMESTAMP,
            "valid_until": TIMESTAMP,
            "reason": STRING,
            "created_by": STRING,
            "created_at": TIMESTAMP,
            "withdrawn_at": NULLABLE_TIMESTAMP,
            "withdrawn_by": NULLABLE_STRING,
        }
    ),
    "Nonconformance": open_obj(
        {
            "id": INTEGER,
            "item": {**NULLABLE_STRING, "description": "The unit or lot being made, if on one."},
            "lot": {**NULLABLE_STRING, "description": "part/number of a lot of material."},
            "equipment": NULLABLE_STRING,
            "subject": STRING,
            "quantity": {"type": ["number", "null"]},
            "capa": NULLABLE_STRING,
            "capa_url": NULLABLE_STRING,
            "photos": {"type": "array", "items": STRING},
            "dispositions": {
                "type": "array",
                "items": open_obj(
                    {
                        "decision": STRING,
                        "status": {"enum": ["pending", "effective", "rejected"]},
                        "required_roles": {"type": "array", "items": STRING},
                        "missing_roles": {"type": "array", "items": STRING},
                        "signatures": {
                            "type": "array",
                            "items": open_obj(
                                {
                                    "username": STRING,
                                    "role": STRING,
                                    "meaning": STRING,
                                    "signed_at": TIMESTAMP,
                                }
                            ),
                        },
                    }
                ),
            },
            "operation": NULLABLE_STRING,
            "gate": NULLABLE_STRING,
            "defect_code": STRING,
            "description": STRING,
            "opened_by": STRING,
            "opened_at": TIMESTAMP,
            "decision": NULLABLE_STRING,
            "target_operation": NULLABLE_STRING,
            "decided_by": NULLABLE_STRING,
            "decided_at": NULLABLE_TIMESTAMP,
            "open": BOOLEAN,
        }
    ),
    "WipRow": open_obj(
        {
            "work_order": STRING,
            "product": STRING,
            "operation": NULLABLE_STRING,
            "status": STRING,
            "count": INTEGER,
            "quantity": NUMBER,
        }
    ),
    "Event": open_obj(
        {
            "at": TIMESTAMP,
            "kind": STRING,
            "operation": NULLABLE_STRING,
            "actor": STRING,
            "summary": STRING,
            "detail": ANY_OBJECT,
        }
    ),
    "Genealogy": open_obj(
        {
            "root": STRING,
            "items": {"type": "array", "items": ANY_OBJECT},
            "lots": {"type": "array", "items": ANY_OBJECT},
            "runs": {"type": "array", "items": ANY_OBJECT},
            "config_versions": STRING_MAP,
        }
    ),
    "UsedIn": open_obj(
        {
            "number": STRING,
            "product": STRING,
            "status": STRING,
            "depth": INTEGER,
            "via": NULLABLE_STRING,
        }
    ),
    "Lot": open_obj(
        {
            "id": INTEGER,
            "part": STRING,
            "number": STRING,
            "quantity": NUMBER,
            "received_quantity": NUMBER,
            "unit": STRING,
            "status": STRING,
            "expires_on": NULLABLE_DATE,
            "supplier": STRING,
            "hold_reason": {"type": ["string", "null"]},
        }
    ),
    "Version": open_obj(
        {
            "id": INTEGER,
            "site": STRING,
            "content_hash": STRING,
            "created_at": TIMESTAMP,
            "created_by": STRING,
            "note": STRING,
            "files": INTEGER,
            "active": BOOLEAN,
        }
    ),
    "Diagnostic": open_obj(
        {
            "severity": {"enum": ["error", "warning"]},
            "path": STRING,
            "line": INTEGER,
            "col": INTEGER,
            "message": STRING,
        },
        {"end_line": INTEGER, "end_col": INTEGER, "hint": NULLABLE_STRING},
    ),
    "Approval": open_obj(
        {
            "activation": INTEGER,
            "version": INTEGER,
            "username": STRING,
            "full_name": STRING,
            "role": STRING,
            "meaning": STRING,
            "signed_at": TIMESTAMP,
            "content_hash": STRING,
        }
    ),
    "ConfigTests": open_obj(
        {
            "cases": INTEGER,
            "passed": INTEGER,
            "failures": {
                "type": "array",
                "items": open_obj({"file": STRING, "line": INTEGER, "message": STRING}),
            },
            "problems": STRINGS,
            "output": STRING,
            "ok": BOOLEAN,
            "summary": STRING,
        }
    ),
    "FileChange": open_obj(
        {
            "path": STRING,
            "change": {"enum": ["added", "removed", "changed"]},
            "binary": BOOLEAN,
            "lines": STRINGS,
        }
    ),
    "Deployment": open_obj(
        {"version": ref("Version"), "created": BOOLEAN, "warnings": array_of("Diagnostic")},
        {
            "approval": {"oneOf": [ref("Approval"), {"type": "null"}]},
            "tests": {"oneOf": [ref("ConfigTests"), {"type": "null"}]},
        },
    ),
    "Review": open_obj(
        {
            "ok": BOOLEAN,
            "site": NULLABLE_STRING,
            "diagnostics": array_of("Diagnostic"),
            "active_version": INTEGER_OR_NULL,
            "changes": array_of("FileChange"),
            "tests": {"oneOf": [ref("ConfigTests"), {"type": "null"}]},
            "tests_problem": NULLABLE_STRING,
            "change_control": {
                "oneOf": [
                    open_obj({"approver": STRING, "meaning": STRING, "two_person": BOOLEAN}),
                    {"type": "null"},
                ]
            },
        }
    ),
    "AuditEntry": open_obj(
        {
            "seq": INTEGER,
            "at": TIMESTAMP,
            "actor": STRING,
            "action": STRING,
            "entity": STRING,
            "entity_id": STRING,
            "old": {"type": ["object", "null"]},
            "new": {"type": ["object", "null"]},
            "reason": STRING,
        }
    ),
    "AuditPage": open_obj(
        {
            "entries": array_of("AuditEntry"),
            "older": {
                **INTEGER_OR_NULL,
                "description": "Pass it as 'before' for the next (older) page; null: no more.",
            },
        }
    ),
    "Validation": open_obj(
        {"ok": BOOLEAN, "site": NULLABLE_STRING, "diagnostics": array_of("Diagnostic")}
    ),
    "TagValue": open_obj(
        {
            "key": STRING,
            "unit": NULLABLE_STRING,
            "value": {"type": ["number", "boolean", "string", "null"]},
            "quality": {"enum": ["good", "bad", "stale", "unknown"]},
            "age_s": NUMBER_OR_NULL,
            "reason": {
                **NULLABLE_STRING,
                "description": 'Why rules cannot use the value ("press1: connection refused 12 s '
                'ago"); null when they can.',
            },
            "writable": BOOLEAN,
        }
    ),
    "Device": open_obj(
        {
            "name": STRING,
            "protocol": {"enum": ["opcua", "modbus"]},
            "description": STRING,
            "tags": array_of("TagValue"),
        }
    ),
}

_ERRORS = {
    400: "The request is malformed; the message names the field.",
    401: "No valid session or API token.",
    403: "None of the caller's roles may do this.",
    404: "A named thing (work order, unit, lot, version) does not exist.",
    409: "Wrong state for this command, an interlock blocks it, or someone else changed it first.",
    422: "The data breaks a rule of the plant config; the message names the field.",
}


def error_responses(has_body: bool, has_params: bool, is_command: bool) -> tuple[Response, ...]:
    """The error responses a route can give, each with the Error body."""
    statuses = [401, 403]
    if has_body:
        statuses.append(400)
    if has_params or is_command:
        statuses.append(404)
    if is_command:
        statuses += [409, 422]
    return tuple(Response(s, _ERRORS[s], ref("Error")) for s in sorted(statuses))
