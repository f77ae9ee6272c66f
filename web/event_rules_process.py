"""``ferrule rules``: the one process per site that evaluates the deployed plant's event rules.

It runs next to the adapter process and reads the same shared tag cache the web workers read
(:class:`web.tags.CacheTagSource`), writes setpoints through the adapter process's control socket
(like operation starts do), and records every firing in the database (engine.facade.event_rules).
Web workers never evaluate event rules: one evaluator per site fires each episode once.

The same process opens the maintenance orders that have come due (warned, due by days or by a
usage counter) once a minute, so an order appears with nobody looking at the equipment pages.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import click

from adapters.control import ControlClient, socket_next_to
from engine.facade.equipment import EquipmentCare
from engine.facade.event_rules import EventRules
from engine.infra.db import Database
from web.settings import Settings
from web.tags import CacheTagSource

LOG = logging.getLogger("ferrule.rules")
ORDERS_EVERY_S = 60.0


@click.command("rules")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The adapter process's tag cache; default FERRULE_TAG_CACHE or var/tags.mmap.",
)
@click.option(
    "--period",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0.01, 10.0),
    help="Seconds between two evaluations of every rule.",
)
def rules_command(cache_path: Path | None, period: float) -> None:
    """Evaluate the deployed plant's event rules on live tags until stopped (see
    docs/event-rules.md)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    settings = Settings.from_env()
    cache = cache_path or settings.tag_cache
    facade = EventRules(Database.from_url(settings.database_url))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    count = len(facade.active_plant().event_rules)
    click.echo(f"rules: evaluating {count} event rules on {cache} every {period:g} s")
    tags = CacheTagSource(cache)
    care = EquipmentCare(facade.db, tags)
    threading.Thread(target=open_due_orders, args=(care, stop), daemon=True).start()
    facade.run(tags, ControlClient(socket_next_to(cache)), stop, period_s=period)


def open_due_orders(care: EquipmentCare, stop: threading.Event) -> None:
    """Open the maintenance orders that have come due, every :data:`ORDERS_EVERY_S` until
    ``stop``; a failure is logged and tried again next time."""
    while not stop.is_set():
        try:
            for order in care.open_due_orders():
                LOG.warning("maintenance order %s opened for %s", order.number, order.equipment)
        except Exception:
            LOG.exception("opening due maintenance orders failed; trying again in a minute")
        stop.wait(ORDERS_EVERY_S)
