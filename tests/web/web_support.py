"""Helpers for the web tests: the test users, signing in, API calls checked against OpenAPI."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import MetaData, func, select
from testdata import PASSWORD

import engine.access.tokens
from engine.access import people
from engine.infra.db import Database

# username → roles; every role once, plus a user with two roles, an admin who also runs the line
# (and so may make tokens for operators and supervisors), and one with none
USERS: dict[str, tuple[str, ...]] = {
    "anna": ("operator",),
    "sam": ("supervisor",),
    "quinn": ("quality",),
    "eve": ("engineer",),
    "ada": ("admin",),
    "omar": ("operator", "supervisor"),
    "olivia": ("admin", "operator", "supervisor"),
    "nobody": (),
}


def csrf_of(client: FlaskClient) -> str:
    """The CSRF token of the client's session (loads the sign-in form to get one)."""
    page = client.get("/signin").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in; returns the session's CSRF token for later unsafe requests."""
    response = client.post(
        "/signin",
        data={"username": username, "password": password, "csrf_token": csrf_of(client)},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_of(client)


def alerts_of(response: Any) -> list[str]:
    """The texts of a page's ``role="alert"`` messages, unescaped, in page order: what a person
    is told (the sign-in form's refusal, an error page's message)."""
    page = response.get_data(as_text=True)
    found = re.findall(r'<p\b[^>]*\brole="alert"[^>]*>(.*?)</p>', page, flags=re.S)
    return [html.unescape(text).strip() for text in found]


# ---------------------------------------------------------------- what is in the database


def table_rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the database, by table name, in a stable order: equal before
    and after a request when the request changed nothing. The tables are read from the database
    itself, so a table added later is covered too."""
    metadata = MetaData()
    metadata.reflect(bind=db.engine)
    with db.engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in metadata.sorted_tables
        }


def row_count(db: Database, table: str) -> int:
    """How many rows the table named ``table`` holds."""
    metadata = MetaData()
    metadata.reflect(bind=db.engine, only=[table])
    with db.engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(metadata.tables[table]))
    return int(count or 0)


# ---------------------------------------------------------------- API calls checked against OpenAPI


class Api:
    """Calls the API as a user (through an API token of all their roles) and checks every answer
    against the OpenAPI document: the status is documented and the body matches its schema."""

    def __init__(self, app: Flask, db: Database) -> None:
        self.app = app
        self.client = app.test_client()
        self.db = db
        self.secrets: dict[str, str] = {}
        self.document = self.client.get("/api/openapi.json").json
        assert self.document is not None

    def token(self, username: str) -> str:
        if username not in self.secrets:
            with self.db.transaction() as session:
                roles = tuple(people.roles_of(session, username))
                _, secret = engine.access.tokens.create_token(
                    session, name="tests", username=username, roles=roles, created_by="test"
                )
            self.secrets[username] = secret
        return self.secrets[username]

    def call(
        self,
        method: str,
        path: str,
        user: str | None,
        json: object = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        response = self.client.open(path, method=method, json=json, headers=sent)
        check_against_openapi(self.app, self.document, method, path, response)
        return response

    def metrics_token(self) -> str:
        """The token of a scraper: a user holding only the ``metrics`` role."""
        if "prometheus" not in self.secrets:
            with self.db.transaction() as session:
                people.create_user(session, "prometheus", actor="test")
                people.grant_role(session, "prometheus", people.METRICS, actor="test")
        return self.token("prometheus")

    def get(self, path: str, user: str | None) -> Any:
        return self.call("GET", path, user)

    def post(self, path: str, user: str | None, json: object = None, **kw: Any) -> Any:
        return self.call("POST", path, user, json=json, **kw)


def check_against_openapi(
    app: Flask, document: dict[str, Any], method: str, path: str, response: Any
) -> None:
    """Assert the response's status is documented for the route and its body fits the schema."""
    rule, _ = app.url_map.bind("localhost").match(
        path.split("?", maxsplit=1)[0], method=method, return_rule=True
    )
    openapi_path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
    operation = document["paths"][openapi_path][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, (
        f"{method} {openapi_path} answered {response.status_code}, which is not documented: "
        f"{response.get_data(as_text=True)}"
    )
    schema = documented.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return
    resolvable = _local_refs({**schema, "$defs": document["components"]["schemas"]})
    errors = list(Draft202012Validator(resolvable).iter_errors(response.json))
    assert not errors, f"{method} {openapi_path} {response.status_code}: {errors[0].message}"


def _local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI component references rewritten to local ``$defs`` for jsonschema."""
    text = json.dumps(schema).replace("#/components/schemas/", "#/$defs/")
    result: dict[str, Any] = json.loads(text)
    return result
