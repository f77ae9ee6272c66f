"""``ferrule demo`` watches its children: the adapter process is restarted when it dies (a few
times), any other child's death stops everything with a non-zero exit, said plainly."""

from __future__ import annotations

import io
import os
import socket
import sys
import time
from pathlib import Path

import pytest

from engine.facade.production import Ferrule
from engine.floor.tagsource import StaticTagSource
from engine.infra.db import Database
from web import demo

EXITS = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLEEPS = [sys.executable, "-c", "import time; time.sleep(60)"]
SUCCEEDS = [sys.executable, "-c", "pass"]


def test_the_adapter_process_is_restarted_then_given_up_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "MAX_RESTARTS", 2)
    began = time.monotonic()
    code = demo.supervise(
        [demo.Child("serve", SLEEPS), demo.Child("adapters", EXITS, restart=True)],
        env={},
        poll_s=0.05,
    )
    assert code == 3
    assert time.monotonic() - began < 20  # the sleeping child was stopped, not waited for
    assert capsys.readouterr().err.splitlines() == [
        "ferrule adapters exited with 3; restarting it (1 of 2)",
        "ferrule adapters exited with 3; restarting it (2 of 2)",
        "ferrule adapters exited with 3 again after 2 restarts; stopping everything",
    ]


def test_any_other_child_stopping_stops_everything_with_a_non_zero_exit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = demo.supervise(
        [demo.Child("serve", SUCCEEDS), demo.Child("adapters", SLEEPS, restart=True)],
        env={},
        poll_s=0.05,
    )
    assert code == 1
    assert capsys.readouterr().err.splitlines() == [
        "ferrule serve exited with 0; stopping everything"
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server(port: int, delay_s: float) -> list[str]:
    """A child that starts answering 200 on ``port`` after ``delay_s``."""
    script = (
        "import http.server, time\n"
        f"time.sleep({delay_s})\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
        "    def log_message(self, *args): pass\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    return [sys.executable, "-c", script]


def test_the_url_is_printed_only_once_the_server_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/readyz"
    assert not demo.answers(url)  # nothing listens yet
    said = demo.Announcement(url, ("Ferrule is running",), timeout_s=15)
    stops_later = [sys.executable, "-c", "import time; time.sleep(3)"]
    code = demo.supervise(
        [demo.Child("serve", _server(port, 0.5)), demo.Child("sim", stops_later)],
        env=dict(os.environ),
        poll_s=0.1,
        announcement=said,
    )
    assert code == 1  # the sleeping child ended: the demo stops
    out = capsys.readouterr()
    assert out.out.splitlines() == ["Ferrule is running"]
    assert out.err.splitlines() == ["ferrule sim exited with 0; stopping everything"]
    assert said.done


def test_a_server_that_never_answers_is_reported_after_the_bounded_wait(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{_free_port()}/readyz"
    said = demo.Announcement(url, ("never printed",), timeout_s=0.2)
    began = time.monotonic()
    while not said.done and time.monotonic() - began < 10:
        said.poll()
        time.sleep(0.05)
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines() == [
        f"the web server did not answer {url} within 0.2 s; see the messages above (is the port "
        "taken? try ferrule demo --port 8001)"
    ]


def test_the_demo_offers_a_waiting_unit_and_a_received_lot(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    try:
        tryout = demo.prepare(db, demo.PLANT)
        assert demo.prepare(db, demo.PLANT) == tryout  # a second start offers the same
        orders = Ferrule(db, StaticTagSource()).work_orders()
    finally:
        db.dispose()
    (urgent,) = [o for o in orders if o.erp_reference == "SO-1001"]
    assert tryout.unit == urgent.items[0]  # waiting at cut
    assert (tryout.part, tryout.lot) == ("WIRE-18-RD", "W-001")
    lines = demo.welcome(8123, tryout)
    assert lines[:3] == (
        "\nFerrule is running at http://127.0.0.1:8123/  (Ctrl-C stops everything)",
        "another port: ferrule demo --port 8001 (the simulated devices' ports are in the plant's "
        "site.yaml)",
        "demo logins (password 'ferrule-demo'):",
    )
    assert lines[-3:] == (
        f"try: sign in as anna and pick unit {tryout.unit} from the cutting queue, or scan it at "
        "http://127.0.0.1:8123/station/",
        "     lot W-001 of WIRE-18-RD: http://127.0.0.1:8123/materials/lots/WIRE-18-RD/W-001",
        "     the press's event rule: type 'pin press1.pressure 190' and Enter here; 10 s later "
        "the press is held (http://127.0.0.1:8123/equipment/); 'unpin press1.pressure' lets it "
        "move again",
    )


def test_lines_typed_at_the_demo_go_to_the_simulator() -> None:
    typed = io.StringIO("pin press1.pressure 190\nunpin press1.pressure\n")
    sim = io.BytesIO()
    demo.forward_commands(typed, lambda: sim)
    assert sim.getvalue() == b"pin press1.pressure 190\nunpin press1.pressure\n"
    demo.forward_commands(io.StringIO("fault press1\n"), lambda: None)  # no simulator: dropped
