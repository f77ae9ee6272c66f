"""The objects a request works with, built once per worker by :func:`web.app.create_app`.

Nothing here holds state that other workers would need to see: the database is the shared truth,
tag values come from the adapter process's shared cache, settings are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from engine.facade.production import Ferrule
from engine.floor.tagsource import SetpointWriter, TagSource
from engine.infra.db import Database
from web.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    tags: TagSource
    setpoints: SetpointWriter | None
    ferrule: Ferrule


def services() -> Services:
    """The current app's services."""
    found = current_app.extensions["ferrule"]
    assert isinstance(found, Services)
    return found
