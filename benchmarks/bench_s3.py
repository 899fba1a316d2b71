"""remote-store-s3 against raw boto3 (and s3fs / obstore / opendal when installed) on one moto server.

Run::

    uv run --all-packages python benchmarks/bench_s3.py
    uv run --all-packages --with s3fs --with obstore --with opendal python benchmarks/bench_s3.py

It starts its own moto S3 server (``testing.servers.s3.moto_s3_server``) on a free port and prints:

- 1 KiB put / get / head / delete: median latency per call and the ratio to raw boto3
  (target ≤ 1.05x), for the default (flat) backend and for ``hierarchical=True``; the Store's
  delete uses ``missing_ok=True``, which is what a bare ``DeleteObject`` means;
- a 10,000-key recursive listing: time and ratio to a raw ``list_objects_v2`` paginator;
- a 256 MiB streamed upload and download: throughput and the ratio to boto3's TransferManager
  (``upload_fileobj`` / ``download_fileobj``; target ≥ 0.95x);
- peak RSS of a fresh process streaming 64 MiB vs 256 MiB each way (target: independent of size).

Numbers are from moto, a single Python process serving every request: they compare clients
against the same server, not S3 itself. Options: ``--small N`` (calls per op), ``--keys N``,
``--big-mib N``, ``--skip-peers``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from remote_store import Store  # noqa: E402
from remote_store_s3 import S3Backend  # noqa: E402
from testing.servers.s3 import MotoS3Server, moto_s3_server  # noqa: E402

MiB = 1024 * 1024
CHUNK = 8 * MiB


class Source(io.RawIOBase):
    """A non-seekable stream of ``size`` bytes generated on the fly (never held in memory)."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._block = (bytes(range(256)) * 4096)[:MiB]

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = min(len(b), self._left)
        view = memoryview(b)
        done = 0
        while done < n:
            k = min(n - done, len(self._block))
            view[done : done + k] = self._block[:k]
            done += k
        self._left -= n
        return n


class Sink:
    """A write-only, non-seekable destination that only counts bytes."""

    def __init__(self) -> None:
        self.n = 0

    def write(self, b: Any) -> int:
        self.n += len(b)
        return len(b)

    def seekable(self) -> bool:
        return False


def drain(f: Any) -> int:
    n = 0
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return n
        n += len(chunk)


def iter_chunks(size: int) -> Iterator[bytes]:
    """``size`` bytes from `Source` as CHUNK-sized bytes objects."""
    src = io.BufferedReader(Source(size), CHUNK)
    while True:
        chunk = src.read(CHUNK)
        if not chunk:
            return
        yield chunk


def upload_chunks(write: Callable[[bytes], Any], size: int) -> None:
    for chunk in iter_chunks(size):
        write(chunk)


# ---------------------------------------------------------------------- clients under test
class Impl:
    """One client: small-object ops, listing, streamed upload/download."""

    name = ""

    def put(self, key: str, data: bytes) -> None:
        raise NotImplementedError

    def get(self, key: str) -> bytes:
        raise NotImplementedError

    def head(self, key: str) -> Any:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def list_all(self, prefix: str) -> int:
        raise NotImplementedError

    def upload(self, key: str, size: int) -> None:
        raise NotImplementedError

    def download(self, key: str) -> int:
        raise NotImplementedError


class Boto3Impl(Impl):
    name = "boto3"

    def __init__(self, server: MotoS3Server, bucket: str) -> None:
        self.c = server.client()
        self.b = bucket

    def put(self, key: str, data: bytes) -> None:
        self.c.put_object(Bucket=self.b, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        body = self.c.get_object(Bucket=self.b, Key=key)["Body"]
        data: bytes = body.read()
        body.close()
        return data

    def head(self, key: str) -> Any:
        return self.c.head_object(Bucket=self.b, Key=key)

    def delete(self, key: str) -> None:
        self.c.delete_object(Bucket=self.b, Key=key)

    def list_all(self, prefix: str) -> int:
        n = 0
        for page in self.c.get_paginator("list_objects_v2").paginate(Bucket=self.b, Prefix=prefix):
            n += len(page.get("Contents", ()))
        return n

    def upload(self, key: str, size: int) -> None:  # TransferManager
        self.c.upload_fileobj(Source(size), self.b, key)

    def download(self, key: str) -> int:  # TransferManager
        sink = Sink()
        self.c.download_fileobj(self.b, key, sink)
        return sink.n


class StoreImpl(Impl):
    def __init__(self, server: MotoS3Server, bucket: str, name: str = "remote-store", **options: Any) -> None:
        self.name = name
        self.s = Store(S3Backend(**server.backend_options(bucket, **options)))

    def put(self, key: str, data: bytes) -> None:
        self.s.write(key, data, overwrite=True)

    def get(self, key: str) -> bytes:
        return self.s.read_bytes(key)

    def head(self, key: str) -> Any:
        return self.s.head(key)

    def delete(self, key: str) -> None:
        self.s.delete(key, missing_ok=True)  # like DeleteObject: no report of a missing key

    def list_all(self, prefix: str) -> int:
        return sum(1 for _ in self.s.list_files(prefix, recursive=True))

    def upload(self, key: str, size: int) -> None:
        self.s.write(key, Source(size), overwrite=True)

    def download(self, key: str) -> int:
        with self.s.read(key) as f:
            return drain(f)


class S3fsImpl(Impl):
    name = "s3fs"

    def __init__(self, server: MotoS3Server, bucket: str) -> None:
        import s3fs

        self.fs = s3fs.S3FileSystem(
            key=server.access_key_id,
            secret=server.secret_access_key,
            endpoint_url=server.endpoint_url,
            client_kwargs={"region_name": server.region},
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        self.b = bucket

    def put(self, key: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.b}/{key}", data)

    def get(self, key: str) -> bytes:
        data: bytes = self.fs.cat_file(f"{self.b}/{key}")
        return data

    def head(self, key: str) -> Any:
        return self.fs.info(f"{self.b}/{key}")

    def delete(self, key: str) -> None:
        self.fs.rm_file(f"{self.b}/{key}")

    def list_all(self, prefix: str) -> int:
        return len(self.fs.find(f"{self.b}/{prefix}"))

    def upload(self, key: str, size: int) -> None:
        with self.fs.open(f"{self.b}/{key}", "wb", block_size=CHUNK) as f:
            upload_chunks(f.write, size)

    def download(self, key: str) -> int:
        with self.fs.open(f"{self.b}/{key}", "rb", block_size=CHUNK) as f:
            return drain(f)


class ObstoreImpl(Impl):
    name = "obstore"

    def __init__(self, server: MotoS3Server, bucket: str) -> None:
        import obstore
        from obstore.store import S3Store

        self.o = obstore
        self.st = S3Store(
            bucket,
            endpoint=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )

    def put(self, key: str, data: bytes) -> None:
        self.o.put(self.st, key, data)

    def get(self, key: str) -> bytes:
        return bytes(self.o.get(self.st, key).bytes())

    def head(self, key: str) -> Any:
        return self.o.head(self.st, key)

    def delete(self, key: str) -> None:
        self.o.delete(self.st, key)

    def list_all(self, prefix: str) -> int:
        return sum(len(batch) for batch in self.o.list(self.st, prefix=prefix))

    def upload(self, key: str, size: int) -> None:
        self.o.put(self.st, key, iter_chunks(size), chunk_size=CHUNK)

    def download(self, key: str) -> int:
        return sum(len(c) for c in self.o.get(self.st, key).stream(min_chunk_size=CHUNK))


class OpendalImpl(Impl):
    name = "opendal"

    def __init__(self, server: MotoS3Server, bucket: str) -> None:
        import opendal

        self.op = opendal.Operator(
            "s3",
            bucket=bucket,
            root="/",
            endpoint=server.endpoint_url,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
        )

    def put(self, key: str, data: bytes) -> None:
        self.op.write(key, data)

    def get(self, key: str) -> bytes:
        return bytes(self.op.read(key))

    def head(self, key: str) -> Any:
        return self.op.stat(key)

    def delete(self, key: str) -> None:
        self.op.delete(key)

    def list_all(self, prefix: str) -> int:
        try:
            entries = self.op.list(prefix + "/", recursive=True)
        except TypeError:
            entries = self.op.scan(prefix + "/")
        return sum(1 for e in entries if not e.path.endswith("/"))

    def upload(self, key: str, size: int) -> None:
        with self.op.open(key, "wb") as f:
            upload_chunks(f.write, size)

    def download(self, key: str) -> int:
        with self.op.open(key, "rb") as f:
            return drain(f)


PEERS: dict[str, Callable[[MotoS3Server, str], Impl]] = {
    "s3fs": S3fsImpl,
    "obstore": ObstoreImpl,
    "opendal": OpendalImpl,
}


def make_impls(server: MotoS3Server, bucket: str, peers: bool) -> list[Impl]:
    impls: list[Impl] = [
        Boto3Impl(server, bucket),
        StoreImpl(server, bucket),
        StoreImpl(server, bucket, "remote-store hierarchical=True", hierarchical=True),
    ]
    if peers:
        for name, cls in PEERS.items():
            try:
                impls.append(cls(server, bucket))
            except Exception as exc:
                print(f"  [skip] {name}: {type(exc).__name__}: {exc}", flush=True)
    return impls


# ---------------------------------------------------------------------- measurements
def small_ops(server: MotoS3Server, n: int, peers: bool) -> None:
    bucket = server.create_bucket()
    impls = make_impls(server, bucket, peers)
    data = os.urandom(1024)
    ops: dict[str, Callable[[Impl, str], Any]] = {
        "put": lambda im, k: im.put(k, data),
        "get": lambda im, k: im.get(k),
        "head": lambda im, k: im.head(k),
        "delete": lambda im, k: im.delete(k),
    }
    for im in impls:  # warm up connections, credentials, imports
        im.put("warm", data)
        im.get("warm")
        im.head("warm")
    times: dict[tuple[str, str], list[float]] = {}
    broken: set[str] = set()
    for op_name, op in ops.items():
        for i in range(n):
            for j, im in enumerate(impls):  # interleaved, so server drift hits every client alike
                if im.name in broken:
                    continue
                key = f"k{j}-{i:05d}"
                t0 = time.perf_counter()
                try:
                    op(im, key)
                except Exception as exc:
                    print(f"  [skip] {im.name} {op_name}: {type(exc).__name__}: {exc}", flush=True)
                    broken.add(im.name)
                    continue
                times.setdefault((im.name, op_name), []).append(time.perf_counter() - t0)
    print(f"\n1 KiB objects, {n} calls per op, median ms per call (ratio to boto3; target <= 1.05x)")
    print(f"  {'client':<34}" + "".join(f"{o:>18}" for o in ops))
    for im in impls:
        row = f"  {im.name:<34}"
        for op_name in ops:
            t = times.get((im.name, op_name))
            base = times.get(("boto3", op_name))
            if not t or not base:
                row += f"{'-':>18}"
                continue
            med, ref = statistics.median(t), statistics.median(base)
            row += f"{med * 1000:>9.2f} ({med / ref:4.2f}x)"
        print(row, flush=True)
    server.delete_bucket(bucket)


def listing(server: MotoS3Server, keys: int, peers: bool) -> None:
    bucket = server.create_bucket()
    raw = server.client()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: raw.put_object(Bucket=bucket, Key=f"list/{i // 100:04d}/{i:06d}", Body=b"x"), range(keys)
            )
        )
    print(f"\nlisting: populated {keys} keys in {time.perf_counter() - t0:.1f}s", flush=True)
    impls = make_impls(server, bucket, peers)
    results: dict[str, list[float]] = {}
    for _ in range(3):
        for im in impls:
            t0 = time.perf_counter()
            try:
                count = im.list_all("list")
            except Exception as exc:
                print(f"  [skip] {im.name} list: {type(exc).__name__}: {exc}", flush=True)
                continue
            dt = time.perf_counter() - t0
            if count != keys:
                print(f"  [warn] {im.name} listed {count} keys, expected {keys}")
            results.setdefault(im.name, []).append(dt)
    ref = min(results["boto3"])
    print(f"{keys}-key recursive listing, best of 3 (ratio to boto3 paginator; target <= 1.05x)")
    for name, ts in results.items():
        print(f"  {name:<34}{min(ts):>8.2f}s ({min(ts) / ref:4.2f}x)", flush=True)
    server.delete_bucket(bucket)


def big(server: MotoS3Server, size_mib: int, peers: bool) -> None:
    bucket = server.create_bucket()
    size = size_mib * MiB
    impls = make_impls(server, bucket, peers)
    impls = [im for im in impls if im.name != "remote-store hierarchical=True"]
    up: dict[str, float] = {}
    down: dict[str, float] = {}
    for rnd in range(3):
        for im in impls:
            key = f"big-{im.name}"
            try:
                t0 = time.perf_counter()
                im.upload(key, size)
                t_up = time.perf_counter() - t0
                t0 = time.perf_counter()
                got = im.download(key)
                t_down = time.perf_counter() - t0
                if got != size:
                    raise RuntimeError(f"downloaded {got} bytes, expected {size}")
            except Exception as exc:
                if rnd == 0:
                    print(f"  [skip] {im.name} streaming: {type(exc).__name__}: {exc}", flush=True)
                continue
            finally:
                try:
                    server.client().delete_object(Bucket=bucket, Key=key)
                except Exception:
                    pass
            up[im.name] = max(up.get(im.name, 0.0), size / MiB / t_up)
            down[im.name] = max(down.get(im.name, 0.0), size / MiB / t_down)
    print(f"\n{size_mib} MiB streamed, best of 3, MiB/s (ratio to boto3 TransferManager; target >= 0.95x)")
    print(f"  {'client':<34}{'upload':>20}{'download':>20}")
    for name in up:
        print(
            f"  {name:<34}{up[name]:>11.1f} ({up[name] / up['boto3']:4.2f}x){down[name]:>11.1f} ({down[name] / down['boto3']:4.2f}x)",
            flush=True,
        )
    server.delete_bucket(bucket)


def rss(server: MotoS3Server, sizes: list[int]) -> None:
    bucket = server.create_bucket()
    raw = server.client()
    for mib in sizes:
        raw.upload_fileobj(Source(mib * MiB), bucket, f"rss-{mib}")
    print(
        "\npeak RSS of a fresh process streaming one object (MiB; growth over the idle process in brackets)."
        "\n  remote-store keeps at most part_size x (max_concurrency + 1) bytes of parts (8 MiB x 11 by default);"
        "\n  a 64 MiB upload never reaches that many parts in flight, so compare sizes above the bound too."
    )
    print(f"  {'client / op':<44}" + "".join(f"{str(m) + ' MiB':>20}" for m in sizes))
    rows = [
        ("remote-store", "upload"),
        ("remote-store-c4", "upload"),
        ("remote-store", "download"),
        ("boto3", "upload"),
        ("boto3", "download"),
    ]
    labels = {"remote-store-c4": "remote-store max_concurrency=4", "boto3": "boto3 TransferManager"}
    for impl, op in rows:
        row = f"  {labels.get(impl, impl) + ' ' + op:<44}"
        for mib in sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", impl, op, str(mib), server.endpoint_url, bucket],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            row += f"{r['peak'] / 1024:>11.0f} (+{(r['peak'] - r['idle']) / 1024:4.0f})"
        print(row, flush=True)
    server.delete_bucket(bucket)


def peak_rss_kib() -> int:
    """Peak resident set size of this process in KiB (``VmHWM``; ``ru_maxrss`` off Linux).

    ``ru_maxrss`` is not used on Linux because a child started by a big parent inherits
    the parent's high-water mark across fork/exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def rss_child(impl: str, op: str, mib: int, endpoint: str, bucket: str) -> None:
    server = MotoS3Server(endpoint_url=endpoint)
    im: Impl
    if impl == "remote-store":
        im = StoreImpl(server, bucket)
    elif impl == "remote-store-c4":
        im = StoreImpl(server, bucket, max_concurrency=4)
    else:
        im = Boto3Impl(server, bucket)
    im.head(f"rss-{mib}")  # client built, connection warm
    idle = peak_rss_kib()
    if op == "upload":
        im.upload(f"rss-up-{impl}-{mib}", mib * MiB)
    else:
        assert im.download(f"rss-{mib}") == mib * MiB
    peak = peak_rss_kib()
    print(json.dumps({"idle": idle, "peak": peak}))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", type=int, default=150, help="calls per small-object op (default 150)")
    ap.add_argument("--keys", type=int, default=10_000, help="keys for the listing benchmark (default 10000)")
    ap.add_argument("--big-mib", type=int, default=256, help="MiB for the streaming benchmark (default 256)")
    ap.add_argument("--skip-peers", action="store_true", help="do not try s3fs / obstore / opendal")
    ap.add_argument(
        "--sections", default="small,list,big,rss", help="comma-separated subset of small,list,big,rss (default all)"
    )
    ap.add_argument("--rss-child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rss_child:
        impl, op, mib, endpoint, bucket = args.rss_child
        rss_child(impl, op, int(mib), endpoint, bucket)
        return
    peers = not args.skip_peers
    with moto_s3_server() as server:
        print(f"moto S3 server at {server.endpoint_url} (log: {server.log_path})", flush=True)
        sections = {s.strip() for s in args.sections.split(",")}
        if "small" in sections:
            small_ops(server, args.small, peers)
        if "list" in sections:
            listing(server, args.keys, peers)
        if "big" in sections:
            big(server, args.big_mib, peers)
        if "rss" in sections:
            rss(server, [64, args.big_mib])


if __name__ == "__main__":
    main()
