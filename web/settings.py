"""The web application's settings, read from the environment.

| variable | default | meaning |
|---|---|---|
| FERRULE_VAR | ``var`` | folder (0700): SQLite database, secret key file, tag cache |
| FERRULE_DATABASE_URL | ``sqlite:///<FERRULE_VAR>/ferrule.db`` | SQLAlchemy URL of the database |
| FERRULE_SECRET_KEY | ``<FERRULE_VAR>/secret_key`` (made once) | signs sessions; 32 bytes or more |
| FERRULE_SESSION_TIMEOUT | ``30`` | minutes of inactivity before a session ends |
| FERRULE_TAG_CACHE | ``<FERRULE_VAR>/tags.mmap`` | where the adapter process publishes tag values |
| FERRULE_SECURE_COOKIES | ``1`` | ``0``: the session cookie also goes over plain HTTP (the demo) |
| FERRULE_TRUSTED_PROXIES | ``0`` | how many reverse proxies in front set X-Forwarded-* |

Every worker and every host must agree on the secret key: several hosts set FERRULE_SECRET_KEY;
one host shares the key file in its var folder. docs/operations.md says how to run behind a proxy.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click

MIN_SECRET_BYTES = 32


class SettingsError(click.ClickException):
    """An environment variable holds a value Ferrule cannot use (a ``ferrule`` command prints it
    as its error and exits 1)."""


@dataclass(frozen=True, slots=True)
class Settings:
    var_dir: Path
    database_url: str
    secret_key: str
    session_timeout: dt.timedelta
    tag_cache: Path
    secure_cookies: bool = True
    trusted_proxies: int = 0

    def __post_init__(self) -> None:
        length = len(self.secret_key.encode())
        if length < MIN_SECRET_BYTES:
            raise SettingsError(
                f"FERRULE_SECRET_KEY is {length} bytes long; use at least {MIN_SECRET_BYTES} "
                "random bytes, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: the process environment)."""
        env = os.environ if environ is None else environ
        var_dir = Path(env.get("FERRULE_VAR", "var"))
        minutes_text = env.get("FERRULE_SESSION_TIMEOUT", "30")
        try:
            minutes = float(minutes_text)
        except ValueError:
            minutes = -1.0
        if minutes <= 0:
            raise SettingsError(
                f"FERRULE_SESSION_TIMEOUT={minutes_text!r} is not a positive number of minutes; "
                "set it to e.g. 30"
            )
        return cls(
            var_dir=var_dir,
            database_url=env.get("FERRULE_DATABASE_URL", f"sqlite:///{var_dir / 'ferrule.db'}"),
            secret_key=env.get("FERRULE_SECRET_KEY") or _secret_key_file(var_dir),
            session_timeout=dt.timedelta(minutes=minutes),
            tag_cache=Path(env.get("FERRULE_TAG_CACHE", str(var_dir / "tags.mmap"))),
            secure_cookies=env.get("FERRULE_SECURE_COOKIES", "1") != "0",
            trusted_proxies=_proxies(env.get("FERRULE_TRUSTED_PROXIES", "0")),
        )


def _proxies(text: str) -> int:
    """How many reverse proxies to trust for the client's address and scheme."""
    if not text.strip().isdigit():
        raise SettingsError(
            f"FERRULE_TRUSTED_PROXIES={text!r} is not a number of proxies; set it to how many "
            "reverse proxies stand in front of Ferrule (0 when none)"
        )
    return int(text)


def _secret_key_file(var_dir: Path) -> str:
    """The key in ``var_dir/secret_key``, created on first use (mode 0600, atomically: a
    worker starting at the same moment reads the same key, never a half-written file)."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = var_dir / f".secret_key.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process won the race; use its key
        finally:
            draft.unlink()
    return path.read_text().strip()
