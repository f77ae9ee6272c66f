"""The one place protocols are registered: ``Device.protocol`` → driver and simulator server."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from adapters.cache import Value
from adapters.driver import Driver, DriverFactory
from adapters.modbus import ModbusDriver, ModbusSimServer
from adapters.opcua import OpcUaDriver, OpcUaSimServer
from dsl.model import Device


class SimServer(Protocol):
    """A real server on 127.0.0.1 that behaves like one declared device."""

    async def start(self) -> None: ...
    async def set(self, key: str, value: Value) -> None: ...
    async def get(self, key: str) -> Value: ...
    async def stop(self) -> None: ...


class SimServerFactory(Protocol):
    def __call__(self, device: Device, initial: Mapping[str, Value]) -> SimServer: ...


DRIVERS: Mapping[str, DriverFactory] = {"opcua": OpcUaDriver, "modbus": ModbusDriver}
SIM_SERVERS: Mapping[str, SimServerFactory] = {"opcua": OpcUaSimServer, "modbus": ModbusSimServer}


def driver_for(device: Device, secrets_dir: Path) -> Driver:
    """A fresh driver for one connection attempt to ``device``."""
    return DRIVERS[device.protocol](device, secrets_dir)
