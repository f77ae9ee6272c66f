"""Building ``event_rules``: conditions on live tags that act when they hold long enough.

Each rule's ``when`` and ``rearm`` compile like equipment state rules (tags only, a condition);
each action names declared equipment or a declared role, and a ``write`` names a writable tag
and a value expression of the tag's kind and unit, type-checked like an operation's setpoint.
The validator (:mod:`dsl.validate`) has already checked the keys and their shapes, ``for`` as a
duration, and that each action has exactly one kind.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dsl import _reader as r
from dsl import scalars
from dsl.expressions import CONDITION, Expect
from dsl.model import (
    Device,
    Equipment,
    EventAction,
    EventActionKind,
    EventRule,
    RateLimit,
    Role,
)
from dsl.rules import CompiledRule
from dsl.scope import Scope, Symbol
from dsl.units import parse_unit, same_dimension, to_si
from dsl.yamlsource import YMap, YNode, YScalar

ACTION_KINDS: tuple[EventActionKind, ...] = ("hold", "nonconformance", "notify", "write")
_RATE = re.compile(r"^\s*(\d+)\s+per\s+(.+?)\s*$")
RATE_HINT = "write it like '1 per 10 min': a whole number of firings per a duration"


class EventRuleBuilder:
    """Turns the ``event_rules`` definitions into :class:`EventRule` objects, reporting
    problems."""

    def __init__(
        self,
        report: r.Reporter,
        *,
        tags: Mapping[str, Symbol],
        devices: Mapping[str, Device],
        equipment: Mapping[str, Equipment],
        roles: Mapping[str, Role],
    ) -> None:
        self.report = report
        self.tags = tags
        self.scope = Scope(tags=tags)
        self.devices = devices
        self.equipment = equipment
        self.roles = roles

    def build_all(self, section: Mapping[str, tuple[YScalar, YNode]]) -> dict[str, EventRule]:
        """Every rule that is free of errors, by name."""
        rules: dict[str, EventRule] = {}
        for name, (key, value) in section.items():
            rule = self.rule(key, r.as_map(value))
            if rule is not None:
                rules[name] = rule
        return rules

    def rule(self, name: YScalar, node: YMap) -> EventRule | None:
        when_node, rearm_node = r.scalar(node, "when"), r.scalar(node, "rearm")
        when = self.report.rule(when_node, self.scope, CONDITION) if when_node else None
        rearm = self.report.rule(rearm_node, self.scope, CONDITION) if rearm_node else None
        actions = [self.action(item) for item in r.items(node, "then")]
        rate = self.rate(r.scalar(node, "at_most"))
        broken = (rearm_node is not None and rearm is None) or rate is False
        if when is None or broken or not actions or None in actions:
            return None
        return EventRule(
            name=name.text,
            when=when,
            for_s=r.si(node, "for", 0.0),
            actions=tuple(a for a in actions if a is not None),
            because=r.text(node, "because"),
            rearm=rearm,
            at_most=rate if isinstance(rate, RateLimit) else None,
            span=name.span,
        )

    def action(self, item: YNode) -> EventAction | None:
        """One ``then`` entry, or None after reporting what is wrong with it."""
        if not isinstance(item, YMap):
            return None
        kind = next((k for k in ACTION_KINDS if k in item), None)
        target = r.scalar(item, kind) if kind is not None else None
        if kind is None or target is None:
            return None
        if kind in ("hold", "nonconformance"):
            known: Mapping[str, object] = self.equipment
            what = "equipment"
        elif kind == "notify":
            known, what = self.roles, "role"
        else:
            return self.write(item, target)
        if not self.report.reference(target, what, known):
            return None
        return EventAction(kind, target.text.strip(), item.span)

    def write(self, item: YMap, tag_node: YScalar) -> EventAction | None:
        """``{write: device.tag, value: EXPRESSION}``: a writable tag, a value of its kind."""
        value = r.scalar(item, "value")
        if not self.report.reference(tag_node, "tag", self.tags):
            return None
        key = tag_node.text.strip()
        device, _, tag_name = key.partition(".")
        declared = self.devices.get(device)
        tag = declared.tags.get(tag_name) if declared is not None else None
        if tag is not None and not tag.writable:
            self.report.error(
                tag_node.span,
                f"tag '{key}' is not writable, so an event rule cannot write it",
                "add 'writable: true' to the tag if event rules may write it",
            )
            return None
        if value is None:
            self.report.error(
                tag_node.span,
                f"write of '{key}' has no value",
                "add the value to write next to it, like {write: " + key + ", value: 0 N}",
            )
            return None
        symbol = self.tags[key]
        compiled: CompiledRule | None = self.report.rule(
            value, self.scope, Expect(symbol.kind, symbol.unit)
        )
        if compiled is None or tag is None:
            return None
        return EventAction("write", key, item.span, compiled)

    def rate(self, node: YScalar | None) -> RateLimit | bool:
        """``at_most``: the rate limit, True when there is none, False after an error."""
        if node is None:
            return True
        match = _RATE.match(node.text)
        quantity = scalars.parse_quantity(match[2]) if match else None
        if match is None or quantity is None or quantity.unit is None:
            self.report.error(
                node.text_span, f"'{node.text}' is not a rate like '1 per 10 min'", RATE_HINT
            )
            return False
        unit = parse_unit(quantity.unit)
        if unit is None or not same_dimension(quantity.unit, "s"):
            self.report.error(
                node.text_span,
                f"the period of '{node.text}' is not a duration (found '{quantity.unit}')",
                "use s, min, h or d, like '1 per 10 min'",
            )
            return False
        count, period = int(match[1]), to_si(quantity.value, quantity.unit)
        if count < 1 or period <= 0:
            self.report.error(
                node.text_span,
                f"'{node.text}' allows no firing at all",
                "allow at least 1 firing per a period longer than 0, or remove at_most",
            )
            return False
        return RateLimit(count, period, node.text.strip())
