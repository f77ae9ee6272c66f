"""`ferrule serve` under gunicorn with two workers: health, an API call, shared metrics, JSON
logs, and a bounded graceful stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from postgres import free_port

import engine.access.tokens as access
from engine.access import people
from engine.infra.db import Database

FERRULE = Path(sys.executable).parent / "ferrule"
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 15


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"ferrule serve exited early:\n{log.read_text()}")
        try:
            if _get(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(
        f"ferrule serve did not answer within {START_TIMEOUT_S} s:\n{log.read_text()}"
    )


def _stop(server: subprocess.Popen[bytes]) -> int:
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=STOP_TIMEOUT_S)
        raise AssertionError(f"ferrule serve did not stop within {STOP_TIMEOUT_S} s") from None


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (gunicorn's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _burst(base: str, count: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _get(f"{base}/healthz")[0], range(count)))
    assert statuses == [200] * count


def _metric_pids(var: Path) -> set[str]:
    """Processes that wrote Prometheus samples (file names end in _<pid>.db)."""
    return {p.stem.rsplit("_", 1)[1] for p in (var / "metrics").glob("counter_*.db")}


def _metric_total(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_serve_runs_several_workers_that_share_the_database_and_metrics(
    tmp_path: Path, password_hash: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ferrule.db'}"
    db = Database.from_url(url)
    db.create_all()
    with db.transaction() as session:
        people.create_user(session, "erp", actor="test")
        people.grant_role(session, "erp", "supervisor", actor="test")
        _, secret = access.create_token(
            session, name="ERP", username="erp", roles=("supervisor",), created_by="test"
        )
        people.create_user(session, "prometheus", actor="test")
        people.grant_role(session, "prometheus", "metrics", actor="test")
        _, scraper = access.create_token(
            session, name="scraper", username="prometheus", roles=("metrics",), created_by="test"
        )
    db.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FERRULE_VAR": str(tmp_path),
        "FERRULE_DATABASE_URL": url,
        "FERRULE_TAG_CACHE": str(tmp_path / "no-cache"),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(FERRULE), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(base, server, log)
        status, body = _get(f"{base}/api/me", secret)
        assert status == 200
        assert json.loads(body) == {"username": "erp", "roles": ["supervisor"], "via": "token"}

        assert len(_children(server.pid)) == 2
        _burst(base, 40)
        # kill the workers that answered so far: gunicorn replaces them, and /metrics must still
        # count what they served (samples live in files, one per process, not in a worker)
        served_by = _metric_pids(tmp_path)
        for pid in served_by:
            os.kill(int(pid), signal.SIGKILL)
        _wait_until_up(base, server, log)
        _burst(base, 40)
        assert _metric_pids(tmp_path) - served_by, "new workers answered"
        assert _get(f"{base}/metrics")[0] == 401
        status, body = _get(f"{base}/metrics", scraper)
        assert status == 200
        served = _metric_total(
            body.decode(), "ferrule_http_requests_total", endpoint="health.healthz", status="200"
        )
        assert served >= 81  # every worker's count, summed (80 + the start-up probes)

        status, body = _get(f"{base}/api/items/{'x' * 5000}")
        assert (status, json.loads(body)["error"]) == (414, "uri_too_long")  # not gunicorn's page

        status, body = _get(f"{base}/readyz", scraper)
        assert status == 503
        checks = json.loads(body)["checks"]
        assert checks["database"]["ok"] is True
        assert checks["config"] == {
            "ok": False,
            "detail": "no plant config deployed; run `ferrule deploy PLANT_DIR`",
        }
    finally:
        code = _stop(server)
    assert code == 0, log.read_text()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is a JSON object
    assert any(r.get("path") == "/api/me" and r.get("user") == "erp" for r in records)
    assert not (tmp_path / "home" / ".gunicorn").exists()  # no control socket
