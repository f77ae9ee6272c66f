"""How fast the ``ferrule`` command starts: ``ferrule --help`` and ``ferrule check`` of the
acme-harness plant, each run as its own process through the installed entry point, against a
floor measured in the same run (``python -c pass``: the interpreter's own start-up). The three
take turns, so that all see the same machine load; bounded in count and time.
Last line: ``cli_help_ms: <p50 of ferrule --help in milliseconds>``; exits 1 above 300 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FERRULE = Path(sys.executable).parent / "ferrule"
PLANT = REPO / "plants" / "acme-harness"
RUNS = 15
TIMEOUT_S = 30.0
HELP_LIMIT_MS = 300.0

COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "ferrule --help": [str(FERRULE), "--help"],
    "ferrule check plants/acme-harness": [str(FERRULE), "check", str(PLANT)],
}


def run_ms(argv: list[str]) -> float:
    """Wall time of one run of ``argv`` in milliseconds; exits if it fails or hangs."""
    start = time.perf_counter()
    try:
        subprocess.run(argv, capture_output=True, check=True, timeout=TIMEOUT_S, cwd=REPO)
    except subprocess.CalledProcessError as failed:
        raise SystemExit(f"{' '.join(argv)} failed:\n{failed.stderr.decode()}") from failed
    except subprocess.TimeoutExpired as hung:
        raise SystemExit(f"{' '.join(argv)} did not finish within {TIMEOUT_S:.0f} s") from hung
    return (time.perf_counter() - start) * 1000


def main() -> None:
    if not FERRULE.exists():
        raise SystemExit(f"{FERRULE} is missing; install Ferrule into this environment first")
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(RUNS):
        for label, argv in COMMANDS.items():
            times[label].append(run_ms(argv))
    medians = {label: statistics.median(runs) for label, runs in times.items()}
    floor = medians["python -c pass (floor)"]
    print(f"{RUNS} runs each, taking turns; wall time per process")
    for label, runs in times.items():
        print(
            f"{label}: p50 {medians[label]:.0f} ms (min {min(runs):.0f}, max {max(runs):.0f}), "
            f"{medians[label] - floor:+.0f} ms over the floor"
        )
    help_ms = medians["ferrule --help"]
    print(f"cli_help_ms: {help_ms:.0f}")
    if help_ms > HELP_LIMIT_MS:
        raise SystemExit(f"ferrule --help takes {help_ms:.0f} ms, over {HELP_LIMIT_MS:.0f} ms")


if __name__ == "__main__":
    main()
