"""The ``ferrule`` command's lazy table: every entry loads the command it names, and listing
the commands imports none of the heavy layers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from web.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_entry_loads_the_command_it_lists(name: str) -> None:
    assert cli.commands[name].name == name


def test_help_lists_every_command_without_importing_them() -> None:
    probe = (
        "import sys\n"
        "from web.cli import cli\n"
        "try:\n"
        "    cli(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlalchemy', 'asyncua', 'pymodbus', 'gunicorn', 'flask', 'lark')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    *listing, imported = done.stdout.strip().splitlines()
    assert imported == "[]"
    for name in COMMANDS:
        assert any(line.split()[:1] == [name] for line in listing), name
