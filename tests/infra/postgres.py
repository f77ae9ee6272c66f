"""A throwaway PostgreSQL server for tests: initdb in a temporary folder, a free port on 127.0.0.1.

Follows NOTES-infra.md: Debian keeps the binaries under /usr/lib/postgresql/<version>/bin, and
initdb refuses to run as root, so as root the server runs as the ``postgres`` user. Every wait has
a timeout. One server per test process (xdist workers each start their own, on their own port).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg

SEARCH = "/usr/lib/postgresql/*/bin"
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120


def find_bindir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None when PostgreSQL is not installed."""
    found = sorted(
        Path("/").glob(SEARCH.lstrip("/")),
        key=lambda p: [int(x) if x.isdigit() else x for x in p.parent.name.split(".")],
    )
    found = [p for p in found if (p / "initdb").exists()]
    return found[-1] if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder; ``url(name)`` gives a SQLAlchemy URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="ferrule-pg-"))
        self.port = 0
        self.as_root = os.geteuid() == 0

    def start(self) -> None:
        """initdb and start the server; raises RuntimeError with the server log on failure."""
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.root / "data"),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        for _attempt in range(3):  # another process may grab the port between probe and start
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            started = self._run(
                "pg_ctl",
                "-D",
                str(self.root / "data"),
                "-l",
                str(self.root / "log"),
                "-w",
                "-t",
                str(START_TIMEOUT_S),
                "-o",
                options,
                "start",
                check=False,
            )
            if started.returncode == 0:
                return
        log = (self.root / "log").read_text(errors="replace")
        raise RuntimeError(f"PostgreSQL did not start:\n{started.stdout}{started.stderr}\n{log}")

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.root / "data"),
            "-m",
            "immediate",
            "-w",
            "-t",
            "30",
            "stop",
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new database with a fresh name (copying ``template`` when given); returns the name."""
        return self.create_database_named(f"t_{uuid.uuid4().hex[:16]}", template)

    def create_database_named(self, name: str, template: str | None = None) -> str:
        """Create the database ``name`` (a copy of ``template`` when given); returns the name."""
        clause = f" TEMPLATE {template}" if template else ""
        self._sql(f"CREATE DATABASE {name}{clause}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing whatever connections are left on it."""
        self._sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _sql(self, statement: str) -> None:
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=10"
        with psycopg.connect(dsn, autocommit=True) as connection:
            connection.execute(statement)  # type: ignore[arg-type]  # names we generated

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed:\n{result.stdout}{result.stderr}")
        return result
