"""The ``ferrule`` command: the composition root that gathers each layer's commands.

Each sub-command's module is imported only when that sub-command runs: together they pull in
SQLAlchemy, Alembic, asyncua and gunicorn, seconds of start-up that ``ferrule --help`` and
``ferrule check`` do not need. :data:`COMMANDS` names where each one lives and keeps its one-line
help, so that listing them imports none.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A sub-command imported on first use: its one-line help and what imports it."""

    short_help: str
    load: Callable[[], click.Command]


def imported(path: str) -> Any:
    """The object at ``path`` (``package.module:attribute``), importing its module."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def checked_command(found: object, origin: str) -> click.Command:
    """``found``, checked to be the click command that ``origin`` promises."""
    if not isinstance(found, click.Command):
        raise TypeError(f"{origin} is not a click command: {found!r}")
    return found


def command_at(path: str) -> Callable[[], click.Command]:
    """What imports the click command at ``path`` (``package.module:attribute``)."""
    return lambda: checked_command(imported(path), path)


def adapters_with_database_recorder() -> click.Command:
    """``ferrule adapters``, storing equipment state changes in the configured database."""
    make_adapters_command = imported("adapters.cli:make_adapters_command")
    database_recorder = imported("web.equipment_states:database_recorder")
    return checked_command(
        make_adapters_command(database_recorder), "adapters.cli:make_adapters_command"
    )


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's sub-commands by name, each imported the first time it is looked up: listing
    them, testing a name and click's "did you mean" import nothing."""

    def __init__(self, lazy: Mapping[str, LazyCommand]) -> None:
        self._lazy = dict(lazy)
        self._loaded: dict[str, click.Command] = {}

    def short_help(self, name: str, limit: int) -> str:
        """The one-line help of ``name``, without importing it (one added with ``add_command``:
        its own, cut to ``limit`` characters)."""
        if name in self._lazy:
            return self._lazy[name].short_help
        return self._loaded[name].get_short_help_str(limit)

    def __getitem__(self, name: str) -> click.Command:
        command = self._loaded.get(name)
        if command is None:
            lazy = self._lazy[name]
            command = self._loaded[name] = lazy.load()
            command.short_help = lazy.short_help  # the listing reads the same once loaded
        return command

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._lazy.pop(name, None)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._lazy.pop(name, None)
        self._loaded.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._lazy or name in self._loaded

    def __iter__(self) -> Iterator[str]:
        return iter(self._lazy.keys() | self._loaded.keys())

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._loaded.keys())


class LazyGroup(click.Group):
    """A click group whose sub-commands are :class:`LazyCommand` s, imported when one runs;
    its ``--help`` lists them with their one-line help from the table.

    The laziness lives in ``commands`` (:class:`LazyCommands`), which click's own
    ``get_command`` and ``list_commands`` read, rather than in overrides of those two: click's
    "did you mean" and callers such as ``name in cli.commands`` read ``commands`` directly."""

    commands: LazyCommands

    def __init__(
        self, name: str | None = None, *, lazy: Mapping[str, LazyCommand], **attrs: Any
    ) -> None:
        super().__init__(name, commands=LazyCommands(lazy), **attrs)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The "Commands" section of ``--help``, without importing any sub-command."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section("Commands"):
            formatter.write_dl([(name, self.commands.short_help(name, limit)) for name in names])


COMMANDS = {
    "check": LazyCommand(
        "Check the plant in PLANT_DIR and report every mistake at once.",
        command_at("dsl.cli:check_command"),
    ),
    "schema": LazyCommand(
        "Print the JSON Schema of plant or routing files.", command_at("dsl.cli:schema_command")
    ),
    "db": LazyCommand(
        "The database: create and upgrade its schema.", command_at("engine.cli.records:db_group")
    ),
    "deploy": LazyCommand(
        "Check PLANT_DIR, store it as a config version and activate it.",
        command_at("engine.cli.records:deploy_command"),
    ),
    "versions": LazyCommand(
        "List the stored config versions; * marks the active one.",
        command_at("engine.cli.records:versions_command"),
    ),
    "rollback": LazyCommand(
        "Re-activate the stored config VERSION.",
        command_at("engine.cli.records:rollback_command"),
    ),
    "audit": LazyCommand("The audit trail.", command_at("engine.cli.records:audit_group")),
    "users": LazyCommand(
        "Users, their roles and qualifications.", command_at("engine.cli.records:users_group")
    ),
    "test": LazyCommand(
        "Run the config tests in PLANT_DIR/tests/*.yaml.",
        command_at("engine.cli.configtest:test_command"),
    ),
    "adapters": LazyCommand(
        "Run the adapter process that owns every device connection.",
        adapters_with_database_recorder,
    ),
    "publish": LazyCommand(
        "Deliver the event outbox to MQTT and webhooks until stopped.",
        command_at("engine.cli.publish:publish_command"),
    ),
    "historian": LazyCommand(
        "Record the deployed plant's historised tags from the tag cache until stopped.",
        command_at("web.historian_process:historian_command"),
    ),
    "history": LazyCommand(
        "Values the tag historian recorded: export as CSV or Parquet.",
        command_at("web.historian_process:history_group"),
    ),
    "rules": LazyCommand(
        "Evaluate the deployed plant's event rules on live tags until stopped.",
        command_at("web.event_rules_process:rules_command"),
    ),
    "erp": LazyCommand(
        "Production orders from the ERP: watch a folder for B2MML or JSON.",
        command_at("engine.cli.erp:erp_group"),
    ),
    "sim": LazyCommand(
        "Simulate PLANT_DIR's devices on real OPC UA and Modbus servers.",
        command_at("adapters.cli:sim_command"),
    ),
    "devices": LazyCommand(
        "Show the live value, quality and age of PLANT_DIR's tags.",
        command_at("adapters.cli:devices_command"),
    ),
    "serve": LazyCommand(
        "Serve the web app and API (gunicorn; --dev: Flask's reloader).",
        command_at("web.serve:serve_command"),
    ),
    "demo": LazyCommand(
        "Run the demo plant with simulator, adapters and web server.",
        command_at("web.demo:demo_command"),
    ),
    "maintenance": LazyCommand(
        "Preventive maintenance orders: open the ones that have come due.",
        command_at("web.maintenance_cli:maintenance_command"),
    ),
    "tokens": LazyCommand(
        "API tokens for machine clients, scoped to roles of their user.",
        command_at("web.tokens_cli:tokens_command"),
    ),
}


PRIVATE = 0o077  # what every command creates (var/, the database, the tag cache) is the user's own


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Ferrule: a manufacturing execution system described by plant configuration."""
    os.umask(PRIVATE)


def main() -> None:
    """Console-script entry point."""
    cli()
