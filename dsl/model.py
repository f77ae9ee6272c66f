"""The compiled plant model: immutable, fully resolved, every rule compiled.

The loader (:mod:`dsl.loader`) builds these objects from a plant folder after checking it; the
engine, the adapters and the web layer only ever read them. Quantities that come from the config
(limits, consumption quantities) are stored in the unit the config names, with that unit, because
that is what people see; rules work in SI (see :mod:`dsl.env`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from dsl.calendars import ReasonTree, ShiftCalendar
from dsl.diagnostics import Span
from dsl.rules import CompiledRule, Env, Outcome

# ---------------------------------------------------------------- site, devices and tags


@dataclass(frozen=True, slots=True)
class Site:
    name: str
    timezone: str
    description: str
    span: Span
    change_control: ChangeControl | None = None
    """How a new config is approved; None: any engineer or admin deploys (no approval)."""
    inventory: Inventory | None = None
    """Stores: locations, FEFO, lot signatures; None: no locations, no FEFO, nothing signed."""
    calendar: ShiftCalendar | None = None
    """Shifts and breaks (planned busy time for OEE); None: every hour is planned busy time."""
    history: HistoryPolicy | None = None
    """How long the tag historian keeps values and when it downsamples them; None: the
    defaults of :class:`HistoryPolicy` (see docs/historian.md)."""
    quality: QualityPolicy | None = None
    """Defect codes, review board and CAPA link; None: any code, quality alone disposes."""


APPROVAL_MEANING = "Approved for production"
"""What a deploy's approval signature states unless ``change_control`` says otherwise."""


@dataclass(frozen=True, slots=True)
class ChangeControl:
    """``change_control`` of site.yaml: a deploy needs the e-signature of a user holding the role
    ``approver``, stating ``meaning``, and the bundle's config tests must pass; with
    ``two_person`` the approver must be someone else than the person who deploys."""

    approver: str
    meaning: str
    two_person: bool
    span: Span


DISPOSITION_DECISIONS = ("use_as_is", "rework", "repair", "scrap", "return_to_vendor")
"""What a nonconformance can be dispositioned as."""
DEFAULT_BOARD = ("quality",)
"""Who signs a disposition the site's review board does not name roles for."""


@dataclass(frozen=True, slots=True)
class QualityPolicy:
    """``quality`` of site.yaml: the defect codes a nonconformance is opened with (code ->
    description; empty: any code), the roles that must each sign a disposition before it takes
    effect (material review board; :data:`DEFAULT_BOARD` for a decision it does not name), and
    the URL of a CAPA in the site's QMS with ``{capa}`` where its id goes."""

    defect_codes: Mapping[str, str]
    review_board: Mapping[str, tuple[str, ...]]
    capa_link: str | None
    span: Span

    def signers_of(self, decision: str) -> tuple[str, ...]:
        """The roles that must each sign a ``decision``."""
        return self.review_board.get(decision, DEFAULT_BOARD)


Fefo = Literal["off", "propose", "strict"]
LabelBarcode = Literal["gs1-128", "datamatrix"]


@dataclass(frozen=True, slots=True)
class Inventory:
    """``inventory`` of site.yaml: where lots are kept (a received lot goes to the first
    location unless told otherwise), whether first-expiry-first-out is proposed or enforced at
    consumption, and which lot status changes (``release``, ``hold``, ``scrap``) need an
    e-signature."""

    locations: tuple[str, ...]
    fefo: Fefo
    signatures: Mapping[str, SignatureRequirement]
    span: Span
    label_barcode: LabelBarcode = "gs1-128"
    """The barcode lot and serial labels print unless a print asks for another."""


class ValueType(enum.Enum):
    """What kind of value a tag or field holds."""

    NUMBER = "number"
    BOOL = "bool"
    STRING = "string"


@dataclass(frozen=True, slots=True)
class OpcUaAddress:
    """An OPC UA node, e.g. ``ns=2;s=Line1.Press.Pressure``."""

    node: str


class RegisterKind(enum.Enum):
    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE = "discrete"


ModbusDataType = Literal["int16", "uint16", "int32", "uint32", "float32", "bool"]
WordOrder = Literal["big", "little"]


@dataclass(frozen=True, slots=True)
class ModbusAddress:
    """A Modbus value: ``raw * scale + offset`` gives the engineering value in the tag's unit."""

    kind: RegisterKind
    address: int
    data_type: ModbusDataType
    word_order: WordOrder = "big"
    scale: float = 1.0
    offset: float = 0.0

    @property
    def register_count(self) -> int:
        """How many 16-bit registers (or bits, for coils and discrete inputs) the value spans."""
        return 2 if self.data_type in ("int32", "uint32", "float32") else 1


SimKind = Literal["constant", "walk", "counter", "cycle"]


@dataclass(frozen=True, slots=True)
class SimBehaviour:
    """How ``ferrule sim`` moves a tag's value (in the tag's unit).

    - ``constant``: always ``value``;
    - ``walk``: a random walk between ``low`` and ``high``, starting at ``value``;
    - ``counter``: increases by ``rate_per_s`` per second from ``value``;
    - ``cycle``: steps through ``values``, one every ``period_s`` seconds.
    """

    kind: SimKind
    value: float | bool | str | None = None
    low: float | None = None
    high: float | None = None
    rate_per_s: float | None = None
    values: tuple[float | bool | str, ...] = ()
    period_s: float | None = None


@dataclass(frozen=True, slots=True)
class Tag:
    """A named value read from (and maybe written to) a device."""

    device: str
    name: str
    address: OpcUaAddress | ModbusAddress
    value_type: ValueType
    unit: str | None
    max_age_s: float
    writable: bool
    description: str
    sim: SimBehaviour | None
    span: Span
    history: TagHistory | None = None
    """How the tag historian records it; None: not recorded."""

    @property
    def key(self) -> str:
        """``device.tag``: how rules and the adapter cache name it."""
        return f"{self.device}.{self.name}"


@dataclass(frozen=True, slots=True)
class TagHistory:
    """``history`` of a tag: sampled every ``every_s`` seconds, a value stored when it moves more
    than ``deadband`` (in the tag's own unit) from the last stored one, or its quality changes,
    and at least every ``heartbeat_s`` seconds (docs/historian.md)."""

    every_s: float
    deadband: float
    heartbeat_s: float
    span: Span


DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class HistoryPolicy:
    """``history`` of site.yaml: recorded values are kept ``keep_s`` seconds; values older than
    ``downsample_after_s`` are replaced by min/max/avg/last per ``downsample_to_s`` bucket
    (no downsampling when None)."""

    keep_s: float = 90 * DAY_S
    downsample_after_s: float | None = None
    downsample_to_s: float | None = None
    span: Span | None = None


SecurityPolicy = Literal["None", "Basic256Sha256"]


@dataclass(frozen=True, slots=True)
class OpcUaConnection:
    endpoint: str
    security_policy: SecurityPolicy = "None"
    certificate: str | None = None
    private_key: str | None = None
    server_certificate: str | None = None
    publishing_interval_ms: int = 100
    timeout_s: float = 2.0


@dataclass(frozen=True, slots=True)
class ModbusConnection:
    host: str
    port: int = 502
    unit_id: int = 1
    poll_interval_ms: int = 100
    timeout_s: float = 1.0


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    connection: OpcUaConnection | ModbusConnection
    tags: Mapping[str, Tag]
    description: str
    span: Span

    @property
    def protocol(self) -> Literal["opcua", "modbus"]:
        return "opcua" if isinstance(self.connection, OpcUaConnection) else "modbus"


# ---------------------------------------------------------------- equipment, people, material


class EquipmentState(enum.Enum):
    RUNNING = "running"
    IDLE = "idle"
    DOWN = "down"
    SETUP = "setup"
    UNKNOWN = "unknown"  # history only: Ferrule cannot see the machine (never a rule's state)


class StateCause(enum.Enum):
    """Why an equipment state was recorded."""

    STATE_RULE = "state_rule"  # a state rule passed (or none did: idle)
    DEVICE_UNREACHABLE = "device_unreachable"  # a rule's tag is bad or stale: unknown
    ADAPTER_NOT_RUNNING = "adapter_not_running"  # the adapter process stopped: unknown
    MANUAL = "manual"  # a person or a command recorded it


@dataclass(frozen=True, slots=True)
class StateRule:
    """``state`` holds while ``when`` passes; rules are tried in order, the first match wins."""

    state: EquipmentState
    when: CompiledRule


@dataclass(frozen=True, slots=True)
class CareInterval:
    """How often calibration or maintenance is needed (``every_days`` after the last one, and
    after ``every_uses`` uses since, when given: operations completed on the machine, or counts
    of the ``counter`` tag, ``device.tag``, when one is declared), and how many days ahead it is
    announced (``warn_days``)."""

    every_days: int
    warn_days: int
    every_uses: int | None = None
    counter: str | None = None


@dataclass(frozen=True, slots=True)
class Equipment:
    """A machine or tool. With no state rule matching, its state is ``idle``."""

    name: str
    description: str
    work_center: str | None
    device: str | None
    calibration_due: dt.date | None
    maintenance_due: dt.date | None
    state_rules: tuple[StateRule, ...]
    span: Span
    calibration: CareInterval | None = None
    maintenance: CareInterval | None = None

    def derive_state(self, env: Env) -> EquipmentState:
        """The first state rule that passes, or ``idle`` when none does. Fail safe: a rule
        that cannot be decided (a tag it reads is bad or stale) before the first passing one
        makes the state ``down`` — a machine Ferrule cannot see is neither running nor free."""
        state, _ = self.observed_state(env)
        return EquipmentState.DOWN if state is EquipmentState.UNKNOWN else state

    def observed_state(self, env: Env) -> tuple[EquipmentState, StateRule | None]:
        """The state for the history and the rule that decided it: the first passing rule's
        state; ``unknown`` (with that rule) when a rule before it cannot be decided; ``idle``
        (no rule) when none passes."""
        for rule in self.state_rules:
            outcome = rule.when.evaluate(env)
            if outcome is Outcome.PASS:
                return rule.state, rule
            if outcome is Outcome.UNKNOWN:
                return EquipmentState.UNKNOWN, rule
        return EquipmentState.IDLE, None


@dataclass(frozen=True, slots=True)
class ToolType:
    """A kind of tool or fixture (a crimp applicator, a gauge, a mould) and its physical
    ``units``, each tracked on its own: ``life_cycles`` completed operations before it must be
    retired (None: no limit), a warning from ``warn_at`` of its life (a fraction), and how often
    each unit is calibrated."""

    name: str
    kind: str
    description: str
    life_cycles: int | None
    warn_at: float
    calibration: CareInterval | None
    units: tuple[str, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    description: str
    span: Span


@dataclass(frozen=True, slots=True)
class Qualification:
    """A skill an operator is trained for; ``valid_for_days`` is how long training lasts."""

    name: str
    description: str
    valid_for_days: int | None
    span: Span


@dataclass(frozen=True, slots=True)
class WorkCenter:
    name: str
    description: str
    span: Span
    downtime: ReasonTree | None = None
    """Downtime reasons stops are coded with; None: stops are not coded."""


Tracking = Literal["serial", "lot"]


AQLS = (
    "0.010", "0.015", "0.025", "0.040", "0.065", "0.10", "0.15", "0.25", "0.40", "0.65", "1.0",
    "1.5", "2.5", "4.0", "6.5", "10", "15", "25", "40", "65", "100", "150", "250", "400", "650",
    "1000",
)  # fmt: skip
"""The AQLs of the ANSI/ASQ Z1.4 master tables, as printed (see engine/floor/aql_tables.py)."""

AQL_LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
"""The inspection levels of Z1.4 Table I: special S-1 to S-4, general I to III."""


@dataclass(frozen=True, slots=True)
class AqlSampling:
    """``sample: {aql, level}``: lot acceptance sampling per ANSI/ASQ Z1.4 (docs/sampling.md).
    ``aql`` as printed in the tables; ``skip_after``/``skip_every``: skip-lot (after that many
    consecutive accepted lots, inspect one lot in ``skip_every``); ``reduced_allowed``: the
    plant approves switching to reduced inspection; ``release``: an accepted received lot in
    quarantine is released by the decision."""

    aql: str
    level: str
    span: Span
    skip_after: int | None = None
    skip_every: int | None = None
    reduced_allowed: bool = False
    release: bool = False


@dataclass(frozen=True, slots=True)
class Part:
    """A purchased or made material. ``shelf_life_days`` sets a received lot's expiry."""

    name: str
    description: str
    tracking: Tracking
    unit: str
    shelf_life_days: int | None
    span: Span
    quarantine: bool = False
    """Received lots start in quarantine until quality releases them."""
    gtin: str = ""
    """The part's GTIN, which its lot labels carry as AI 01 ("" for none: AI 240 names it)."""
    erp_material: str = ""
    """The ERP's material id for it ("" when the ERP does not name it)."""
    sample: AqlSampling | None = None
    """Receiving inspection of each received lot by AQL sampling (None: no such inspection)."""


@dataclass(frozen=True, slots=True)
class BomLine:
    part: str
    quantity: float
    unit: str
    span: Span


@dataclass(frozen=True, slots=True)
class Product:
    """Something the plant makes. ``number_pattern`` makes serial or lot numbers.

    Pattern placeholders: ``{yyyy}``, ``{yy}``, ``{mm}``, ``{dd}``, ``{seq:N}`` (a per-product
    sequence, zero-padded to N digits), ``{wo}`` (the work order number).
    """

    name: str
    description: str
    tracking: Tracking
    unit: str
    number_pattern: str
    routing: str
    bom: tuple[BomLine, ...]
    span: Span
    gtin: str = ""
    """The product's GTIN, which its unit and lot labels carry as AI 01 ("" for none)."""
    erp_material: str = ""
    """The ERP's material id for it: B2MML orders for that material make this product."""


# ---------------------------------------------------------------- routings and operations


FieldType = Literal["number", "integer", "text", "choice", "bool", "date", "photo", "attachment"]


@dataclass(frozen=True, slots=True)
class DataField:
    """A value the operator enters; ``low``/``high`` are in ``unit``."""

    name: str
    label: str
    type: FieldType
    unit: str | None
    required: bool
    low: float | None
    high: float | None
    choices: tuple[str, ...]
    help: str
    span: Span


@dataclass(frozen=True, slots=True)
class Interlock:
    """A precondition for starting an operation. ``implicit`` ones come from the config's
    ``qualification`` and ``equipment`` keys rather than an explicit ``require``."""

    name: str
    rule: CompiledRule
    because: str
    implicit: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Consumption:
    """Components consumed at an operation; ``tolerance`` (a fraction, e.g. 0.01) allows the
    actual quantity to differ from ``quantity`` (weigh and dispense)."""

    part: str
    quantity: float
    unit: str
    tolerance: float | None
    span: Span


class Sampling(enum.Enum):
    EVERY = "every"
    FIRST = "first"
    PERCENT = "percent"


@dataclass(frozen=True, slots=True)
class SamplingRule:
    """``every`` n-th item, the ``first`` n of a work order, or ``percent`` of items
    (a deterministic draw from the item id, recorded with the result)."""

    kind: Sampling = Sampling.EVERY
    n: float = 1

    def describe(self) -> str:
        if self.kind is Sampling.EVERY:
            return "every item" if self.n == 1 else f"every {int(self.n)}th item"
        if self.kind is Sampling.FIRST:
            return f"first {int(self.n)} items of each work order"
        return f"{self.n:g}% of items"


class FailAction(enum.Enum):
    HOLD = "hold"
    NONCONFORMANCE = "nonconformance"
    SCRAP = "scrap"
    REWORK = "rework"


@dataclass(frozen=True, slots=True)
class OnFail:
    """What a failed gate does. For rework: ``target`` operation, at most ``max_loops`` times;
    past that the item gets a nonconformance."""

    action: FailAction
    target: str | None = None
    max_loops: int | None = None


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    check: CompiledRule
    sampling: SamplingRule
    on_fail: OnFail
    because: str
    span: Span


@dataclass(frozen=True, slots=True)
class SignatureRequirement:
    """A signature an operation needs before it can complete (21 CFR 11.50: meaning shown)."""

    role: str
    meaning: str
    span: Span


@dataclass(frozen=True, slots=True)
class Setpoint:
    """A value written to a device tag when the operation starts, confirmed by read-back."""

    tag: str
    value: CompiledRule
    tolerance: float
    span: Span


SpcAction = Literal["notify", "hold", "hold-equipment", "nc", "block"]


@dataclass(frozen=True, slots=True)
class SpcChart:
    """``spc:`` on a collected field or a captured tag (``captured``): a control chart of kind
    ``chart`` (i-mr, xbar-r, xbar-s, p, np, c, u) whose limits come from the first ``baseline``
    subgroups or from the given ``center`` (and ``sigma``), checked with ``rules`` at every
    completion; ``on_signal`` says what a broken rule does. ``subgroup``: values per point
    (x̄ charts), ``sample_size``: items inspected per point (p, np, u). ``low``/``high`` are the
    specification limits (the field's min and max) in ``unit``."""

    source: str
    captured: bool
    chart: str
    subgroup: int
    sample_size: float
    baseline: int | None
    center: float | None
    sigma: float | None
    rules: tuple[str, ...]
    on_signal: SpcAction
    low: float | None
    high: float | None
    unit: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Operation:
    id: str
    title: str
    work_center: str | None
    equipment: str | None
    instructions: str | None
    fields: tuple[DataField, ...]
    interlocks: tuple[Interlock, ...]
    setpoints: tuple[Setpoint, ...]
    consume: tuple[Consumption, ...]
    capture: tuple[str, ...]
    gates: tuple[Gate, ...]
    signatures: tuple[SignatureRequirement, ...]
    span: Span
    spc: tuple[SpcChart, ...] = ()
    """Control charts kept on this operation's fields and captured tags."""
    cycle_time_s: float | None = None
    """Ideal seconds for one unit of the product (a piece, or one kg of a lot): ISO 22400's
    planned unit processing time, which the schedule plans with; None when not declared."""
    tool: str | None = None
    """The tool type the operator scans a unit of at start (``tool: applicator-22``)."""
    sample: AqlSampling | None = None
    """A lot gate: the work order's lot is accepted here by AQL sampling (docs/sampling.md)."""
    first_article: bool = False
    """The first unit of each work order needs a signed first-article approval here before the
    rest may start it."""

    def field(self, name: str) -> DataField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True)
class Routing:
    name: str
    product: str
    description: str
    operations: tuple[Operation, ...]
    span: Span

    def operation(self, op_id: str) -> Operation:
        """The operation named ``op_id``; KeyError if there is none."""
        for op in self.operations:
            if op.id == op_id:
                return op
        raise KeyError(op_id)

    def next_operation(self, op_id: str) -> Operation | None:
        """The operation after ``op_id`` in routing order, or None after the last."""
        ids = [op.id for op in self.operations]
        index = ids.index(op_id)
        return self.operations[index + 1] if index + 1 < len(ids) else None


# ---------------------------------------------------------------- event rules

EventActionKind = Literal["hold", "nonconformance", "notify", "write"]


@dataclass(frozen=True, slots=True)
class EventAction:
    """One thing an event rule's firing does: ``hold`` the equipment ``target`` (put it down),
    open a ``nonconformance`` on the equipment ``target``, ``notify`` the role ``target``, or
    ``write`` the tag ``target`` with ``value`` (in SI, like every rule value)."""

    kind: EventActionKind
    target: str
    span: Span
    value: CompiledRule | None = None

    def describe(self) -> str:
        """``hold crimp-press-1``, ``write press1.target_force = 0 N``: for people."""
        if self.kind == "write" and self.value is not None:
            return f"write {self.target} = {self.value.source}"
        return f"{self.kind} {self.target}"


@dataclass(frozen=True, slots=True)
class RateLimit:
    """``at_most: 1 per 10 min``: at most ``count`` firings within any ``per_s`` seconds."""

    count: int
    per_s: float
    text: str


@dataclass(frozen=True, slots=True)
class EventRule:
    """``event_rules`` of site.yaml: once ``when`` has been known true for ``for_s`` seconds the
    rule fires ``actions`` (once per episode); it re-arms when ``rearm`` passes (None: when
    ``when`` is known false). See docs/event-rules.md."""

    name: str
    when: CompiledRule
    for_s: float
    actions: tuple[EventAction, ...]
    because: str
    rearm: CompiledRule | None
    at_most: RateLimit | None
    span: Span


# ---------------------------------------------------------------- the plant


def _frozen(mapping: Mapping[str, object] | None = None) -> Mapping[str, object]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Plant:
    """A whole site, checked and compiled. ``files`` holds every source file's text by path
    (relative to the plant folder), which is what a deployed config version stores."""

    site: Site
    devices: Mapping[str, Device]
    equipment: Mapping[str, Equipment]
    roles: Mapping[str, Role]
    qualifications: Mapping[str, Qualification]
    work_centers: Mapping[str, WorkCenter]
    parts: Mapping[str, Part]
    products: Mapping[str, Product]
    routings: Mapping[str, Routing]
    files: Mapping[str, str] = field(default_factory=_frozen)  # type: ignore[arg-type]
    content_hash: str = ""
    tools: Mapping[str, ToolType] = field(default_factory=_frozen)  # type: ignore[arg-type]
    """Tool types by name (``tools`` of site.yaml)."""
    event_rules: Mapping[str, EventRule] = field(default_factory=_frozen)  # type: ignore[arg-type]
    """Rules that act on live tags (:mod:`engine.floor.event_rules`), by name."""

    def tool_type_of(self, unit: str) -> ToolType | None:
        """The tool type a physical tool ``unit`` (its id) belongs to, None for an unknown id."""
        return next((t for t in self.tools.values() if unit in t.units), None)

    def tag(self, key: str) -> Tag:
        """The tag ``device.tag``; KeyError if undeclared."""
        device, _, name = key.partition(".")
        return self.devices[device].tags[name]

    def all_tags(self) -> tuple[Tag, ...]:
        return tuple(t for d in self.devices.values() for t in d.tags.values())

    def routing_for(self, product: str) -> Routing:
        return self.routings[self.products[product].routing]
