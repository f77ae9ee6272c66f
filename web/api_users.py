"""The users API under ``/api/users``: what an admin does on the users pages, for scripts and
identity systems — list users, deactivate and reactivate, reset a password, grant a qualification
with its training record, revoke a role or a qualification. (API tokens are under
``/api/tokens``.) Each change is audited by the engine and answers with the user as it is now;
a password, account or role change ends the user's sessions and tokens there too."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, jsonify

from engine.facade.access import Access
from web.auth import require_caller
from web.openapi import api_route, payload
from web.schemas import (
    BOOLEAN,
    DATE,
    NAME,
    NULLABLE_DATE,
    STRING,
    STRINGS,
    TEXT,
    Schema,
    obj,
    open_obj,
    ref,
)
from web.schemas import Response as Doc
from web.services import services

bp = Blueprint("api_users", __name__, url_prefix="/api")

ADMIN = ("admin",)
TAG = "users"
USER: Schema = open_obj(
    {
        "username": STRING,
        "full_name": STRING,
        "active": BOOLEAN,
        "has_password": BOOLEAN,
        "roles": STRINGS,
        "qualifications": {
            "type": "array",
            "items": open_obj(
                {
                    "name": STRING,
                    "granted_on": DATE,
                    "expires_on": NULLABLE_DATE,
                    "granted_by": STRING,
                    "evidence": STRING,
                    "evidence_sha256": STRING,
                }
            ),
        },
    }
)
REASON = obj({"reason": TEXT})
REFUSED = (
    Doc(
        409,
        "The user is not in a state for this (already deactivated, no such role).",
        ref("Error"),
    ),
    Doc(422, "The request breaks a rule; the message names the field.", ref("Error")),
)
CHANGED = (Doc(200, "The user as it is now.", USER), *REFUSED)


def _changed(username: str, change: Callable[[Access, str], object]) -> tuple[Response, int]:
    access = services().access
    change(access, require_caller().username)
    return jsonify(access.user(username).to_json()), 200


@api_route(
    bp,
    "/users",
    "GET",
    summary="List users with their roles and qualifications",
    tag=TAG,
    roles=ADMIN,
    responses=(Doc(200, "Every user, by username.", {"type": "array", "items": USER}),),
)
def list_users() -> tuple[Response, int]:
    return jsonify([u.to_json() for u in services().access.users()]), 200


@api_route(
    bp,
    "/users/<username>",
    "GET",
    summary="One user with roles and qualifications (who granted each, on what evidence)",
    tag=TAG,
    roles=ADMIN,
    responses=(Doc(200, "The user.", USER),),
)
def get_user(username: str) -> tuple[Response, int]:
    return jsonify(services().access.user(username).to_json()), 200


@api_route(
    bp,
    "/users/<username>/deactivate",
    "POST",
    summary="Deactivate a user: their sessions and tokens end at once",
    tag=TAG,
    roles=ADMIN,
    body=REASON,
    responses=CHANGED,
)
def deactivate_user(username: str) -> tuple[Response, int]:
    reason = payload()["reason"]
    return _changed(
        username, lambda a, actor: a.deactivate(actor=actor, username=username, reason=reason)
    )


@api_route(
    bp,
    "/users/<username>/reactivate",
    "POST",
    summary="Let a deactivated user sign in again",
    tag=TAG,
    roles=ADMIN,
    body=REASON,
    responses=CHANGED,
)
def reactivate_user(username: str) -> tuple[Response, int]:
    reason = payload()["reason"]
    return _changed(
        username, lambda a, actor: a.reactivate(actor=actor, username=username, reason=reason)
    )


@api_route(
    bp,
    "/users/<username>/password",
    "POST",
    summary="Set a new password for a user: their sessions and tokens end",
    tag=TAG,
    roles=ADMIN,
    body=obj({"password": TEXT}),
    responses=CHANGED,
)
def reset_password(username: str) -> tuple[Response, int]:
    password = payload()["password"]
    return _changed(
        username,
        lambda a, actor: a.reset_password(actor=actor, username=username, password=password),
    )


@api_route(
    bp,
    "/users/<username>/roles/<role>/revoke",
    "POST",
    summary="Revoke a role: the user's sessions and tokens end",
    tag=TAG,
    roles=ADMIN,
    body=REASON,
    responses=CHANGED,
)
def revoke_role(username: str, role: str) -> tuple[Response, int]:
    reason = payload()["reason"]
    return _changed(
        username,
        lambda a, actor: a.revoke_role(actor=actor, username=username, role=role, reason=reason),
    )


@api_route(
    bp,
    "/users/<username>/qualifications",
    "POST",
    summary="Grant a qualification with the training record it rests on",
    tag=TAG,
    roles=ADMIN,
    body=obj({"qualification": NAME, "evidence": TEXT}),
    responses=CHANGED,
)
def grant_qualification(username: str) -> tuple[Response, int]:
    body = payload()
    return _changed(
        username,
        lambda a, actor: a.grant_qualification(
            actor=actor,
            username=username,
            qualification=body["qualification"],
            evidence=body["evidence"],
        ),
    )


@api_route(
    bp,
    "/users/<username>/qualifications/<qualification>/revoke",
    "POST",
    summary="Withdraw a qualification from today on",
    tag=TAG,
    roles=ADMIN,
    body=REASON,
    responses=CHANGED,
)
def revoke_qualification(username: str, qualification: str) -> tuple[Response, int]:
    reason = payload()["reason"]
    return _changed(
        username,
        lambda a, actor: a.revoke_qualification(
            actor=actor, username=username, qualification=qualification, reason=reason
        ),
    )
