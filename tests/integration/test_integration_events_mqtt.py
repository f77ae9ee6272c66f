"""Events through a real Mosquitto: at least once, in order per record, with stable ids, while
the publisher and the broker are killed with SIGKILL in the middle of a burst of commits."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from engine_exec_support import CUT_DATA, receive_stock  # on sys.path via integration_support
from events_support import ROLLED_BACK, Burst, Subscriber, start_publisher, wait_until
from integration_support import OPERATOR, SUPERVISOR, add_people
from mosquitto import MosquittoBroker, running_broker
from paho.mqtt.enums import CallbackAPIVersion
from testdata import ACME

from dsl import load_or_raise
from dsl.model import Plant
from engine.cli.mqtt_sink import MqttSettings, MqttSink, TopicTree
from engine.cli.publish import Publisher, build_sinks, mqtt_settings
from engine.cli.sinks import Sent
from engine.commands.bom import ConsumptionInput
from engine.commands.events import Event
from engine.facade.events import Events
from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from engine.infra.outbox import EVENT_SCHEMA
from engine.records.base import utcnow

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def broker() -> Iterator[MosquittoBroker]:
    with running_broker() as started:
        yield started


def test_every_committed_event_arrives_in_order_through_kills(
    db: Database, broker: MosquittoBroker
) -> None:
    subscriber = Subscriber(broker.port)
    subscriber.start()
    time.sleep(1.5)  # the broker saves the subscriber's session (autosave every second)
    environ = {
        "FERRULE_MQTT_HOST": "127.0.0.1",
        "FERRULE_MQTT_PORT": str(broker.port),
        "FERRULE_MQTT_REDELIVER_S": "3",  # the broker saves what it accepted every second
    }
    publisher = start_publisher(db, environ)
    writer = Burst(db)
    writer.start()
    outbox = Events(db)
    try:
        wait_until(lambda: outbox.cursor("mqtt") > 0, "the publisher delivers")
        publisher.send_signal(signal.SIGKILL)
        publisher.wait(10)
        delivered = outbox.cursor("mqtt")
        publisher = start_publisher(db, environ)
        wait_until(lambda: outbox.cursor("mqtt") > delivered, "the new publisher delivers")
        broker.kill()
        time.sleep(0.5)
        broker.start()
        wait_until(lambda: outbox.cursor("mqtt") > delivered + 300, "delivery resumes")
        assert writer.is_alive(), "the burst ended before the kills"
        writer.stop()
        committed = outbox.pending("everything", 100_000)
        missing = subscriber.wait_for({e.event_id for e in committed})
    finally:
        publisher.send_signal(signal.SIGTERM)
        publisher.wait(15)
        writer.stop()
        subscriber.stop()
    assert publisher.returncode == 0
    assert not missing, f"{len(missing)} of {len(committed)} committed events never arrived"
    received = subscriber.messages()
    assert len(committed) == writer.committed * 3
    assert all(m.payload["actor"] != ROLLED_BACK for m in received)
    by_id: dict[str, Event] = {e.event_id: e for e in committed}
    assert {m.event_id for m in received} == set(by_id)
    assert len(received) > len(by_id)  # what the kills put in doubt was sent again
    for message in received:  # a duplicate is the same event: same id, same payload
        assert message.content_type == "application/json"
        assert message.payload["seq"] == by_id[message.event_id].seq
    seen: set[str] = set()
    last_seq: dict[tuple[str, str], int] = defaultdict(int)
    for message in received:  # first arrivals of each record's events come in commit order
        if message.event_id in seen:
            continue
        seen.add(message.event_id)
        record = (message.payload["entity"], message.payload["entity_id"])
        assert message.payload["seq"] > last_seq[record]
        last_seq[record] = message.payload["seq"]
    jsonschema.validate(received[0].payload, EVENT_SCHEMA)
    assert received[0].topic.startswith("ferrule/_/production/_/_/")


def test_topics_follow_the_plants_equipment_hierarchy() -> None:
    plant = load_or_raise(ACME)
    tree = TopicTree(plant, enterprise="acme", area="harness line 1")

    def event(entity: str, entity_id: str, action: str, payload: str = "{}") -> Event:
        return Event(1, "id", utcnow(), entity, entity_id, action, payload)

    crimped = '{"old": {"current_operation": "crimp"}, "new": {"current_operation": "test"}}'
    assert tree.topic(event("item", "HA-1", "complete", crimped)) == (
        "acme/acme-harness/harness line 1/crimping/crimp-press-1/item/complete"
    )
    assert tree.topic(event("equipment", "tester-1", "state_change")) == (
        "acme/acme-harness/harness line 1/testing/tester-1/equipment/state_change"
    )
    assert tree.topic(event("work_order", "WO/1", "release")) == (
        "acme/acme-harness/harness line 1/_/_/work_order/release"
    )
    assert tree.topic(event("item", "HA-1", "create", '{"old": null, "new": {}}')) == (
        "acme/acme-harness/harness line 1/_/_/item/create"
    )


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a server certificate it signed for 127.0.0.1: (CA file, cert file, key file)."""
    now = dt.datetime.now(dt.UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
            builder = builder.add_extension(x509.SubjectAlternativeName([address]), False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    ca_cert = certificate("Test CA", ca_key, ca_name, ca_key, True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = certificate("127.0.0.1", server_key, ca_name, ca_key, False)
    files = (folder / "ca.pem", folder / "server.pem", folder / "server.key")
    files[0].write_bytes(ca_cert.public_bytes(Encoding.PEM))
    files[1].write_bytes(server_cert.public_bytes(Encoding.PEM))
    files[2].write_bytes(
        server_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    return files


def test_the_publisher_signs_in_to_a_tls_broker(tmp_path: Path) -> None:
    ca_file, cert_file, key_file = _certificates(tmp_path)
    (event,) = [Event(1, "e-1", utcnow(), "work_order", "WO-1", "release", "{}")]
    environ = {
        "FERRULE_MQTT_HOST": "127.0.0.1",
        "FERRULE_MQTT_TLS": "1",
        "FERRULE_MQTT_CA_FILE": str(ca_file),
        "FERRULE_MQTT_USERNAME": "ferrule",
        "FERRULE_MQTT_PASSWORD": "right-password",
    }
    assert mqtt_settings(environ) == MqttSettings(
        host="127.0.0.1",
        port=8883,
        tls=True,
        ca_file=str(ca_file),
        username="ferrule",
        password="right-password",
    )
    with running_broker(users={"ferrule": "right-password"}, tls=(cert_file, key_file)) as broker:
        right = mqtt_settings({**environ, "FERRULE_MQTT_PORT": str(broker.port)})
        assert right is not None
        sink = MqttSink(right, lambda: None)
        assert sink.send([event]) == Sent(1)
        sink.close()
        where = f"the broker 127.0.0.1:{broker.port}"
        wrong = MqttSink(replace(right, password="wrong"), lambda: None)
        assert wrong.send([event]) == Sent(
            0, problem=f"{where} refused the connection: Not authorized"
        )
        wrong.close()
        untrusted = MqttSink(
            replace(right, ca_file=None), lambda: None
        )  # the system CAs do not know it
        refused = untrusted.send([event])
        assert refused.delivered == 0
        assert refused.problem.startswith(
            f"cannot connect to {where}: [SSL: CERTIFICATE_VERIFY_FAILED]"
        )
        untrusted.close()


def test_a_completion_reaches_a_stock_mosquitto_sub(
    db: Database, plant: Plant, broker: MosquittoBroker
) -> None:
    add_people(db, plant)
    receive_stock(db, plant)
    engine = Ferrule(db, StaticTagSource())
    order = engine.create_work_order(actor=SUPERVISOR, product="HA-100", quantity=1)
    (unit,) = engine.release_work_order(actor=SUPERVISOR, number=order.number).items
    program = shutil.which("mosquitto_sub")
    assert program is not None, "mosquitto-clients is not installed (tests/infra/system-deps.sh)"
    topics = ["-t", "acme/acme-harness/line-1/cutting/+/item/complete", "-t", PROBE]
    options = ["-V", "mqttv5", "-q", "1", "-h", "127.0.0.1", "-p", str(broker.port), "-v"]
    subscriber = subprocess.Popen(
        [program, *options, *topics, "-C", "2", "-W", "30"], stdout=subprocess.PIPE, text=True
    )
    try:
        _probe_until_subscribed(broker.port, subscriber)
        engine.start_operation(actor=OPERATOR, item=unit, operation="cut")
        engine.complete_operation(
            actor=OPERATOR,
            item=unit,
            operation="cut",
            data=CUT_DATA,
            consume=[ConsumptionInput("WIRE-18-RD", "W-001")],
        )
        environ = {
            "FERRULE_MQTT_HOST": "127.0.0.1",
            "FERRULE_MQTT_PORT": str(broker.port),
            "FERRULE_UNS_ENTERPRISE": "acme",
            "FERRULE_UNS_AREA": "line-1",
        }
        outbox = Events(db)
        (sink,) = build_sinks(outbox, environ)
        assert Publisher(outbox, [sink]).pump_once(sink).settled > 0
        sink.close()
        assert subscriber.stdout is not None
        output = subscriber.stdout.readline()
    finally:
        subscriber.kill()
        subscriber.wait(10)
    seen_topic, _, body = output.partition(" ")
    assert seen_topic == "acme/acme-harness/line-1/cutting/_/item/complete"
    payload = json.loads(body)
    jsonschema.validate(payload, EVENT_SCHEMA)
    assert (payload["entity_id"], payload["actor"], payload["old"]["current_operation"]) == (
        unit,
        OPERATOR,
        "cut",
    )


PROBE = "acme/probe"


def _probe_until_subscribed(port: int, subscriber: subprocess.Popen[str]) -> None:
    """Publish to :data:`PROBE` until ``subscriber`` prints it (then it is subscribed)."""
    assert subscriber.stdout is not None
    seen = threading.Event()

    def read_probe() -> None:
        assert subscriber.stdout is not None
        if subscriber.stdout.readline().startswith(PROBE):
            seen.set()

    reader = threading.Thread(target=read_probe, daemon=True)
    reader.start()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for _ in range(50):
            client.publish(PROBE, b"probe", qos=1).wait_for_publish(5)
            if seen.wait(0.2):
                return
    finally:
        client.disconnect()
        client.loop_stop()
    raise AssertionError("mosquitto_sub did not subscribe within 10 s")
