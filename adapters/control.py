"""Setpoint writes from web workers to the adapter process, over a Unix domain socket.

Only the adapter process holds device connections, so a worker asks it to write: one JSON line
``{"write": "press1.target_force", "value": 1200, "tolerance": 5}`` and one JSON line back,
``{"ok": true, "read_back": 1200.0}`` or ``{"ok": false, "error": "..."}``. The socket file lives
next to the tag cache and is only reachable by the site's own user (mode 0600).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from adapters.cache import Value

log = logging.getLogger(__name__)


def socket_next_to(cache_path: Path) -> Path:
    """The control socket of the adapter process that writes ``cache_path``."""
    return cache_path.with_suffix(".sock")


WriteHandler = Callable[[str, Value, float], Awaitable[Value]]
MAX_REQUEST_BYTES = 4096


async def serve_control(
    path: Path, write: WriteHandler, errors: tuple[type[Exception], ...]
) -> asyncio.Server:
    """Listen on ``path``; ``write`` failures of the ``errors`` types are sent back as text."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            answer = await _answer(line, write, errors)
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    server = await asyncio.start_unix_server(handle, path, limit=MAX_REQUEST_BYTES)
    os.chmod(path, 0o600)
    return server


async def _answer(
    line: bytes, write: WriteHandler, errors: tuple[type[Exception], ...]
) -> dict[str, object]:
    try:
        request = json.loads(line)
        key, value, tolerance = request["write"], request["value"], float(request["tolerance"])
        if not isinstance(key, str) or not isinstance(value, bool | int | float | str):
            raise TypeError("write must name a tag and value must be a number, bool or text")
    except (ValueError, KeyError, TypeError) as exc:
        return {"ok": False, "error": f"malformed setpoint request: {exc}"}
    number = float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        return {"ok": True, "read_back": await write(key, number, tolerance)}
    except errors as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:  # a bug, not a device failure: the worker still gets an answer
        log.exception("writing setpoint %s failed unexpectedly", key)
        return {
            "ok": False,
            "error": f"cannot write {key}: the adapter process failed ({type(exc).__name__}; "
            "see its log)",
        }


class ControlClient:
    """A worker's handle on the adapter process; satisfies the engine's ``SetpointWriter``."""

    def __init__(self, path: Path, timeout_s: float = 10.0) -> None:
        self.path = path
        self.timeout_s = timeout_s

    def write(self, key: str, value: Value, tolerance: float) -> str | None:
        """Write and confirm a setpoint: None when confirmed, else why not (for the operator)."""
        request = json.dumps({"write": key, "value": value, "tolerance": tolerance}).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout_s)
                conn.connect(str(self.path))
                conn.sendall(request + b"\n")
                reply = conn.makefile("rb").readline()
        except (FileNotFoundError, ConnectionRefusedError):
            return f"cannot write {key}: the adapter process for this site is not running"
        except TimeoutError:
            waited = f"{self.timeout_s:g} s"
            return f"cannot write {key}: the adapter process did not answer within {waited}"
        try:
            answer = json.loads(reply)
        except ValueError:
            return f"cannot write {key}: the adapter process closed the connection"
        return None if answer.get("ok") else str(answer.get("error"))
