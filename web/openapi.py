"""The OpenAPI 3.1 document, built from what each API route declares next to its code.

A route is declared with :func:`api_route`: its path, method, roles, request body schema and
response schemas. The same declaration registers the Flask route, enforces the roles, validates
the JSON body (a bad body is a 400 naming the field; see :func:`web.limits.read_json` for what a
body may hold) and becomes the route's entry in
``/api/openapi.json`` — so the document cannot drift from the routes. Schemas are JSON Schema
2020-12, which OpenAPI 3.1 uses as it is; shared ones live in :mod:`web.schemas`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, g, request
from jsonschema import Draft202012Validator, ValidationError

from dsl.diagnostics import did_you_mean
from web.auth import requires
from web.errors import BadRequest
from web.limits import read_json
from web.schemas import COMPONENTS, Response, error_responses

Schema = Mapping[str, Any]
View = Callable[..., Any]

IDEMPOTENCY_HEADER = "Idempotency-Key"
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class ApiOperation:
    """A documented API route."""

    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    roles: tuple[str, ...]
    body: Schema | None
    responses: tuple[Response, ...]
    command: bool
    query: Mapping[str, Schema] = field(default_factory=dict)
    body_required: bool = True

    @property
    def path(self) -> str:
        """The OpenAPI path (``/work-orders/{number}``) of the Flask rule."""
        return _CONVERTER.sub(r"{\1}", self.rule)

    def response(self, status: int) -> Response | None:
        return next((r for r in self.responses if r.status == status), None)


OPERATIONS: list[ApiOperation] = []


def api_route(
    bp: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    roles: tuple[str, ...],
    responses: tuple[Response, ...],
    body: Schema | None = None,
    command: bool = False,
    query: Mapping[str, Schema] | None = None,
    body_required: bool = True,
) -> Callable[[View], View]:
    """Declare, guard, validate and register one API route (see the module docstring).

    ``command`` routes change state and honour the ``Idempotency-Key`` header
    (:func:`idempotency_key`). ``body`` routes get the validated JSON from :func:`payload`
    (an empty object when the body is not ``body_required`` and the request sends none).
    """
    validator = _validator(body) if body is not None else None

    def decorate(view: View) -> View:
        endpoint = f"{bp.name}.{view.__name__}"
        OPERATIONS.append(
            ApiOperation(
                method=method.lower(),
                rule=(bp.url_prefix or "") + rule,
                endpoint=endpoint,
                summary=summary,
                tag=tag,
                roles=roles,
                body=body,
                responses=responses,
                command=command,
                query=dict(query or {}),
                body_required=body_required,
            )
        )

        @functools.wraps(view)
        def validated(*args: Any, **kwargs: Any) -> Any:
            if validator is not None and (body_required or request.get_data(cache=True)):
                g.payload = _validated_body(validator)
            elif validator is not None:
                g.payload = {}
            return view(*args, **kwargs)

        guarded = requires(*roles)(validated)
        bp.add_url_rule(rule, view.__name__, guarded, methods=[method.upper()])
        return guarded

    return decorate


def payload() -> dict[str, Any]:
    """The request's JSON body, already checked against the route's schema."""
    body: dict[str, Any] = g.payload
    return body


def idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header, if the client sent one."""
    return request.headers.get(IDEMPOTENCY_HEADER) or None


def _validator(schema: Schema) -> Draft202012Validator:
    resolvable = {**schema, "$defs": {**COMPONENTS, **schema.get("$defs", {})}}
    return Draft202012Validator(_local_refs(resolvable))


def _local_refs(schema: Any) -> Any:
    """Point ``#/components/schemas/X`` references at ``#/$defs/X`` for local validation."""
    if isinstance(schema, Mapping):
        return {
            k: (v.replace("#/components/schemas/", "#/$defs/") if k == "$ref" else _local_refs(v))
            for k, v in schema.items()
        }
    if isinstance(schema, list):
        return [_local_refs(v) for v in schema]
    return schema


def _validated_body(validator: Draft202012Validator) -> dict[str, Any]:
    if not request.is_json:
        raise BadRequest("Send the request body as JSON with 'Content-Type: application/json'.")
    data = read_json(request.get_data(cache=True))
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        raise _describe(errors[0])
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def _field_name(path: Any) -> str:
    return ".".join(str(part) for part in path)


def _describe(error: ValidationError) -> BadRequest:
    """A validation error as a sentence that names the field and says what it should be."""
    where = _field_name(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance: Any = error.instance
    expected: Any = error.validator_value
    if error.validator == "required":
        missing = next(p for p in expected if p not in instance)
        name = f"{where}.{missing}" if where else missing
        return BadRequest(f"{name}: this field is required.", field=name)
    if error.validator == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = next(p for p in instance if p not in known)
        name = f"{where}.{extra}" if where else extra
        hint = did_you_mean(extra, known)
        text = f"{name}: unknown field" + (f"; {hint}" if hint else "; remove it")
        return BadRequest(text, field=name)
    label = where or "body"
    if error.validator == "type":
        kinds = " or ".join(expected) if isinstance(expected, list) else expected
        return BadRequest(f"{label}: expected {_article(kinds)}, got {instance!r}.", field=where)
    if error.validator == "enum":
        choices = ", ".join(repr(c) for c in expected)
        return BadRequest(f"{label}: {instance!r} is not one of {choices}.", field=where)
    if error.validator in ("minimum", "exclusiveMinimum"):
        return BadRequest(f"{label}: {instance!r} is below the minimum {expected}.", field=where)
    if error.validator in ("maximum", "exclusiveMaximum"):
        return BadRequest(f"{label}: {instance!r} is above the maximum {expected}.", field=where)
    if error.validator == "minLength":
        return BadRequest(f"{label}: must not be empty.", field=where)
    if error.validator == "maxLength":
        return BadRequest(f"{label}: longer than {expected} characters.", field=where)
    return BadRequest(f"{label}: {error.message}.", field=where)


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every declared route."""
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ferrule API",
            "version": "1",
            "description": (
                "Work orders, execution, holds, nonconformances, genealogy, records, config "
                "versions and devices of a Ferrule site. Authenticate with 'Authorization: Bearer "
                "<token>' (API tokens are scoped by role) or a signed-in session plus the "
                "X-CSRF-Token header. Commands accept an Idempotency-Key header: a retry with the "
                "same key returns the first result."
            ),
        },
        "servers": [{"url": "/"}],
        "components": {
            "schemas": dict(COMPONENTS),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "ferrule_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


def _operation(op: ApiOperation) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _CONVERTER.findall(op.rule)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": dict(schema)}
        for name, schema in op.query.items()
    ]
    if op.command:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "A unique string (a UUID); a retry with it gets the first result.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
        )
    roles = ", ".join(op.roles) if op.roles else "any signed-in user"
    entry: dict[str, Any] = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "description": f"Roles: {roles}.",
        "tags": [op.tag],
        "parameters": parameters,
        "responses": {},
    }
    if op.body is not None:
        entry["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": dict(op.body)}},
        }
    has_params = bool(_CONVERTER.search(op.rule))
    for response in (*op.responses, *error_responses(op.body is not None, has_params, op.command)):
        content = (
            {response.media_type: {"schema": dict(response.schema)}} if response.schema else {}
        )
        entry["responses"].setdefault(
            str(response.status),
            {"description": response.description, **({"content": content} if content else {})},
        )
    return entry
