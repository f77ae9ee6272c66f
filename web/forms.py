"""The operator's data-collection form, generated from an operation of the plant model, and the
posted form turned back into the engine's complete-operation inputs.

Field specs carry everything the template and the browser-side checks need (input type, step,
limits in the field's unit, required, choices, the unit label); the engine validates the posted
values again, so a browser that skips the checks gains nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from dsl.model import Consumption, DataField, Operation, Part, Plant, SignatureRequirement
from dsl.units import format_number
from engine.access.signatures import SignatureInput
from engine.commands.bom import ConsumptionInput

FIELD_PREFIX = "field-"
CONSUME_PREFIX = "consume-"
QUANTITY_SUFFIX = "-qty"
SIGN_PREFIX = "sign-"

_INPUT_TYPES = {
    "number": "number",
    "integer": "number",
    "text": "text",
    "choice": "select",
    "bool": "select",
    "date": "date",
    "photo": "file",
    "attachment": "file",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One input of the generated form; ``low``/``high`` are formatted in ``unit``."""

    name: str
    input_name: str
    label: str
    input_type: str
    unit: str | None
    required: bool
    step: str | None
    low: str | None
    high: str | None
    choices: tuple[tuple[str, str], ...]
    help: str
    photo: bool = False
    """A file input that takes a photo (the tablet's camera) rather than any file."""

    @property
    def limits(self) -> str:
        """The allowed range as people read it, e.g. ``490 to 510 mm`` or ``at least 0 N``."""
        unit = f" {self.unit}" if self.unit else ""
        if self.low is not None and self.high is not None:
            return f"{self.low} to {self.high}{unit}"
        if self.low is not None:
            return f"at least {self.low}{unit}"
        if self.high is not None:
            return f"at most {self.high}{unit}"
        return ""


@dataclass(frozen=True, slots=True)
class ConsumptionSpec:
    """A component to scan: one input per serial for serialized parts, else one lot input; an
    actual-quantity input when the line allows a tolerance (weigh and dispense).

    ``quantity`` is what the item draws (for a lot, the routing's quantity per product unit times
    the lot's quantity); ``per_unit`` states the routing's quantity when that differs, e.g.
    ``0.52 kg per kg``."""

    part: str
    description: str
    quantity: str
    unit: str
    tolerance: str | None
    scans: tuple[str, ...]
    quantity_input: str | None
    per_scan: float | None
    per_unit: str | None = None


@dataclass(frozen=True, slots=True)
class SignatureSpec:
    """A signature the operation needs: who may sign and what the signature means."""

    index: int
    role: str
    meaning: str
    username_input: str
    password_input: str
    meaning_input: str


@dataclass(frozen=True, slots=True)
class OperationForm:
    """Everything the completion form shows for one operation."""

    fields: tuple[FieldSpec, ...]
    consumptions: tuple[ConsumptionSpec, ...]
    signatures: tuple[SignatureSpec, ...]


@dataclass(frozen=True, slots=True)
class Completion:
    """A posted completion form, in the engine's terms; ``problems`` are inputs that could not
    even be read (by input name), to be shown next to those inputs."""

    data: dict[str, str]
    consume: list[ConsumptionInput]
    signatures: list[SignatureInput]
    problems: dict[str, str] = field(default_factory=dict)


def _bound(value: float | None) -> str | None:
    return None if value is None else format_number(value)


def field_spec(data_field: DataField) -> FieldSpec:
    """The input for one collected value."""
    if data_field.type == "choice":
        choices = tuple((c, c) for c in data_field.choices)
    elif data_field.type == "bool":
        choices = (("true", "yes"), ("false", "no"))
    else:
        choices = ()
    step = {"number": "any", "integer": "1"}.get(data_field.type)
    return FieldSpec(
        name=data_field.name,
        input_name=FIELD_PREFIX + data_field.name,
        label=data_field.label or data_field.name.replace("_", " "),
        input_type=_INPUT_TYPES[data_field.type],
        unit=data_field.unit,
        required=data_field.required,
        step=step,
        low=_bound(data_field.low),
        high=_bound(data_field.high),
        choices=choices,
        help=data_field.help,
        photo=data_field.type == "photo",
    )


def consumption_spec(
    line: Consumption, part: Part | None, needed: float | None = None, per: str = ""
) -> ConsumptionSpec:
    """The scan inputs for one line of the operation's consume list; ``needed`` is what the item
    draws (the engine's ``Ferrule.needed_components``; default the routing's quantity, as for a
    unit) and ``per`` one unit of the item's product (``kg``)."""
    quantity = line.quantity if needed is None else needed
    serial = part is not None and part.tracking == "serial" and float(quantity).is_integer()
    count = int(quantity) if serial else 1
    base = CONSUME_PREFIX + line.part
    per_unit = (
        f"{format_number(line.quantity)} {line.unit} per {per or 'unit'}"
        if abs(quantity - line.quantity) > 1e-9
        else None
    )
    return ConsumptionSpec(
        part=line.part,
        description=part.description if part is not None else "",
        quantity=format_number(quantity),
        unit=line.unit,
        tolerance=format_number(line.tolerance * 100) + " %" if line.tolerance else None,
        scans=tuple(f"{base}-{i}" for i in range(count)),
        quantity_input=base + QUANTITY_SUFFIX if line.tolerance else None,
        per_scan=1.0 if serial else None,
        per_unit=per_unit,
    )


def signature_spec(index: int, requirement: SignatureRequirement) -> SignatureSpec:
    base = f"{SIGN_PREFIX}{index}-"
    return SignatureSpec(
        index=index,
        role=requirement.role,
        meaning=requirement.meaning,
        username_input=base + "username",
        password_input=base + "password",
        meaning_input=base + "meaning",
    )


def operation_form(
    plant: Plant,
    operation: Operation,
    needed: Mapping[str, float] | None = None,
    *,
    per: str = "",
) -> OperationForm:
    """The completion form of ``operation``; ``needed`` is what the item draws of each part (see
    :func:`consumption_spec`) and ``per`` one unit of its product."""
    drawn = needed or {}
    return OperationForm(
        fields=tuple(field_spec(f) for f in operation.fields),
        consumptions=tuple(
            consumption_spec(line, plant.parts.get(line.part), drawn.get(line.part), per)
            for line in operation.consume
        ),
        signatures=tuple(signature_spec(i, s) for i, s in enumerate(operation.signatures)),
    )


def _quantity(text: str, spec: ConsumptionSpec) -> tuple[float | None, str | None]:
    """The actual quantity typed for a tolerance line (None: the routing's quantity)."""
    if not text.strip():
        return None, None
    try:
        number = float(text.strip().replace(",", "."))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        return None, (
            f"{spec.part}: '{text}' is not a quantity; enter the amount taken in {spec.unit}, "
            f"like {spec.quantity}"
        )
    return number, None


def parse_completion(
    form: MultiDict[str, str], spec: OperationForm, *, caller: str, address: str
) -> Completion:
    """The engine inputs of a posted completion form, sent by ``caller`` from ``address``.
    Values stay text: the engine checks and converts them (and says what is wrong, per field)."""
    data = {f.name: form.get(f.input_name, "") for f in spec.fields}
    problems: dict[str, str] = {}
    consume: list[ConsumptionInput] = []
    for line in spec.consumptions:
        quantity, problem = _quantity(form.get(line.quantity_input or "", ""), line)
        if problem is not None and line.quantity_input is not None:
            problems[line.quantity_input] = problem
        for scan in line.scans:
            lot = form.get(scan, "").strip()
            if lot:
                consume.append(ConsumptionInput(line.part, lot, line.per_scan or quantity))
    signatures = [
        SignatureInput(
            form.get(s.username_input, "").strip(),
            form.get(s.password_input, ""),
            form.get(s.meaning_input, s.meaning).strip() or s.meaning,
            caller=caller,
            address=address,
        )
        for s in spec.signatures
    ]
    for s, given in zip(spec.signatures, signatures, strict=True):
        if not given.username or not given.password:
            problems[s.username_input] = (
                f"Sign as {s.role}: enter your username and password to sign '{s.meaning}'."
            )
    return Completion(data, consume, signatures, problems)


def entered_values(form: Mapping[str, str], spec: OperationForm) -> dict[str, str]:
    """What the operator typed, by input name, to fill the form again after an error
    (never passwords)."""
    names: list[str] = [f.input_name for f in spec.fields]
    for line in spec.consumptions:
        names += list(line.scans)
        if line.quantity_input:
            names.append(line.quantity_input)
    for s in spec.signatures:
        names += [s.username_input, s.meaning_input]
    return {name: form[name] for name in names if name in form}


def problems_by_input(
    problems: Sequence[tuple[str | None, str]], spec: OperationForm
) -> dict[str, str]:
    """Engine problems (field name, message) placed at their inputs; ``consume`` problems go to
    the component section (key ``consume``), anything else to the form as a whole (key ``""``)."""
    inputs = {f.name: f.input_name for f in spec.fields}
    placed: dict[str, str] = {}
    for name, message in problems:
        if name in inputs:
            key = inputs[name]
        elif name == "consume":
            key = "consume"
        else:
            key = ""
        placed[key] = f"{placed[key]}; {message}" if key in placed else message
    return placed
