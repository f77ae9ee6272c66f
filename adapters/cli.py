"""``ferrule adapters``, ``ferrule sim`` and ``ferrule devices``: devices on the command line."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from adapters import opcua, runtime, sim
from adapters.cache import CacheLayoutError, TagCache, TagValue
from adapters.control import socket_next_to
from adapters.states import StateChange
from dsl.loader import load
from dsl.model import OpcUaConnection, Plant, Tag
from dsl.units import format_number

log = logging.getLogger("ferrule.adapters")


PLANT_DIR = click.argument(
    "plant_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)


def default_cache() -> Path:
    """Where the web workers look for the tag cache (same defaults as the web settings)."""
    var_dir = Path(os.environ.get("FERRULE_VAR", "var"))
    return Path(os.environ.get("FERRULE_TAG_CACHE", str(var_dir / "tags.mmap")))


def default_secrets(site: str) -> Path:
    """The site secrets folder: ``$FERRULE_SECRETS``, else ``$FERRULE_VAR/secrets/<site>``."""
    var_dir = Path(os.environ.get("FERRULE_VAR", "var"))
    return Path(os.environ.get("FERRULE_SECRETS", str(var_dir / "secrets" / site)))


def report_secrets(plant: Plant, secrets_dir: Path) -> None:
    """Log where the certificates and keys come from and, once, every one that cannot be used
    (each such device stays bad, with the reason, until the file is fixed)."""
    secured = [
        d
        for d in plant.devices.values()
        if isinstance(d.connection, OpcUaConnection) and d.connection.security_policy != "None"
    ]
    if not secured:
        return
    log.info("certificates and keys of %d devices from %s", len(secured), secrets_dir)
    for device in secured:
        for problem in opcua.secret_problems(device, secrets_dir):
            log.error("%s", problem)


CACHE_OPTION = click.option(
    "--cache",
    "cache_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tag cache file [default: $FERRULE_TAG_CACHE or $FERRULE_VAR/tags.mmap].",
)


def quiet_protocol_logs() -> None:
    """asyncua and pymodbus narrate every packet at INFO; Ferrule logs what matters itself."""
    for name in ("asyncua", "pymodbus"):
        logging.getLogger(name).setLevel(logging.ERROR)


def load_plant(plant_dir: Path) -> Plant:
    """The plant, or exit 1 with every diagnostic printed."""
    result = load(plant_dir)
    if result.plant is None:
        click.echo(result.render(), err=True)
        raise SystemExit(1)
    return result.plant


def run_until_signalled(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``main(stop)`` on a fresh loop; SIGINT/SIGTERM set ``stop``."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await main(stop)

    asyncio.run(runner())


# ---------------------------------------------------------------- ferrule adapters


StateRecorder = Callable[[Path], Callable[[StateChange], None]]


def make_adapters_command(recorder: StateRecorder) -> click.Command:
    """The ``ferrule adapters`` command; ``recorder(cache_path)`` makes the callback that stores
    equipment state changes (the composition root passes one that writes to the database)."""

    @click.command("adapters")
    @PLANT_DIR
    @CACHE_OPTION
    @click.option(
        "--secrets",
        "secrets_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="The site secrets folder with the devices' certificates and keys "
        "[default: $FERRULE_SECRETS or $FERRULE_VAR/secrets/SITE].",
    )
    def adapters_command(
        plant_dir: Path, cache_path: Path | None, secrets_dir: Path | None
    ) -> None:
        """Run the adapter process for PLANT_DIR: connect every declared device exactly once and
        publish its tags to the shared cache that every web worker reads."""
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        quiet_protocol_logs()
        plant = load_plant(plant_dir)
        cache = cache_path or default_cache()
        secrets = secrets_dir or default_secrets(plant.site.name)
        report_secrets(plant, secrets)
        process = runtime.AdapterRuntime(
            plant, secrets, cache, recorder(cache), control_path=socket_next_to(cache)
        )
        log.info(
            "site %s: %d devices, %d tags -> %s",
            plant.site.name,
            len(plant.devices),
            len(plant.all_tags()),
            cache,
        )
        run_until_signalled(process.run)

    return adapters_command


# ---------------------------------------------------------------- ferrule sim


def _parse_value(text: str) -> float | bool | str:
    """``true``/``false``, a number, or else the text itself."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


async def _commands(simulator: sim.Simulator, stop: asyncio.Event) -> None:
    """Read ``fault DEVICE`` / ``restore DEVICE`` / ``set DEVICE.TAG VALUE`` / ``pin DEVICE.TAG
    VALUE`` / ``unpin DEVICE.TAG`` lines from stdin."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except (ValueError, OSError):  # stdin is a regular file or closed: no commands
        return
    while not stop.is_set():
        line = (await reader.readline()).decode().split()
        if not line:
            if reader.at_eof():
                return
            continue
        try:
            match line:
                case ["fault", device]:
                    await simulator.fault(device)
                case ["restore", device]:
                    await simulator.restore(device)
                case ["set", key, value]:
                    await simulator.set(key, _parse_value(value))
                case ["pin", key, value]:
                    await simulator.set(key, _parse_value(value), pin=True)
                case ["unpin", key]:
                    simulator.unpin(key)
                case _:
                    click.echo(
                        "commands: fault DEVICE | restore DEVICE | set DEVICE.TAG VALUE | "
                        "pin DEVICE.TAG VALUE | unpin DEVICE.TAG"
                    )
                    continue
            click.echo("ok")
        except sim.SimError as exc:
            click.echo(f"error: {exc}")


@click.command("sim")
@PLANT_DIR
@click.option(
    "--tick", default=0.1, show_default=True, help="Seconds between simulated value steps."
)
def sim_command(plant_dir: Path, tick: float) -> None:
    """Serve the devices PLANT_DIR declares from real OPC UA and Modbus servers on 127.0.0.1,
    with values that move as each tag's `sim:` says.

    Type `fault DEVICE` to take a device off the network, `restore DEVICE` to bring it back and
    `set DEVICE.TAG VALUE` to change a value."""
    logging.basicConfig(level=logging.WARNING)
    quiet_protocol_logs()
    plant = load_plant(plant_dir)
    try:
        simulator = sim.Simulator(plant.devices.values(), tick)
    except sim.SimError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main(stop: asyncio.Event) -> None:
        await simulator.start()
        for device in plant.devices.values():
            conn = device.connection
            where = (
                conn.endpoint
                if isinstance(conn, OpcUaConnection)
                else f"modbus://{conn.host}:{conn.port}"
            )
            click.echo(f"{device.name}: {where} ({len(device.tags)} tags)")
        commands = asyncio.create_task(_commands(simulator, stop))
        await simulator.run(stop)
        commands.cancel()

    run_until_signalled(main)


# ---------------------------------------------------------------- ferrule devices


def describe(tag: Tag, found: TagValue | None, now: float) -> tuple[str, str, str, str]:
    """Value (with unit), quality, age and note of one tag, for people."""
    if found is None:
        return "-", "bad", "-", "no slot in the cache (restart the adapter process)"
    value = found.value
    shown = (
        "-" if value is None else format_number(value) if isinstance(value, float) else str(value)
    )
    if value is not None and tag.unit:
        shown += f" {tag.unit}"
    age = f"{found.age(now):.1f} s" if found.source_time else "-"
    return shown, found.quality.value, age, found.unavailable_reason(now) or ""


@click.command("devices")
@PLANT_DIR
@CACHE_OPTION
@click.option(
    "--browse", "browse_nodes", is_flag=True, help="List the variables each OPC UA device offers."
)
@click.option(
    "--endpoint", default=None, help="With --browse: an OPC UA endpoint to browse instead."
)
def devices_command(
    plant_dir: Path, cache_path: Path | None, browse_nodes: bool, endpoint: str | None
) -> None:
    """Show every tag PLANT_DIR declares with its live value, quality and age."""
    plant = load_plant(plant_dir)
    if browse_nodes:
        _browse(plant, endpoint)
        return
    path = cache_path or default_cache()
    try:
        cache = TagCache.open(path)
    except CacheLayoutError as exc:
        raise click.ClickException(str(exc)) from exc
    now = time.time()
    rows = [("tag", "value", "quality", "age", "note")]
    for tag in sorted(plant.all_tags(), key=lambda t: t.key):
        try:
            found: TagValue | None = cache.read(tag.key, now)
        except CacheLayoutError:
            found = None
        rows.append((tag.key, *describe(tag, found, now)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
        )


def _browse(plant: Plant, endpoint: str | None) -> None:
    endpoints = (
        [endpoint]
        if endpoint
        else [
            d.connection.endpoint
            for d in plant.devices.values()
            if isinstance(d.connection, OpcUaConnection)
        ]
    )
    if not endpoints:
        raise click.ClickException(
            "the plant declares no OPC UA device; give one with --endpoint URL"
        )
    for url in endpoints:
        click.echo(f"{url}:")
        try:
            found = asyncio.run(opcua.browse(url))
        except (OSError, TimeoutError) as exc:
            click.echo(f"  cannot browse: {exc or 'no answer'}")
            continue
        for node in found:
            click.echo(f"  node: {node.node!r:40}  {node.path}  ({node.data_type}) = {node.value}")
