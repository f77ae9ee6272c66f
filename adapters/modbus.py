"""Modbus TCP (pymodbus): the polling driver and the simulator's server.

The only module that imports pymodbus. The driver reads merged register blocks (see
:mod:`adapters.codec`) once per poll interval over one connection, one request at a time. pymodbus'
own reconnect is switched off (the runtime backs off instead) and requests are not retried, so a
hung device is noticed after one timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.cache import Value
from adapters.codec import Block, decode, encode, is_bit, modbus_address, plan_blocks
from adapters.driver import DeviceError, DeviceSink
from dsl.model import Device, ModbusConnection, RegisterKind, Tag

_READ_CODE = {
    RegisterKind.COIL: 1,
    RegisterKind.DISCRETE: 2,
    RegisterKind.HOLDING: 3,
    RegisterKind.INPUT: 4,
}


def _connection(device: Device) -> ModbusConnection:
    if not isinstance(device.connection, ModbusConnection):
        raise TypeError(f"device {device.name} is not a Modbus device")
    return device.connection


def _number(value: Value, tag: Tag) -> float | bool:
    if isinstance(value, str):
        raise DeviceError(f"tag {tag.key}: Modbus registers cannot hold text {value!r}")
    return value


class ModbusDriver:
    """One Modbus TCP connection to a device, polled in merged blocks."""

    def __init__(self, device: Device, plant_dir: object = None) -> None:
        self.device = device
        self.connection = _connection(device)
        self.blocks = plan_blocks(device.tags.values())
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Open the TCP connection (no automatic reconnect, no retries)."""
        conn = self.connection
        client = AsyncModbusTcpClient(
            conn.host,
            port=conn.port,
            timeout=conn.timeout_s,
            retries=0,
            reconnect_delay=0,
        )
        self._client = client
        if not await client.connect():
            raise DeviceError(f"cannot connect to {conn.host}:{conn.port}")

    async def _request(
        self, kind: RegisterKind, address: int, count: int
    ) -> list[int] | list[bool]:
        """One read; DeviceError on an exception response or a lost connection."""
        client = self._client
        if client is None:
            raise DeviceError(f"device {self.device.name} is not connected")
        unit = self.connection.unit_id
        readers = {
            RegisterKind.COIL: client.read_coils,
            RegisterKind.DISCRETE: client.read_discrete_inputs,
            RegisterKind.HOLDING: client.read_holding_registers,
            RegisterKind.INPUT: client.read_input_registers,
        }
        async with self._lock:
            try:
                response: ModbusPDU = await readers[kind](address, count=count, device_id=unit)
            except ModbusException as exc:
                raise self._failure(exc) from exc
        if response.isError():
            raise DeviceError(
                f"reading {kind.value} {address}..{address + count - 1}: "
                f"device answered with exception code {getattr(response, 'exception_code', '?')}"
            )
        if kind in (RegisterKind.COIL, RegisterKind.DISCRETE):
            return list(response.bits[:count])
        return list(response.registers)

    def _failure(self, exc: ModbusException) -> DeviceError:
        """What a failed request means, in words (pymodbus' texts are long and vague)."""
        if isinstance(exc, ModbusIOException):
            return DeviceError(f"no answer within {self.connection.timeout_s:g} s")
        if isinstance(exc, ConnectionException):
            return DeviceError("connection lost")
        return DeviceError(str(exc))

    async def serve(self, sink: DeviceSink) -> None:
        """Poll every block once per poll interval until a request fails."""
        interval = self.connection.poll_interval_ms / 1000
        current = asyncio.current_task()
        next_poll = time.monotonic()
        while current is None or not current.cancelling():
            for block in self.blocks:
                self._report(block, await self._request(block.kind, block.start, block.count), sink)
            sink.confirm()
            next_poll = max(next_poll + interval, time.monotonic())
            await asyncio.sleep(next_poll - time.monotonic())
        raise asyncio.CancelledError

    def _report(self, block: Block, words: Sequence[int | bool], sink: DeviceSink) -> None:
        now = time.time()
        for tag in block.tags:
            sink.value(tag, decode(modbus_address(tag), block.words_of(tag, words)), now)

    async def read(self, tag: Tag) -> Value:
        """Read one tag now."""
        address = modbus_address(tag)
        count = 1 if is_bit(address) else address.register_count
        return decode(address, await self._request(address.kind, address.address, count))

    async def write(self, tag: Tag, value: Value) -> None:
        """Write a holding register (or two) or a coil."""
        address = modbus_address(tag)
        client = self._client
        if client is None:
            raise DeviceError(f"device {self.device.name} is not connected")
        if address.kind not in (RegisterKind.HOLDING, RegisterKind.COIL):
            raise DeviceError(f"tag {tag.key}: {address.kind.value} values are read-only in Modbus")
        words = encode(address, _number(value, tag))
        unit = self.connection.unit_id
        async with self._lock:
            try:
                if address.kind is RegisterKind.COIL:
                    response = await client.write_coil(
                        address.address, bool(words[0]), device_id=unit
                    )
                else:
                    registers = [int(w) for w in words]
                    response = await client.write_registers(
                        address.address, registers, device_id=unit
                    )
            except ModbusException as exc:
                raise self._failure(exc) from exc
        if response.isError():
            raise DeviceError("device answered with an exception response")

    async def close(self) -> None:
        """Close the socket."""
        client, self._client = self._client, None
        if client is not None:
            client.close()


# ---------------------------------------------------------------- the simulator's server

_SPARE = 16


class ModbusSimServer:
    """A real Modbus TCP server on 127.0.0.1 holding every tag of a device."""

    def __init__(self, device: Device, initial: Mapping[str, Value]) -> None:
        self.device = device
        self.connection = _connection(device)
        self.initial = initial
        self._server: ModbusTcpServer | None = None

    def _sim_device(self) -> SimDevice:
        size = {kind: _SPARE for kind in RegisterKind}
        for tag in self.device.tags.values():
            address = modbus_address(tag)
            size[address.kind] = max(
                size[address.kind], address.address + address.register_count + 1
            )

        def bits(kind: RegisterKind) -> list[SimData]:
            return [SimData(0, count=size[kind], values=False, datatype=DataType.BITS)]

        def registers(kind: RegisterKind) -> list[SimData]:
            return [SimData(0, count=size[kind], values=0, datatype=DataType.REGISTERS)]

        return SimDevice(
            id=self.connection.unit_id,
            simdata=(
                bits(RegisterKind.COIL),
                bits(RegisterKind.DISCRETE),
                registers(RegisterKind.HOLDING),
                registers(RegisterKind.INPUT),
            ),
        )

    async def start(self) -> None:
        """Listen on the device's host and port with the initial values set."""
        address = (self.connection.host, self.connection.port)
        self._server = ModbusTcpServer(self._sim_device(), address=address)
        await self._server.serve_forever(background=True)
        for key, value in self.initial.items():
            await self.set(key, value)

    async def set(self, key: str, value: Value) -> None:
        """Change a tag's value as the device would."""
        assert self._server is not None
        address = modbus_address(self.device.tags[key.partition(".")[2]])
        words = encode(address, _number(value, self.device.tags[key.partition(".")[2]]))
        code = _READ_CODE[address.kind]
        await self._server.async_setValues(self.connection.unit_id, code, address.address, words)

    async def get(self, key: str) -> Value:
        """A tag's current value on the server (clients may have written it)."""
        assert self._server is not None
        address = modbus_address(self.device.tags[key.partition(".")[2]])
        count = 1 if is_bit(address) else address.register_count
        code = _READ_CODE[address.kind]
        words = await self._server.async_getValues(
            self.connection.unit_id, code, address.address, count
        )
        return decode(address, words)

    async def stop(self) -> None:
        """Stop listening and drop client connections."""
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.shutdown(), 3.0)  # type: ignore[no-untyped-call]
