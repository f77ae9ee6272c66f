"""``ferrule tokens``: create, list and revoke API tokens for machine clients (ERP, scripts)."""

from __future__ import annotations

import click

from engine.errors import DomainError
from engine.facade.access import Access
from engine.infra.db import Database


@click.group("tokens")
def tokens_command() -> None:
    """API tokens for machine clients, each scoped to roles of its user."""


@tokens_command.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. 'SAP ERP'.")
@click.option("--user", "username", required=True, help="The user the token acts as.")
@click.option("--role", "roles", multiple=True, required=True, help="A role it may use (repeat).")
@click.option(
    "--by",
    "actor",
    required=True,
    help="Who makes it: the user, or someone who holds the roles too (the audit names both).",
)
def create(name: str, username: str, roles: tuple[str, ...], actor: str) -> None:
    """Create a token and print its secret (shown only this once)."""
    try:
        created = Access(Database.from_url()).create_token(
            actor=actor, name=name, username=username, roles=roles
        )
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"token {created.token.id} for {username} ({', '.join(created.token.roles)}):")
    click.echo(created.secret)


@tokens_command.command("list")
def list_() -> None:
    """List tokens (never their secrets)."""
    for token in Access(Database.from_url()).tokens():
        state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
        click.echo(
            f"{token.id:>4}  {token.name:<20} {token.username:<16} "
            f"{','.join(token.roles):<24} {state}"
        )


@tokens_command.command("revoke")
@click.argument("token_id", type=int)
@click.option("--by", "actor", default="admin", show_default=True)
def revoke(token_id: int, actor: str) -> None:
    """Revoke a token at once."""
    if Access(Database.from_url()).revoke_token(actor=actor, token_id=token_id) is None:
        raise click.ClickException(f"there is no token {token_id}; see `ferrule tokens list`")
    click.echo(f"token {token_id} revoked")
