"""``ferrule serve``: the web app under gunicorn with several workers (``--dev``: Flask's reloader).

Workers share nothing in memory: sessions are signed cookies, everything else is in the database
or the adapter process's tag cache. Prometheus samples go to files in ``<var>/metrics`` (cleared at
start) so ``/metrics`` sums every worker. gunicorn runs without its control socket (it would create
one under ``~/.gunicorn/``), logs JSON lines like the app, and stops gracefully on SIGTERM/SIGINT.
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path
from typing import Any

import click
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.glogging import Logger
from gunicorn.workers.base import Worker

from web.logging import configure_logging
from web.settings import Settings

METRICS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def default_workers() -> int:
    """Two per core plus one, at most eight (SQLite serialises writers; more do not help)."""
    return min(2 * (os.cpu_count() or 1) + 1, 8)


class JsonLogger(Logger):
    """gunicorn's logger, sending its records through Ferrule's JSON log handler."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        configure_logging(cfg.loglevel)


def _worker_exited(_arbiter: Arbiter, worker: Worker) -> None:
    # prometheus_client picks its value store when first imported, so it is imported only
    # after serve() has named the multiprocess folder in the environment.
    from prometheus_client import multiprocess  # noqa: PLC0415

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def _worker_ready(_worker: Worker) -> None:
    """Move what the loaded app holds (plant model, compiled rules, statements) out of the
    collector's way: it lives as long as the worker, and scanning it on every collection costs
    request latency."""
    gc.freeze()


class FerruleServer(BaseApplication):
    """gunicorn configured from a dict, loading :func:`web.app.create_app` in each worker."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Imported in the worker, after PROMETHEUS_MULTIPROC_DIR is set (see _worker_exited).
        from web.app import create_app  # noqa: PLC0415

        return create_app()


def prepare_metrics_dir(var_dir: Path) -> Path:
    """An empty folder for this run's Prometheus samples, named in the environment.

    Must run before ``prometheus_client`` is first imported in this process."""
    folder = (var_dir / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[METRICS_VARIABLE] = str(folder)
    return folder


def serve(host: str, port: int, workers: int, log_level: str, var_dir: Path) -> None:
    """Run gunicorn until it is told to stop."""
    prepare_metrics_dir(var_dir)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        # the longest request line gunicorn takes: a longer address than the app's limit
        # (web.limits.MAX_URL) then gets the app's own JSON error, not gunicorn's page
        "limit_request_line": 8190,
        "control_socket_disable": True,
        "logger_class": JsonLogger,
        "loglevel": log_level,
        "accesslog": None,
        "child_exit": _worker_exited,
        "post_worker_init": _worker_ready,
        "proc_name": "ferrule",
    }
    FerruleServer(options).run()


def serve_dev(host: str, port: int) -> None:
    """Flask's development server with the reloader (one process; not for production)."""
    from web.app import create_app  # noqa: PLC0415  (see FerruleServer.load)

    configure_logging("DEBUG")
    create_app().run(host=host, port=port, debug=True, use_reloader=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=default_workers(), show_default=True, type=int)
@click.option("--log-level", default="info", show_default=True)
@click.option("--dev", is_flag=True, help="Flask's development server with auto-reload.")
def serve_command(host: str, port: int, workers: int, log_level: str, dev: bool) -> None:
    """Serve the web app and API (under gunicorn; --dev for Flask's reloader)."""
    if workers < 1:
        raise click.BadParameter("must be at least 1", param_hint="--workers")
    if dev:
        serve_dev(host, port)
    else:
        serve(host, port, workers, log_level, Settings.from_env().var_dir)
