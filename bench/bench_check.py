"""How fast ``ferrule check`` loads and checks a large plant.

Generates a plant of 200 routings x 20 operations (each with interlocks, data fields and gates)
in a temporary folder, loads and checks it three times, and reports the best run as operations
checked per second of CPU time (the machine's cores are shared, so wall time is printed but not
used). Last line: ``dsl_check_ops_per_s: <number>`` (target >= 2,000).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import dsl

ROUTINGS = 200
OPERATIONS = 20
REPEATS = 3

SITE = """\
site: bench
timezone: Europe/Berlin
work_centers:
  line: {description: The line}
roles:
  quality: {description: Quality}
qualifications:
  assembly: {description: Assembly, valid_for: 365 d}
devices:
  press:
    opcua: {endpoint: "opc.tcp://127.0.0.1:4840"}
    tags:
      pressure: {node: "ns=2;s=P", unit: bar}
      fault: {node: "ns=2;s=F", type: bool}
  scale:
    modbus: {host: 127.0.0.1, port: 5020}
    tags:
      weight: {holding: 0, type: float32, unit: kg}
equipment:
  press-1:
    device: press
    calibration_due: 2030-01-31
    states:
      - down: press.fault
      - running: press.pressure > 1 bar
parts:
  BOLT: {unit: pcs}
"""


def operation(index: int) -> str:
    earlier = f"op{index - 1}.length > 0 mm and " if index else ""
    return f"""\
  - id: op{index}
    work_center: line
    equipment: press-1
    qualification: assembly
    interlocks:
      - require: press.pressure between 2 bar and 8 bar and not press.fault
        because: Press not ready
      - require: {earlier}scale.weight < 20 kg
    consume:
      - {{part: BOLT, qty: 1}}
    collect:
      length: {{type: number, unit: mm, required: true, min: 490 mm, max: 510 mm}}
      visual: {{type: choice, choices: [ok, burr]}}
    gates:
      - check: length between 495 mm and 505 mm and visual == "ok"
        on_fail: hold
      - check: abs(length - 500 mm) < 4 mm
        sample: {{every: 10}}
        on_fail: {{rework: op{index}, max: 2}}
"""


def generate(folder: Path) -> None:
    products = ["products:"]
    for r in range(ROUTINGS):
        products.append(
            f"  P{r}:\n    tracking: serial\n    number_pattern: 'P{r}-{{seq:6}}'\n"
            f"    routing: r{r}\n    bom:\n      - {{part: BOLT, qty: {OPERATIONS}}}"
        )
        body = "".join(operation(i) for i in range(OPERATIONS))
        (folder / "routings").mkdir(exist_ok=True)
        (folder / "routings" / f"r{r}.yaml").write_text(
            f"routing: r{r}\nproduct: P{r}\noperations:\n{body}", encoding="utf-8"
        )
    (folder / "site.yaml").write_text(SITE + "\n".join(products) + "\n", encoding="utf-8")


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "bench"
        folder.mkdir()
        generate(folder)
        lines = sum(p.read_text().count("\n") for p in folder.rglob("*.yaml"))
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(REPEATS):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            result = dsl.load(folder)
            wall.append(time.perf_counter() - start_wall)
            cpu.append(time.process_time() - start_cpu)
            if result.plant is None:
                raise SystemExit(result.render())
    operations = ROUTINGS * OPERATIONS
    best = min(cpu)
    print(f"plant: {ROUTINGS} routings x {OPERATIONS} operations, {lines:,} YAML lines")
    print("wall time per run (s): " + ", ".join(f"{t:.3f}" for t in wall))
    print("CPU time per run (s): " + ", ".join(f"{t:.3f}" for t in cpu))
    print(f"best CPU time: {best:.3f} s, {lines / best:,.0f} YAML lines/s")
    print(f"dsl_check_ops_per_s: {operations / best:.0f}")


if __name__ == "__main__":
    main()
