"""B2MML (ISA-95 Part 5, V0600 and later) in and out: pure parsing and rendering, no database.

In: a ``ProductionSchedule`` of ``ProductionRequest`` s, or one bare ``ProductionRequest``, in
the namespace :data:`NAMESPACE`, read with defusedxml (no DTD, no entities, no external
references) and at most :data:`MAX_DOCUMENT_BYTES`; or the same orders as JSON
(:func:`orders_from_json`). Each request becomes an :class:`OrderRequest`; every problem found is
collected with its line (XML) or its path (JSON), so a bad document is refused whole
(:class:`DocumentRefused`). Elements the importer does not read (``Location``,
``MaterialConsumedRequirement``, extensions in other namespaces) are ignored.

Out: ``ProductionPerformance`` with one ``ProductionResponse`` per work order
(:func:`render_performance`) and ``MaterialLot`` (:func:`render_material_lot`).
"""

from __future__ import annotations

import datetime as dt
import io
import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl, Locator

from defusedxml import DefusedXmlException
from defusedxml.expatreader import create_parser

from engine.errors import Invalid

NAMESPACE = "http://www.mesa.org/xml/B2MML"
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
MAX_REQUESTS = 1000
MAX_DEPTH = 64
PIECE_UNITS = frozenset({"pcs", "ea", "pce", "c62", "st", "pc", "piece", "pieces", "each"})
"""Units of measure (UN/ECE rec. 20 codes and common ERP spellings) that mean pieces."""
UNIT_CODES = {"kgm": "kg", "ltr": "L", "mtr": "m", "grm": "g"}
"""UN/ECE unit codes an ERP may send, with the plant unit each means."""


class DocumentRefused(Invalid):
    """A document refused whole: ``problems`` lists every one found, each with its line (in
    JSON, as ``{"message": …}`` like the other errors that list problems)."""

    def __init__(self, what: str, problems: Sequence[str]) -> None:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(
            f"{what} was refused, nothing was imported ({count}): "
            + " ".join(problems[:5])
            + (" …" if len(problems) > 5 else ""),
            code="document_refused",
        )
        self.problems = tuple(problems)

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "problems": [{"message": p} for p in self.problems]}


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One ERP production order: make ``quantity`` of ``material`` (an ERP material id).

    ``where`` names it in messages: ``line 12`` for XML, ``orders[0]`` for JSON."""

    order_id: str
    material: str
    quantity: float
    unit: str
    where: str
    due_date: dt.date | None = None
    priority: int | None = None
    description: str = ""
    state: str = ""


@dataclass(frozen=True, slots=True)
class OrderDocument:
    """The orders of one document and the problems found reading it."""

    document_id: str
    orders: tuple[OrderRequest, ...]
    problems: tuple[str, ...]


# ---------------------------------------------------------------- reading XML


@dataclass
class _Node:
    """An element of the B2MML namespace with the line it starts on."""

    name: str
    line: int
    text: str = ""
    children: list[_Node] = field(default_factory=list)

    def all(self, name: str) -> list[_Node]:
        return [c for c in self.children if c.name == name]

    def first(self, name: str) -> _Node | None:
        return next((c for c in self.children if c.name == name), None)

    def text_of(self, name: str) -> str:
        child = self.first(name)
        return child.text.strip() if child is not None else ""

    def walk(self, name: str) -> list[_Node]:
        """Every descendant called ``name``, in document order."""
        found: list[_Node] = []
        for child in self.children:
            if child.name == name:
                found.append(child)
            found.extend(child.walk(name))
        return found


class _TooDeep(Exception):
    """Elements nested deeper than :data:`MAX_DEPTH` (no B2MML document needs a dozen)."""


class _TreeBuilder(ContentHandler):
    """Keeps the elements of the B2MML namespace (others, with their content, are skipped)."""

    def __init__(self) -> None:
        super().__init__()
        self.locator: Locator | None = None
        self.stack: list[_Node | None] = []
        self.root: _Node | None = None
        self.root_name: tuple[str | None, str] = (None, "")

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def startElementNS(
        self, name: tuple[str | None, str], qname: str | None, attrs: AttributesNSImpl
    ) -> None:
        parent = self.stack[-1] if self.stack else None
        line = (self.locator.getLineNumber() or 0) if self.locator is not None else 0
        if len(self.stack) >= MAX_DEPTH:
            raise _TooDeep(line)
        if not self.stack:
            self.root_name = name
        keep = name[0] == NAMESPACE and (parent is not None or not self.stack)
        node = _Node(name[1], line) if keep else None
        if node is not None and parent is not None:
            parent.children.append(node)
        if node is not None and not self.stack:
            self.root = node
        self.stack.append(node)

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:
        self.stack.pop()

    def characters(self, content: str) -> None:
        if self.stack and self.stack[-1] is not None:
            self.stack[-1].text += content


def _parse_xml(data: bytes) -> _Node:
    """The B2MML tree of ``data``; DocumentRefused for anything unsafe or not well-formed."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(
            "The document",
            [f"It is {len(data):,} bytes; at most {MAX_DOCUMENT_BYTES:,} are accepted, so split "
             "the schedule into several documents."],
        )  # fmt: skip
    builder = _TreeBuilder()
    parser = create_parser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(builder)
    try:
        parser.parse(io.BytesIO(data))
    except DefusedXmlException:
        raise DocumentRefused(
            "The document",
            ["It declares a DTD or entities, which are refused (they can read files or expand "
             "without end); export it without a DOCTYPE."],
        ) from None  # fmt: skip
    except _TooDeep as deep:
        raise DocumentRefused(
            "The document",
            [f"line {deep.args[0]}: elements are nested more than {MAX_DEPTH} deep; this is not "
             "a B2MML document Ferrule reads."],
        ) from None  # fmt: skip
    except SAXParseException as error:
        raise DocumentRefused(
            "The document",
            [f"line {error.getLineNumber()}, column {(error.getColumnNumber() or 0) + 1}: not "
             f"well-formed XML ({error.getMessage()})."],
        ) from None  # fmt: skip
    namespace, local = builder.root_name
    if builder.root is None or local not in ("ProductionSchedule", "ProductionRequest"):
        found = f"{{{namespace}}}{local}" if namespace else local
        raise DocumentRefused(
            "The document",
            [f"line 1: its root element is {found}; expected ProductionSchedule or "
             f"ProductionRequest in the namespace {NAMESPACE}."],
        )  # fmt: skip
    return builder.root


def _quantity_text(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


def _date(text: str) -> dt.date | None:
    """The day of an ISO 8601 date or date-time (``Z`` allowed); None when it is not one."""
    try:
        return (
            dt.datetime.fromisoformat(text).date() if "T" in text else dt.date.fromisoformat(text)
        )
    except ValueError:
        return None


def _line(node: _Node, name: str) -> int:
    """The line of ``node``'s child ``name`` (``node``'s own when it has none)."""
    child = node.first(name)
    return child.line if child is not None else node.line


def _produced(node: _Node, name: str, found: list[str]) -> tuple[str, float, str]:
    """The material, quantity and unit a request makes (its problems go to ``found``)."""
    produced = node.walk("MaterialProducedRequirement")
    if not produced:
        found.append(
            f"line {node.line}: {name} names no MaterialProducedRequirement; say what to make in "
            "a SegmentRequirement."
        )
        return "", 0.0, ""
    quantities: list[tuple[float, str, int]] = []
    for requirement in produced:
        quantity = requirement.first("Quantity") or _Node("Quantity", requirement.line)
        text = quantity.text_of("QuantityString")
        amount = _quantity_text(text)
        if amount is None:
            given = f"the quantity {text!r}" if text else "no quantity"
            found.append(
                f"line {quantity.line}: {name} gives {given}; give a QuantityString above zero."
            )
        else:
            quantities.append((amount, quantity.text_of("UnitOfMeasure"), quantity.line))
    materials = sorted({p.text_of("MaterialDefinitionID") for p in produced})
    if len(materials) > 1 or not materials[0]:
        found.append(
            f"line {produced[0].line}: {name} must make exactly one MaterialDefinitionID, not "
            f"{', '.join(m or '(none)' for m in materials)}; send one request per product."
        )
    elif len({(amount, unit) for amount, unit, _ in quantities}) > 1:
        listed = ", ".join(
            f"{amount:g}{' ' + unit if unit else ''} at line {line}"
            for amount, unit, line in quantities
        )
        found.append(
            f"line {produced[0].line}: {name}'s segments ask for different quantities ({listed}); "
            "one request is one work order, so give one quantity."
        )
    amount, unit, _ = quantities[0] if quantities else (0.0, "", 0)
    return materials[0], amount, unit


def _request(node: _Node, problems: list[str]) -> OrderRequest | None:
    """One ProductionRequest; its problems are added to ``problems``."""
    order_id = node.text_of("ID")
    name = f"ProductionRequest {order_id}" if order_id else "A ProductionRequest"
    found: list[str] = []
    if not order_id:
        found.append(f"line {node.line}: {name} has no ID; the ERP order number is required.")
    due_text = node.text_of("EndTime")
    due = _date(due_text) if due_text else None
    if due_text and due is None:
        found.append(
            f"line {_line(node, 'EndTime')}: {name}'s EndTime {due_text!r} is not a date-time; "
            "write it like 2026-12-03T14:00:00Z."
        )
    priority_text = node.text_of("Priority")
    priority = int(priority_text) if priority_text.isdigit() else None
    if priority_text and (priority is None or not 1 <= priority <= 9):
        found.append(
            f"line {_line(node, 'Priority')}: {name}'s Priority {priority_text!r} is not a whole "
            "number from 1 (most urgent) to 9."
        )
    material, amount, unit = _produced(node, name, found)
    problems.extend(found)
    if found:
        return None
    return OrderRequest(
        order_id=order_id,
        material=material,
        quantity=amount,
        unit=unit,
        where=f"line {node.line}",
        due_date=due,
        priority=priority,
        description=node.text_of("Description"),
        state=node.text_of("RequestState"),
    )


def orders_from_xml(data: bytes) -> OrderDocument:
    """The orders of a B2MML document; DocumentRefused when it cannot be read at all."""
    root = _parse_xml(data)
    requests = [root] if root.name == "ProductionRequest" else root.all("ProductionRequest")
    problems: list[str] = []
    if not requests:
        problems.append(f"line {root.line}: the ProductionSchedule holds no ProductionRequest.")
    if len(requests) > MAX_REQUESTS:
        problems.append(
            f"line {root.line}: {len(requests)} requests, at most {MAX_REQUESTS} per document."
        )
    orders = tuple(o for o in (_request(n, problems) for n in requests[:MAX_REQUESTS]) if o)
    document_id = root.text_of("ID") if root.name == "ProductionSchedule" else ""
    return OrderDocument(document_id, orders, tuple(problems))


# ---------------------------------------------------------------- reading JSON


def _json_order(index: int, entry: object, problems: list[str]) -> OrderRequest | None:
    where = f"orders[{index}]"
    if not isinstance(entry, Mapping):
        problems.append(f"{where}: expected an object with id, material and quantity.")
        return None
    found: list[str] = []
    texts: dict[str, str] = {}
    for key in ("id", "material", "unit", "description", "state"):
        value = entry.get(key, "")
        if not isinstance(value, str):
            found.append(f"{where}.{key}: expected text, got {value!r}.")
        texts[key] = value.strip() if isinstance(value, str) else ""
    for key in ("id", "material"):
        if not texts[key] and isinstance(entry.get(key, ""), str):
            found.append(
                f"{where}.{key}: required; give the ERP's {key.replace('id', 'order id')}."
            )
    quantity = entry.get("quantity")
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int | float)
        or not (math.isfinite(quantity) and quantity > 0)
    ):
        found.append(f"{where}.quantity: expected a number above zero, got {quantity!r}.")
    due = entry.get("due_date")
    due_date = _date(due) if isinstance(due, str) else None
    if due is not None and due_date is None:
        found.append(f"{where}.due_date: {due!r} is not a date; write it like 2026-12-03.")
    priority = entry.get("priority")
    if priority is not None and (
        isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 9
    ):
        found.append(f"{where}.priority: expected a whole number from 1 to 9, got {priority!r}.")
    problems.extend(found)
    if found:
        return None
    return OrderRequest(
        order_id=texts["id"],
        material=texts["material"],
        quantity=float(quantity),  # type: ignore[arg-type]
        unit=texts["unit"],
        where=where,
        due_date=due_date,
        priority=priority,
        description=texts["description"],
        state=texts["state"],
    )


def orders_from_json(data: Mapping[str, Any]) -> OrderDocument:
    """The orders of a JSON document ``{"id": …, "orders": [{"id", "material", "quantity",
    "unit", "due_date", "priority", "description", "state"}, …]}``."""
    entries = data.get("orders")
    if not isinstance(entries, list) or not entries:
        return OrderDocument("", (), ("orders: expected a list of at least one order.",))
    if len(entries) > MAX_REQUESTS:
        return OrderDocument("", (), (f"orders: at most {MAX_REQUESTS} per document.",))
    problems: list[str] = []
    orders = tuple(o for i, e in enumerate(entries) if (o := _json_order(i, e, problems)))
    document_id = data.get("id", "")
    return OrderDocument(str(document_id), orders, tuple(problems))


def plant_unit(unit: str, product_unit: str) -> bool:
    """Whether the ERP's unit of measure ``unit`` is the product's unit (empty: assumed)."""
    code = unit.strip().lower()
    if not code:
        return True
    if product_unit == "pcs":
        return code in PIECE_UNITS
    return UNIT_CODES.get(code, code) == product_unit.lower()


# ---------------------------------------------------------------- writing


@dataclass(frozen=True, slots=True)
class MaterialActual:
    """A lot or unit consumed or produced; ``key`` tells good output from scrap."""

    material: str
    quantity: float
    unit: str
    lot: str = ""
    sublot: str = ""
    key: str = ""


@dataclass(frozen=True, slots=True)
class SegmentResponse:
    """What happened at one process segment (an operation, or the whole routing's output)."""

    id: str
    process_segment: str
    start: dt.datetime | None
    end: dt.datetime | None
    consumed: tuple[MaterialActual, ...] = ()
    produced: tuple[MaterialActual, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductionResponse:
    """What was made for one work order, and for which ERP request."""

    id: str
    request_id: str
    state: str
    start: dt.datetime | None
    end: dt.datetime | None
    segments: tuple[SegmentResponse, ...]


@dataclass(frozen=True, slots=True)
class LotProperty:
    id: str
    value: str
    data_type: str = "string"


@dataclass(frozen=True, slots=True)
class MaterialLot:
    """A lot (received or made) as the ERP sees it."""

    id: str
    material: str
    description: str
    status: str
    quantity: float
    unit: str
    location: str = ""
    properties: tuple[LotProperty, ...] = ()


def _add(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, name)
    if text is not None:
        child.text = text
    return child


def _time(value: dt.datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _quantity(parent: ET.Element, amount: float, unit: str, key: str = "") -> None:
    quantity = _add(parent, "Quantity")
    _add(quantity, "QuantityString", f"{amount:g}")
    _add(quantity, "DataType", "decimal")
    _add(quantity, "UnitOfMeasure", unit)
    if key:
        _add(quantity, "Key", key)


def _actual(parent: ET.Element, name: str, actual: MaterialActual) -> None:
    element = _add(parent, name)
    _add(element, "MaterialDefinitionID", actual.material)
    if actual.lot:
        _add(element, "MaterialLotID", actual.lot)
    if actual.sublot:
        _add(element, "MaterialSubLotID", actual.sublot)
    _quantity(element, actual.quantity, actual.unit, actual.key)


def _document(root: ET.Element) -> str:
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def render_performance(
    document_id: str, published: dt.datetime, responses: Sequence[ProductionResponse]
) -> str:
    """A ``ProductionPerformance`` document."""
    root = ET.Element("ProductionPerformance", {"xmlns": NAMESPACE})
    _add(root, "ID", document_id)
    _add(root, "PublishedDate", _time(published))
    for response in responses:
        element = _add(root, "ProductionResponse")
        _add(element, "ID", response.id)
        if response.request_id:
            _add(element, "ProductionRequestID", response.request_id)
        if response.start:
            _add(element, "StartTime", _time(response.start))
        if response.end:
            _add(element, "EndTime", _time(response.end))
        _add(element, "ResponseState", response.state)
        for segment in response.segments:
            part = _add(element, "SegmentResponse")
            _add(part, "ID", segment.id)
            _add(part, "ProcessSegmentID", segment.process_segment)
            if segment.start:
                _add(part, "ActualStartTime", _time(segment.start))
            if segment.end:
                _add(part, "ActualEndTime", _time(segment.end))
            for actual in segment.consumed:
                _actual(part, "MaterialConsumedActual", actual)
            for actual in segment.produced:
                _actual(part, "MaterialProducedActual", actual)
    return _document(root)


def render_material_lot(lot: MaterialLot) -> str:
    """A ``MaterialLot`` document."""
    root = ET.Element("MaterialLot", {"xmlns": NAMESPACE})
    _add(root, "ID", lot.id)
    if lot.description:
        _add(root, "Description", lot.description)
    _add(root, "MaterialDefinitionID", lot.material)
    _add(root, "Status", lot.status)
    if lot.location:
        _add(root, "StorageLocation", lot.location)
    _quantity(root, lot.quantity, lot.unit)
    for prop in lot.properties:
        element = _add(root, "MaterialLotProperty")
        _add(element, "ID", prop.id)
        value = _add(element, "Value")
        _add(value, "ValueString", prop.value)
        _add(value, "DataType", prop.data_type)
    return _document(root)
