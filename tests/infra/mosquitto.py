"""A throwaway Mosquitto MQTT broker for tests: a generated config in a temporary folder, a free
port on 127.0.0.1, persistence on (saved every second), so a broker killed with SIGKILL and
started again on the same port still knows the subscriptions of persistent sessions.

Debian installs the broker as /usr/sbin/mosquitto (tests/infra/system-deps.sh). Started as root
it would drop to the ``mosquitto`` user, which could not write the temporary folder, so as root
the config says ``user root``. Every wait has a timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from postgres import free_port

START_TIMEOUT_S = 10.0
PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def find_mosquitto() -> str | None:
    """The broker's executable, or None when Mosquitto is not installed."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


class MosquittoBroker:
    """One Mosquitto process on 127.0.0.1; :meth:`kill` and :meth:`start` keep its port."""

    def __init__(
        self,
        executable: str,
        *,
        users: Mapping[str, str] | None = None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """``users``: username → password (then nobody else may connect); ``tls``: the server's
        certificate and key files (then the listener speaks TLS only)."""
        self.executable = executable
        self.root = Path(tempfile.mkdtemp(prefix="ferrule-mqtt-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        config = [
            f"listener {self.port} 127.0.0.1",
            f"allow_anonymous {'false' if users else 'true'}",
            "persistence true",
            f"persistence_location {self.root}/",
            "autosave_interval 1",
            "max_inflight_messages 0",
            "max_queued_messages 0",
            f"log_dest file {self.root}/log",
        ]
        if os.geteuid() == 0:
            config.append("user root")
        if users:
            config.append(f"password_file {self._password_file(users)}")
        if tls:
            config += [f"certfile {tls[0]}", f"keyfile {tls[1]}"]
        self.config = self.root / "mosquitto.conf"
        self.config.write_text("\n".join(config) + "\n")

    def _password_file(self, users: Mapping[str, str]) -> Path:
        path = self.root / "passwords"
        path.touch(mode=0o600)
        for username, password in users.items():
            subprocess.run(
                [PASSWD, "-b", str(path), username, password],
                check=True,
                capture_output=True,
                timeout=START_TIMEOUT_S,
            )
        return path

    def start(self) -> None:
        """Start the broker and wait until it accepts connections (RuntimeError with its log)."""
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        log = self.root / "log"
        text = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"Mosquitto did not start on port {self.port}:\n{text}")

    def kill(self) -> None:
        """SIGKILL the broker (no goodbye to anyone, nothing saved since the last autosave)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=START_TIMEOUT_S)

    def stop(self) -> None:
        """Stop the broker (SIGTERM, then SIGKILL after a timeout)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def remove(self) -> None:
        """Stop the broker and delete its folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_broker(
    *, users: Mapping[str, str] | None = None, tls: tuple[Path, Path] | None = None
) -> Iterator[MosquittoBroker]:
    """A started broker (see :class:`MosquittoBroker`), stopped and removed at the end; skips
    (fails under CI) without Mosquitto installed."""
    executable = find_mosquitto()
    if executable is None:
        message = "Mosquitto is not installed (run tests/infra/system-deps.sh as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    broker = MosquittoBroker(executable, users=users, tls=tls)
    try:
        broker.start()
        yield broker
    finally:
        broker.remove()
