"""The ``ferrule`` command: gathers each layer's commands into one group."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Ferrule: a manufacturing execution system described by plant configuration."""


def main() -> None:
    """Console-script entry point."""
    cli()
