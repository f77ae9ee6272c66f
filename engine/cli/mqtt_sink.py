"""The MQTT sink of ``ferrule publish``: MQTT 5, QoS 1, on a unified-namespace topic tree.

Topics follow ISA-95's equipment hierarchy (docs/events.md)::

    <enterprise>/<site>/<area>/<work centre>/<equipment>/<entity>/<action>

``_`` stands for a level the record does not belong to (a work order belongs to the site, not to
a work centre). An event is delivered once the broker's PUBACK arrived; when the broker goes
away, the sink reconnects on a fresh session and the publisher sends again from the sink's
settled point (a killed broker may have lost what it acknowledged in the last seconds), with the
same event ids (``id`` in the payload).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from dsl.model import Plant
from engine.cli.sinks import Sent
from engine.commands.events import SETTLE, Event

NONE = "_"  # a level of the topic tree the record does not belong to
MAX_INFLIGHT = 2000
CONNECT_TIMEOUT_S = 5.0
ACK_TIMEOUT_S = 10.0
ACK_POLL_S = 0.05
TOPICS_REFRESH_S = 60.0  # how often the plant is read again (a deploy may change it)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    """Where the broker is and how to sign in (from the environment, docs/events.md)."""

    host: str
    port: int = 1883
    tls: bool = False
    ca_file: str | None = None
    username: str | None = None
    password: str | None = None
    client_id: str = "ferrule-publish"
    redeliver: dt.timedelta = SETTLE  # what is sent again after a reconnection (docs/events.md)
    enterprise: str = "ferrule"
    area: str = "production"


class TopicTree:
    """Maps an event to its unified-namespace topic, using the plant's equipment and routings."""

    def __init__(self, plant: Plant | None, *, enterprise: str, area: str) -> None:
        site = plant.site.name if plant is not None else NONE
        self.prefix = "/".join(segment(part) for part in (enterprise, site, area))
        self.work_center_of: dict[str, str] = {}
        self.operations: dict[str, tuple[str, str]] = {}
        if plant is not None:
            for name, equipment in plant.equipment.items():
                self.work_center_of[name] = equipment.work_center or NONE
            for routing in plant.routings.values():
                for op in routing.operations:
                    place = (op.work_center or NONE, op.equipment or NONE)
                    self.operations.setdefault(op.id, place)

    def topic(self, event: Event) -> str:
        """``<enterprise>/<site>/<area>/<work centre>/<equipment>/<entity>/<action>``."""
        work_center, equipment = self.place(event)
        return (
            f"{self.prefix}/{segment(work_center)}/{segment(equipment)}/"
            f"{segment(event.entity)}/{segment(event.action)}"
        )

    def place(self, event: Event) -> tuple[str, str]:
        """(work centre, equipment) the event's record is at, ``_`` where it is at none."""
        if event.entity == "equipment":
            return self.work_center_of.get(event.entity_id, NONE), event.entity_id
        if event.entity != "item":
            return NONE, NONE
        payload = json.loads(event.payload)
        for state in (payload.get("old"), payload.get("new")):
            if isinstance(state, Mapping) and state.get("current_operation"):
                return self.operations.get(str(state["current_operation"]), (NONE, NONE))
        return NONE, NONE


def segment(text: str) -> str:
    """``text`` as one topic level: no separators or wildcards, never empty."""
    cleaned = text.replace("/", "_").replace("+", "_").replace("#", "_").strip()
    return cleaned or NONE


class MqttSink:
    """Publishes events to one broker; reconnects on a fresh session after any failure."""

    name = "mqtt"

    def __init__(self, settings: MqttSettings, plant: Callable[[], Plant | None]) -> None:
        """``plant`` gives the active plant, which names the topic tree's levels; it is asked
        again on every new connection and every :data:`TOPICS_REFRESH_S` (after a deploy)."""
        self.settings = settings
        self.plant = plant
        self.topics = self._topic_tree()
        self.client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._answered = threading.Event()  # the broker answered the last CONNECT
        self._refusal = ""  # its reason code, when it refused
        self._problem = ""  # why the last connection attempt failed

    @property
    def settle(self) -> dt.timedelta:
        return self.settings.redeliver

    def open(self) -> bool:
        """Connect when not connected; True when that made a new connection."""
        return self.client is None and self._connect() is not None

    def send(self, events: Sequence[Event]) -> Sent:
        """Publish ``events`` with QoS 1; delivered: the leading ones the broker acknowledged."""
        client = self.client or self._connect()
        if client is None:
            return Sent(0, problem=self._problem)
        if time.monotonic() - self._topics_at > TOPICS_REFRESH_S:
            self.topics = self._topic_tree()
        messages: list[mqtt.MQTTMessageInfo] = []
        for event in events:
            info = client.publish(
                self.topics.topic(event), event.payload, qos=1, properties=PROPERTIES
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                break
            messages.append(info)
        delivered = 0
        deadline = time.monotonic() + ACK_TIMEOUT_S
        for info in messages:
            if not self._acknowledged(info, deadline):
                break
            delivered += 1
        if delivered == len(events):
            return Sent(delivered)
        self.close()  # start over from the cursor on a new connection
        return Sent(delivered, problem="the broker did not acknowledge every message")

    def _acknowledged(self, info: mqtt.MQTTMessageInfo, deadline: float) -> bool:
        """Wait for the broker's PUBACK of ``info`` while the connection lasts."""
        try:
            while not info.is_published():
                if not self._connected.is_set() or time.monotonic() > deadline:
                    return False
                info.wait_for_publish(timeout=ACK_POLL_S)
        except (RuntimeError, ValueError):  # the message was dropped with its connection
            return False
        return True

    def close(self) -> None:
        """Disconnect and drop the client (its unacknowledged messages are sent again)."""
        client, self.client = self.client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
        self._connected.clear()

    def _topic_tree(self) -> TopicTree:
        self._topics_at = time.monotonic()
        settings = self.settings
        return TopicTree(self.plant(), enterprise=settings.enterprise, area=settings.area)

    def _connect(self) -> mqtt.Client | None:
        self.topics = self._topic_tree()
        settings = self.settings
        self._answered.clear()
        self._refusal = ""
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set(ca_certs=settings.ca_file)
        client.max_inflight_messages_set(MAX_INFLIGHT)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.reconnect_delay_set(1, 1)
        where = f"broker {settings.host}:{settings.port}"
        try:
            client.connect(settings.host, settings.port, keepalive=30, clean_start=True)
        except OSError as error:  # refused, unreachable, or TLS verification failed
            self._problem = f"cannot connect to the {where}: {error}"
            return None
        client.loop_start()
        self._answered.wait(CONNECT_TIMEOUT_S)
        if not self._connected.is_set():
            self._problem = f"the {where} {self._refusal or 'did not answer'}"
            client.disconnect()
            client.loop_stop()
            return None
        self.client = client
        return client

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refusal = f"refused the connection: {reason}"
        else:
            self._connected.set()
        self._answered.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _flags: mqtt.DisconnectFlags,
        _reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connected.clear()


class PackedOnce(Properties):
    """MQTT 5 properties that are the same on every message, serialised once instead of on
    every publish (paho packs them per message: a quarter of a publish's time)."""

    def pack(self) -> bytes:
        packed: bytes | None = self.__dict__.get("_packed")
        if packed is None:
            packed = super().pack()  # type: ignore[no-untyped-call]
            object.__setattr__(self, "_packed", packed)
        return packed


def _publish_properties() -> Properties:
    """The properties of every message: JSON, as UTF-8 text (the event id is in the payload)."""
    properties = PackedOnce(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = "application/json"
    properties.PayloadFormatIndicator = 1
    return properties


PROPERTIES = _publish_properties()
