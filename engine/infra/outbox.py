"""The transactional outbox: an event row beside every audit row others care about.

:func:`engine.infra.audit.append` calls :func:`write` with the audit rows it is about to insert,
in the same transaction, so an event exists exactly when its change was committed (a rolled-back
command leaves neither). Only changes to the entities in :data:`PUBLISHED` become events; people,
tokens, sessions and signatures stay inside. Each event has a stable id (a UUID, the same on
every redelivery), its audit ``seq`` (commit order), the record it is about (``entity`` and
``entity_id``: the per-record ordering key) and its JSON payload (docs/events.md, the schema in
docs/events.schema.json).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from engine.infra.statements import Sql, insert_rows
from engine.records.base import Base
from engine.records.events import OutboxEvent

PAYLOAD_VERSION = 1
# The entities whose changes others care about (a new kind of record adds its entity here).
PUBLISHED = frozenset(
    {
        "item",  # operation started/completed, hold/release, created, consumed, blocked starts
        "work_order",  # created, released, cancelled, completed
        "nonconformance",  # opened, dispositioned
        "lot",  # received, consumed, held, released, scrapped
        "equipment",  # state changes, calibration and maintenance dates
        "config_version",  # deployed, activated, rolled back
        "audit_anchor",  # signed checkpoints of the audit chain
        "event_rule",  # an event rule fired, or its rate limit suppressed a firing
    }
)
_HEAD = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_INSERT_EVENTS = insert_rows(Base.metadata.tables[OutboxEvent.__tablename__])


def write(sql: Sql, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert the events of the audit ``rows`` (those about a :data:`PUBLISHED` entity)."""
    events = [event_row(row) for row in rows if row["entity"] in PUBLISHED]
    sql.executemany(_INSERT_EVENTS, events)


def event_row(audit_row: Mapping[str, Any]) -> dict[str, Any]:
    """The outbox row of one audit row (``old``/``new`` are already canonical JSON text)."""
    event_id = str(uuid.uuid4())
    head = _HEAD.encode(
        {
            "version": PAYLOAD_VERSION,
            "id": event_id,
            "seq": audit_row["seq"],
            "at": audit_row["at"].isoformat(),
            "type": f"{audit_row['entity']}.{audit_row['action']}",
            "entity": audit_row["entity"],
            "entity_id": audit_row["entity_id"],
            "action": audit_row["action"],
            "actor": audit_row["actor"],
            "reason": audit_row["reason"],
        }
    )
    payload = f'{head[:-1]},"old":{audit_row["old"]},"new":{audit_row["new"]}}}'
    return {
        "seq": audit_row["seq"],
        "event_id": event_id,
        "at": audit_row["at"],
        "entity": audit_row["entity"],
        "entity_id": audit_row["entity_id"],
        "action": audit_row["action"],
        "payload": payload,
    }


_TEXT = {"type": "string"}
_STATE = {
    "description": "The record's audited values before/after the change (null: none).",
    "type": ["object", "null"],
}
# The payload of every event, as published at docs/events.schema.json and /api/events/schema.json.
EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://ferrule.example/schemas/event-v1.json",
    "title": "Ferrule event",
    "description": "One committed change of a Ferrule record, delivered at least once.",
    "type": "object",
    "required": [
        "version",
        "id",
        "seq",
        "at",
        "type",
        "entity",
        "entity_id",
        "action",
        "actor",
        "reason",
        "old",
        "new",
    ],
    "additionalProperties": False,
    "properties": {
        "version": {"const": PAYLOAD_VERSION},
        "id": {
            "description": "Stable event id: the same on every redelivery; de-duplicate by it.",
            "type": "string",
            "format": "uuid",
        },
        "seq": {
            "description": "The audit record's number: increases in commit order; order by it.",
            "type": "integer",
            "minimum": 1,
        },
        "at": {
            "description": "When the change was committed (UTC).",
            **_TEXT,
            "format": "date-time",
        },
        "type": {"description": "entity.action, e.g. item.complete", **_TEXT},
        "entity": {"description": "The kind of record.", "enum": sorted(PUBLISHED)},
        "entity_id": {"description": "The record's number or id.", **_TEXT},
        "action": {"description": "What happened to it, e.g. complete, hold, release.", **_TEXT},
        "actor": {"description": "Who did it (a username or a process).", **_TEXT},
        "reason": {"description": "Why, as recorded in the audit trail.", **_TEXT},
        "old": _STATE,
        "new": _STATE,
    },
}
