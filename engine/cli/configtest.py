"""``ferrule test PLANT_DIR``: run a plant's config tests (see docs/config-tests.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine.configtest.runner import run


@click.command("test")
@click.argument(
    "plant_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
def test_command(plant_dir: Path) -> None:
    """Run the config tests in PLANT_DIR/tests/*.yaml on an in-memory engine."""
    report = run(plant_dir)
    click.echo(report.render())
    sys.exit(0 if report.ok else 1)
