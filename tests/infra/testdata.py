"""Constants the test areas share: where the example plants are, the demo password, and the
change-control declaration and passing config test that the change-control tests deploy."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ACME = REPO / "plants" / "acme-harness"
PASSWORD = "correct horse battery"

# site.yaml lines that put acme-harness under change control
CHANGE_CONTROL = '\nchange_control:\n  approver: quality\n  meaning: "Approved for production"\n'
# a config test of acme-harness that passes: a unit cut to 500 mm goes on to crimp
CUT_CONFIG_TEST = """\
defaults:
  today: 2026-11-03
  operator: {roles: [operator], qualifications: [cutting]}
  lots: [{part: WIRE-18-RD, lot: W-1, qty: 10 m}]
cases:
  - name: cut goes to crimp
    steps:
      - start: cut
      - complete: cut
        data: {length: 500 mm, strip_length: 7 mm}
        consume: {WIRE-18-RD: W-1}
        expect: {next: crimp}
"""

# What `ferrule audit verify` says it does not check: the tables that hold working data.
NOT_CHECKED = (
    "not checked: equipment_state_buckets, event_cursors, event_dead_letters, history_buckets, "
    "history_points, history_tags, idempotency_keys, number_sequences, outbox_events, "
    "production_buckets, production_watermarks, signin_attempts (working data, not records)"
)
