"""The adapter process: owns every device connection of a site exactly once.

One task per device connects, reports values into the shared cache (:mod:`adapters.cache`) and,
when the connection fails, marks the device's tags bad at once and reconnects with bounded
exponential backoff. The first failure is logged as a warning, repeats at debug level, recovery
at info. A tag stays bad with the first reason given for it (so readers can say since when) until
a value or a different reason arrives; NaN and infinite numbers are bad too. Equipment states are
re-derived whenever a tag they read changes (and every second, so staleness is noticed). The
cache's heartbeat is beaten every second. Setpoint writes arrive through :mod:`adapters.control`.
Shutdown is bounded: every task gets a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapters.cache import HEARTBEAT_S, CacheLayoutError, TagCache, TagCacheWriter, Value
from adapters.control import serve_control
from adapters.driver import DeviceError, DeviceLost, Driver, stopping
from adapters.protocols import driver_for
from adapters.states import StateChange, StateTracker, state_key
from dsl.model import Device, Plant, Tag, ValueType
from dsl.units import format_number

log = logging.getLogger(__name__)

STATE_MAX_AGE_S = 5.0
STATE_REFRESH_S = 1.0
SHUTDOWN_S = 3.0


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: ``first``, doubling per failed attempt, never above ``cap``."""

    first: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (0-based)."""
        return min(self.cap, self.first * 2.0 ** min(attempt, 30))


class SetpointError(Exception):
    """A setpoint could not be written or was not confirmed; the message is for the operator."""


def _bounded(text: str) -> str:
    return text if len(text) <= 64 else text[:61] + "..."


def _shown(tag: Tag, value: Value) -> str:
    """A value with the tag's unit, as people write it: ``1200 N``."""
    text = format_number(value) if isinstance(value, float) else str(value)
    return f"{text} {tag.unit}" if tag.unit else text


def _non_finite(value: Value) -> str | None:
    """``NaN``, ``+Inf`` or ``-Inf`` for a number that is not finite, else None."""
    if not isinstance(value, float) or math.isfinite(value):
        return None
    return "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"


class DeviceRunner:
    """Keeps one device connected and its tags in the cache; the driver reports here."""

    def __init__(
        self,
        device: Device,
        secrets_dir: Path,
        writer: TagCacheWriter,
        changed: Callable[[Tag], None],
        backoff: Backoff,
    ) -> None:
        self.device = device
        self.secrets_dir = secrets_dir
        self.writer = writer
        self.changed = changed
        self.backoff = backoff
        self.driver: Driver | None = None
        self.failure: str = "not connected yet"
        self._last: dict[str, Value] = {}
        self._bad: dict[str, str] = {}

    # -- DeviceSink
    def value(self, tag: Tag, value: Value, source_time: float | None) -> None:
        """A good value: published when new, otherwise just confirmed; NaN and ±Inf are bad."""
        non_finite = _non_finite(value)
        if non_finite is not None:
            self.tag_bad(tag, f"the device sent {non_finite}")
            return
        now = time.time()
        if tag.key in self._last and self._last[tag.key] == value:
            self.writer.confirm(tag.key, now)
            return
        self._bad.pop(tag.key, None)
        self._last[tag.key] = value
        self.writer.publish(tag.key, value, source_time or now, now)
        self.changed(tag)

    def tag_bad(self, tag: Tag, reason: str) -> None:
        """One tag is unusable for ``reason`` (the tag's key is put in front)."""
        self._mark_bad(tag, f"{tag.key}: {reason}")

    def confirm(self) -> None:
        """The device answered: every good value is current."""
        now = time.time()
        for key in self._last:
            self.writer.confirm(key, now)

    def _mark_bad(self, tag: Tag, reason: str) -> None:
        """Mark ``tag`` bad unless it already is for this reason (which keeps its since-when)."""
        bounded = _bounded(reason)
        if self._bad.get(tag.key) == bounded:
            return
        self._bad[tag.key] = bounded
        self._last.pop(tag.key, None)
        self.writer.mark_bad(tag.key, bounded, time.time())
        self.changed(tag)

    # -- the connection loop
    def mark_lost(self, reason: str) -> None:
        """Every tag of the device is bad for ``reason`` (the device's name is put in front)."""
        self.failure = reason
        for tag in self.device.tags.values():
            self._mark_bad(tag, f"{self.device.name}: {reason}")

    async def run(self) -> None:
        """Connect, serve, and on failure mark bad and retry with backoff; until cancelled."""
        attempt = 0
        timeout = self.device.connection.timeout_s
        while not stopping():
            driver = driver_for(self.device, self.secrets_dir)
            try:
                await asyncio.wait_for(driver.connect(), timeout * 2)
                if attempt:
                    log.info(
                        "device %s recovered after %d failed attempts", self.device.name, attempt
                    )
                attempt = 0
                self.driver = driver
                await driver.serve(self)
                raise DeviceError("connection ended")
            except Exception as exc:  # any failure of a device means: mark bad, back off, retry
                reason = describe_failure(exc, timeout)
                self.driver = None
                self.mark_lost(reason)
                if attempt == 0:
                    log.warning(
                        "device %s failed: %s; reconnecting with backoff (repeats logged quietly)",
                        self.device.name,
                        reason,
                    )
                else:
                    log.debug("device %s still failing: %s", self.device.name, reason)
            finally:
                self.driver = None
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(driver.close(), timeout)
            await asyncio.sleep(self.backoff.delay(attempt))
            attempt += 1

    async def write_setpoint(self, tag: Tag, value: Value, tolerance: float) -> Value:
        """Write, read back, and compare; SetpointError says what went wrong."""
        driver = self.driver
        if driver is None:
            raise SetpointError(
                f"cannot write {tag.key}: device {self.device.name} is unavailable ({self.failure})"
            )
        timeout = self.device.connection.timeout_s
        try:
            await asyncio.wait_for(driver.write(tag, value), timeout)
            read_back = await asyncio.wait_for(driver.read(tag), timeout)
        except TimeoutError as exc:
            raise SetpointError(f"cannot write {tag.key}: no answer within {timeout:g} s") from exc
        except (DeviceLost, OSError) as exc:  # the device dropped the connection meanwhile
            raise SetpointError(
                f"cannot write {tag.key}: {self.device.name}: "
                f"{describe_failure(exc, timeout)} while writing {_shown(tag, value)}"
            ) from exc
        except (DeviceError, ValueError) as exc:
            raise SetpointError(f"cannot write {tag.key}: {exc}") from exc
        if not _matches(tag, value, read_back, tolerance):
            raise SetpointError(
                f"{tag.key} read back {_shown(tag, read_back)} after writing {_shown(tag, value)}"
            )
        self.value(tag, read_back, time.time())
        return read_back


def describe_failure(exc: Exception, timeout: float) -> str:
    """A short, stable reason for a failed connection (it ends up next to the tag's value)."""
    if isinstance(exc, DeviceError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionError):
        return "connection lost"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__


def _matches(tag: Tag, wanted: Value, got: Value, tolerance: float) -> bool:
    if (
        tag.value_type is ValueType.NUMBER
        and not isinstance(wanted, str)
        and not isinstance(got, str)
    ):
        return abs(float(got) - float(wanted)) <= tolerance
    return got == wanted


def _last_heartbeat(cache_path: Path) -> float | None:
    """The last heartbeat a previous adapter process left in ``cache_path`` (None when it stopped
    cleanly or there is no readable cache)."""
    try:
        cache = TagCache.open(cache_path)
    except (OSError, CacheLayoutError):
        return None
    try:
        return cache.last_heartbeat()
    finally:
        cache.close()


class AdapterRuntime:
    """Everything the adapter process runs for one plant; ``secrets_dir`` is the site secrets
    folder, where the certificates and keys the devices name are read from."""

    def __init__(
        self,
        plant: Plant,
        secrets_dir: Path,
        cache_path: Path,
        on_state_change: Callable[[StateChange], None],
        *,
        control_path: Path | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.plant = plant
        self.control_path = control_path
        tags = sorted(plant.all_tags(), key=lambda t: t.key)
        stateful = sorted(e.name for e in plant.equipment.values() if e.state_rules)
        keys = [t.key for t in tags] + [state_key(name) for name in stateful]
        ages = [t.max_age_s for t in tags] + [STATE_MAX_AGE_S] * len(stateful)
        self.stopped_at = _last_heartbeat(cache_path)  # set when the last process was killed
        self.writer = TagCacheWriter(cache_path, keys, ages)
        self.reader = TagCache.open(cache_path)
        self.states = StateTracker(plant, self.reader, self.writer, on_state_change)
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self.runners = {
            d.name: DeviceRunner(
                d, secrets_dir, self.writer, self._tag_changed, backoff or Backoff()
            )
            for d in plant.devices.values()
        }

    def _tag_changed(self, tag: Tag) -> None:
        self._dirty.add(tag.key)
        self._wake.set()

    async def _beat(self) -> None:
        """Tell readers the adapter process runs (see :meth:`TagCache.unavailable_reason`)."""
        while not stopping():
            self.writer.beat(time.time())
            await asyncio.sleep(HEARTBEAT_S)

    async def _track_states(self) -> None:
        self.states.adapter_stopped(self.stopped_at or time.time())
        self.states.evaluate()
        while not stopping():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), STATE_REFRESH_S)
            self._wake.clear()
            dirty, self._dirty = self._dirty, set()
            self.states.evaluate(self.states.affected(dirty) if dirty else None)

    async def write_setpoint(self, key: str, value: Value, tolerance: float) -> Value:
        """Write a setpoint to its device and confirm it by read-back."""
        device, _, name = key.partition(".")
        runner = self.runners.get(device)
        if runner is None or name not in runner.device.tags:
            raise SetpointError(f"cannot write {key}: no such tag in this plant")
        tag = runner.device.tags[name]
        if not tag.writable:
            raise SetpointError(f"cannot write {key}: the tag is not declared writable")
        return await runner.write_setpoint(tag, value, tolerance)

    async def run(self, stop: asyncio.Event) -> None:
        """Run every device and the state tracker until ``stop`` is set; bounded shutdown."""
        tasks = [asyncio.create_task(r.run(), name=f"device:{n}") for n, r in self.runners.items()]
        tasks.append(asyncio.create_task(self._track_states(), name="states"))
        tasks.append(asyncio.create_task(self._beat(), name="heartbeat"))
        control = None
        try:
            if self.control_path is not None:
                control = await serve_control(
                    self.control_path, self.write_setpoint, (SetpointError,)
                )
            await stop.wait()
        finally:
            if control is not None:
                control.close()
            await cancel_all(tasks, SHUTDOWN_S)
            self.states.adapter_stopped(time.time())
            for runner in self.runners.values():
                runner.mark_lost("adapter process stopped")
            self.reader.close()
            self.writer.close()


async def cancel_all(tasks: list[asyncio.Task[None]], within: float) -> None:
    """Cancel ``tasks`` and wait at most ``within`` seconds; stragglers are logged and left."""
    for task in tasks:
        task.cancel()
    done, pending = await asyncio.wait(tasks, timeout=within)
    for task in pending:
        log.error("task %s did not stop within %.1f s; abandoning it", task.get_name(), within)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())
