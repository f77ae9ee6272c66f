"""The JSON API under ``/api``: a thin layer that checks roles, validates bodies and calls the
engine. Every route is declared with :func:`web.openapi.api_route`, which also documents it.

Commands take the caller as the actor and honour the ``Idempotency-Key`` header: the engine's
commands store the key with their result in their own transaction; the few commands the web layer
runs itself (tokens, deploy, rollback) replay a stored result the same way (see :func:`_once`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request

from dsl.loader import load_files
from engine import access, versions
from engine.base import utcnow
from engine.bom import ConsumptionInput
from engine.errors import Blocked, NotFound
from engine.idempotency import fingerprint, run_once
from engine.production_tables import DISPOSITIONS
from engine.signatures import SignatureInput
from web.auth import require_caller
from web.errors import BadRequest
from web.metrics import INTERLOCK_BLOCKS
from web.openapi import api_route, document, idempotency_key, payload
from web.schemas import (
    ANY_OBJECT,
    BOOLEAN,
    INTEGER,
    NULLABLE_STRING,
    NULLABLE_TIMESTAMP,
    NUMBER,
    ROLE,
    STRING,
    STRING_MAP,
    STRINGS,
    TEXT,
    array_of,
    obj,
    open_obj,
    ref,
)
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api", __name__, url_prefix="/api")

ANYONE: tuple[str, ...] = ()
ADMIN = ("admin",)
PLANNERS = ("supervisor", "admin")
RUNNERS = ("operator", "supervisor")
HOLDERS = ("supervisor", "quality")
REPORTERS = ("operator", "supervisor", "quality")
QUALITY = ("quality",)
CONFIGURERS = ("engineer", "admin")


def _json(data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(data), status


def _actor() -> str:
    return require_caller().username


def _instant(value: str | None, field: str) -> dt.datetime | None:
    """An ISO 8601 timestamp with its offset, e.g. ``2027-01-31T12:00:00Z``."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(
            f"{field}: {value!r} is not a timestamp with a time zone; "
            "write it like 2027-01-31T12:00:00Z.",
            field=field,
        )
    return parsed


@dataclass(frozen=True, slots=True)
class _Stored:
    """A web-run command's JSON result, as the idempotency store keeps it."""

    data: Mapping[str, Any]

    def to_json(self) -> Mapping[str, Any]:
        return self.data


class _FirstTime(Exception):
    """No result is stored for this idempotency key yet."""


def _not_stored() -> _Stored:
    raise _FirstTime


def _once(
    command: str, request_data: Mapping[str, Any], run: Callable[[], Mapping[str, Any]]
) -> Mapping[str, Any]:
    """Run a command that owns its transaction at most once per ``Idempotency-Key``.

    A stored result is replayed (the same key with a different request is a 409); otherwise the
    command runs and its result is stored afterwards. Two requests racing with one new key may
    both run; the commands used here (token, deploy, rollback) make that harmless or a 409.
    """
    key = idempotency_key()
    if key is None:
        return run()
    print_ = fingerprint(command, {"actor": _actor(), **request_data})
    db = services().db
    try:
        with db.session() as session:
            return run_once(session, key, command, print_, _not_stored, load=_Stored).data
    except _FirstTime:
        pass
    result = run()
    with db.transaction() as session:
        stored = run_once(session, key, command, print_, lambda: _Stored(result), load=_Stored)
    return stored.data


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document (public: it describes, it grants nothing)."""
    return jsonify(document())


# ---------------------------------------------------------------- who am I


@api_route(
    bp,
    "/me",
    "GET",
    summary="The caller's username and roles",
    tag="access",
    roles=ANYONE,
    responses=(
        Doc(
            200,
            "The caller.",
            open_obj(
                {
                    "username": STRING,
                    "roles": {"type": "array", "items": STRING},
                    "via": {"enum": ["session", "token"]},
                }
            ),
        ),
    ),
)
def me() -> tuple[Response, int]:
    caller = require_caller()
    return _json({"username": caller.username, "roles": sorted(caller.roles), "via": caller.via})


# ---------------------------------------------------------------- API tokens


@api_route(
    bp,
    "/tokens",
    "GET",
    summary="List API tokens",
    tag="access",
    roles=ADMIN,
    responses=(Doc(200, "Every token, newest first (never with its secret).", array_of("Token")),),
)
def list_tokens() -> tuple[Response, int]:
    with services().db.session() as session:
        return _json([t.to_json() for t in access.list_tokens(session)])


@api_route(
    bp,
    "/tokens",
    "POST",
    summary="Create an API token for a machine client",
    tag="access",
    roles=ADMIN,
    command=True,
    body=obj(
        {"name": TEXT, "username": TEXT, "roles": {"type": "array", "items": ROLE, "minItems": 1}},
        {"expires_at": NULLABLE_TIMESTAMP},
    ),
    responses=(Doc(201, "The token and its secret, shown only this once.", ref("NewToken")),),
)
def create_token() -> tuple[Response, int]:
    body = payload()
    expires_at = _instant(body.get("expires_at"), "expires_at")

    def run() -> Mapping[str, Any]:
        with services().db.transaction() as session:
            token, secret = access.create_token(
                session,
                name=body["name"],
                username=body["username"],
                roles=tuple(body["roles"]),
                created_by=_actor(),
                expires_at=expires_at,
            )
        return {"token": token.to_json(), "secret": secret}

    return _json(_once("create_token", body, run), 201)


@api_route(
    bp,
    "/tokens/<int:token_id>",
    "DELETE",
    summary="Revoke an API token",
    tag="access",
    roles=ADMIN,
    command=True,
    responses=(Doc(200, "The revoked token.", ref("Token")),),
)
def revoke_token(token_id: int) -> tuple[Response, int]:
    with services().db.transaction() as session:
        token = access.revoke_token(
            session, token_id, actor=require_caller().username, now=utcnow()
        )
    if token is None:
        raise NotFound(f"There is no API token {token_id}; list them with GET /api/tokens.")
    return _json(token.to_json())
