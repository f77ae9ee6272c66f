"""``ferrule test``: the acme-harness config tests pass, and a wrong expectation is reported
compiler-style at the expectation that did not hold."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.cli.configtest import test_command as ferrule_test
from engine.configtest.runner import run

ACME = Path(__file__).resolve().parents[2] / "plants" / "acme-harness"


def test_acme_config_tests_pass() -> None:
    report = run(ACME)
    assert report.ok, report.render()
    assert len(report.results) >= 5
    assert report.render().endswith(
        f"acme-harness: {len(report.results)} cases, {len(report.results)} passed, 0 failed"
    )


def test_a_failing_expectation_points_at_its_line(tmp_path: Path) -> None:
    plant = tmp_path / "acme-harness"
    shutil.copytree(ACME, plant, ignore=shutil.ignore_patterns("tests"))
    (plant / "tests").mkdir()
    (plant / "tests" / "wrong.yaml").write_text(
        "defaults:\n"
        "  today: 2026-11-03\n"
        "  operator: {roles: [operator], qualifications: [cutting]}\n"
        "  lots: [{part: WIRE-18-RD, lot: W-1, qty: 10 m}]\n"
        "cases:\n"
        "  - name: cut goes to crimp\n"
        "    steps:\n"
        "      - start: cut\n"
        "      - complete: cut\n"
        "        data: {length: 503 mm, strip_length: 7 mm}\n"
        "        consume: {WIRE-18-RD: W-1}\n"
        "        expect: {next: crimp}\n"
        "  - name: a typo in a step\n"
        "    steps:\n"
        "      - strat: cut\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(ferrule_test, [str(plant)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{plant}/tests/wrong.yaml:15:9: error: unknown key 'strat' in a step",
        "          - strat: cut",
        "            ^^^^^",
        "  hint: did you mean 'start'?",
        f"{plant}/tests/wrong.yaml:12:17: error: case 'cut goes to crimp', step 2 (complete cut): "
        "expected next 'crimp', got held (Cut length outside 500 ± 0.5 mm)",
        "            expect: {next: crimp}",
        "                    ^^^^^^^^^^^^^",
        "acme-harness: 1 case, 0 passed, 1 failed, 1 file error(s)",
    ]
