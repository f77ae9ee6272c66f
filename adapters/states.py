"""Equipment states derived from the plant's state rules, as a history of changes.

Rules are tried in order and the first that passes wins; with none passing the state is ``idle``.
Fail safe: when a rule *before* the first passing one is unknown (a tag it reads is bad or stale),
the state is ``down`` — a machine Ferrule cannot see is neither counted as running nor offered as
available, and the implicit "equipment not down" interlock blocks.
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
from dsl.model import Equipment, EquipmentState, Plant, Tag
from dsl.tagenv import rule_tags

STATE_PREFIX = "equipment:"


def state_key(equipment: str) -> str:
    """The cache slot holding an equipment's current state (a string)."""
    return STATE_PREFIX + equipment


@dataclass(frozen=True, slots=True)
class StateChange:
    """``equipment`` went from ``old`` (None: first state seen) to ``new`` at ``at``."""

    equipment: str
    old: EquipmentState | None
    new: EquipmentState
    at: dt.datetime


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
            state = item.derive_state(env)
            old = self.current.get(item.name)
            if old is not state:
                self.current[item.name] = state
                self._since[item.name] = moment
                self.on_change(StateChange(item.name, old, state, instant))
            self.writer.publish(state_key(item.name), state.value, self._since[item.name], moment)
