"""The plant files' structure, declared once as plain data.

The loader validates every YAML file against these declarations (:mod:`dsl.validate`), and
``ferrule schema`` turns the same declarations into a JSON Schema (draft 2020-12) for editors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ScalarKind = Literal[
    "text", "name", "path", "expression", "integer", "number", "bool", "date", "quantity", "value"
]


@dataclass(frozen=True, slots=True)
class Scalar:
    """A single value. ``allowed`` restricts text to a set of words; ``dimension`` says which
    dimension a quantity must have (``time``, ``percent``), None for any.

    A number may be bounded: ``minimum`` and ``maximum`` (inclusive), ``positive`` (more than 0;
    for a quantity, the number as written) and ``nonzero``; ``why`` is the hint shown when a
    value is out of bounds.
    """

    kind: ScalarKind
    allowed: tuple[str, ...] = ()
    dimension: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    positive: bool = False
    nonzero: bool = False
    why: str | None = None


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    type: Type
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Section:
    """A mapping with fixed keys. Each group in ``exactly_one`` must have exactly one key set."""

    keys: tuple[Key, ...]
    exactly_one: tuple[tuple[str, ...], ...] = ()
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The keys' names, in declaration order."""
    required: tuple[Key, ...] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, Key] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validation looks keys up for every entry of every file: index them once.
        by_name: dict[str, Key] = {}
        for key in self.keys:
            by_name.setdefault(key.name, key)
        object.__setattr__(self, "names", tuple(k.name for k in self.keys))
        object.__setattr__(self, "required", tuple(k for k in self.keys if k.required))
        object.__setattr__(self, "_by_name", by_name)

    def key(self, name: str) -> Key | None:
        return self._by_name.get(name)


@dataclass(frozen=True, slots=True)
class NamedMap:
    """A mapping from names the engineer chooses to values of one type. ``what`` names one
    entry in messages (``device``); ``identifier`` says the names appear in rules."""

    what: str
    value: Type
    identifier: bool = False


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list; ``what`` names one item in messages (``interlock``)."""

    what: str
    item: Type
    min_items: int = 0
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class OneOf:
    """Either a scalar or a mapping (or a list), told apart by shape."""

    options: tuple[Type, ...]


Type = Scalar | Section | NamedMap | ListOf | OneOf

IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
RESERVED_WORDS = frozenset(
    {"and", "or", "not", "in", "between", "true", "false", "today", "now", "operator",
     "equipment", "unit", "lot"}
)  # fmt: skip
"""Words of the rule language, which device, tag and field names cannot be."""

TEXT = Scalar("text")
NAME = Scalar("name")
PATH = Scalar("path")
EXPRESSION = Scalar("expression")
INTEGER = Scalar("integer")
NUMBER = Scalar("number")
BOOL = Scalar("bool")
DATE = Scalar("date")
QUANTITY = Scalar("quantity")
DURATION = Scalar("quantity", dimension="time")
FRACTION = Scalar("quantity", dimension="percent")
VALUE = Scalar("value")


def _described(what: str) -> Section:
    return Section((Key("description", TEXT, f"What this {what} is."),))


# ---------------------------------------------------------------- devices and tags

OPCUA = Section(
    (
        Key("endpoint", Scalar("text"), "Server URL, opc.tcp://host:port/path.", required=True),
        Key(
            "security_policy",
            Scalar("text", allowed=("None", "Basic256Sha256")),
            "Message security; Basic256Sha256 needs certificate and private_key.",
        ),
        Key("certificate", NAME, "Client certificate: a file name in the site secrets folder."),
        Key("private_key", NAME, "Client private key: a file name in the site secrets folder."),
        Key(
            "server_certificate",
            NAME,
            "The server's certificate (to trust it): a file name in the site secrets folder.",
        ),
        Key("publishing_interval", DURATION, "How often the server sends changes; default 100 ms."),
        Key("timeout", DURATION, "Request timeout; default 2 s."),
    )
)

MODBUS = Section(
    (
        Key("host", TEXT, "Host name or IP address of the Modbus TCP server.", required=True),
        Key("port", Scalar("integer", minimum=1, maximum=65535), "TCP port; default 502."),
        Key(
            "unit_id",
            Scalar("integer", minimum=0, maximum=255),
            "Modbus unit (slave) id; default 1.",
        ),
        Key("poll_interval", DURATION, "How often registers are read; default 100 ms."),
        Key("timeout", DURATION, "Request timeout; default 1 s."),
    )
)

SIM = Section(
    (
        Key("value", VALUE, "The constant value, or where a walk or counter starts."),
        Key("walk", ListOf("bound", NUMBER, 2, 2), "A random walk between [low, high]."),
        Key("counter", NUMBER, "Increase by this much per second."),
        Key("cycle", ListOf("value", VALUE, 1), "Step through these values."),
        Key("every", DURATION, "How long each cycle value lasts; default 1 s."),
    )
)

TAG_TYPES = ("number", "bool", "string", "int16", "uint16", "int32", "uint32", "float32")
ADDRESS = Scalar("integer", minimum=0, maximum=65535)

TAG = Section(
    (
        Key("node", TEXT, 'OPC UA node id, e.g. "ns=2;s=Line1.Press.Pressure".'),
        Key("holding", ADDRESS, "Modbus holding register address (0-based)."),
        Key("input", ADDRESS, "Modbus input register address (0-based)."),
        Key("coil", ADDRESS, "Modbus coil address (0-based)."),
        Key("discrete", ADDRESS, "Modbus discrete input address (0-based)."),
        Key(
            "type",
            Scalar("text", allowed=TAG_TYPES),
            "OPC UA: number, bool or string (default number). Modbus registers: int16, uint16, "
            "int32, uint32, float32, or bool (true when not 0); default uint16. Coils and "
            "discrete inputs are bool.",
        ),
        Key(
            "word_order",
            Scalar("text", allowed=("big", "little")),
            "Word order of 32-bit Modbus values; default big.",
        ),
        Key(
            "scale",
            Scalar(
                "number", nonzero=True, why="a scale of 0 makes every reading equal to the offset"
            ),
            "Modbus: engineering value = raw * scale + offset; default 1.",
        ),
        Key("offset", NUMBER, "Modbus: engineering value = raw * scale + offset; default 0."),
        Key("unit", TEXT, "Engineering unit of the value, e.g. bar."),
        Key("max_age", DURATION, "A value older than this reads as stale; default 5 s."),
        Key("writable", BOOL, "Setpoints may write this tag; default false."),
        Key("description", TEXT, "What this tag measures."),
        Key("sim", SIM, "How `ferrule sim` moves this value."),
        Key(
            "history",
            Section(
                (
                    Key(
                        "every",
                        Scalar("quantity", dimension="time", positive=True, why="use e.g. 1 s"),
                        "How often the historian samples it; default 1 s.",
                    ),
                    Key(
                        "deadband",
                        QUANTITY,
                        "Store a value when it moves more than this (in the tag's unit) from the "
                        "last stored one; default 0: every change.",
                    ),
                    Key(
                        "heartbeat",
                        Scalar("quantity", dimension="time", positive=True, why="use e.g. 10 min"),
                        "Store a value at least this often even when it holds; default 10 min.",
                    ),
                )
            ),
            "Record this tag in the historian, e.g. {every: 1 s, deadband: 0.5 bar}.",
        ),
    ),
    exactly_one=(("node", "holding", "input", "coil", "discrete"),),
)

DEVICE = Section(
    (
        Key("description", TEXT, "What this device is."),
        Key("opcua", OPCUA, "Connect over OPC UA."),
        Key("modbus", MODBUS, "Connect over Modbus TCP."),
        Key(
            "tags", NamedMap("tag", TAG, identifier=True), "The values read from the device.", True
        ),
    ),
    exactly_one=(("opcua", "modbus"),),
)

# ---------------------------------------------------------------- equipment, people, material

STATE_NAMES = ("down", "setup", "running", "idle")

STATE_RULE = Section(
    tuple(Key(state, EXPRESSION, f"{state} while this holds.") for state in STATE_NAMES),
    exactly_one=(STATE_NAMES,),
)

CARE_INTERVAL = Section(
    (
        Key(
            "every",
            Scalar("quantity", dimension="time", positive=True, why="use at least 1 d"),
            "How long a calibration or maintenance lasts, e.g. 180 d: the next one is due that "
            "long after the last one recorded.",
            True,
        ),
        Key("warn", DURATION, "Warn this long before it is due; default 7 d."),
        Key(
            "uses",
            Scalar("integer", minimum=1),
            "Also due after this many uses since the last one: operations completed on the "
            "machine, or counts of its `counter` tag when one is given.",
        ),
        Key(
            "counter",
            NAME,
            "A number tag, device.tag, counting the machine's uses (strokes, shots, cycles) "
            "that `uses` reads instead of completed operations; a drop is a reset or rollover.",
        ),
    )
)

EQUIPMENT = Section(
    (
        Key("description", TEXT, "What this machine or tool is."),
        Key("work_center", NAME, "The work center it stands in."),
        Key("device", NAME, "The device its state rules read."),
        Key("calibration_due", DATE, "Date the next calibration is due (YYYY-MM-DD)."),
        Key("maintenance_due", DATE, "Date the next maintenance is due (YYYY-MM-DD)."),
        Key("calibration", CARE_INTERVAL, "Calibration interval, e.g. {every: 180 d}."),
        Key("maintenance", CARE_INTERVAL, "Preventive maintenance interval, e.g. {every: 30 d}."),
        Key(
            "states",
            ListOf("state rule", STATE_RULE),
            "State rules, tried in order; the first that holds wins; otherwise idle.",
        ),
    )
)

TOOL = Section(
    (
        Key("kind", TEXT, "What kind of tool this is, e.g. crimp applicator, gauge, mould."),
        Key("description", TEXT, "What this tool type is."),
        Key(
            "life",
            Scalar("integer", minimum=1, why="leave life out when the tool has no life limit"),
            "Life limit in cycles (operations completed with one tool), e.g. 250000.",
        ),
        Key("warn_at", FRACTION, "Warn once this much of the life is used; default 90 %."),
        Key("calibration", CARE_INTERVAL, "How often each tool is calibrated: {every: 180 d}."),
        Key(
            "units",
            ListOf("tool id", NAME, 1),
            "The physical tools of this type, by the id on their label, e.g. [A-17, A-18].",
            required=True,
        ),
    )
)

QUALIFICATION = Section(
    (
        Key("description", TEXT, "What this qualification covers."),
        Key("valid_for", DURATION, "How long training stays valid, e.g. 365 d."),
    )
)

TRACKING = Scalar("text", allowed=("serial", "lot"))

ERP_MAPPING = Section(
    (
        Key(
            "material",
            TEXT,
            'The ERP\'s material id (B2MML MaterialDefinitionID), e.g. "4711-HA100".',
            required=True,
        ),
    )
)

SKIP_LOT = Section(
    (
        Key("after", Scalar("integer", minimum=1), "Consecutive accepted lots first.", True),
        Key("every", Scalar("integer", minimum=2), "Then inspect one lot in this many.", True),
    )
)

AQL_SAMPLE = Section(
    (
        Key("aql", Scalar("number", positive=True), "AQL of ANSI/ASQ Z1.4, e.g. 1.0.", True),
        Key("level", TEXT, "Inspection level: I, II (usual), III or S-1 to S-4.", True),
        Key("skip", SKIP_LOT, "Skip-lot, e.g. {after: 10, every: 3}."),
        Key(
            "reduced",
            Scalar("text", allowed=("allowed", "never")),
            "allowed: reduced inspection may follow a good record; default never.",
        ),
        Key("release", BOOL, "An accepted lot leaves quarantine; default false."),
    )
)

PART = Section(
    (
        Key("description", TEXT, "What this part is."),
        Key("tracking", TRACKING, "lot (default) or serial."),
        Key("unit", TEXT, "Unit it is counted or measured in; default pcs."),
        Key("shelf_life", DURATION, "Sets a received lot's expiry, e.g. 730 d."),
        Key("quarantine", BOOL, "Received lots start in quarantine until quality releases them."),
        Key("gtin", TEXT, "Its GTIN (8-14 digits, quoted), carried by its lot labels as AI 01."),
        Key("erp", ERP_MAPPING, 'How the ERP names it, e.g. {material: "4711-T22"}.'),
        Key("sample", AQL_SAMPLE, "Receiving inspection by AQL, e.g. {aql: 1.0, level: II}."),
    )
)

PART_QUANTITY = Scalar("quantity", positive=True, why="remove the line if the part is not used")

BOM_LINE = Section(
    (
        Key("part", NAME, "The part.", required=True),
        Key("qty", PART_QUANTITY, "Quantity per product unit, in the part's unit.", required=True),
    )
)

PRODUCT = Section(
    (
        Key("description", TEXT, "What this product is."),
        Key("tracking", TRACKING, "serial: one unit per serial number; lot: batches.", True),
        Key("unit", TEXT, "Unit of quantity; default pcs (lot products: kg, L, ...)."),
        Key(
            "number_pattern",
            TEXT,
            "Serial/lot numbers: {yyyy} {yy} {mm} {dd} {seq:N} {wo}; default NAME-{seq:6}.",
        ),
        Key("routing", NAME, "The routing that makes it; default the routing naming it."),
        Key("bom", ListOf("BOM line", BOM_LINE), "Components per unit of product."),
        Key("gtin", TEXT, "Its GTIN (8-14 digits, quoted), carried by its labels as AI 01."),
        Key("erp", ERP_MAPPING, 'How the ERP names it, e.g. {material: "4711-HA100"}.'),
    )
)

SIGNATURE = Section(
    (
        Key("role", NAME, "Role of the person who signs.", required=True),
        Key("meaning", TEXT, "What the signature means, shown when signing.", required=True),
    )
)

LOT_ACTIONS = ("release", "hold", "scrap")
"""Lot status changes a site may require an e-signature for."""

INVENTORY = Section(
    (
        Key(
            "locations",
            ListOf("location", NAME, 1),
            "Where lots are kept (goods-in, quarantine cage, line side ...); received lots go to "
            "the first unless told otherwise.",
            required=True,
        ),
        Key(
            "fefo",
            Scalar("text", allowed=("off", "propose", "strict")),
            "First-expiry-first-out: propose the lot to consume, or refuse a later-expiring one.",
        ),
        Key(
            "label_barcode",
            Scalar("text", allowed=("gs1-128", "datamatrix")),
            "The barcode lot and serial labels print by default: gs1-128 (default) or a GS1 "
            "DataMatrix.",
        ),
        Key(
            "sign",
            Section(tuple(Key(a, SIGNATURE, f"The signature to {a} a lot.") for a in LOT_ACTIONS)),
            "Lot status changes that need an e-signature, e.g. release: {role: quality, ...}.",
        ),
    )
)

CHANGE_CONTROL = Section(
    (
        Key("approver", NAME, "The role whose e-signature approves each deploy.", required=True),
        Key(
            "meaning",
            TEXT,
            "What the approval signature states; default 'Approved for production'.",
        ),
        Key("two_person", BOOL, "The approver must be another person than the deployer."),
    )
)

QUALITY = Section(
    (
        Key(
            "defect_codes",
            NamedMap("defect code", TEXT),
            "The codes a nonconformance is opened with, each with its description.",
        ),
        Key(
            "review_board",
            Section(
                tuple(
                    Key(d, ListOf("role", NAME, 1), f"The roles that each sign a {d} disposition.")
                    for d in ("use_as_is", "rework", "repair", "scrap", "return_to_vendor")
                )
            ),
            "Material review board: the roles that must each sign a disposition before it takes "
            "effect; a decision not named needs quality alone.",
        ),
        Key("capa_link", TEXT, "URL of a CAPA in the site's QMS, with {capa} where its id goes."),
    )
)

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK = Scalar("text", why="a local time HH:MM on the quarter-hour, e.g. 06:00")
SHIFT = Section(
    (
        Key("start", CLOCK, "Local start time, HH:MM.", required=True),
        Key(
            "end", CLOCK, "Local end time, HH:MM (past midnight if not after start).", required=True
        ),
        Key("breaks", ListOf("break", TEXT), "Planned breaks inside the shift, HH:MM-HH:MM."),
    )
)
PLANNED_DOWNTIME = Section(
    (
        Key("date", DATE, "The local day, YYYY-MM-DD.", required=True),
        Key("start", CLOCK, "Local start time, HH:MM; without start and end, the whole day."),
        Key("end", CLOCK, "Local end time, HH:MM, after start on the same day."),
        Key("reason", TEXT, "Why the site stands still, e.g. plant shutdown.", required=True),
    )
)
CALENDAR = Section(
    (
        Key("shifts", NamedMap("shift", SHIFT), "The shifts, by name.", required=True),
        Key(
            "days",
            ListOf("day", Scalar("text", allowed=WEEKDAY_NAMES)),
            "The weekdays the site works; default mon to fri.",
        ),
        Key(
            "planned_downtime",
            ListOf("planned downtime", PLANNED_DOWNTIME),
            "Dated planned stops (a shutdown, a maintenance window): not planned busy time.",
        ),
    )
)
REASONS = NamedMap("category", ListOf("reason", TEXT, 1))
DOWNTIME = Section(
    (
        Key("code_after", DURATION, "A stop longer than this needs a reason; default 5 min."),
        Key("planned", REASONS, "Planned stops (maintenance, no orders ...) by category."),
        Key("unplanned", REASONS, "Unplanned stops (breakdowns, material ...) by category."),
    )
)
WORK_CENTER = Section(
    (
        Key("description", TEXT, "What this work center is."),
        Key("downtime", DOWNTIME, "The reason tree stops here are coded with."),
    )
)

EVENT_ACTION_KINDS = ("hold", "nonconformance", "notify", "write")
EVENT_ACTION = Section(
    (
        Key("hold", NAME, "Put this equipment down (held), with the rule's because as reason."),
        Key(
            "nonconformance",
            NAME,
            "Open a nonconformance on this equipment (defect code event-RULE, the rule's because).",
        ),
        Key("notify", NAME, "Notify this role (the firing is listed for it)."),
        Key("write", NAME, "Write this writable tag, device.tag, with `value`."),
        Key("value", EXPRESSION, "The value a `write` writes (an expression)."),
    ),
    exactly_one=(EVENT_ACTION_KINDS,),
)

EVENT_RULE = Section(
    (
        Key("when", EXPRESSION, "Condition on live tags that starts an episode.", required=True),
        Key("for", DURATION, "How long `when` must hold (known true) before firing; default 0 s."),
        Key(
            "then",
            ListOf("action", EVENT_ACTION, 1),
            "What a firing does: {hold: EQUIPMENT}, {nonconformance: EQUIPMENT}, {notify: ROLE}, "
            "{write: device.tag, value: EXPRESSION}.",
            required=True,
        ),
        Key("because", TEXT, "Why the rule exists, recorded with every firing.", required=True),
        Key("rearm", EXPRESSION, "Condition that ends an episode; default: `when` is false."),
        Key("at_most", TEXT, "Rate limit, e.g. '1 per 10 min'; more firings are suppressed."),
    )
)

HISTORY_SPAN = Scalar("quantity", dimension="time", positive=True, why="use e.g. 90 d")
HISTORY_POLICY = Section(
    (
        Key("keep", HISTORY_SPAN, "How long recorded values are kept; default 90 d."),
        Key(
            "downsample",
            Section(
                (
                    Key("after", HISTORY_SPAN, "Downsample values older than this.", True),
                    Key("to", HISTORY_SPAN, "Into buckets this long (min/max/avg/last).", True),
                )
            ),
            "Replace old values by min/max/avg/last per bucket, e.g. {after: 7 d, to: 1 min}.",
        ),
    )
)

PLANT_FILE = Section(
    (
        Key("site", NAME, "The site's name (once, in one file)."),
        Key("timezone", TEXT, "IANA time zone, e.g. Europe/Berlin; required with site."),
        Key("description", TEXT, "What this site makes."),
        Key(
            "change_control",
            CHANGE_CONTROL,
            "Deploys need an e-signed approval and passing config tests (once, in one file).",
        ),
        Key(
            "inventory",
            INVENTORY,
            "Stores: locations, FEFO and lot signatures (once, in one file).",
        ),
        Key(
            "calendar",
            CALENDAR,
            "Shifts and breaks in the site's time zone, for OEE (once, in one file).",
        ),
        Key(
            "quality",
            QUALITY,
            "Defect codes, the material review board and the CAPA link (once, in one file).",
        ),
        Key(
            "history",
            HISTORY_POLICY,
            "How long the tag historian keeps values, and when it downsamples them (once).",
        ),
        Key("work_centers", NamedMap("work center", WORK_CENTER), "Work centers."),
        Key("roles", NamedMap("role", _described("role")), "User roles."),
        Key("qualifications", NamedMap("qualification", QUALIFICATION), "Qualifications."),
        Key("devices", NamedMap("device", DEVICE, identifier=True), "Device connections."),
        Key("equipment", NamedMap("equipment", EQUIPMENT), "Machines and tools."),
        Key("tools", NamedMap("tool", TOOL), "Tools and fixtures with life limits, by type."),
        Key("parts", NamedMap("part", PART), "Purchased or made materials."),
        Key("products", NamedMap("product", PRODUCT), "What the plant makes."),
        Key("event_rules", NamedMap("event rule", EVENT_RULE), "Rules acting on live tags."),
    )
)

# ---------------------------------------------------------------- routings

FIELD_TYPES = ("number", "integer", "text", "choice", "bool", "date", "photo", "attachment")

SPC_CHARTS = ("i-mr", "xbar-r", "xbar-s", "p", "np", "c", "u")
SPC_RULES = (
    *(f"we{n}" for n in range(1, 5)),
    *(f"nelson{n}" for n in range(1, 9)),
)
SPC_ACTIONS = ("notify", "hold", "hold-equipment", "nc", "block")

SPC_LIMITS = Section(
    (
        Key("from", TEXT, "Baseline the limits are computed from: 'first N subgroups'."),
        Key("center", NUMBER, "Given center: process mean, or p, c, u of attribute charts."),
        Key("sigma", Scalar("number", positive=True), "Given process sigma (variables charts)."),
    ),
    exactly_one=(("from", "center"),),
)

SPC = Section(
    (
        Key("chart", Scalar("text", allowed=SPC_CHARTS), "Kind of control chart.", required=True),
        Key("subgroup", Scalar("integer", minimum=2, maximum=25), "Values per point (x̄ charts)."),
        Key(
            "sample_size",
            Scalar("number", positive=True),
            "Items inspected per point (p, np) or inspection units (u).",
        ),
        Key("limits", SPC_LIMITS, "Where the control limits come from.", required=True),
        Key("rules", ListOf("rule", Scalar("text", allowed=SPC_RULES), 1), "Default [we1]."),
        Key(
            "on_signal",
            Scalar("text", allowed=SPC_ACTIONS),
            "notify, hold, hold-equipment, nc or block.",
            required=True,
        ),
    )
)

DATA_FIELD = Section(
    (
        Key(
            "type",
            Scalar("text", allowed=FIELD_TYPES),
            "Kind of value entered; a photo (the tablet's camera) or an attachment (any file, "
            "e.g. a measuring machine's report) is kept by its SHA-256.",
            required=True,
        ),
        Key("unit", TEXT, "Unit of a number field, e.g. mm."),
        Key("required", BOOL, "Must be entered to complete; default false."),
        Key("min", QUANTITY, "Lowest accepted value (number and integer fields)."),
        Key("max", QUANTITY, "Highest accepted value (number and integer fields)."),
        Key("choices", ListOf("choice", TEXT, 1), "The values of a choice field."),
        Key("label", TEXT, "Label shown on the form; default the field name."),
        Key("help", TEXT, "Help text shown under the input."),
        Key("spc", SPC, "A control chart of this field (number and integer fields)."),
    )
)

INTERLOCK = Section(
    (
        Key("require", EXPRESSION, "Condition that must hold to start.", required=True),
        Key("because", TEXT, "Shown to the operator when it blocks."),
        Key("name", TEXT, "Short name; default the because text."),
    )
)

SETPOINT = Section(
    (
        Key("tag", NAME, "The writable tag, device.tag.", required=True),
        Key("value", EXPRESSION, "Value to write (an expression).", required=True),
        Key("tolerance", QUANTITY, "Accepted read-back difference, in the tag's unit."),
    )
)

CONSUMPTION = Section(
    (
        Key("part", NAME, "The part consumed (must be in the product's BOM).", required=True),
        Key("qty", PART_QUANTITY, "Quantity consumed, in the part's unit.", required=True),
        Key("tolerance", FRACTION, "Allowed deviation of the actual quantity, e.g. 2 %."),
    )
)

SAMPLING = Section(
    (
        Key("every", Scalar("integer", minimum=1), "Every n-th item."),
        Key("first", Scalar("integer", minimum=1), "The first n items of each work order."),
        Key("percent", Scalar("number", positive=True, maximum=100), "This percentage of items."),
    ),
    exactly_one=(("every", "first", "percent"),),
)

FAIL_ACTIONS = ("hold", "nonconformance", "scrap")

REWORK = Section(
    (
        Key("rework", NAME, "The operation to send the item back to.", required=True),
        Key(
            "max",
            Scalar("integer", minimum=1),
            "Most rework loops; default 3, then a nonconformance.",
        ),
    )
)

GATE = Section(
    (
        Key("name", TEXT, "Short name; default 'gate N'."),
        Key("check", EXPRESSION, "Condition the item must meet.", required=True),
        Key("because", TEXT, "Shown when the check fails."),
        Key("sample", SAMPLING, "Which items are checked; default every item."),
        Key(
            "on_fail",
            OneOf((Scalar("text", allowed=FAIL_ACTIONS), REWORK)),
            "hold, nonconformance, scrap or {rework: OPERATION, max: N}.",
            required=True,
        ),
    )
)

CAPTURE = Section(
    (
        Key("tag", NAME, "The tag, device.tag.", required=True),
        Key("spc", SPC, "A control chart of the captured value."),
    )
)

OPERATION = Section(
    (
        Key("id", NAME, "Unique in the routing; used as op.field in rules.", required=True),
        Key("title", TEXT, "Title shown to the operator; default the id."),
        Key("work_center", NAME, "Where it is done."),
        Key(
            "cycle_time",
            Scalar("quantity", dimension="time", positive=True, why="leave it out when unknown"),
            "Ideal time for one unit of the product (a piece, or 1 kg of a lot), e.g. 45 s.",
        ),
        Key("equipment", NAME, "Machine used; implies not-down and calibration interlocks."),
        Key("qualification", NAME, 'Implies the interlock operator.qualified("NAME").'),
        Key(
            "tool",
            NAME,
            "Tool type scanned at start; implies it is of that type, within its life, "
            "calibrated and not held or retired.",
        ),
        Key("instructions", PATH, "Markdown work instructions, relative to the plant folder."),
        Key(
            "first_article",
            BOOL,
            "The first unit of each work order here needs quality's signed first-article "
            "approval before the rest may start.",
        ),
        Key(
            "sample",
            AQL_SAMPLE,
            "Lot gate: the work order's lot is accepted here by AQL, e.g. {aql: 1.0, level: II}.",
        ),
        Key("interlocks", ListOf("interlock", INTERLOCK), "Conditions to start."),
        Key("setpoints", ListOf("setpoint", SETPOINT), "Values written to devices at start."),
        Key("consume", ListOf("consumption", CONSUMPTION), "Components consumed."),
        Key(
            "capture",
            ListOf("tag", OneOf((NAME, CAPTURE))),
            "Tags snapshotted with the completion record; {tag: T, spc: {...}} charts one.",
        ),
        Key("collect", NamedMap("field", DATA_FIELD, identifier=True), "Data the operator enters."),
        Key("gates", ListOf("gate", GATE), "Quality checks at completion."),
        Key("sign", ListOf("signature", SIGNATURE), "Signatures needed to complete."),
    )
)

ROUTING_FILE = Section(
    (
        Key("routing", NAME, "The routing's name.", required=True),
        Key("product", NAME, "The product it makes.", required=True),
        Key("description", TEXT, "What this routing does."),
        Key("operations", ListOf("operation", OPERATION, 1), "Operations in order.", True),
    )
)

SCHEMAS: dict[str, Section] = {"plant": PLANT_FILE, "routing": ROUTING_FILE}

# ---------------------------------------------------------------- JSON Schema

_MAGNITUDE_TEXT = r"(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
_UNIT_TEXT = r"\s*[^\s\d.+-].*$"
QUANTITY_PATTERN = rf"^\s*[-+]?{_MAGNITUDE_TEXT}{_UNIT_TEXT}"
POSITIVE_QUANTITY_PATTERN = rf"^\s*\+?(?=[\d.]*[1-9]){_MAGNITUDE_TEXT}{_UNIT_TEXT}"
"""A quantity written as text has a unit (a bare number is a YAML number); a positive one has a
non-zero number without a minus sign."""
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

_SCALAR_JSON: dict[ScalarKind, dict[str, object]] = {
    "text": {"type": ["string", "number", "boolean"]},
    "name": {"type": ["string", "number"]},
    "path": {"type": "string"},
    "expression": {"type": ["string", "number", "boolean"]},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "date": {"type": "string", "pattern": DATE_PATTERN},
    "quantity": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": QUANTITY_PATTERN}]},
    "value": {"type": ["string", "number", "boolean"]},
}


def json_schema_of(declared: Type, description: str | None = None) -> dict[str, object]:
    """The JSON Schema of one declared type."""
    result: dict[str, object]
    if isinstance(declared, Scalar):
        result = {"enum": list(declared.allowed)} if declared.allowed else _scalar_json(declared)
    elif isinstance(declared, Section):
        result = {
            "type": "object",
            "properties": {k.name: json_schema_of(k.type, k.description) for k in declared.keys},
            "additionalProperties": False,
        }
        required = [k.name for k in declared.keys if k.required]
        if required:
            result["required"] = required
        groups = [{"oneOf": [{"required": [name]} for name in g]} for g in declared.exactly_one]
        if len(groups) == 1:
            result.update(groups[0])
        elif groups:
            result["allOf"] = groups
    elif isinstance(declared, NamedMap):
        result = {"type": "object", "additionalProperties": json_schema_of(declared.value)}
        if declared.identifier:
            result["propertyNames"] = {
                "pattern": IDENTIFIER_PATTERN,
                "not": {"enum": sorted(RESERVED_WORDS)},
            }
    elif isinstance(declared, ListOf):
        result = {"type": "array", "items": json_schema_of(declared.item)}
        if declared.min_items:
            result["minItems"] = declared.min_items
        if declared.max_items is not None:
            result["maxItems"] = declared.max_items
    else:
        result = {"anyOf": [json_schema_of(option) for option in declared.options]}
    if description:
        result["description"] = description
    return result


def _scalar_json(declared: Scalar) -> dict[str, object]:
    if declared.kind == "quantity" and declared.positive:
        return {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": POSITIVE_QUANTITY_PATTERN},
            ]
        }
    result = dict(_SCALAR_JSON[declared.kind])
    bounds = {
        "minimum": declared.minimum,
        "maximum": declared.maximum,
        "exclusiveMinimum": 0 if declared.positive else None,
        "not": {"const": 0} if declared.nonzero else None,
    }
    result.update({key: bound for key, bound in bounds.items() if bound is not None})
    return result


def json_schema(kind: Literal["plant", "routing"]) -> dict[str, object]:
    """A complete JSON Schema document for plant files (``*.yaml``) or routing files."""
    title = "Ferrule plant file" if kind == "plant" else "Ferrule routing file"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://ferrule.dev/schema/{kind}.json",
        "title": title,
        **json_schema_of(SCHEMAS[kind]),
    }
