"""Checking a located YAML tree against the declarations in :mod:`dsl.schema`.

Reports every unknown key (with a did-you-mean), missing required key, value of the wrong kind
(saying what was expected and what was found) and bad unit, and keeps going after each one.
"""

from __future__ import annotations

import re

from dsl import scalars
from dsl import schema as s
from dsl.diagnostics import Diagnostic, Span, did_you_mean, error
from dsl.units import UnknownUnit, dimension_name, parse_unit
from dsl.yamlsource import YMap, YNode, YScalar, YSeq, describe

_IDENTIFIER = re.compile(s.IDENTIFIER_PATTERN)

_MAPPING_HINT = "write it as 'key: value' lines indented below, or as {key: value, ...}"
_LIST_HINT = "write it as [a, b] or as one '- item' line per entry"


def expected(declared: s.Type) -> str:
    """What a declared type looks like, in words."""
    if isinstance(declared, s.Scalar):
        return _expected_scalar(declared)
    if isinstance(declared, s.Section):
        return "a mapping"
    if isinstance(declared, s.NamedMap):
        return f"a mapping of {declared.what} names"
    if isinstance(declared, s.ListOf):
        return "a list"
    return " or ".join(expected(option) for option in declared.options)


def _expected_scalar(declared: s.Scalar) -> str:
    if declared.allowed:
        *head, last = declared.allowed
        return f"{', '.join(head)} or {last}" if head else last
    if declared.kind == "quantity":
        if declared.dimension == "time":
            return "a duration with a unit, like '5 s'"
        if declared.dimension == "percent":
            return "a percentage, like '2 %'"
        return "a number with an optional unit, like '0.5 m'"
    return {
        "text": "text",
        "name": "a name",
        "path": "a file path inside the plant folder",
        "expression": "a rule expression",
        "integer": "a whole number",
        "number": "a number",
        "bool": "true or false",
        "date": "a date written YYYY-MM-DD, like 2027-06-30",
        "value": "a single value",
    }[declared.kind]


class Validator:
    """Walks a tree against a declared type, collecting diagnostics."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def check(self, node: YNode, declared: s.Type, subject: str, context: str) -> None:
        """Check ``node``; ``subject`` names it in messages (``'port'``), ``context`` names the
        object it describes (``device 'tester'``)."""
        if isinstance(declared, s.Scalar):
            self._scalar(node, declared, subject)
        elif isinstance(declared, s.OneOf):
            self._one_of(node, declared, subject, context)
        elif isinstance(node, YScalar) and node.is_empty:
            if isinstance(declared, s.Section):
                self._section(YMap((), node.span), declared, context, node.span)
        elif isinstance(declared, s.Section):
            if self._shape(node, YMap, declared, subject, _MAPPING_HINT):
                assert isinstance(node, YMap)
                self._section(node, declared, context, None)
        elif isinstance(declared, s.NamedMap):
            if self._shape(node, YMap, declared, subject, _MAPPING_HINT):
                assert isinstance(node, YMap)
                self._named_map(node, declared)
        elif self._shape(node, YSeq, declared, subject, _LIST_HINT):
            assert isinstance(node, YSeq)
            self._list(node, declared, subject)

    def check_section(self, node: YMap, declared: s.Section, context: str, label: Span) -> None:
        """Check a mapping whose missing keys are reported at ``label``."""
        self._section(node, declared, context, label)

    # ------------------------------------------------------------ collections

    def _shape(self, node: YNode, shape: type, declared: s.Type, subject: str, hint: str) -> bool:
        if isinstance(node, shape):
            return True
        self._wrong(node, declared, subject, hint)
        return False

    def _wrong(self, node: YNode, declared: s.Type, subject: str, hint: str | None) -> None:
        self.diagnostics.append(
            error(
                node.span, f"{subject} must be {expected(declared)}, found {describe(node)}", hint
            )
        )

    def _section(self, node: YMap, declared: s.Section, context: str, label: Span | None) -> None:
        """Check a mapping's keys; missing keys are reported at ``label``, or where the mapping
        starts when it is None."""
        for key, value in node.entries:
            spec = declared.key(key.text)
            if spec is None:
                suggestion = did_you_mean(key.text, declared.names)
                message = f"unknown key '{key.text}' in {context}"
                self.diagnostics.append(
                    error(
                        key.span,
                        f"{message}; {suggestion}" if suggestion else message,
                        "allowed keys: " + ", ".join(declared.names),
                    )
                )
                continue
            self.check(value, spec.type, f"'{key.text}'", context)
        for spec in declared.required:
            if spec.name not in node:
                self.diagnostics.append(
                    error(
                        label or _start_of(node),
                        f"{context} is missing the required key '{spec.name}'",
                        f"{spec.name}: {spec.description}",
                    )
                )
        for group in declared.exactly_one:
            present = [key for key, _ in node.entries if key.text in group]
            if not present:
                self.diagnostics.append(
                    error(label or _start_of(node), f"{context} needs one of: {', '.join(group)}")
                )
            for extra in present[1:]:
                self.diagnostics.append(
                    error(
                        extra.span,
                        f"{context} has both '{present[0].text}' and '{extra.text}'",
                        f"keep exactly one of: {', '.join(group)}",
                    )
                )

    def _named_map(self, node: YMap, declared: s.NamedMap) -> None:
        for key, value in node.entries:
            name = key.text
            context = f"{declared.what} '{name}'"
            if declared.identifier:
                self._identifier(key, declared.what)
            if isinstance(declared.value, s.Section):
                empty = isinstance(value, YScalar) and value.is_empty
                if empty or isinstance(value, YMap):
                    body = value if isinstance(value, YMap) else YMap((), key.span)
                    self._section(body, declared.value, context, key.span)
                    continue
            self.check(value, declared.value, context, context)

    def _identifier(self, key: YScalar, what: str) -> None:
        if not _IDENTIFIER.match(key.text):
            self.diagnostics.append(
                error(
                    key.span,
                    f"{what} name '{key.text}' cannot be used in rules",
                    "use letters, digits and '_', starting with a letter or '_'",
                )
            )
        elif key.text in s.RESERVED_WORDS:
            self.diagnostics.append(
                error(
                    key.span,
                    f"{what} name '{key.text}' is a reserved word of the rule language",
                    "choose another name",
                )
            )

    def _list(self, node: YSeq, declared: s.ListOf, subject: str) -> None:
        count = len(node.items)
        if count < declared.min_items or (
            declared.max_items is not None and count > declared.max_items
        ):
            if declared.min_items == declared.max_items:
                wanted = f"exactly {declared.min_items}"
            else:
                wanted = f"at least {declared.min_items}"
            plural = "" if declared.min_items == 1 else "s"
            self.diagnostics.append(
                error(
                    node.span,
                    f"{subject} needs {wanted} {declared.what}{plural}, found {count}",
                )
            )
        for index, item in enumerate(node.items, start=1):
            context = item_context(declared.what, index, item)
            self.check(item, declared.item, f"{declared.what} {index}", context)

    def _one_of(self, node: YNode, declared: s.OneOf, subject: str, context: str) -> None:
        for option in declared.options:
            fits_scalar = isinstance(option, s.Scalar) and isinstance(node, YScalar)
            fits_map = isinstance(option, s.Section | s.NamedMap) and isinstance(node, YMap)
            fits_list = isinstance(option, s.ListOf) and isinstance(node, YSeq)
            if fits_scalar or fits_map or fits_list:
                self.check(node, option, subject, context)
                return
        self._wrong(node, declared, subject, None)

    # ------------------------------------------------------------ scalars

    def _scalar(self, node: YNode, declared: s.Scalar, subject: str) -> None:
        if not isinstance(node, YScalar):
            self._wrong(node, declared, subject, "write a single value here")
            return
        text = node.text
        if declared.allowed:
            if text not in declared.allowed:
                suggestion = did_you_mean(text, declared.allowed)
                found = f"{subject} must be {expected(declared)}, found {describe(node)}"
                self.diagnostics.append(
                    error(node.span, f"{found}; {suggestion}" if suggestion else found)
                )
            return
        kind = declared.kind
        if kind in ("name", "path", "expression") and not text.strip():
            self._wrong(node, declared, subject, None)
        elif kind == "path":
            self._path(node, subject)
        elif (
            (kind == "integer" and scalars.parse_int(text) is None)
            or (kind == "number" and scalars.parse_float(text) is None)
            or (kind == "bool" and scalars.parse_bool(text) is None)
        ):
            self._wrong(node, declared, subject, None)
        elif kind in ("integer", "number", "bool") and not node.is_plain:
            self._quoted(node, declared, subject)
        elif kind in ("integer", "number"):
            self._bounds(node, declared, subject, float(text))
        elif kind == "date" and scalars.parse_date(text) is None:
            self._wrong(node, declared, subject, _date_hint(text))
        elif kind == "quantity":
            self._quantity(node, declared, subject)

    def _quoted(self, node: YScalar, declared: s.Scalar, subject: str) -> None:
        """A number or true/false in quotes: text to YAML, and so to the JSON Schema."""
        self.diagnostics.append(
            error(
                node.span,
                f'{subject} must be {expected(declared)}, found "{node.text}" in quotes',
                "remove the quotes",
            )
        )

    def _bounds(self, node: YScalar, declared: s.Scalar, subject: str, value: float) -> None:
        """Report a number outside the declared minimum, maximum, positive or nonzero."""
        low, high = declared.minimum, declared.maximum
        if declared.nonzero and value == 0:
            self.diagnostics.append(error(node.span, f"{subject} must not be 0", declared.why))
            return
        if (
            (low is None or value >= low)
            and (high is None or value <= high)
            and (not declared.positive or value > 0)
        ):
            return
        if low is not None and high is not None:
            wanted = f"between {low} and {high}"
        elif declared.positive:
            wanted = "more than 0" + (f" and at most {high}" if high is not None else "")
        else:
            wanted = f"{low} or more" if low is not None else f"at most {high}"
        self.diagnostics.append(
            error(node.span, f"{subject} must be {wanted}, found {describe(node)}", declared.why)
        )

    def _path(self, node: YScalar, subject: str) -> None:
        text = node.text.strip()
        if text.startswith(("/", "\\")) or ".." in text.replace("\\", "/").split("/"):
            self.diagnostics.append(
                error(
                    node.span,
                    f"{subject} must be a path inside the plant folder, found {describe(node)}",
                    "write it relative to the plant folder, e.g. instructions/cut.md",
                )
            )

    def _quantity(self, node: YScalar, declared: s.Scalar, subject: str) -> None:
        quantity = scalars.parse_quantity(node.text)
        if quantity is None:
            self._wrong(node, declared, subject, None)
            return
        if quantity.unit is None and not node.is_plain:
            self._quoted(node, declared, subject)
            return
        if quantity.unit is not None and parse_unit(quantity.unit) is None:
            problem = UnknownUnit(quantity.unit)
            self.diagnostics.append(error(unit_span_of(node, quantity.unit), str(problem)))
            return
        wanted = declared.dimension
        found = dimension_name(quantity.unit) if quantity.unit else None
        if wanted is not None and found != wanted:
            hint = f"'{quantity.unit}' measures {found}" if quantity.unit else "add the unit"
            self._wrong(node, declared, subject, hint)
        else:
            self._bounds(node, declared, subject, quantity.value)


def item_context(what: str, index: int, item: YNode) -> str:
    """How a list item is named in messages: ``operation 'cut'`` or ``interlock 2``."""
    if isinstance(item, YMap):
        ident = item.get("id")
        if isinstance(ident, YScalar) and ident.text:
            return f"{what} '{ident.text}'"
    return f"{what} {index}"


def _start_of(node: YNode) -> Span:
    """Where a node starts, as a one-character span."""
    return Span.point(node.span.path, node.span.line, node.span.col)


def unit_span_of(node: YScalar, unit: str) -> Span:
    """The span of the unit inside a one-line scalar such as ``5 sec``."""
    start = node.text_span
    offset = node.text.rfind(unit)
    if start.line != start.end_line or offset < 0:
        return node.span
    return Span.point(start.path, start.line, start.col + offset, len(unit))


def _date_hint(text: str) -> str | None:
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text.strip()):
        return "this date does not exist in the calendar"
    return None
