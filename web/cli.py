"""The ``ferrule`` command: the composition root that gathers each layer's commands."""

from __future__ import annotations

import click

from adapters.cli import devices_command, make_adapters_command, sim_command
from dsl.cli import check_command, schema_command
from engine.cli.configtest import test_command
from engine.cli.records import COMMANDS as ENGINE_COMMANDS
from web.demo import demo_command
from web.equipment_states import database_recorder
from web.serve import serve_command
from web.tokens_cli import tokens_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Ferrule: a manufacturing execution system described by plant configuration."""


for command in (
    check_command,
    schema_command,
    *ENGINE_COMMANDS,
    test_command,
    make_adapters_command(database_recorder),
    sim_command,
    devices_command,
    serve_command,
    demo_command,
    tokens_command,
):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()
