"""The ``ferrule`` command: gathers each layer's commands into one group."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Ferrule: a manufacturing execution system described by plant configuration."""


from web.serve import serve_command  # noqa: E402

cli.add_command(serve_command)

from web.demo import demo_command  # noqa: E402
from web.tokens_cli import tokens_command  # noqa: E402

cli.add_command(demo_command)
cli.add_command(tokens_command)

from dsl.cli import check_command, schema_command  # noqa: E402

cli.add_command(check_command)
cli.add_command(schema_command)

from engine.cli import COMMANDS as engine_commands  # noqa: E402

for command in engine_commands:
    cli.add_command(command)

from engine.cli_test import test_command  # noqa: E402

cli.add_command(test_command)

from adapters.cli import adapters_command, devices_command, sim_command  # noqa: E402

for command in (adapters_command, devices_command, sim_command):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    cli()
