"""Benchmark: remote-store-gcs vs the raw google-cloud-storage SDK (and gcsfs when installed),
on fake-gcs-server.

Starts its own emulator (see ``testing/servers/gcs.py``) and prints, for the same work in the
same run, the time of remote-store over the time of the raw SDK:

* 1 KiB upload / download / metadata get / delete at the defaults (flat; target <= 1.05x),
  and the upload with ``hierarchical=True`` (placement checks: more requests by design),
* listing 10,000 objects (target <= 1.05x),
* 256 MiB streaming upload and download, remote-store vs the SDK's own ``upload_from_file`` /
  ``download_to_file`` with the same 8 MiB chunk (throughput ratio, target >= 0.95x),
* peak RSS of a 64 MiB and a 256 MiB streaming round trip in fresh processes (should match).

The emulator keeps objects in memory and answers from one process on this machine: the
numbers compare clients on the same server, not GCS itself.

Usage: ``uv run --all-packages python benchmarks/bench_gcs.py [--small N] [--list N] [--big-mib N]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from remote_store import Store  # noqa: E402
from remote_store_gcs import GCSBackend  # noqa: E402
from testing.servers.gcs import FakeGCSServer, fake_gcs_server  # noqa: E402

MiB = 1024 * 1024
CHUNK = 8 * MiB


class Zeros(io.RawIOBase):
    """A non-seekable stream of ``size`` bytes (no memory held); ``tell`` works (the SDK's
    resumable upload asks for it)."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._pos = 0
        self._chunk = b"\x5a" * MiB

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: Any) -> int:
        """Fill all of ``b`` (up to the end): a short read would make the SDK send short chunks."""
        view = memoryview(b).cast("B")
        total = min(len(view), self._left)
        done = 0
        while done < total:
            n = min(total - done, len(self._chunk))
            view[done : done + n] = self._chunk[:n]
            done += n
        self._left -= total
        self._pos += total
        return total


class Sink(io.RawIOBase):
    """A writable stream that only counts bytes."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n = len(b)
        self.count += n
        return n


def _report(name: str, med: dict[str, float]) -> None:
    base = med["raw sdk"]
    parts = ", ".join(f"{k} {v * 1000:8.1f} ms ({v / base:4.2f}x)" for k, v in med.items())
    print(f"{name:<28} {parts}", flush=True)


def compare(name: str, runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Each contender ``rounds`` times, interleaved in a random order; median seconds per contender."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        order = list(runs.items())
        random.shuffle(order)
        for label, fn in order:
            start = time.perf_counter()
            fn()
            times[label].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    _report(name, med)
    return med


def compare_ops(name: str, ops: dict[str, Callable[[str], object]], keys: list[str], rounds: int) -> dict[str, float]:
    """Single operations interleaved per key in a random order; the median round total per contender."""
    totals: dict[str, list[float]] = {k: [] for k in ops}
    for _ in range(rounds):
        acc = dict.fromkeys(ops, 0.0)
        for key in keys:
            order = list(ops.items())
            random.shuffle(order)
            for label, op in order:
                start = time.perf_counter()
                op(key)
                acc[label] += time.perf_counter() - start
        for label, value in acc.items():
            totals[label].append(value)
    med = {k: statistics.median(v) for k, v in totals.items()}
    _report(name, med)
    return med


def backend(srv: FakeGCSServer, bucket: str, **extra: Any) -> GCSBackend:
    return GCSBackend(**srv.backend_options(bucket, chunk_size=CHUNK, multipart_threshold=CHUNK, **extra))


def gcsfs_fs(srv: FakeGCSServer) -> Any:
    try:
        # The plain filesystem: gcsfs's default class first probes the bucket type over gRPC,
        # which an HTTP-only emulator never answers (a 60 s timeout per bucket).
        from gcsfs.core import GCSFileSystem
    except ImportError:
        return None
    return GCSFileSystem(endpoint_url=srv.endpoint, token="anon", project=srv.project, skip_instance_cache=True)


def bench_small(srv: FakeGCSServer, n: int, rounds: int) -> dict[str, dict[str, float]]:
    bucket = srv.create_bucket()
    raw = srv.client().bucket(bucket)
    data = os.urandom(1024)
    ours = Store(backend(srv, bucket, prefix="ours"))
    strict = Store(backend(srv, bucket, prefix="hier", hierarchical=True))
    fs = gcsfs_fs(srv)
    keys = [f"k{i:05d}.bin" for i in range(n)]
    put: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: raw.blob(f"raw/{k}").upload_from_string(data),
        "remote-store": lambda k: ours.write(k, data, overwrite=True),
        "hierarchical=True": lambda k: strict.write(k, data, overwrite=True),
    }
    get: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: raw.blob(f"raw/{k}").download_as_bytes(),
        "remote-store": lambda k: ours.read_bytes(k),
    }
    head: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: raw.get_blob(f"raw/{k}"),
        "remote-store": lambda k: ours.get_file_info(k),
    }
    delete: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: raw.blob(f"raw/{k}").delete(),
        "remote-store": lambda k: ours.delete(k, missing_ok=True),
    }
    if fs is not None:
        put["gcsfs"] = lambda k: fs.pipe_file(f"{bucket}/fs/{k}", data)
        get["gcsfs"] = lambda k: fs.cat_file(f"{bucket}/fs/{k}")
        head["gcsfs"] = lambda k: fs.info(f"{bucket}/fs/{k}", refresh=True)
        delete["gcsfs"] = lambda k: fs.rm_file(f"{bucket}/fs/{k}")
    results = {
        "1 KiB upload": compare_ops(f"1 KiB upload x{n}", put, keys, rounds),
        "1 KiB download": compare_ops(f"1 KiB download x{n}", get, keys, rounds),
        "1 KiB get metadata": compare_ops(f"1 KiB get metadata x{n}", head, keys, rounds),
    }
    restore = {k: v for k, v in put.items() if k != "hierarchical=True"}
    del_totals: dict[str, list[float]] = {k: [] for k in delete}
    for _ in range(rounds):
        for key in keys:
            for op in restore.values():
                op(key)
        med = compare_ops(f"  (delete round x{n})", delete, keys, 1)
        for label, value in med.items():
            del_totals[label].append(value)
    final = {k: statistics.median(v) for k, v in del_totals.items()}
    _report(f"1 KiB delete x{n}", final)
    # Per-contender medians can come from different rounds; the per-round ratio is steadier.
    ratios = {k: statistics.median(a / b for a, b in zip(v, del_totals["raw sdk"])) for k, v in del_totals.items()}
    print(f"{'  median round ratio':<28} " + ", ".join(f"{k} {r:4.2f}x" for k, r in ratios.items()), flush=True)
    results["1 KiB delete"] = final
    srv.delete_bucket(bucket)
    return results


def bench_list(srv: FakeGCSServer, n: int, rounds: int) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    bucket = srv.create_bucket()
    client = srv.client()
    raw = client.bucket(bucket)
    t = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: raw.blob(f"many/{i // 100:03d}/{i:06d}.txt").upload_from_string(b"x"), range(n)))
    print(f"(uploaded {n} objects in {time.perf_counter() - t:.1f} s)", flush=True)
    store = Store(backend(srv, bucket))
    fs = gcsfs_fs(srv)

    def raw_list() -> None:
        assert sum(1 for _ in client.list_blobs(bucket, prefix="many/", page_size=1000)) == n

    def ours() -> None:
        assert sum(1 for _ in store.list_files("many", recursive=True)) == n

    runs: dict[str, Callable[[], object]] = {"raw sdk": raw_list, "remote-store": ours}
    if fs is not None:
        runs["gcsfs"] = lambda: len(fs.find(f"{bucket}/many"))
    med = compare(f"list {n} objects", runs, rounds)
    srv.delete_bucket(bucket)
    return med


def bench_big(srv: FakeGCSServer, mib: int, rounds: int) -> dict[str, dict[str, float]]:
    bucket = srv.create_bucket()
    raw = srv.client().bucket(bucket)
    store = Store(backend(srv, bucket))
    size = mib * MiB
    fs = gcsfs_fs(srv)

    def raw_up() -> None:
        blob = raw.blob("raw.bin", chunk_size=CHUNK)
        blob.upload_from_file(Zeros(size), size=size)

    def ours_up() -> None:
        store.write("ours.bin", Zeros(size), overwrite=True)

    def raw_down() -> None:
        sink = Sink()
        raw.blob("raw.bin").download_to_file(sink)
        assert sink.count == size

    def ours_down() -> None:
        n = 0
        with store.read("ours.bin") as f:
            while chunk := f.read(MiB):
                n += len(chunk)
        assert n == size

    up: dict[str, Callable[[], object]] = {"raw sdk": raw_up, "remote-store": ours_up}
    down: dict[str, Callable[[], object]] = {"raw sdk": raw_down, "remote-store": ours_down}
    if fs is not None:

        def fs_up() -> None:
            with fs.open(f"{bucket}/fs.bin", "wb", block_size=CHUNK) as f:
                src = Zeros(size)
                while chunk := src.read(MiB):
                    f.write(chunk)

        def fs_down() -> None:
            with fs.open(f"{bucket}/fs.bin", "rb", block_size=4 * MiB) as f:
                while f.read(MiB):
                    pass

        up["gcsfs"] = fs_up
        down["gcsfs"] = fs_down
    out = {
        "upload": compare(f"{mib} MiB upload", up, rounds),
        "download": compare(f"{mib} MiB streaming download", down, rounds),
    }
    for kind, med in out.items():
        base = med["raw sdk"]
        print(
            f"  {kind} throughput: "
            + ", ".join(f"{k} {size / v / MiB:7.1f} MiB/s ({base / v:4.2f}x)" for k, v in med.items()),
            flush=True,
        )
    srv.delete_bucket(bucket)
    return out


RSS_CHILD = r"""
import json, sys, threading, psutil
sys.path.insert(0, {repo!r})
from benchmarks.bench_gcs import Zeros, backend, MiB
from remote_store import Store
from testing.servers.gcs import FakeGCSServer
proc = psutil.Process()
peak = [0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        stop.wait(0.002)
srv = FakeGCSServer(endpoint={endpoint!r})
store = Store(backend(srv, {bucket!r}))
store.write("warm.bin", b"w" * (9 * MiB), overwrite=True); store.read_bytes("warm.bin")
base = proc.memory_info().rss
threading.Thread(target=sample, daemon=True).start()
size = {mib} * MiB
store.write("rss.bin", Zeros(size), overwrite=True)
up = peak[0]
n = 0
with store.read("rss.bin") as f:
    while chunk := f.read(MiB):
        n += len(chunk)
assert n == size
stop.set()
print(json.dumps({{"base": base, "after_upload": up, "after_download": peak[0]}}))
"""


def bench_rss(srv: FakeGCSServer, sizes: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    bucket = srv.create_bucket()
    for mib in sizes:
        code = RSS_CHILD.format(repo=str(REPO), endpoint=srv.endpoint, bucket=bucket, mib=mib)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        out[mib] = res
        print(
            f"peak RSS {mib:4d} MiB streaming round trip: {res['after_download'] / MiB:6.1f} MiB "
            f"(before {res['base'] / MiB:.1f} MiB, peak during upload {res['after_upload'] / MiB:.1f} MiB)",
            flush=True,
        )
    srv.delete_bucket(bucket)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small", type=int, default=200, help="1 KiB operations per round")
    parser.add_argument("--list", type=int, default=10_000, help="objects in the listing benchmark")
    parser.add_argument("--big-mib", type=int, default=256, help="size of the throughput benchmark, MiB")
    parser.add_argument("--rss-mib", type=int, default=64, help="the smaller size of the RSS comparison, MiB")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per comparison (median reported)")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: small,list,big,rss")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with fake_gcs_server() as srv:
        print(f"fake-gcs-server at {srv.endpoint}; chunk {CHUNK // MiB} MiB", flush=True)
        if "small" not in skip:
            bench_small(srv, args.small, args.rounds)
        if "list" not in skip:
            bench_list(srv, args.list, args.rounds)
        if "big" not in skip:
            bench_big(srv, args.big_mib, max(3, args.rounds // 2 + 1))
        if "rss" not in skip:
            bench_rss(srv, [args.rss_mib, args.big_mib])
    print(f"load average {os.getloadavg()[0]:.1f} at the end", flush=True)


if __name__ == "__main__":
    main()
