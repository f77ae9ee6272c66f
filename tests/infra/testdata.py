"""Constants the test areas share: where the example plants are, the demo password."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "plants" / "acme-harness"
PASSWORD = "correct horse battery"
