"""Modbus TCP (pymodbus): the polling driver and the simulator's server.

The only module that imports pymodbus. The driver reads merged register blocks (see
:mod:`adapters.codec`) once per poll interval over one connection, one request at a time. pymodbus'
own reconnect is switched off (the runtime backs off instead) and requests are not retried, so a
hung device is noticed after one timeout. A request in flight when the connection drops fails at
once: pymodbus would leave it waiting for its timeout, so the driver races every request against
pymodbus' connection hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from adapters.cache import Value
from adapters.codec import Block, decode, encode, is_bit, modbus_address, plan_blocks
from adapters.driver import DeviceError, DeviceLost, DeviceSink, stopping
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


def _abandon(request: asyncio.Future[Any]) -> None:
    """Cancel a request nobody waits for any more; whatever it ends with is dropped quietly."""
    request.cancel()
    request.add_done_callback(lambda ended: ended.cancelled() or ended.exception())


class ModbusDriver:
    """One Modbus TCP connection to a device, polled in merged blocks."""

    def __init__(self, device: Device, secrets_dir: object = None) -> None:
        self.device = device
        self.connection = _connection(device)
        self.blocks = plan_blocks(device.tags.values())
        self._client: AsyncModbusTcpClient | None = None
        self._lost: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        """Open the TCP connection (no automatic reconnect, no retries)."""
        conn = self.connection
        self._lost = asyncio.get_running_loop().create_future()
        client = AsyncModbusTcpClient(
            conn.host,
            port=conn.port,
            timeout=conn.timeout_s,
            retries=0,
            reconnect_delay=0,
            trace_connect=self._connection_changed,
        )
        self._client = client
        if not await client.connect():
            raise DeviceError(f"cannot connect to {conn.host}:{conn.port}")

    def _connection_changed(self, connected: bool) -> None:
        """pymodbus' connection hook: remember a drop, so the request in flight fails now."""
        if not connected and self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _connected(self) -> tuple[AsyncModbusTcpClient, asyncio.Future[None]]:
        """The client and the future its connection's loss completes; DeviceError before connect."""
        if self._client is None or self._lost is None:
            raise DeviceError(f"device {self.device.name} is not connected")
        return self._client, self._lost

    async def _exchange(self, send: Callable[[], Awaitable[ModbusPDU]]) -> ModbusPDU:
        """Send one request (one at a time) and wait for its answer; DeviceLost as soon as the
        connection drops, DeviceError when the device does not answer in time."""
        _, lost = self._connected()
        async with self._lock:
            try:
                answer = asyncio.ensure_future(send())  # raises at once when already disconnected
                racing: set[asyncio.Future[Any]] = {answer, lost}
                try:
                    done, _ = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    if not answer.done():
                        _abandon(answer)
                if answer not in done:
                    raise DeviceLost("connection lost")
                return answer.result()
            except ModbusException as exc:
                raise self._failure(exc) from exc

    async def _request(
        self, kind: RegisterKind, address: int, count: int
    ) -> list[int] | list[bool]:
        """One read; DeviceError on an exception response or a lost connection."""
        client, _ = self._connected()
        unit = self.connection.unit_id
        readers = {
            RegisterKind.COIL: client.read_coils,
            RegisterKind.DISCRETE: client.read_discrete_inputs,
            RegisterKind.HOLDING: client.read_holding_registers,
            RegisterKind.INPUT: client.read_input_registers,
        }
        response = await self._exchange(
            partial(readers[kind], address, count=count, device_id=unit)
        )
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
            return DeviceLost("connection lost")
        return DeviceError(str(exc))

    async def serve(self, sink: DeviceSink) -> None:
        """Poll every block once per poll interval until a request fails (or, between polls,
        the connection drops)."""
        _, lost = self._connected()
        interval = self.connection.poll_interval_ms / 1000
        next_poll = time.monotonic()
        while not stopping():
            for block in self.blocks:
                self._report(block, await self._request(block.kind, block.start, block.count), sink)
            sink.confirm()
            next_poll = max(next_poll + interval, time.monotonic())
            await asyncio.wait({lost}, timeout=next_poll - time.monotonic())
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
        client, _ = self._connected()
        if address.kind not in (RegisterKind.HOLDING, RegisterKind.COIL):
            raise DeviceError(f"tag {tag.key}: {address.kind.value} values are read-only in Modbus")
        words = encode(address, _number(value, tag))
        unit = self.connection.unit_id
        if address.kind is RegisterKind.COIL:
            send = partial(client.write_coil, address.address, bool(words[0]), device_id=unit)
        else:
            registers = [int(w) for w in words]
            send = partial(client.write_registers, address.address, registers, device_id=unit)
        response = await self._exchange(send)
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
