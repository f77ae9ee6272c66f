"""Fixtures for the integration tests (helpers live in integration_support.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from integration_support import DeviceLine, start_line

from engine.infra.db import Database


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory (Unix socket paths are limited to ~100 bytes)."""
    with tempfile.TemporaryDirectory(prefix="ferrule-") as name:
        yield Path(name)


@pytest.fixture
def device_line(db: Database, tmp_path: Path, short_dir: Path) -> Iterator[DeviceLine]:
    """The engine on acme-harness fed by a real adapter runtime; devices not yet running."""
    line = start_line(db, tmp_path, short_dir)
    yield line
    line.close()
