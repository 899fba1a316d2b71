"""Benchmark: ``type = "s3-pyarrow"`` (S3PyArrowBackend) vs PyArrow's S3FileSystem alone, on moto.

Starts its own moto S3 server, uploads one ``--mib`` MiB object (default 256) and then, in
``--rounds`` rounds with alternating order so machine noise hits both sides alike, downloads it:

* **pyarrow**: ``S3FileSystem.open_input_stream(path)`` read to the end in 8 MiB chunks;
* **store**: ``Store(S3PyArrowBackend(...)).read(path)`` read to the end in 8 MiB chunks
  (one streaming GET through the same PyArrow filesystem).

Prints the MiB/s of each (best and median of the rounds) and the throughput ratio store/pyarrow
(target >= 0.95). The bytes read are checked against the object's size on both sides. moto serves
every request from one Python process, so the numbers compare clients against the same server,
not S3 itself; the machine load is printed too.

Usage: ``uv run --all-packages python benchmarks/bench_s3_pyarrow.py [--mib 256] [--rounds 5]``
"""

from __future__ import annotations

import argparse
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
from testing.servers.s3 import moto_s3_server  # noqa: E402

MiB = 1024 * 1024
CHUNK = 8 * MiB


def drain(stream: IO[bytes] | Any) -> int:
    """Read ``stream`` to the end in `CHUNK` pieces; return the byte count."""
    total = 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
    return total


def timed(fn: Callable[[], int], size: int) -> float:
    """Seconds ``fn`` takes; it must return ``size`` bytes read."""
    start = time.perf_counter()
    got = fn()
    elapsed = time.perf_counter() - start
    if got != size:
        raise SystemExit(f"read {got} bytes, expected {size}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="object size in MiB (default 256)")
    parser.add_argument("--rounds", type=int, default=5, help="download rounds per side (default 5)")
    args = parser.parse_args()
    size = args.mib * MiB
    with moto_s3_server() as server:
        bucket = server.create_bucket()
        host = server.endpoint_url.split("://", 1)[1]
        fs = pafs.S3FileSystem(
            access_key=server.access_key_id,
            secret_key=server.secret_access_key,
            region=server.region,
            endpoint_override=host,
            scheme="http",
        )
        backend = S3PyArrowBackend(
            bucket=bucket,
            endpoint_url=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
        )
        store = Store(backend)
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

        times: dict[str, list[float]] = {"pyarrow": [], "store": []}
        sides = [("pyarrow", raw), ("store", ours)]
        timed(raw, size)  # warm both connections up
        timed(ours, size)
        for i in range(args.rounds):
            for name, fn in sides if i % 2 == 0 else sides[::-1]:
                times[name].append(timed(fn, size))
        store.close()
    print(f"s3-pyarrow download of {args.mib} MiB on moto, {args.rounds} rounds, load {os.getloadavg()[0]:.1f}")
    for name, values in times.items():
        best, median = min(values), statistics.median(values)
        print(f"  {name:8s} best {args.mib / best:8.1f} MiB/s   median {args.mib / median:8.1f} MiB/s")
    ratio_best = min(times["pyarrow"]) / min(times["store"])
    ratio_median = statistics.median(times["pyarrow"]) / statistics.median(times["store"])
    print(f"  throughput store/pyarrow: best {ratio_best:.3f}x, median {ratio_median:.3f}x (target >= 0.95x)")


if __name__ == "__main__":
    main()
