"""The ``ferrule`` command: gathers each layer's commands into one group."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Ferrule: a manufacturing execution system described by plant configuration."""


from web.serve import serve_command  # noqa: E402

cli.add_command(serve_command)

from dsl.cli import check_command, schema_command  # noqa: E402

cli.add_command(check_command)
cli.add_command(schema_command)


def main() -> None:
    """Console-script entry point."""
    cli()
