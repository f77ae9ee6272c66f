"""``ferrule check`` and ``ferrule schema`` through the real command group."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from web.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_valid_plant_exits_0_with_a_summary(plant_dir: Callable[..., Path]) -> None:
    folder = plant_dir()
    code, output = run("check", str(folder))
    assert code == 0
    assert output == (
        f"{folder}: ok, site demo: 2 devices, 3 tags, 1 equipment, 1 routing, 2 operations\n"
    )


def test_warnings_are_printed_and_still_exit_0(
    plant_dir: Callable[..., Path], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    folder = plant_dir(
        edit("routings/widget.yaml", "{rework: assemble, max: 2}", "{rework: assemble}")
    )
    code, output = run("check", str(folder))
    assert code == 0
    assert output.endswith("2 operations; 1 warning\n")
    assert (
        f"{folder}/routings/widget.yaml:28:27: warning: rework to 'assemble' has no max" in output
    )


def test_errors_exit_1_and_all_are_reported_at_once(
    plant_dir: Callable[..., Path], base_files: dict[str, str]
) -> None:
    folder = plant_dir(
        {
            "site.yaml": base_files["site.yaml"].replace("port: 5020", "port: fast"),
            "routings/widget.yaml": base_files["routings/widget.yaml"]
            .replace("work_center: bench", "work_center: bnch")
            .replace("press.pressure between", "press.presure between"),
        }
    )
    code, output = run("check", str(folder))
    assert code == 1
    assert output == (
        f"{folder}/routings/widget.yaml:5:18: error: unknown work center 'bnch'; "
        "did you mean 'bench'?\n"
        "        work_center: bnch\n"
        "                     ^^^^\n"
        f"{folder}/routings/widget.yaml:10:18: error: unknown tag 'press.presure'; "
        "did you mean 'press.pressure'?\n"
        "          - require: press.presure between 2 bar and 8 bar\n"
        "                     ^^^^^^^^^^^^^\n"
        f"{folder}/site.yaml:16:37: error: 'port' must be a whole number, found 'fast'\n"
        "        modbus: {host: 127.0.0.1, port: fast}\n"
        "                                        ^^^^\n"
        f"{folder}: 3 errors, 0 warnings\n"
    )


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    code, output = run("check", str(tmp_path / "nowhere"))
    assert code == 2
    assert f"Directory '{tmp_path / 'nowhere'}' does not exist." in output


def test_json_format_lists_diagnostics_and_summary(
    plant_dir: Callable[..., Path], edit: Callable[[str, str, str], dict[str, str]]
) -> None:
    folder = plant_dir(edit("site.yaml", "port: 5020", "port: fast"))
    code, output = run("check", "--format", "json", str(folder))
    assert code == 1
    assert json.loads(output) == {
        "plant": str(folder),
        "ok": False,
        "errors": 1,
        "warnings": 0,
        "diagnostics": [
            {
                "severity": "error",
                "path": f"{folder}/site.yaml",
                "line": 16,
                "col": 37,
                "end_line": 16,
                "end_col": 41,
                "message": "'port' must be a whole number, found 'fast'",
                "hint": None,
            }
        ],
        "notes": [],
        "summary": None,
    }


def test_json_format_of_a_valid_plant(plant_dir: Callable[..., Path]) -> None:
    code, output = run("check", "--format", "json", str(plant_dir()))
    document = json.loads(output)
    assert code == 0
    assert document["ok"] is True
    summary = document["summary"]
    assert {k: v for k, v in summary.items() if k != "content_hash"} == {
        "site": "demo",
        "devices": 2,
        "tags": 3,
        "equipment": 1,
        "routings": 1,
        "operations": 2,
    }
    assert len(summary["content_hash"]) == 64


def test_schema_prints_json_schema_documents() -> None:
    code, output = run("schema")
    assert code == 0
    plant = json.loads(output)
    assert plant["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert plant["title"] == "Ferrule plant file"
    code, output = run("schema", "routing")
    assert code == 0
    assert json.loads(output)["required"] == ["routing", "product", "operations"]
    code, output = run("schema", "bogus")
    assert code == 2
