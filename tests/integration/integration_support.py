"""The acme-harness line run end to end through the engine on real devices: a copy of the plant on
free ports, the simulator in a child process, the adapter runtime in a thread, and the engine
reading the runtime's cache (web.tags) and writing setpoints through its control socket.

Reuses the adapter tests' simulator and runtime helpers and the execution tests' stock and data.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto import cert_gen
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.server import Server
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

_TESTS = Path(__file__).resolve().parents[1]
for _area in ("adapters", "engine"):
    if str(_TESTS / _area) not in sys.path:
        sys.path.insert(0, str(_TESTS / _area))

from adapter_helpers import RuntimeThread, SimProcess, free_port, wait_for  # noqa: E402
from engine_exec_support import CUT_DATA, receive_stock  # noqa: E402
from testdata import ACME  # noqa: E402

from adapters.cache import Quality, TagCache, TagValue  # noqa: E402
from adapters.control import ControlClient  # noqa: E402
from dsl.model import Device, OpcUaAddress, OpcUaConnection, Plant  # noqa: E402
from engine.access import people  # noqa: E402
from engine.commands import versions  # noqa: E402
from engine.commands.bom import ConsumptionInput  # noqa: E402
from engine.facade.production import Ferrule  # noqa: E402
from engine.infra.db import Database  # noqa: E402
from web.tags import CacheTagSource  # noqa: E402

OPERATOR = "olga"
SUPERVISOR = "sam"
CRIMP_TAGS = ("press1.pressure", "press1.fault", "press1.target_force")


def plant_on_free_ports(folder: Path) -> Path:
    """A copy of acme-harness in ``folder`` whose press and tester listen on free ports, so the
    tests never talk to (or collide with) a running demo."""
    target = folder / "acme-harness"
    shutil.copytree(ACME, target)
    site = target / "site.yaml"
    text = site.read_text(encoding="utf-8")
    for declared, free in (
        ("127.0.0.1:4840/", f"127.0.0.1:{free_port()}/"),
        ("port: 5020", f"port: {free_port()}"),
    ):
        assert text.count(declared) == 1, f"acme-harness no longer declares {declared!r}"
        text = text.replace(declared, free)
    site.write_text(text, encoding="utf-8")
    return target


def add_people(db: Database, plant: Plant) -> None:
    """A supervisor, and an operator qualified for every operation."""
    with db.transaction() as session:
        for username, role in ((OPERATOR, "operator"), (SUPERVISOR, "supervisor")):
            people.create_user(session, username, actor="setup", full_name=username.title())
            people.grant_role(session, username, role, actor="setup", plant=plant)
        for qualification in plant.qualifications:
            people.grant_qualification(session, OPERATOR, qualification, actor="setup", plant=plant)


def read_device(connection: OpcUaConnection, address: OpcUaAddress) -> Any:
    """A node's value read straight from the OPC UA server (the device's side of a write)."""

    async def read() -> Any:
        async with Client(connection.endpoint, timeout=5) as client:
            return await client.get_node(address.node).read_value()

    return asyncio.run(asyncio.wait_for(read(), 20))


def unwritable(devices: Iterable[Device], key: str) -> list[Device]:
    """The devices with ``key`` made read-only on the device itself (the plant still declares
    it writable, as when a PLC's access rights change under a running site)."""
    device_name, _, tag_name = key.partition(".")

    def changed(device: Device) -> Device:
        if device.name != device_name:
            return device
        tags = {**device.tags, tag_name: replace(device.tags[tag_name], writable=False)}
        return replace(device, tags=tags)

    return [changed(device) for device in devices]


@dataclass
class DeviceLine:
    """The engine on a deployed acme-harness copy, fed by a real adapter runtime and simulator."""

    plant: Plant
    runtime: RuntimeThread
    cache: TagCache
    engine: Ferrule
    sim: SimProcess | None = None

    def run_devices(self, devices: list[Device] | None = None) -> None:
        """(Re)start the simulator serving ``devices`` (default: as the plant declares them) and
        wait until the runtime has good values for every tag the crimp start reads."""
        self.stop_devices()
        self.sim = SimProcess(devices or list(self.plant.devices.values()))
        self.sim.start()
        for key in CRIMP_TAGS:
            wait_for(functools.partial(self.cache.read, key), _is_good, 15, f"{key} good")

    def kill_devices(self) -> None:
        """SIGKILL the simulator and wait until the runtime has marked the press bad."""
        assert self.sim is not None
        self.sim.kill()
        wait_for(functools.partial(self.cache.read, "press1.pressure"), _is_bad, 5, "press bad")

    def stop_devices(self) -> None:
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    def close(self) -> None:
        """Stop the simulator and the runtime (each bounded)."""
        self.stop_devices()
        self.cache.close()
        self.runtime.stop()

    def unit_at_crimp(self) -> str:
        """A released unit whose 'cut' is done (cut reads no device)."""
        order = self.engine.create_work_order(actor=SUPERVISOR, product="HA-100", quantity=1)
        (unit,) = self.engine.release_work_order(actor=SUPERVISOR, number=order.number).items
        self.engine.start_operation(actor=OPERATOR, item=unit, operation="cut")
        self.engine.complete_operation(
            actor=OPERATOR,
            item=unit,
            operation="cut",
            data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        )
        return str(unit)


def _is_good(value: TagValue) -> bool:
    return value.quality is Quality.GOOD


def _is_bad(value: TagValue) -> bool:
    return value.quality is Quality.BAD


def start_line(db: Database, folder: Path, short_dir: Path) -> DeviceLine:
    """Deploy a free-port copy of acme-harness, add people and stock, start the adapter runtime
    (devices not yet running) and the engine on its cache and control socket."""
    versions.deploy(db, plant_on_free_ports(folder), actor="admin", note="integration test")
    plant = versions.active_plant(db)[1]
    add_people(db, plant)
    receive_stock(db, plant)
    runtime = RuntimeThread(plant, short_dir)
    cache = runtime.start()
    engine = Ferrule(
        db,
        CacheTagSource(runtime.cache_path),
        ControlClient(runtime.control_path, timeout_s=10),
    )
    return DeviceLine(plant, runtime, cache, engine)


def write_certificate(folder: Path, name: str, uri: str, *, server: bool) -> None:
    """A self-signed application certificate ``name.der`` and its key ``name.pem`` for the
    application ``uri`` (OPC UA servers check a session's application URI against it), written
    as a site secrets folder holds them: the folder 0700, the key 0600."""
    key = cert_gen.generate_private_key()
    use = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    certificate = cert_gen.generate_self_signed_app_certificate(
        key,
        name,
        {},
        [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost")],
        extended=[use],
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / f"{name}.der").write_bytes(certificate.public_bytes(Encoding.DER))
    key_file = folder / f"{name}.pem"
    key_file.touch(mode=0o600)
    key_file.write_bytes(cert_gen.dump_private_key_as_pem(key))


class SecureServer:
    """An OPC UA server offering only Basic256Sha256 with SignAndEncrypt that accepts only
    client certificates found in ``trusted`` (as a plant's PLC would be set up)."""

    def __init__(
        self, endpoint: str, certificate: Path, key: Path, trusted: Path, uri: str
    ) -> None:

        self.endpoint = endpoint
        self.certificate = certificate
        self.key = key
        self.trusted = trusted
        self.uri = uri
        self.server = Server()

    async def start(self, values: Mapping[str, float]) -> None:
        """Listen with one writable Double node per ``values`` key (a string node id in ns=2)."""
        server = self.server
        await server.init()
        server.disable_clock()
        server.set_endpoint(self.endpoint)
        await server.set_application_uri(self.uri)
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        await server.load_certificate(str(self.certificate))
        await server.load_private_key(str(self.key))
        trust = TrustStore([self.trusted], [])
        await trust.load()
        options = CertificateValidatorOptions.TRUSTED_VALIDATION
        server.set_certificate_validator(
            CertificateValidator(options | CertificateValidatorOptions.PEER_CLIENT, trust)
        )
        await server.register_namespace("urn:ferrule:test:secure")
        for node, value in values.items():
            variable = await server.nodes.objects.add_variable(
                ua.NodeId.from_string(node), node, value, ua.VariantType.Double
            )
            await variable.set_writable()
        await server.start()

    async def read(self, node: str) -> Any:
        """A node's value on the server itself."""
        return await self.server.get_node(node).read_value()

    async def stop(self) -> None:
        """Stop listening; bounded (``stop()`` can hang while clients are still connected)."""
        bserver = self.server.bserver
        if bserver is not None and bserver._server is not None:
            bserver._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.stop(), 3.0)
