"""OPC UA (asyncua): the client driver, endpoint browsing and the simulator's server.

The only module that imports asyncua. The driver subscribes to every tag of a device with the
configured publishing interval and writes values with the Variant type the node already has,
because servers reject a Python int written to a Double node.

Certificates and keys come from the site secrets folder, never from the plant folder: a device
names each by its file name there, and a private key that group or others may read is refused
(as ssh refuses one), as is a missing file; either becomes the device's bad reason.

Every half timeout it checks that the device is still being heard: the server must answer a
probe read (so a hung server is noticed within its timeout), the task reading the subscription
must be running, and a publish response (data or keep-alive) must have arrived within the
subscription's keep-alive period plus the timeout. Only then are the good values confirmed: a
session that stays up while its subscription froze does not keep stale values "good".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.subscription import DataChangeEvent, StatusChangeEvent, Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.crypto.uacrypto import CertProperties, load_certificate
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.uaerrors import UaStatusCodeError
from cryptography import x509

from adapters.cache import Value
from adapters.driver import DeviceError, DeviceLost, DeviceSink, stopping
from dsl.model import Device, OpcUaAddress, OpcUaConnection, Tag, ValueType

log = logging.getLogger(__name__)

_VARIANT_OF = {
    ValueType.NUMBER: ua.VariantType.Double,
    ValueType.BOOL: ua.VariantType.Boolean,
    ValueType.STRING: ua.VariantType.String,
}
_NUMERIC_VARIANTS = frozenset(
    {
        ua.VariantType.SByte,
        ua.VariantType.Byte,
        ua.VariantType.Int16,
        ua.VariantType.UInt16,
        ua.VariantType.Int32,
        ua.VariantType.UInt32,
        ua.VariantType.Int64,
        ua.VariantType.UInt64,
    }
)


def _connection(device: Device) -> OpcUaConnection:
    if not isinstance(device.connection, OpcUaConnection):
        raise TypeError(f"device {device.name} is not an OPC UA device")
    return device.connection


def _node_id(tag: Tag) -> str:
    if not isinstance(tag.address, OpcUaAddress):
        raise TypeError(f"tag {tag.key} has no OPC UA node")
    return tag.address.node


def _seconds(moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _as_value(tag: Tag, raw: Any) -> Value:
    """A node's value converted to what the tag declares (numbers as float)."""
    if tag.value_type is ValueType.BOOL:
        return bool(raw)
    if tag.value_type is ValueType.STRING:
        return str(raw)
    if isinstance(raw, bool | int | float):
        return float(raw)
    raise DeviceError(f"the node holds {type(raw).__name__} {raw!r}, expected a number")


def _application_uri(certificate: x509.Certificate) -> str | None:
    """The application URI a certificate names; servers refuse a session whose URI differs."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = names.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


SECRETS: tuple[tuple[str, str], ...] = (
    ("certificate", "certificate"),
    ("private_key", "private key"),
    ("server_certificate", "server certificate"),
)
"""The connection fields that name a file of the site secrets folder, and what each is."""


class SecretError(DeviceError):
    """A device's certificate or key cannot be used. The message is the device's bad reason
    (short enough for the tag cache, naming the file); ``full`` names its path, for the log."""

    def __init__(self, reason: str, full: str) -> None:
        super().__init__(reason)
        self.full = full


def read_secret(secrets_dir: Path, what: str, name: str) -> bytes:
    """The bytes of the secret ``name`` (a ``what``: certificate, private key, …) in the site
    secrets folder. Refuses a private key that group or others may read (chmod 600)."""
    path = secrets_dir / name
    try:
        with path.open("rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if what == "private key" and mode & 0o077:
                raise SecretError(
                    f"private key {name} is too open (chmod 600)",
                    f"private key {path} must be readable by its owner only (chmod 600)",
                )
            return file.read()
    except FileNotFoundError:
        raise SecretError(
            f"{what} {name} is not in the secrets folder",
            f"{what} {path} does not exist (put it in the secrets folder {secrets_dir})",
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SecretError(
            f"cannot read {what} {name} ({reason})", f"cannot read {what} {path} ({reason})"
        ) from None


def secret_problems(device: Device, secrets_dir: Path) -> list[str]:
    """Why the certificates and keys a secured OPC UA device names cannot be used, one line per
    file (``press1: private key …/client.pem must be readable by its owner only (chmod 600)``);
    empty when they can, or when the device needs none."""
    connection = device.connection
    if not isinstance(connection, OpcUaConnection) or connection.security_policy == "None":
        return []
    problems: list[str] = []
    for field, what in SECRETS:
        name = getattr(connection, field)
        if name is None:
            continue
        try:
            read_secret(secrets_dir, what, name)
        except SecretError as exc:
            problems.append(f"{device.name}: {exc.full}")
    return problems


def _secret_properties(data: bytes) -> CertProperties:
    """A certificate or key for asyncua, PEM or DER by its content (not by its file name)."""
    return CertProperties(data, "pem" if data.lstrip().startswith(b"-----BEGIN") else "der")


def _status_text(status: ua.StatusCode | None) -> str | None:
    """None for a good status, else the status name (``BadNodeIdUnknown``)."""
    if status is None or status.is_good():
        return None
    return str(status.name)


def _reader_failure(reader: asyncio.Task[None]) -> DeviceError:
    """Why the task reading the subscription ended (it only ends when something went wrong)."""
    if reader.cancelled():
        return DeviceError("the OPC UA subscription reader stopped")
    failure = reader.exception()
    if failure is None:
        return DeviceError("the OPC UA subscription ended")
    if isinstance(failure, DeviceError):
        return failure
    log.error("the OPC UA subscription reader failed", exc_info=failure)
    return DeviceError(f"the OPC UA subscription reader failed ({type(failure).__name__})")


class OpcUaDriver:
    """One OPC UA session with a device: subscription, probing, typed reads and writes."""

    def __init__(self, device: Device, secrets_dir: Path) -> None:
        self.device = device
        self.connection = _connection(device)
        self.secrets_dir = secrets_dir
        self._client: Client | None = None
        self._lost: asyncio.Future[Exception] | None = None
        self._tags_by_node: dict[str, Tag] = {}
        self._variant: dict[str, ua.VariantType] = {}

    async def connect(self) -> None:
        """Open a session (with security if configured) and learn each node's Variant type."""
        conn = self.connection
        client = Client(conn.endpoint, timeout=conn.timeout_s, watchdog_intervall=conn.timeout_s)
        client.application_uri = "urn:ferrule:adapters"
        if conn.security_policy == "Basic256Sha256":
            await self._secure(client)
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()

        async def lost(exc: Exception) -> None:
            if self._lost is not None and not self._lost.done():
                self._lost.set_result(exc)

        client.connection_lost_callback = lost
        self._client = client
        await client.connect()
        nodes = [client.get_node(_node_id(tag)) for tag in self.device.tags.values()]
        values = await client.read_attributes(nodes, AttributeIds.Value)
        for tag, node, data in zip(self.device.tags.values(), nodes, values, strict=True):
            self._tags_by_node[node.nodeid.to_string()] = tag
            if data.Value is not None:
                self._variant[tag.key] = data.Value.VariantType
        self._initial = values

    async def _secure(self, client: Client) -> None:
        conn = self.connection
        missing = [
            name
            for name, path in (("certificate", conn.certificate), ("private_key", conn.private_key))
            if path is None
        ]
        if missing:
            raise DeviceError(
                f"device {self.device.name}: Basic256Sha256 needs {' and '.join(missing)} "
                "(files in the site secrets folder)"
            )
        assert conn.certificate is not None and conn.private_key is not None
        certificate = read_secret(self.secrets_dir, "certificate", conn.certificate)
        key = read_secret(self.secrets_dir, "private key", conn.private_key)
        server = (
            _secret_properties(
                read_secret(self.secrets_dir, "server certificate", conn.server_certificate)
            )
            if conn.server_certificate
            else None
        )
        own = _secret_properties(certificate)
        client.application_uri = (
            _application_uri(await load_certificate(own.path_or_content, own.extension))
            or client.application_uri
        )
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            own,
            _secret_properties(key),
            server_certificate=server,
            mode=ua.MessageSecurityMode.SignAndEncrypt,
        )

    def _require_client(self) -> Client:
        if self._client is None:
            raise DeviceError(f"device {self.device.name} is not connected")
        return self._client

    async def serve(self, sink: DeviceSink) -> None:
        """Report the initial values, then subscription changes, and watch the device."""
        client = self._require_client()
        for tag, data in zip(self.device.tags.values(), self._initial, strict=True):
            self._report(sink, tag, data)
        sink.confirm()
        subscription, silence_limit = await self._subscribe(client)
        nodes = [client.get_node(node) for node in self._tags_by_node]
        results = await subscription.subscribe_data_change(nodes)
        for tag, result in zip(self._tags_by_node.values(), results, strict=True):
            if isinstance(result, ua.StatusCode):
                sink.tag_bad(tag, f"cannot subscribe ({result.name})")
        reader = asyncio.create_task(
            self._consume(subscription, sink), name=f"opcua-subscription:{self.device.name}"
        )
        try:
            await self._watch(client, subscription, silence_limit, reader, sink)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(reader, 1.0)

    async def _subscribe(self, client: Client) -> tuple[Subscription, float]:
        """A subscription whose server sends a keep-alive at least every half timeout when no
        value changes, and how long it may then stay silent before the device counts as lost."""
        conn = self.connection
        half_timeout_ms = conn.timeout_s * 1000 / 2
        keep_alive_count = max(1, int(half_timeout_ms // conn.publishing_interval_ms))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=conn.publishing_interval_ms,
            RequestedLifetimeCount=max(10_000, 3 * keep_alive_count),
            RequestedMaxKeepAliveCount=keep_alive_count,
            MaxNotificationsPerPublish=10_000,
            PublishingEnabled=True,
        )
        # Not Client.create_subscription: asyncua's stale-subscription watchdog would recreate a
        # silent subscription and reset its last_publish_at, hiding the silence from _watch.
        subscription = Subscription(client.uaclient.session, params, queue_maxsize=100_000)
        revised = await subscription.init()
        keep_alive_s = revised.RevisedPublishingInterval / 1000 * revised.RevisedMaxKeepAliveCount
        return subscription, keep_alive_s + conn.timeout_s

    async def _consume(self, subscription: Subscription, sink: DeviceSink) -> None:
        """Report data changes; raise when the server says the subscription is gone."""
        async for event in subscription:
            if isinstance(event, DataChangeEvent):
                tag = self._tags_by_node.get(event.node.nodeid.to_string())
                if tag is not None and event.data.monitored_item.Value is not None:
                    self._report(sink, tag, event.data.monitored_item.Value)
            elif isinstance(event, StatusChangeEvent):
                ended = _status_text(event.notification.Status)
                if ended is not None:
                    raise DeviceError(f"the server ended the OPC UA subscription ({ended})")

    async def _watch(
        self,
        client: Client,
        subscription: Subscription,
        silence_limit: float,
        reader: asyncio.Task[None],
        sink: DeviceSink,
    ) -> NoReturn:
        """Every half timeout, confirm the good values if the device is still being heard;
        raise at once when the link drops or the subscription's reader ends."""
        assert self._lost is not None
        timeout = self.connection.timeout_s
        subscribed_at = time.monotonic()
        watched: set[asyncio.Future[Any]] = {self._lost, reader}
        while not stopping():
            await asyncio.wait(watched, timeout=timeout / 2, return_when=asyncio.FIRST_COMPLETED)
            if self._lost.done():
                raise DeviceLost("connection lost") from self._lost.result()
            if reader.done():
                raise _reader_failure(reader)
            try:
                await asyncio.wait_for(client.nodes.server_state.read_value(), timeout)
            except TimeoutError as exc:
                raise DeviceError(f"no answer within {timeout:g} s") from exc
            except (ConnectionError, OSError) as exc:
                raise DeviceLost("connection lost") from exc
            silent = time.monotonic() - (subscription.last_publish_at or subscribed_at)
            if silent > silence_limit:
                raise DeviceError(f"no data from the OPC UA subscription for {silent:.1f} s")
            sink.confirm()
        raise asyncio.CancelledError

    def _report(self, sink: DeviceSink, tag: Tag, data: ua.DataValue) -> None:
        bad = _status_text(data.StatusCode)
        if bad is not None:
            sink.tag_bad(tag, f"the device reports {bad}")
            return
        raw = data.Value.Value if data.Value is not None else None
        if raw is None:
            sink.tag_bad(tag, "the device sent no value")
            return
        try:
            value = _as_value(tag, raw)
        except DeviceError as exc:
            sink.tag_bad(tag, str(exc))
            return
        sink.value(tag, value, _seconds(data.SourceTimestamp))

    async def read(self, tag: Tag) -> Value:
        """Read one value now."""
        client = self._require_client()
        data = await client.get_node(_node_id(tag)).read_data_value()
        bad = _status_text(data.StatusCode)
        if bad is not None:
            raise DeviceError(f"reading {tag.key}: device reports {bad}")
        return _as_value(tag, data.Value.Value if data.Value is not None else None)

    async def write(self, tag: Tag, value: Value) -> None:
        """Write ``value`` with the node's own Variant type."""
        client = self._require_client()
        variant = self._variant.get(tag.key, _VARIANT_OF[tag.value_type])
        typed: Any = value
        if variant in _NUMERIC_VARIANTS:
            typed = round(float(value))
        elif variant in (ua.VariantType.Double, ua.VariantType.Float):
            typed = float(value)
        try:
            await client.get_node(_node_id(tag)).write_value(
                ua.DataValue(ua.Variant(typed, variant))
            )
        except UaStatusCodeError as exc:
            raise DeviceError(f"device refused: {exc}") from exc

    async def close(self) -> None:
        """Close the session; a dead server only costs the socket close."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), self.connection.timeout_s)
            client.disconnect_socket()


# ---------------------------------------------------------------- browsing


@dataclass(frozen=True, slots=True)
class BrowsedNode:
    """A variable an endpoint offers: what to write after ``node:`` in the plant config."""

    node: str
    path: str
    data_type: str
    value: str


async def browse(endpoint: str, timeout_s: float = 5.0, max_depth: int = 6) -> list[BrowsedNode]:
    """Every variable below the Objects folder (the standard namespace 0 left out)."""
    client = Client(endpoint, timeout=timeout_s)
    found: list[BrowsedNode] = []
    async with asyncio.timeout(timeout_s * 4):
        await client.connect()
        try:
            await _walk(client.nodes.objects, "", max_depth, found)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout_s)
    return found


async def _walk(node: Any, path: str, depth: int, found: list[BrowsedNode]) -> None:
    if depth == 0:
        return
    for child in await node.get_children():
        if child.nodeid.NamespaceIndex == 0:
            continue
        name = (await child.read_browse_name()).Name
        child_path = f"{path}/{name}" if path else name
        if await child.read_node_class() == ua.NodeClass.Variable:
            data = await child.read_data_value()
            variant = data.Value.VariantType.name if data.Value is not None else "?"
            shown = repr(data.Value.Value) if data.Value is not None else "?"
            found.append(BrowsedNode(child.nodeid.to_string(), child_path, variant, shown))
        await _walk(child, child_path, depth - 1, found)


# ---------------------------------------------------------------- the simulator's server


class OpcUaSimServer:
    """A real OPC UA server on 127.0.0.1 holding one node per tag of a device."""

    def __init__(self, device: Device, initial: Mapping[str, Value]) -> None:
        self.device = device
        self.connection = _connection(device)
        self.initial = initial
        self._server = Server()
        self._node_ids: dict[str, ua.NodeId] = {}

    async def start(self) -> None:
        """Create the nodes and listen on the device's endpoint."""
        server = self._server
        await server.init()
        server.disable_clock()
        server.set_endpoint(self.connection.endpoint)
        server.set_server_name(f"Ferrule simulator: {self.device.name}")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        objects = server.nodes.objects
        folder = await objects.add_folder(
            ua.NodeId.from_string(f"ns=1;s={self.device.name}"), self.device.name
        )
        for tag in self.device.tags.values():
            node_id = ua.NodeId.from_string(_node_id(tag))
            namespaces = await server.get_namespace_array()
            while len(namespaces) <= node_id.NamespaceIndex:
                # Each URI must be new, or register_namespace returns the existing index.
                await server.register_namespace(f"urn:ferrule:sim:{len(namespaces)}")
                namespaces = await server.get_namespace_array()
            variant = _VARIANT_OF[tag.value_type]
            node = await folder.add_variable(node_id, tag.name, self.initial[tag.key], variant)
            if tag.writable:
                await node.set_writable()
            self._node_ids[tag.key] = node_id
        await server.start()

    async def set(self, key: str, value: Value) -> None:
        """Change a tag's value as the device would (source timestamp now)."""
        tag = self.device.tags[key.partition(".")[2]]
        data = ua.DataValue(
            ua.Variant(value, _VARIANT_OF[tag.value_type]),
            SourceTimestamp=ua.DateTime.now(dt.UTC),
        )
        await self._server.write_attribute_value(self._node_ids[key], data)

    async def get(self, key: str) -> Value:
        """A tag's current value on the server (clients may have written it)."""
        value = await self._server.get_node(self._node_ids[key]).read_value()
        return _as_value(self.device.tags[key.partition(".")[2]], value)

    async def freeze_subscriptions(self) -> None:
        """Fault: stop publishing to every subscription while sessions stay up and reads still
        answer (a device whose subscription froze): clients get neither data nor keep-alives."""
        for subscription in list(self._server.iserver.subscription_service.subscriptions.values()):
            await subscription.stop()

    async def stop(self) -> None:
        """Stop listening; bounded, since ``stop()`` can hang with clients still connected."""
        bserver = self._server.bserver
        if bserver is not None and bserver._server is not None:
            bserver._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.stop(), 3.0)
