"""Where a disposition stands with the material review board, from its signatures: rejected once
a signature rejects it, effective once every required role has signed, pending until then."""

from __future__ import annotations

from collections.abc import Iterable

REJECTION_MEANING = "Disposition rejected"
"""What a board member's signature states when it rejects a proposed disposition."""


def board_status(
    required: tuple[str, ...], signed: Iterable[tuple[str, str]]
) -> tuple[str, tuple[str, ...]]:
    """``rejected``, ``effective`` or ``pending`` with the roles still missing, from the
    (role, meaning) of each signature given."""
    signatures = list(signed)
    if any(meaning == REJECTION_MEANING for _, meaning in signatures):
        return "rejected", ()
    roles = {role for role, _ in signatures}
    missing = tuple(role for role in required if role not in roles)
    return ("pending" if missing else "effective"), missing
