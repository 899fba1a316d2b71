"""Benchmark: remote-store-azure vs raw azure-storage-blob (and adlfs when installed), on Azurite.

Starts its own Azurite (see ``testing/servers/azure.py``) and prints, for the same work in
the same run, the time of remote-store over the time of the raw SDK:

* 1 KiB upload / download / get properties / delete at the defaults (flat: one request each,
  like the raw calls; target <= 1.05x of the raw SDK's time),
  and the upload with ``hierarchical=True`` (placement checks: more requests by design),
* listing 10,000 blobs (target <= 1.05x),
* 256 MiB streaming upload and download with the same concurrency and block size
  (throughput ratio, target >= 0.95x),
* peak RSS of a 64 MiB and a 256 MiB streaming round trip in fresh processes (should match),
* adlfs (fsspec) on the same work when importable:
  ``uv run --all-packages --with adlfs python benchmarks/bench_azure.py``.

Usage: ``uv run --all-packages python benchmarks/bench_azure.py [--small N] [--list N] [--big-mib N]``
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from azure.storage.blob import BlobServiceClient  # noqa: E402

from remote_store import Store  # noqa: E402
from remote_store_azure import AzureBackend  # noqa: E402
from testing.servers.azure import AzuriteServer, azurite_server  # noqa: E402

MiB = 1024 * 1024
CONCURRENCY = 4
BLOCK = 8 * MiB


class Zeros(io.RawIOBase):
    """A non-seekable stream of ``size`` bytes (no memory held)."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._chunk = b"\x5a" * MiB

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        n = min(len(b), self._left, len(self._chunk))
        b[:n] = self._chunk[:n]
        self._left -= n
        return n


class Sink(io.RawIOBase):
    """A writable stream that only counts bytes."""

    def __init__(self) -> None:
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        n = len(b)
        self.count += n
        return n


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(name: str, runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Run each contender ``rounds`` times, interleaved in a random order; return median seconds per contender."""
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(rounds):
        order = list(runs.items())
        random.shuffle(order)
        for label, fn in order:
            times[label].append(timed(fn))
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["raw sdk"]
    parts = ", ".join(f"{k} {v * 1000:8.1f} ms ({v / base:4.2f}x)" for k, v in med.items())
    print(f"{name:<28} {parts}", flush=True)
    return med


def service(srv: AzuriteServer) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(
        srv.connection_string,
        max_single_put_size=BLOCK,
        max_block_size=BLOCK,
        max_chunk_get_size=4 * MiB,
        max_single_get_size=32 * MiB,
    )


def backend(srv: AzuriteServer, container: str, **extra: object) -> AzureBackend:
    return AzureBackend(
        container,
        account_url=srv.account_url,
        account_key=srv.account_key,
        max_concurrency=CONCURRENCY,
        block_size=BLOCK,
        max_single_put_size=BLOCK,
        **extra,  # type: ignore[arg-type]
    )


def adlfs_fs(srv: AzuriteServer) -> object | None:
    try:
        import adlfs
    except ImportError:
        return None
    fs: object = adlfs.AzureBlobFileSystem(connection_string=srv.connection_string)
    return fs


def compare_ops(name: str, ops: dict[str, Callable[[str], object]], keys: list[str], rounds: int) -> dict[str, float]:
    """Time single operations interleaved per key, in a random order per key,
    so drift on a shared machine hits every contender alike; report the median round total."""
    totals: dict[str, list[float]] = {k: [] for k in ops}
    for _ in range(rounds):
        acc = dict.fromkeys(ops, 0.0)
        for key in keys:
            order = list(ops.items())
            random.shuffle(order)  # no contender always runs first (that biases the others)
            for label, op in order:
                start = time.perf_counter()
                op(key)
                acc[label] += time.perf_counter() - start
        for label, value in acc.items():
            totals[label].append(value)
    med = {k: statistics.median(v) for k, v in totals.items()}
    base = med["raw sdk"]
    parts = ", ".join(f"{k} {v * 1000:8.1f} ms ({v / base:4.2f}x)" for k, v in med.items())
    print(f"{name:<28} {parts}", flush=True)
    return med


def bench_small(srv: AzuriteServer, n: int, rounds: int) -> dict[str, dict[str, float]]:
    svc = service(srv)
    cc = svc.create_container("small")
    data = os.urandom(1024)
    ours = Store(backend(srv, "small", prefix="ours"))  # defaults: flat
    strict = Store(backend(srv, "small", prefix="hier", hierarchical=True))
    fs = adlfs_fs(srv)
    keys = [f"k{i:05d}.bin" for i in range(n)]
    results: dict[str, dict[str, float]] = {}

    put: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: cc.upload_blob(f"raw/{k}", data, overwrite=True),
        "remote-store": lambda k: ours.write(k, data, overwrite=True),
        "hierarchical=True": lambda k: strict.write(k, data, overwrite=True),
    }
    get: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: cc.get_blob_client(f"raw/{k}").download_blob().readall(),
        "remote-store": lambda k: ours.read_bytes(k),
    }
    head: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: cc.get_blob_client(f"raw/{k}").get_blob_properties(),
        "remote-store": lambda k: ours.get_file_info(k),
    }
    delete: dict[str, Callable[[str], object]] = {
        "raw sdk": lambda k: cc.get_blob_client(f"raw/{k}").delete_blob(),
        "remote-store": lambda k: ours.delete(k),
    }
    if fs is not None:
        put["adlfs"] = lambda k: fs.pipe_file(f"small/adl/{k}", data)  # type: ignore[attr-defined]
        get["adlfs"] = lambda k: fs.cat_file(f"small/adl/{k}")  # type: ignore[attr-defined]
        head["adlfs"] = lambda k: fs.info(f"small/adl/{k}", refresh=True)  # type: ignore[attr-defined]
        delete["adlfs"] = lambda k: fs.rm_file(f"small/adl/{k}")  # type: ignore[attr-defined]
    results["1 KiB upload"] = compare_ops(f"1 KiB upload x{n}", put, keys, rounds)
    results["1 KiB download"] = compare_ops(f"1 KiB download x{n}", get, keys, rounds)
    results["1 KiB get properties"] = compare_ops(f"1 KiB get properties x{n}", head, keys, rounds)
    # Each delete round needs the blobs back; one round per re-upload.
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
    base = final["raw sdk"]
    print(
        f"{'1 KiB delete x' + str(n):<28} "
        + ", ".join(f"{k} {v * 1000:8.1f} ms ({v / base:4.2f}x)" for k, v in final.items()),
        flush=True,
    )
    results["1 KiB delete"] = final
    svc.delete_container("small")
    return results


def bench_list(srv: AzuriteServer, n: int, rounds: int) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    svc = service(srv)
    cc = svc.create_container("listing")
    t = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: cc.upload_blob(f"many/{i // 100:03d}/{i:06d}.txt", b"x"), range(n)))
    print(f"(uploaded {n} blobs in {time.perf_counter() - t:.1f} s)", flush=True)
    store = Store(backend(srv, "listing"))
    fs = adlfs_fs(srv)

    def raw() -> None:
        assert sum(1 for _ in cc.list_blobs(name_starts_with="many/")) == n

    def ours() -> None:
        assert sum(1 for _ in store.list_files("many", recursive=True)) == n

    runs: dict[str, Callable[[], object]] = {"raw sdk": raw, "remote-store": ours}
    if fs is not None:
        runs["adlfs"] = lambda: len(fs.find("listing/many"))  # type: ignore[attr-defined]
    med = compare(f"list {n} blobs", runs, rounds)
    svc.delete_container("listing")
    return med


def bench_big(srv: AzuriteServer, mib: int, rounds: int) -> dict[str, dict[str, float]]:
    svc = service(srv)
    cc = svc.create_container("big")
    store = Store(backend(srv, "big"))
    with_md5 = Store(backend(srv, "big", compute_md5=True))
    size = mib * MiB
    fs = adlfs_fs(srv)

    def raw_up() -> None:
        cc.upload_blob("raw.bin", Zeros(size), overwrite=True, max_concurrency=CONCURRENCY)

    def ours_up() -> None:
        store.write("ours.bin", Zeros(size), overwrite=True)

    def raw_down() -> None:
        # The SDK's parallel downloader needs a seekable target: /dev/null.
        with open(os.devnull, "wb") as sink:
            n = cc.get_blob_client("raw.bin").download_blob(max_concurrency=CONCURRENCY).readinto(sink)
        assert n == size

    def ours_down() -> None:
        with open(os.devnull, "wb") as sink, store.read("ours.bin") as f:
            n = 0
            while chunk := f.read(MiB):
                n += sink.write(chunk)
        assert n == size

    up: dict[str, Callable[[], object]] = {
        "raw sdk": raw_up,
        "remote-store": ours_up,
        "compute_md5=True": lambda: with_md5.write("ours2.bin", Zeros(size), overwrite=True),
    }
    down: dict[str, Callable[[], object]] = {"raw sdk": raw_down, "remote-store": ours_down}
    if fs is not None:

        def adl_up() -> None:
            with fs.open("big/adl.bin", "wb", block_size=BLOCK) as f:  # type: ignore[attr-defined]
                src = Zeros(size)
                while chunk := src.read(MiB):
                    f.write(chunk)

        def adl_down() -> None:
            with fs.open("big/adl.bin", "rb", block_size=4 * MiB) as f:  # type: ignore[attr-defined]
                while f.read(MiB):
                    pass

        up["adlfs"] = adl_up
        down["adlfs"] = adl_down
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
    svc.delete_container("big")
    return out


RSS_CHILD = r"""
import json, sys, threading, psutil
sys.path.insert(0, {repo!r})
from benchmarks.bench_azure import Zeros, backend, MiB
from remote_store import Store
from testing.servers.azure import AzuriteServer
proc = psutil.Process()
peak = [0]
stop = threading.Event()
def sample():
    while not stop.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        stop.wait(0.002)
srv = AzuriteServer(port={port})
store = Store(backend(srv, "rss", create_container=True))
store.write("warm.bin", b"w", overwrite=True); store.read_bytes("warm.bin")
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


def bench_rss(srv: AzuriteServer, sizes: list[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for mib in sizes:
        code = RSS_CHILD.format(repo=str(REPO), port=srv.port, mib=mib)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        out[mib] = res
        print(
            f"peak RSS {mib:4d} MiB streaming round trip: {res['after_download'] / MiB:6.1f} MiB "
            f"(before {res['base'] / MiB:.1f} MiB, peak during upload {res['after_upload'] / MiB:.1f} MiB)",
            flush=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--small", type=int, default=200, help="1 KiB operations per round")
    parser.add_argument("--list", type=int, default=10_000, help="blobs in the listing benchmark")
    parser.add_argument("--big-mib", type=int, default=256, help="size of the throughput benchmark, MiB")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per comparison (median reported)")
    parser.add_argument("--skip", default="", help="comma list of parts to skip: small,list,big,rss")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with azurite_server() as srv:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"Azurite on 127.0.0.1:{srv.port}; concurrency {CONCURRENCY}, block {BLOCK // MiB} MiB; "
            f"load average {load} on {os.cpu_count()} CPUs",
            flush=True,
        )
        if "small" not in skip:
            bench_small(srv, args.small, args.rounds)
        if "list" not in skip:
            bench_list(srv, args.list, args.rounds)
        if "big" not in skip:
            bench_big(srv, args.big_mib, max(3, args.rounds // 2 + 1))
        if "rss" not in skip:
            bench_rss(srv, [64, args.big_mib])


if __name__ == "__main__":
    main()
