"""The objects a request works with, built once per worker by :func:`web.app.create_app`.

Nothing here holds state that other workers would need to see: the database behind the engine's
facades is the shared truth, tag values come from the adapter process's shared cache, settings
are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from engine.facade.access import Access
from engine.facade.config import Config
from engine.facade.dispatch import Dispatch
from engine.facade.equipment import EquipmentCare
from engine.facade.inspection import Inspection
from engine.facade.labels import Labels
from engine.facade.materials import Materials
from engine.facade.production import Ferrule
from engine.facade.recalls import Recalls
from engine.facade.tools import Tools
from engine.floor.tagsource import TagSource
from web.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    """The settings, the live tag values, and the engine's facades: production (``ferrule``),
    access (sign-in, tokens, users), config (versions) and dispatch (queues, planning)."""

    settings: Settings
    tags: TagSource
    ferrule: Ferrule
    access: Access
    config: Config
    dispatch: Dispatch
    labels: Labels
    equipment: EquipmentCare  # calibration, maintenance, impact lists, bulk holds
    materials: Materials  # goods-in, lot status, inventory, kits
    tools: Tools  # tools and fixtures: life, calibration, status, units made with a tool
    recalls: Recalls  # holds of recalled supplier lots and what was made from them
    inspection: Inspection  # AQL lot inspection: plans, samples, decisions, switching


def services() -> Services:
    """The current app's services."""
    found = current_app.extensions["ferrule"]
    assert isinstance(found, Services)
    return found
