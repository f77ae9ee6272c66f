"""Sustained tag updates per second from simulated devices through the adapter runtime into the
shared cache, with the adapter process's CPU share.

The target plant is 500 tags at 10 Hz (5,000 changes/s); to show the headroom the benchmark offers
twice that: 1,000 tags (500 on one OPC UA server, 500 on one Modbus server) whose values all change
10 times a second, subscribed/polled at 100 ms. Counted: new values written to the cache during a
measured window after warm-up.
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
WARM_UP_S = 3.0
MEASURE_S = 6.0


async def main() -> None:
    devices = [
        opcua_device("ua", TAGS_PER_DEVICE, 1000 // RATE_HZ),
        modbus_device("mb", TAGS_PER_DEVICE, 1000 // RATE_HZ),
    ]
    simulator = start_simulator(devices, 1 / RATE_HZ)
    runtime = RuntimeInBackground(plant_of(devices))
    try:
        runtime.start()
        await asyncio.sleep(WARM_UP_S)
        writer = runtime.runtime.writer
        updates, cpu, sim_cpu = writer.updates, cpu_seconds(), cpu_seconds(simulator.pid)
        started = time.monotonic()
        await asyncio.sleep(MEASURE_S)
        elapsed = time.monotonic() - started
        rate = (writer.updates - updates) / elapsed
        share = (cpu_seconds() - cpu) / elapsed
        sim_share = (cpu_seconds(simulator.pid) - sim_cpu) / elapsed
    finally:
        await runtime.stop()
        stop_simulator(simulator)
    offered = 2 * TAGS_PER_DEVICE * RATE_HZ
    print(f"tags: {2 * TAGS_PER_DEVICE} at {RATE_HZ} Hz (offered {offered} changes/s)")
    print(f"measured over {elapsed:.1f} s after {WARM_UP_S:.0f} s warm-up")
    print(f"adapter process CPU: {share * 100:.0f}% of one core")
    print(f"simulator process CPU: {sim_share * 100:.0f}% of one core")
    print(f"delivered/offered: {rate / offered:.2f}")
    print(f"adapter_tag_updates_per_s: {rate:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
