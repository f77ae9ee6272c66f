"""Sustained tag updates per second from simulated devices through the adapter runtime into the
shared cache, with the adapter process's CPU share.

The target plant is 500 tags at 10 Hz (5,000 updates/s); to show the headroom the benchmark runs
twice that: 1,000 tags (500 on an OPC UA server, 500 on a Modbus server, each simulated device in
its own process as real devices are separate machines), subscribed or polled
every 100 ms. The simulator changes every value 20 times a second, so each 100 ms sample brings a
new value whatever the phase between device and poll (sampling, not the device, sets the rate).
Counted: new values written to the cache during a measured window after warm-up.
"""

from __future__ import annotations

import asyncio
import time

from adapters_common import (
    RuntimeInBackground,
    cpu_seconds,
    modbus_device,
    opcua_device,
    plant_of,
    start_simulator,
    stop_simulator,
)

TAGS_PER_DEVICE = 500
RATE_HZ = 10
SIM_HZ = 20
WARM_UP_S = 3.0
MEASURE_S = 6.0


async def main() -> None:
    devices = [
        opcua_device("ua", TAGS_PER_DEVICE, 1000 // RATE_HZ),
        modbus_device("mb", TAGS_PER_DEVICE, 1000 // RATE_HZ),
    ]
    simulators = [start_simulator([device], 1 / SIM_HZ) for device in devices]
    runtime = RuntimeInBackground(plant_of(devices))
    try:
        runtime.start()
        await asyncio.sleep(WARM_UP_S)
        writer = runtime.runtime.writer
        updates, cpu = writer.updates, cpu_seconds()
        sim_cpu = [cpu_seconds(s.pid) for s in simulators]
        started = time.monotonic()
        await asyncio.sleep(MEASURE_S)
        elapsed = time.monotonic() - started
        rate = (writer.updates - updates) / elapsed
        share = (cpu_seconds() - cpu) / elapsed
        sim_share = [
            (cpu_seconds(s.pid) - c) / elapsed for s, c in zip(simulators, sim_cpu, strict=True)
        ]
    finally:
        await runtime.stop()
        for simulator in simulators:
            stop_simulator(simulator)
    offered = 2 * TAGS_PER_DEVICE * RATE_HZ
    print(f"tags: {2 * TAGS_PER_DEVICE} sampled at {RATE_HZ} Hz (at most {offered} updates/s)")
    print(f"measured over {elapsed:.1f} s after {WARM_UP_S:.0f} s warm-up")
    print(f"adapter process CPU: {share * 100:.0f}% of one core")
    shares = ", ".join(f"{d.name} {x * 100:.0f}%" for d, x in zip(devices, sim_share, strict=True))
    print(f"simulated device processes CPU: {shares} of one core")
    print(f"delivered/offered: {rate / offered:.2f}")
    print(f"adapter_tag_updates_per_s: {rate:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
