"""What a device protocol module provides to the runtime: a driver and the sink it reports to."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from adapters.cache import Value
from dsl.model import Device, Tag


class DeviceError(Exception):
    """A device could not be reached, or answered with an error. The message says which and why."""


class DeviceLost(DeviceError):
    """The connection to the device dropped (rather than the device answering with an error)."""


def stopping() -> bool:
    """Whether the current task is being cancelled (Python 3.11's ``wait_for`` can swallow a
    cancel that races with a timeout, so loops check this as well)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class DeviceSink(Protocol):
    """Where a driver reports what it hears from its device."""

    def value(self, tag: Tag, value: Value, source_time: float | None) -> None:
        """A value the device reports good; ``source_time`` is its timestamp (None: the device
        has none). The sink still marks a NaN or infinite number bad."""

    def tag_bad(self, tag: Tag, reason: str) -> None:
        """This one tag's value is not usable; ``reason`` says why (the sink names the tag)."""

    def confirm(self) -> None:
        """The device answered just now, so every good value it gave is still current."""


class Driver(Protocol):
    """One connection to one device. The runtime creates a fresh driver for every attempt."""

    async def connect(self) -> None:
        """Open the connection; raise :class:`DeviceError` (or OSError, TimeoutError) on failure."""

    async def serve(self, sink: DeviceSink) -> None:
        """Report values until the connection fails (then raise); never returns normally."""

    async def read(self, tag: Tag) -> Value:
        """Read one value now (for write read-back)."""

    async def write(self, tag: Tag, value: Value) -> None:
        """Write one value, typed as the device expects."""

    async def close(self) -> None:
        """Close the connection; must not hang (the runtime bounds it anyway)."""


class DriverFactory(Protocol):
    """Builds a driver; ``secrets_dir`` is the site secrets folder its certificates and keys
    are named in."""

    def __call__(self, device: Device, secrets_dir: Path) -> Driver: ...
