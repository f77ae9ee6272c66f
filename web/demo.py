"""``ferrule demo`` (what ``make run`` starts): the demo plant on SQLite with simulated devices.

It prepares ``var/`` (schema, the acme-harness config, demo users with roles and qualifications,
material in stock, a released work order), then runs three children — the device simulator, the
adapter process and the web server — until Ctrl-C, and stops them all within a bounded time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from engine.facade.access import Access
from engine.facade.config import Config
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from web.settings import Settings

PLANT = Path("plants/acme-harness")
PASSWORD = "ferrule-demo"  # noqa: S105  (printed for everyone: it is the demo)
# username, full name, roles, qualifications
USERS = (
    ("anna", "Anna Operator", ("operator",), ("cutting", "crimping", "testing")),
    ("sam", "Sam Supervisor", ("supervisor",), ()),
    ("quinn", "Quinn Quality", ("quality",), ()),
    ("eve", "Eve Engineer", ("engineer",), ()),
    ("ada", "Ada Admin", ("admin",), ()),
)
LOTS = (
    ("WIRE-18-RD", "W-001", 500.0),
    ("TERM-22", "T-001", 5000.0),
    ("HOUSING-4P", "H-001", 500.0),
)
STOP_TIMEOUT_S = 10.0


def prepare(db: Database, plant_dir: Path) -> None:
    """Schema, config, users, lots and one released work order (each only if missing)."""
    config = Config(db)
    config.upgrade_schema()
    config.deploy(actor="ada", source=plant_dir, note="ferrule demo")
    access = Access(db)
    known = {u.username for u in access.users()}
    for username, full_name, roles, qualifications in USERS:
        if username in known:
            continue
        access.add_user(actor="demo", username=username, full_name=full_name, password=PASSWORD)
        for role in roles:
            access.grant_role(actor="demo", username=username, role=role)
        for qualification in qualifications:
            access.grant_qualification(actor="demo", username=username, qualification=qualification)
    ferrule = Ferrule(db, StaticTagSource())
    stocked = {(lot.part, lot.number) for lot in ferrule.lots()}
    for part, number, quantity in LOTS:
        if (part, number) not in stocked:
            ferrule.receive_lot(actor="demo", part=part, lot=number, quantity=quantity)
    if not ferrule.work_orders():
        order = ferrule.create_work_order(actor="sam", product="HA-100", quantity=5)
        ferrule.release_work_order(actor="sam", number=order.number)


def _ferrule() -> str:
    beside = Path(sys.executable).parent / "ferrule"
    return str(beside) if beside.exists() else "ferrule"


def stop_all(children: list[subprocess.Popen[bytes]], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM every child still running, wait up to ``timeout_s`` in all, then SIGKILL."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + timeout_s
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=timeout_s)


@click.command("demo")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=3, show_default=True, type=int)
@click.option(
    "--plant",
    "plant_dir",
    default=str(PLANT),
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
def demo_command(port: int, workers: int, plant_dir: Path) -> None:
    """Set up the demo plant and run simulator, adapter process and web server until Ctrl-C."""
    settings = Settings.from_env()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.database_url)
    click.echo(f"preparing {db.url} with {plant_dir} …")
    prepare(db, plant_dir)
    db.dispose()
    env = {**os.environ, "FERRULE_VAR": str(settings.var_dir)}
    env.setdefault("FERRULE_DATABASE_URL", settings.database_url)
    ferrule = _ferrule()
    commands = (
        [ferrule, "sim", str(plant_dir)],
        [ferrule, "adapters", str(plant_dir), "--cache", str(settings.tag_cache)],
        [ferrule, "serve", "--port", str(port), "--workers", str(workers)],
    )
    # a pipe for stdin: the simulator listens for fault commands there, and the terminal's
    # keystrokes belong to this process (Ctrl-C)
    children = [subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE) for cmd in commands]
    names = {c.pid: " ".join(cmd[1:3]) for c, cmd in zip(children, commands, strict=True)}
    click.echo(f"\nFerrule is running at http://127.0.0.1:{port}/  (Ctrl-C stops everything)")
    click.echo(f"demo logins (password '{PASSWORD}'):")
    for username, full_name, roles, _ in USERS:
        click.echo(f"  {username:<6} {full_name:<16} {', '.join(roles)}")
    signal.signal(signal.SIGTERM, lambda *_: stop_all(children))
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = next(c for c in children if c.poll() is not None)
        click.echo(
            f"ferrule {names[failed.pid]} exited with {failed.returncode}; stopping", err=True
        )
    except KeyboardInterrupt:
        click.echo("stopping …")
    finally:
        stop_all(children)
