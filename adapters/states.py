"""Equipment states derived from the plant's state rules, as a history of changes.

Rules are tried in order and the first that passes wins; with none passing the state is ``idle``.
Fail safe: when a rule *before* the first passing one is unknown (a tag it reads is bad or stale),
the published state is ``down`` — a machine Ferrule cannot see is not offered as available, and the
implicit "equipment not down" interlock blocks. The history records such a stretch as ``unknown``
(cause: device unreachable), never as the last state or as a fault of the machine; so is the time
the adapter process is not running: ``unknown`` when it stops, and at its next start from its last
heartbeat when it was killed. A machine unknown since the adapter stopped stays so until its tags
answer: the start-up records no entry of its own.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from adapters.cache import TagCache, TagCacheWriter
from adapters.envsource import tag_env
from dsl.env import NOW, TODAY, date_value
from dsl.model import Equipment, EquipmentState, Plant, StateCause, StateRule, Tag
from dsl.tagenv import rule_tags

STATE_PREFIX = "equipment:"


def state_key(equipment: str) -> str:
    """The cache slot holding an equipment's current state (a string)."""
    return STATE_PREFIX + equipment


@dataclass(frozen=True, slots=True)
class StateChange:
    """``equipment`` went from ``old`` (None: first state seen) to ``new`` at ``at``, because of
    ``cause``; ``detail`` says which rule fired or why the device cannot be seen."""

    equipment: str
    old: EquipmentState | None
    new: EquipmentState
    at: dt.datetime
    cause: StateCause = StateCause.STATE_RULE
    detail: str = ""


def _rule_tags(plant: Plant, equipment: Equipment) -> tuple[Tag, ...]:
    """The tags the equipment's state rules read, by key."""
    keys = rule_tags(key for rule in equipment.state_rules for key in rule.when.keys)
    return tuple(plant.tag(key) for key in sorted(keys))


class StateTracker:
    """Re-evaluates equipment whose tags changed; publishes states and reports changes."""

    def __init__(
        self,
        plant: Plant,
        cache: TagCache,
        writer: TagCacheWriter,
        on_change: Callable[[StateChange], None],
    ) -> None:
        self.zone = ZoneInfo(plant.site.timezone)
        self.cache = cache
        self.writer = writer
        self.on_change = on_change
        self.equipment = tuple(e for e in plant.equipment.values() if e.state_rules)
        self._tags = {e.name: _rule_tags(plant, e) for e in self.equipment}
        self._readers: dict[str, list[Equipment]] = {}
        for item in self.equipment:
            for tag in self._tags[item.name]:
                self._readers.setdefault(tag.key, []).append(item)
        self.current: dict[str, EquipmentState] = {}
        self._since: dict[str, float] = {}
        self._published: dict[str, EquipmentState] = {}

    def affected(self, tag_keys: Iterable[str]) -> set[str]:
        """Names of the equipment whose state rules read any of ``tag_keys``."""
        return {e.name for key in tag_keys for e in self._readers.get(key, ())}

    def evaluate(self, names: Iterable[str] | None = None, now: float | None = None) -> None:
        """Re-derive the named equipment (all when None) and publish each state."""
        moment = time.time() if now is None else now
        wanted = None if names is None else set(names)
        instant = dt.datetime.fromtimestamp(moment, dt.UTC)
        base = {NOW: moment, TODAY: date_value(instant.astimezone(self.zone).date())}
        for item in self.equipment:
            if wanted is not None and item.name not in wanted:
                continue
            env = base | tag_env(self.cache, self._tags[item.name], moment)
            state, rule = item.observed_state(env)
            old = self.current.get(item.name)
            if old is not state:
                self.current[item.name] = state
                cause, detail = self._cause(item, state, rule, moment)
                self.on_change(StateChange(item.name, old, state, instant, cause, detail))
            published = EquipmentState.DOWN if state is EquipmentState.UNKNOWN else state
            if self._published.get(item.name) is not published:
                self._published[item.name] = published
                self._since[item.name] = moment
            self.writer.publish(
                state_key(item.name), published.value, self._since[item.name], moment
            )

    def adapter_stopped(self, at: float) -> None:
        """Record every machine as ``unknown`` from ``at``: the adapter process stops (or, at
        start-up, stopped then without saying so)."""
        instant = dt.datetime.fromtimestamp(at, dt.UTC)
        for item in self.equipment:
            old = self.current.get(item.name)
            self.current[item.name] = EquipmentState.UNKNOWN
            self.on_change(
                StateChange(
                    item.name,
                    old,
                    EquipmentState.UNKNOWN,
                    instant,
                    StateCause.ADAPTER_NOT_RUNNING,
                    "the adapter process is not running",
                )
            )

    def _cause(
        self, item: Equipment, state: EquipmentState, rule: StateRule | None, now: float
    ) -> tuple[StateCause, str]:
        """Why ``item`` is in ``state``: the rule that passed, or the tags that cannot be read."""
        if state is not EquipmentState.UNKNOWN:
            return StateCause.STATE_RULE, (
                f"{state.value}: {rule.when.source}" if rule else "no state rule passes"
            )
        wanted = rule_tags(rule.when.keys) if rule else frozenset()
        reasons = [
            f"{tag.key}: {reason}"
            for tag in self._tags[item.name]
            if tag.key in wanted
            and (reason := self.cache.unavailable_reason(tag.key, now)) is not None
        ]
        unreadable = "; ".join(reasons) or "a tag it reads has no usable value"
        return StateCause.DEVICE_UNREACHABLE, unreadable
