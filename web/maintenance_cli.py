"""``ferrule maintenance open-due``: open the maintenance orders that have come due.

The same cheap, idempotent step the equipment and maintenance pages take on every read, for a
cron job or a shift start: usage counter tags are read from the adapter process's tag cache (an
unreadable counter opens nothing by uses; the interlock blocks on it meanwhile)."""

from __future__ import annotations

from pathlib import Path

import click

from adapters.control import ControlClient, socket_next_to
from engine.errors import DomainError
from engine.facade.equipment import EquipmentCare
from engine.infra.db import Database
from web.settings import Settings
from web.tags import CacheTagSource


@click.group("maintenance")
def maintenance_command() -> None:
    """Preventive maintenance orders."""


@maintenance_command.command("open-due")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The adapter process's tag cache; default FERRULE_TAG_CACHE or var/tags.mmap.",
)
def open_due(cache_path: Path | None) -> None:
    """Open an order for every machine whose maintenance is warned or due and has none."""
    settings = Settings.from_env()
    cache = cache_path or settings.tag_cache
    care = EquipmentCare(
        Database.from_url(settings.database_url),
        CacheTagSource(cache),
        ControlClient(socket_next_to(cache)),
    )
    try:
        opened = care.open_due_orders()
    except DomainError as error:
        raise click.ClickException(error.message) from error
    for order in opened:
        click.echo(f"{order.number} {order.equipment}: {order.reason}")
    click.echo(f"{len(opened)} maintenance orders opened")
