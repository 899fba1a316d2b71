"""Benchmark: `AsyncAzureBackend` through `AsyncStore` vs the raw ``azure.storage.blob.aio`` client, on Azurite.

Starts its own Azurite (``testing/servers/azure.py``), uploads ``--files`` blobs of
``--size`` bytes, then in one event loop alternates rounds of the same work:

* raw: ``BlobClient.download_blob()`` + ``readall()`` per blob, ``--inflight`` at once
  (an ``asyncio.Semaphore``), on one ``BlobServiceClient`` with the SDK's defaults;
* store: ``AsyncStore(AsyncAzureBackend(...)).read_bytes(path)``, same width.

Both share the process, the loop and the server; rounds alternate (raw, store, raw, …) so load
drift hits both (who goes first alternates too). It prints each side's median throughput
(reads/s) and the ratio store/raw (target >= 0.95), the client CPU time per read (this
process only, so much less sensitive to a loaded machine than wall-clock throughput), and the
event-loop stalls seen during each side's rounds (a 1 ms ticker task measures how late it
wakes: the longest and the 99th percentile), plus the machine's load average. On a loaded
machine the longest stall mostly measures the OS descheduling the process, on both sides.

Usage: ``uv run --all-packages python benchmarks/bench_azure_aio.py [--files 1000] [--size 16384]
[--inflight 64] [--rounds 8]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from azure.storage.blob.aio import BlobServiceClient  # noqa: E402

from remote_store.aio import AsyncAzureBackend, AsyncStore  # noqa: E402
from testing.servers.azure import AzuriteServer, azurite_server  # noqa: E402

CONTAINER = "bench-aio"


class StallMeter:
    """Measures event-loop blocking: a task sleeping ``tick`` seconds records how late it wakes."""

    def __init__(self, tick: float = 0.001) -> None:
        self._tick = tick
        self.worst = 0.0
        self.lateness: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self._tick)
            late = loop.time() - start - self._tick
            self.lateness.append(late)
            self.worst = max(self.worst, late)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def fan_out(names: list[str], width: int, read: Callable[[str], Awaitable[bytes]], size: int) -> float:
    """Read every name with ``width`` reads in flight; return the elapsed seconds."""
    gate = asyncio.Semaphore(width)

    async def one(name: str) -> None:
        async with gate:
            data = await read(name)
        if len(data) != size:
            raise AssertionError(f"{name}: {len(data)} bytes, expected {size}")

    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in names))
    return time.perf_counter() - start


async def prepare(server: AzuriteServer, names: list[str], size: int) -> None:
    service = BlobServiceClient.from_connection_string(server.connection_string)
    async with service:
        cc = service.get_container_client(CONTAINER)
        await cc.create_container()
        payload = os.urandom(size)
        gate = asyncio.Semaphore(32)

        async def put(name: str) -> None:
            async with gate:
                await cc.upload_blob(name, payload, overwrite=True)

        await asyncio.gather(*(put(n) for n in names))


async def bench(server: AzuriteServer, args: argparse.Namespace) -> None:
    names = [f"r/{i:05d}.bin" for i in range(args.files)]
    await prepare(server, names, args.size)

    service = BlobServiceClient.from_connection_string(server.connection_string)
    cc = service.get_container_client(CONTAINER)

    async def raw_read(name: str) -> bytes:
        downloader = await cc.get_blob_client(name).download_blob()
        data: bytes = await downloader.readall()
        return data

    store = AsyncStore(AsyncAzureBackend(CONTAINER, connection_string=server.connection_string))

    sides: dict[str, Callable[[str], Awaitable[bytes]]] = {"raw": raw_read, "store": store.read_bytes}
    rates: dict[str, list[float]] = {k: [] for k in sides}
    cpu: dict[str, list[float]] = {k: [] for k in sides}
    stalls: dict[str, float] = dict.fromkeys(sides, 0.0)
    late: dict[str, list[float]] = {k: [] for k in sides}
    for read in sides.values():  # warm-up: connections, client set-up, code paths
        await fan_out(names[: args.inflight * 2], args.inflight, read, args.size)
    order = list(sides)
    for _ in range(args.rounds):
        for side in order:
            cpu0 = time.process_time()
            with StallMeter() as meter:
                elapsed = await fan_out(names, args.inflight, sides[side], args.size)
            cpu[side].append((time.process_time() - cpu0) / len(names))
            rates[side].append(len(names) / elapsed)
            stalls[side] = max(stalls[side], meter.worst)
            late[side].extend(meter.lateness)
        order.reverse()  # alternate who goes first
    await store.aclose()
    await service.close()

    raw, ours = statistics.median(rates["raw"]), statistics.median(rates["store"])
    load = os.getloadavg()
    print(
        f"{args.files} concurrent reads of {args.size} B, {args.inflight} in flight, {args.rounds} rounds each "
        f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores)"
    )
    print(f"  raw azure.storage.blob.aio : {raw:8.1f} reads/s  (rounds: {', '.join(f'{r:.0f}' for r in rates['raw'])})")
    print(
        f"  AsyncStore(AsyncAzureBackend): {ours:8.1f} reads/s  (rounds: {', '.join(f'{r:.0f}' for r in rates['store'])})"
    )
    paired = statistics.median(s / r for s, r in zip(rates["store"], rates["raw"]))
    print(
        f"  throughput ratio store/raw : {ours / raw:.3f} of medians, {paired:.3f} median of paired rounds (target >= 0.95)"
    )
    raw_cpu, our_cpu = statistics.median(cpu["raw"]), statistics.median(cpu["store"])
    print(
        f"  client CPU per read        : raw {raw_cpu * 1e6:.0f} us, store {our_cpu * 1e6:.0f} us "
        f"(ratio {our_cpu / raw_cpu:.3f}; this process only, robust to machine load)"
    )

    def p99(values: list[float]) -> float:
        return sorted(values)[int(len(values) * 0.99)] if values else 0.0

    print(
        f"  event-loop stall, longest  : raw {stalls['raw'] * 1000:.1f} ms, store {stalls['store'] * 1000:.1f} ms; "
        f"p99 of 1 ms ticks: raw {p99(late['raw']) * 1000:.1f} ms, store {p99(late['store']) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--size", type=int, default=16 * 1024)
    parser.add_argument("--inflight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with azurite_server() as server:
        asyncio.run(bench(server, args))


if __name__ == "__main__":
    main()
