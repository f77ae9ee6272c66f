"""``ferrule demo`` (what ``make run`` starts): the demo plant on SQLite with simulated devices.

It prepares ``var/`` (schema, the acme-harness config, demo users with roles and qualifications,
material in stock, a released work order), then runs five children — the device simulator, the
adapter process, the web server, the event publisher and the event rules process — until Ctrl-C,
and stops them all within a bounded time. It prints the URL only once the web server answers
``/readyz`` (or says that it did not within :data:`READY_TIMEOUT_S`), with how to pick another
port and a unit and a lot to try.

It watches them (:func:`supervise`): the adapter process, the publisher and the event rules
process are restarted when they die, up to :data:`MAX_RESTARTS` times in
:data:`RESTART_WINDOW_S`; when any other child dies, or one of those keeps dying, it says so,
stops the rest and exits non-zero. The publisher delivers events to the broker and webhook the
FERRULE_MQTT_* and FERRULE_WEBHOOK_* variables name (docs/events.md); without them it waits idle.
The demo serves plain HTTP on 127.0.0.1, so its session cookie is not marked Secure. Production
runs each process under systemd instead (docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

import click

from engine.commands.workorders import WorkOrderPlan
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
    ("max", "Max Maintenance", ("maintenance",), ()),
    ("gus", "Gus Goods-in", ("stores",), ()),
    ("eve", "Eve Engineer", ("engineer",), ()),
    ("ada", "Ada Admin", ("admin",), ()),
)
LOTS = (
    ("WIRE-18-RD", "W-001", 500.0),
    ("TERM-22", "T-001", 5000.0),
    ("HOUSING-4P", "H-001", 500.0),
)
STOP_TIMEOUT_S = 10.0
MAX_RESTARTS = 3
RESTART_WINDOW_S = 60.0
READY_TIMEOUT_S = 60.0
"""How long the demo waits for the web server to answer ``/readyz`` before saying it did not."""


@dataclass(frozen=True, slots=True)
class Tryout:
    """What a newcomer can try first: a unit of a released work order and a received lot."""

    unit: str
    part: str
    lot: str


def prepare(db: Database, plant_dir: Path) -> Tryout:
    """Schema, config, users, lots and two released work orders, one of them more than today
    allows (each only if missing); a waiting unit and a lot to try."""
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
        today = dt.datetime.now(dt.UTC).date()
        for quantity, plan in (
            (5, WorkOrderPlan(today + dt.timedelta(days=2), priority=3, erp_reference="SO-1001")),
            (1500, WorkOrderPlan(today, erp_reference="SO-1002")),  # over a day of testing: late
        ):
            order = ferrule.create_work_order(
                actor="sam", product="HA-100", quantity=quantity, plan=plan
            )
            ferrule.release_work_order(actor="sam", number=order.number)
    waiting = ferrule.items_in_status("queued")
    part, lot, _ = LOTS[0]
    return Tryout(waiting[0].number if waiting else "", part, lot)


def answers(url: str, timeout_s: float = 1.0) -> bool:
    """Whether ``url`` answers 200 within ``timeout_s``."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (our http URL)
            return bool(response.status == 200)
    except (OSError, ValueError):  # refused, timed out, 503 (HTTPError is an OSError)
        return False


@dataclass
class Announcement:
    """What the demo says once its web server answers ``ready_url`` — or, when it does not
    within ``timeout_s``, that it did not (the children keep running either way)."""

    ready_url: str
    lines: tuple[str, ...]
    timeout_s: float = READY_TIMEOUT_S
    began: float = field(default_factory=time.monotonic)
    done: bool = False

    def poll(self) -> None:
        """Ask once; print the lines when the server answers, or the warning at the deadline."""
        if self.done:
            return
        if answers(self.ready_url):
            self.done = True
            click.echo("\n".join(self.lines))
        elif time.monotonic() - self.began > self.timeout_s:
            self.done = True
            click.echo(
                f"the web server did not answer {self.ready_url} within {self.timeout_s:g} s; "
                "see the messages above (is the port taken? try ferrule demo --port 8001)",
                err=True,
            )


def welcome(port: int, tryout: Tryout) -> tuple[str, ...]:
    """The lines printed once the demo answers: where, how to move it, logins, what to try."""
    base = f"http://127.0.0.1:{port}"
    lines = [
        f"\nFerrule is running at {base}/  (Ctrl-C stops everything)",
        "another port: ferrule demo --port 8001 (the simulated devices' ports are in the plant's "
        "site.yaml)",
        f"demo logins (password '{PASSWORD}'):",
        *(f"  {u:<6} {name:<16} {', '.join(roles)}" for u, name, roles, _ in USERS),
    ]
    if tryout.unit:
        lines.append(
            f"try: sign in as anna and pick unit {tryout.unit} from the cutting queue, or scan it "
            f"at {base}/station/"
        )
    lines.append(
        f"     lot {tryout.lot} of {tryout.part}: {base}/materials/lots/{tryout.part}/{tryout.lot}"
    )
    lines.append(
        "     the press's event rule: type 'pin press1.pressure 190' and Enter here; 10 s later "
        f"the press is held ({base}/equipment/); 'unpin press1.pressure' lets it move again"
    )
    return tuple(lines)


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


@dataclass(frozen=True, slots=True)
class Child:
    """A child process of the demo: its name, its command, and whether it is restarted."""

    name: str
    command: list[str]
    restart: bool = False


def supervise(
    children: Sequence[Child],
    env: Mapping[str, str],
    *,
    poll_s: float = 0.5,
    announcement: Announcement | None = None,
) -> int:
    """Run ``children`` until one that is not restarted stops, or a restarted one stops more than
    :data:`MAX_RESTARTS` times in :data:`RESTART_WINDOW_S`: then stop them all and return its exit
    code (1 for a clean exit: the demo did not end by itself). Ctrl-C or SIGTERM: 0. The
    ``announcement`` is polled on every round until it has spoken."""
    # a pipe for stdin: the simulator listens for fault commands there, and the terminal's
    # keystrokes belong to this process (Ctrl-C)
    running = {
        c.name: subprocess.Popen(c.command, env=dict(env), stdin=subprocess.PIPE) for c in children
    }
    restarts: dict[str, list[float]] = {c.name: [] for c in children}
    if sys.stdin.isatty():

        def sim() -> IO[bytes] | None:
            return running["sim"].stdin if "sim" in running else None

        threading.Thread(target=forward_commands, args=(sys.stdin, sim), daemon=True).start()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(poll_s)
            if announcement is not None:
                announcement.poll()
            for child in children:
                code = running[child.name].poll()
                if code is None:
                    continue
                now = time.monotonic()
                recent = [t for t in restarts[child.name] if now - t < RESTART_WINDOW_S]
                if child.restart and len(recent) < MAX_RESTARTS:
                    restarts[child.name] = [*recent, now]
                    click.echo(
                        f"ferrule {child.name} exited with {code}; restarting it "
                        f"({len(recent) + 1} of {MAX_RESTARTS})",
                        err=True,
                    )
                    running[child.name] = subprocess.Popen(
                        child.command, env=dict(env), stdin=subprocess.PIPE
                    )
                    continue
                again = f" again after {MAX_RESTARTS} restarts" if child.restart else ""
                click.echo(
                    f"ferrule {child.name} exited with {code}{again}; stopping everything", err=True
                )
                return code or 1
    except KeyboardInterrupt:
        click.echo("stopping …")
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop_all(list(running.values()))


def forward_commands(source: TextIO, target: Callable[[], IO[bytes] | None]) -> None:
    """Send each line typed at the demo's terminal to the simulator's commands (``pin
    press1.pressure 190``, ``unpin press1.pressure``, ``fault press1``, ``restore press1``)."""
    for line in source:
        pipe = target()
        if pipe is None:
            continue
        try:
            pipe.write(line.encode())
            pipe.flush()
        except (BrokenPipeError, ValueError):  # the simulator is being restarted or stopped
            continue


def _interrupt(*_: object) -> None:
    """SIGTERM stops the demo as Ctrl-C does."""
    raise KeyboardInterrupt


def child_environment(
    environ: Mapping[str, str], var_dir: Path, database_url: str
) -> dict[str, str]:
    """The environment of the demo's children: its var folder and database, and session cookies
    without Secure (the demo serves plain HTTP on 127.0.0.1)."""
    env = {**environ, "FERRULE_VAR": str(var_dir), "FERRULE_SECURE_COOKIES": "0"}
    env.setdefault("FERRULE_DATABASE_URL", database_url)
    return env


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
    settings = Settings.from_env({**os.environ, "FERRULE_SECURE_COOKIES": "0"})
    settings.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    db = Database.from_url(settings.database_url)
    click.echo(f"preparing {db.url} with {plant_dir} …")
    tryout = prepare(db, plant_dir)
    db.dispose()
    ferrule = _ferrule()
    children = (
        Child("sim", [ferrule, "sim", str(plant_dir)]),
        Child(
            "adapters",
            [ferrule, "adapters", str(plant_dir), "--cache", str(settings.tag_cache)],
            restart=True,
        ),
        Child("serve", [ferrule, "serve", "--port", str(port), "--workers", str(workers)]),
        Child("publish", [ferrule, "publish"], restart=True),
        Child("rules", [ferrule, "rules", "--cache", str(settings.tag_cache)], restart=True),
        Child(
            "historian", [ferrule, "historian", "--cache", str(settings.tag_cache)], restart=True
        ),
    )
    click.echo(f"starting; the URL follows once the web server answers on port {port} …")
    env = child_environment(os.environ, settings.var_dir, settings.database_url)
    ready = Announcement(f"http://127.0.0.1:{port}/readyz", welcome(port, tryout))
    code = supervise(children, env, announcement=ready)
    if code:
        raise SystemExit(code)
