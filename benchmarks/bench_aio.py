"""The async API against raw boto3 on one moto S3 server: throughput ratio and event-loop stall.

Run::

    uv run --all-packages python benchmarks/bench_aio.py [--reads 1000] [--width 64] [--rounds 3]

Starts its own moto S3 server (``testing.servers.s3.moto_s3_server``), stores ``--keys``
objects of 16 KiB, then in each round (alternating order):

- **raw**: a ``ThreadPoolExecutor`` of ``--width`` threads calling boto3 ``get_object`` and
  reading the body, ``--reads`` times in total;
- **sync** (reference): the sync ``Store`` on S3Backend in the same thread pool, which
  separates the backend's own cost from the adapter's;
- **aio**: ``AsyncStore(SyncBackendAdapter(S3Backend(...), max_workers=width))`` with
  ``--reads`` ``read_bytes`` coroutines gathered, at most ``--width`` in flight (a semaphore),
  while a ticker coroutine sleeps 1 ms in a loop and records how late it wakes up: the
  longest lateness is the longest event-loop stall.

Prints reads/s of each (median of the rounds), the ratio aio/raw (target >= 0.9) and the
longest and 99th-percentile loop stall in ms. Both clients use a connection pool of
``--width``. moto serves every request from one Python process, so these numbers compare
clients against the same server, not S3 itself; the machine load is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remote_store import Store  # noqa: E402
from remote_store.aio import AsyncStore, SyncBackendAdapter  # noqa: E402
from remote_store_s3 import S3Backend  # noqa: E402
from testing.servers.s3 import MotoS3Server, moto_s3_server  # noqa: E402

SIZE = 16 * 1024


def _client(server: MotoS3Server, width: int) -> Any:
    """A raw boto3 client with a connection pool of ``width`` (what the baseline is allowed)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(max_pool_connections=width),
    )


def run_raw(server: MotoS3Server, bucket: str, keys: list[str], reads: int, width: int) -> float:
    """Seconds for ``reads`` raw boto3 get_object calls on a ``width``-thread pool."""
    client = _client(server, width)
    client.head_bucket(Bucket=bucket)  # warm the client

    def get(i: int) -> int:
        body = client.get_object(Bucket=bucket, Key=keys[i % len(keys)])["Body"]
        return len(body.read())

    with ThreadPoolExecutor(width) as pool:
        start = time.perf_counter()
        total = sum(pool.map(get, range(reads)))
        elapsed = time.perf_counter() - start
    assert total == reads * SIZE, total
    return elapsed


def run_sync_store(server: MotoS3Server, bucket: str, keys: list[str], reads: int, width: int) -> float:
    """Seconds for ``reads`` sync ``Store.read_bytes`` calls on a ``width``-thread pool (reference row)."""
    store = Store(S3Backend(**server.backend_options(bucket, max_pool_connections=width)))
    store.exists(keys[0])
    with ThreadPoolExecutor(width) as pool:
        start = time.perf_counter()
        total = sum(pool.map(lambda i: len(store.read_bytes(keys[i % len(keys)])), range(reads)))
        elapsed = time.perf_counter() - start
    store.close()
    assert total == reads * SIZE
    return elapsed


async def _ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.001)
        lateness.append(loop.time() - before - 0.001)


async def _run_aio(store: AsyncStore, keys: list[str], reads: int, width: int) -> tuple[float, list[float]]:
    await store.exists(keys[0])  # warm the client and the pool
    gate = asyncio.Semaphore(width)

    async def get(i: int) -> int:
        async with gate:
            return len(await store.read_bytes(keys[i % len(keys)]))

    stop = asyncio.Event()
    lateness: list[float] = []
    ticker = asyncio.create_task(_ticker(stop, lateness))
    start = time.perf_counter()
    sizes = await asyncio.gather(*(get(i) for i in range(reads)))
    elapsed = time.perf_counter() - start
    stop.set()
    await ticker
    assert sum(sizes) == reads * SIZE
    return elapsed, lateness


def run_aio(server: MotoS3Server, bucket: str, keys: list[str], reads: int, width: int) -> tuple[float, list[float]]:
    """Seconds for ``reads`` AsyncStore reads, ``width`` in flight, and the ticker's lateness samples."""
    backend = S3Backend(**server.backend_options(bucket, max_pool_connections=width))

    async def main() -> tuple[float, list[float]]:
        store = AsyncStore(SyncBackendAdapter(backend, max_workers=width))
        try:
            return await _run_aio(store, keys, reads, width)
        finally:
            await store.aclose()

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with moto_s3_server() as server:
        bucket = server.create_bucket()
        client = server.client()
        keys = [f"bench/{i:05d}.bin" for i in range(args.keys)]
        payload = os.urandom(SIZE)
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=payload), keys))

        raw_times: list[float] = []
        sync_times: list[float] = []
        aio_times: list[float] = []
        stalls: list[float] = []
        for r in range(args.rounds):
            order = ("raw", "sync", "aio") if r % 2 == 0 else ("aio", "sync", "raw")
            for which in order:
                if which == "raw":
                    raw_times.append(run_raw(server, bucket, keys, args.reads, args.width))
                elif which == "sync":
                    sync_times.append(run_sync_store(server, bucket, keys, args.reads, args.width))
                else:
                    elapsed, lateness = run_aio(server, bucket, keys, args.reads, args.width)
                    aio_times.append(elapsed)
                    stalls.extend(lateness)

    raw_rate = args.reads / statistics.median(raw_times)
    aio_rate = args.reads / statistics.median(aio_times)
    sync_rate = args.reads / statistics.median(sync_times)
    stalls.sort()
    p99 = stalls[int(len(stalls) * 0.99)] if stalls else 0.0
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{args.reads} reads of {SIZE // 1024} KiB, {args.width} in flight, {args.rounds} rounds (median):")
    print(f"  raw boto3 thread pool : {raw_rate:8.1f} reads/s  (rounds: {', '.join(f'{t:.2f}s' for t in raw_times)})")
    print(f"  sync Store, same pool : {sync_rate:8.1f} reads/s  (reference: the backend without the adapter)")
    print(f"  AsyncStore + adapter  : {aio_rate:8.1f} reads/s  (rounds: {', '.join(f'{t:.2f}s' for t in aio_times)})")
    print(f"  ratio aio / raw       : {aio_rate / raw_rate:8.3f}  (target >= 0.9)")
    print(
        f"  event-loop stall      : max {stalls[-1] * 1000 if stalls else 0:.1f} ms, p99 {p99 * 1000:.1f} ms over {len(stalls)} ticks"
    )


if __name__ == "__main__":
    main()
