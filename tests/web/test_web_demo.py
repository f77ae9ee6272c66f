"""``ferrule demo`` watches its children: the adapter process is restarted when it dies (a few
times), any other child's death stops everything with a non-zero exit, said plainly."""

from __future__ import annotations

import sys
import time

import pytest

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
