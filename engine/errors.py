"""Domain errors: what went wrong with a command, and what would make it right.

Every error the engine raises for a bad command is a :class:`DomainError`. Its message is meant for
the person who gave the command, so it says what is wrong *and* how to fix it. ``code`` is a stable
machine-readable name; the web layer maps the subclasses to HTTP statuses (404, 409, 403, 422, 409).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from dsl.diagnostics import did_you_mean


class DomainError(Exception):
    """A command the engine refuses; ``message`` is shown to the user as it is."""

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code

    def to_json(self) -> dict[str, object]:
        """The error as plain data for APIs."""
        return {"error": self.code, "message": self.message}


class NotFound(DomainError):
    """The thing a command names does not exist (unknown serial, lot, user, version)."""

    default_code = "not_found"


class Conflict(DomainError):
    """Wrong state for this command, or another command changed the same thing first."""

    default_code = "conflict"


class Forbidden(DomainError):
    """The actor's roles do not allow this command."""

    default_code = "forbidden"


class Invalid(DomainError):
    """Bad data in the command; ``field`` names the offending input when there is one."""

    default_code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "field": self.field}


class Blocked(DomainError):
    """An interlock refused the command; ``checks`` holds each check's result as plain data."""

    default_code = "blocked"

    def __init__(
        self,
        message: str,
        *,
        checks: Sequence[Mapping[str, object]] = (),
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.checks = tuple(checks)

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "checks": [dict(c) for c in self.checks]}


def undeclared(kind: str, name: str, declared: Collection[str], *, field: str) -> Invalid:
    """The error for a name the plant config does not declare, with a did-you-mean."""
    hint = did_you_mean(name, declared)
    suggestion = f" {hint[0].upper()}{hint[1:]}" if hint else ""
    listed = ", ".join(sorted(declared)) or "none"
    return Invalid(
        f"The plant declares no {kind} '{name}'.{suggestion} Declared: {listed}.", field=field
    )
