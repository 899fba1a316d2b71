"""Benchmark: ``type = "s3-pyarrow"`` (S3PyArrowBackend) vs PyArrow's S3FileSystem alone, on moto.

Starts its own moto S3 server, uploads one ``--mib`` MiB object (default 256) and then, in
``--rounds`` rounds with alternating order so machine noise hits both sides alike, downloads it:

* **pyarrow**: ``S3FileSystem.open_input_stream(path)`` read to the end in 8 MiB chunks;
* **store**: ``Store(S3PyArrowBackend(...)).read(path)`` read to the end in 8 MiB chunks
  (one streaming GET through the same PyArrow filesystem).

Prints the MiB/s of each (best and median of the rounds) and the throughput ratio store/pyarrow
(target >= 0.95), and the same per second of this process's CPU time (``time.process_time``:
what the client itself spends on copies and Python layers; it barely depends on the machine
load, which the wall-clock ratio does). Before timing, each side reads the object once through
a counting HTTP proxy (``testing.faults.FaultProxy``) and its HEAD/GET requests are printed.
The bytes read are checked against the object's size on both sides. moto serves every request
from one Python process, so the numbers compare clients against the same server, not S3
itself; the machine load is printed too.

Usage: ``uv run --all-packages python benchmarks/bench_s3_pyarrow.py [--mib 256] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pyarrow.fs as pafs  # noqa: E402

from remote_store import Store  # noqa: E402
from remote_store.backends import S3PyArrowBackend  # noqa: E402
from testing.faults import FaultProxy  # noqa: E402
from testing.servers.s3 import MotoS3Server, moto_s3_server  # noqa: E402

MiB = 1024 * 1024
CHUNK = 8 * MiB


def drain(stream: IO[bytes] | Any) -> int:
    """Read ``stream`` to the end in `CHUNK` pieces; return the byte count."""
    total = 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
    return total


def timed(fn: Callable[[], int], size: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) ``fn`` takes; it must return ``size`` bytes read."""
    start, cpu = time.perf_counter(), time.process_time()
    got = fn()
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    if got != size:
        raise SystemExit(f"read {got} bytes, expected {size}")
    return elapsed, used


def arrow_fs(server: MotoS3Server, endpoint: str) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        access_key=server.access_key_id,
        secret_key=server.secret_access_key,
        region=server.region,
        endpoint_override=endpoint.split("://", 1)[1],
        scheme="http",
    )


def store_at(server: MotoS3Server, bucket: str, endpoint: str) -> Store:
    return Store(
        S3PyArrowBackend(
            bucket=bucket,
            endpoint_url=endpoint,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
        )
    )


def requests_of(proxy: FaultProxy, fn: Callable[[], int]) -> str:
    """``"1 HEAD + 32 GET"``: the requests one call of ``fn`` sent through ``proxy``."""
    proxy.requests.clear()
    fn()
    counts = collections.Counter(method for method, _ in proxy.requests)
    proxy.requests.clear()
    return " + ".join(f"{n} {m}" for m, n in sorted(counts.items(), reverse=True)) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="object size in MiB (default 256)")
    parser.add_argument("--rounds", type=int, default=5, help="download rounds per side (default 5)")
    args = parser.parse_args()
    size = args.mib * MiB
    with moto_s3_server() as server:
        bucket = server.create_bucket()
        fs = arrow_fs(server, server.endpoint_url)
        store = store_at(server, bucket, server.endpoint_url)
        block = os.urandom(MiB)
        with fs.open_output_stream(f"{bucket}/big.bin") as out:
            for _ in range(args.mib):
                out.write(block)

        def raw() -> int:
            with fs.open_input_stream(f"{bucket}/big.bin") as stream:
                return drain(stream)

        def ours() -> int:
            with store.read("big.bin") as stream:
                return drain(stream)

        proxy = FaultProxy(int(server.endpoint_url.rsplit(":", 1)[1]))
        fs_c, store_c = arrow_fs(server, proxy.url), store_at(server, bucket, proxy.url)

        def raw_counted() -> int:
            with fs_c.open_input_stream(f"{bucket}/big.bin") as stream:
                return drain(stream)

        def ours_counted() -> int:
            with store_c.read("big.bin") as stream:
                return drain(stream)

        counts = {"pyarrow": requests_of(proxy, raw_counted), "store": requests_of(proxy, ours_counted)}
        store_c.close()
        proxy.close()

        wall: dict[str, list[float]] = {"pyarrow": [], "store": []}
        cpu: dict[str, list[float]] = {"pyarrow": [], "store": []}
        sides = [("pyarrow", raw), ("store", ours)]
        timed(raw, size)  # warm both connections up
        timed(ours, size)
        for i in range(args.rounds):
            for name, fn in sides if i % 2 == 0 else sides[::-1]:
                w, c = timed(fn, size)
                wall[name].append(w)
                cpu[name].append(c)
        load = os.getloadavg()
        store.close()
    print(f"s3-pyarrow download of {args.mib} MiB on moto, {args.rounds} rounds, load {load[0]:.1f} / {load[1]:.1f}")
    for name in wall:
        print(
            f"  {name:8s} best {args.mib / min(wall[name]):8.1f} MiB/s   median {args.mib / statistics.median(wall[name]):8.1f}"
            f" MiB/s   CPU: median {args.mib / statistics.median(cpu[name]):8.1f} MiB per CPU-s   requests: {counts[name]}"
        )
    for label, t in (("throughput", wall), ("per CPU-second", cpu)):
        best = min(t["pyarrow"]) / min(t["store"])
        median = statistics.median(t["pyarrow"]) / statistics.median(t["store"])
        print(f"  {label} store/pyarrow: best {best:.3f}x, median {median:.3f}x (target >= 0.95x)")


if __name__ == "__main__":
    main()
