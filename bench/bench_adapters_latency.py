"""Latency from a value change on a device to its visibility in another process (a web worker).

A simulated OPC UA device (its own process) changes 50 values every 73 ms (not a multiple of the
publishing interval, so changes land at every phase of it), stamping each with its source time.
The adapter runtime subscribes with a 100 ms publishing interval. A separate reader process polls
the shared cache every millisecond and records, for every new value it sees, how long ago the
device made it. Same host, same clock.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import time
from multiprocessing.connection import Connection
from pathlib import Path

from adapters_common import (
    RuntimeInBackground,
    opcua_device,
    plant_of,
    start_simulator,
    stop_simulator,
)

from adapters.cache import Quality, TagCache

TAGS = 50
PUBLISHING_MS = 100
MEASURE_S = 8.0
DEVICE_TICK_S = 0.073


def watch(path: str, keys: list[str], seconds: float, results: Connection) -> None:
    """Poll the cache like a worker would; send back change-to-visibility delays in ms."""
    cache = TagCache.open(Path(path))
    last = {key: 0.0 for key in keys}
    delays: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now = time.time()
        for key, found in cache.read_many(keys, now).items():
            if found.quality is Quality.GOOD and found.source_time != last[key]:
                if last[key]:
                    delays.append((now - found.source_time) * 1000)
                last[key] = found.source_time
        time.sleep(0.001)
    results.send(delays)


async def main() -> None:
    device = opcua_device("ua", TAGS, PUBLISHING_MS)
    simulator = start_simulator([device], DEVICE_TICK_S)
    runtime = RuntimeInBackground(plant_of([device]))
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    try:
        runtime.start()
        await asyncio.sleep(2.0)
        keys = [tag.key for tag in device.tags.values()]
        reader = context.Process(
            target=watch, args=(str(runtime.cache_path), keys, MEASURE_S, sender)
        )
        reader.start()
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, receiver.poll, MEASURE_S + 30)
        delays: list[float] = receiver.recv() if ready else []
        reader.join(10)
    finally:
        await runtime.stop()
        stop_simulator(simulator)
    if len(delays) < 100:
        raise SystemExit(f"only {len(delays)} changes seen; the runtime is not delivering")
    cuts = statistics.quantiles(delays, n=100)
    print(f"{len(delays)} changes of {TAGS} tags seen in {MEASURE_S:.0f} s")
    print(f"publishing interval {PUBLISHING_MS} ms")
    print(f"change to worker p50: {cuts[49]:.0f} ms, p90: {cuts[89]:.0f} ms")
    print(f"max: {max(delays):.0f} ms")
    print(f"p99 / publishing interval: {cuts[98] / PUBLISHING_MS:.2f}")
    print(f"adapter_change_to_worker_p99_ms: {cuts[98]:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
