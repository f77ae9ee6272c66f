"""Passwords: the policy a new one must meet, its argon2 hash, and a check that costs one argon2
verification whether or not the user exists.

The policy is at least :data:`MIN_LENGTH` characters and a zxcvbn guessability score of at least
:data:`MIN_SCORE`: zxcvbn knows the common (breached) passwords, words, names, dates and keyboard
patterns, offline, and is told the user's own names. Its word lists take 15 MB in memory, so they
are imported when a password is first set, not in every web worker at start.
"""

from __future__ import annotations

import functools
import importlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import Invalid
from engine.infra.jsonable import Jsonable

MIN_LENGTH = 12
MAX_LENGTH = 1024  # no password is longer; hashing a longer one would only cost the server time
MIN_SCORE = 3  # zxcvbn's "safely unguessable": too many guesses for an online attack
_SCORED_LENGTH = 72  # zxcvbn's own limit; a longer password is scored by its beginning
_hasher = PasswordHasher()


@dataclass(frozen=True, slots=True)
class PasswordPolicy(Jsonable):
    """What a new password must be, as the pages state it."""

    min_length: int
    rule: str


POLICY = PasswordPolicy(
    MIN_LENGTH,
    f"At least {MIN_LENGTH} characters, and not a common password, a name, a date or a keyboard "
    "pattern.",
)


@functools.cache
def _estimator() -> Callable[..., dict[str, Any]]:
    """zxcvbn's estimator, imported on first use (see the module docstring)."""
    estimate: Callable[..., dict[str, Any]] = importlib.import_module("zxcvbn").zxcvbn
    return estimate


def hash_new(password: str, *, names: Sequence[str]) -> str:
    """The argon2 hash of a password that meets the policy; Invalid saying why it does not.

    ``names`` are the user's own (username, full name): a password made of them is easy to guess."""
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"The password is too short; use at least {MIN_LENGTH} characters.", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise Invalid(
            f"The password is too long; use at most {MAX_LENGTH:,} characters.", field="password"
        )
    verdict = _estimator()(password[:_SCORED_LENGTH], user_inputs=[n for n in names if n])
    if verdict["score"] < MIN_SCORE:
        warning = verdict["feedback"]["warning"]
        said = f": {warning}" if warning else "."
        raise Invalid(
            f"The password is too easy to guess{said} Choose another, for example four unrelated "
            "words.",
            field="password",
        )
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, made with the same parameters as every real one."""
    return _hasher.hash(secrets.token_hex(32))


def verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the ``stored`` hash. Without one (an unknown or deactivated
    user, or one without a password) the dummy hash is verified instead: the answer takes as long
    as for a wrong password, so timing does not tell which usernames exist."""
    dummy = _dummy_hash()
    try:
        return _hasher.verify(stored or dummy, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
