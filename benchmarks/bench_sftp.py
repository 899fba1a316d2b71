"""Benchmark: remote-store's SFTPBackend against raw paramiko and the OpenSSH ``sftp`` CLI.

Starts its own OpenSSH ``sshd`` (``testing.servers.sftp.openssh_server``; needs root and
``/usr/sbin/sshd``) and prints, in one run:

- 1 KiB write / read / stat: mean latency of the backend (through `Store`) vs raw paramiko
  doing the same thing the usual way, as a ratio (target <= 1.05).
- Large upload / download MB/s: the backend vs raw paramiko with pipelined writes and
  ``prefetch()`` reads (download target ratio >= 1.0), and the OpenSSH ``sftp -b`` client as the
  ceiling (it reads/writes a local file) with the backend's ratio to it.
- ``write-tmp``: what a temp file + ``posix-rename`` costs raw paramiko per 1 KiB write
  (the backend publishes every write that way).
- Peak RSS of a fresh process streaming a 64 MiB and a 256 MiB file up and down through the
  backend (should not grow with the file size).

Usage::

    uv run --all-packages python benchmarks/bench_sftp.py [--big-mib 256] [--small-n 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MiB = 1024 * 1024
CHUNK = MiB


def _chunks(total: int) -> Iterator[bytes]:
    block = os.urandom(CHUNK)
    sent = 0
    while sent < total:
        n = min(CHUNK, total - sent)
        yield block[:n]
        sent += n


def _raw_client(conn: dict[str, Any]) -> Any:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(conn["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        conn["host"],
        port=conn["port"],
        username=conn["username"],
        key_filename=conn["client_key"],
        allow_agent=False,
        look_for_keys=False,
    )
    return client


def _backend(conn: dict[str, Any]) -> Any:
    from remote_store_sftp import SFTPBackend

    return SFTPBackend(
        host=conn["host"],
        port=conn["port"],
        username=conn["username"],
        private_key=conn["client_key"],
        known_hosts=conn["known_hosts"],
        base_path=conn["base"],
    )


def _time(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_small(conn: dict[str, Any], n: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median seconds per 1 KiB op; raw and store calls alternate one by one (so CPU noise hits both)."""
    from remote_store import Store

    client = _raw_client(conn)
    sftp = client.open_sftp()
    store = Store(_backend(conn))
    data = os.urandom(1024)
    base = conn["base"]
    sftp.mkdir(f"{base}/raw")
    store.write("warm", data)  # connect outside the timing
    samples: dict[str, dict[str, list[float]]] = {
        op: {"raw": [], "store": []} for op in ("write", "write-tmp", "read", "stat")
    }

    ops: dict[str, tuple[Callable[[str], object], Callable[[str], object]]] = {
        # raw paramiko the usual way: open / write / close; open / read to EOF / close; stat
        "write": (lambda name: _raw_write(sftp, f"{base}/raw/{name}", data), lambda name: store.write(name, data)),
        # what publishing through a temp file costs raw paramiko: "store" here is raw temp + posix-rename
        "write-tmp": (
            lambda name: _raw_write(sftp, f"{base}/raw/t-{name}", data),
            lambda name: _raw_write_via_temp(sftp, f"{base}/raw/u-{name}", data),
        ),
        "read": (lambda name: _raw_read(sftp, f"{base}/raw/{name}"), lambda name: store.read_bytes(name)),
        "stat": (lambda name: sftp.stat(f"{base}/raw/{name}"), lambda name: store.get_file_info(name)),
    }
    for r in range(rounds):
        for op, (raw_fn, store_fn) in ops.items():
            for i in range(n):
                name = f"w{r}-{i}"
                first, second = (
                    (("raw", raw_fn), ("store", store_fn))
                    if i % 2 == 0
                    else (
                        ("store", store_fn),
                        ("raw", raw_fn),
                    )
                )
                for side, fn in (first, second):
                    t0 = time.perf_counter()
                    fn(name)
                    samples[op][side].append(time.perf_counter() - t0)
    store.close()
    sftp.close()
    client.close()
    return {op: {side: statistics.median(v) for side, v in sides.items()} for op, sides in samples.items()}


def _raw_write(sftp: Any, path: str, data: bytes) -> None:
    with sftp.open(path, "wb") as f:
        f.write(data)


def _raw_write_via_temp(sftp: Any, path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    with sftp.open(tmp, "wb") as f:
        f.write(data)
    sftp.posix_rename(tmp, path)


def _raw_read(sftp: Any, path: str) -> bytes:
    with sftp.open(path, "rb") as f:
        return bytes(f.read())


def bench_big(conn: dict[str, Any], size: int, rounds: int) -> dict[str, dict[str, float]]:
    """MB/s (10^6 bytes/s) for upload and download, best of ``rounds``."""
    from remote_store import Store

    client = _raw_client(conn)
    sftp = client.open_sftp()
    store = Store(_backend(conn))
    base = conn["base"]
    store.write("warm", b"x", overwrite=True)
    up: dict[str, list[float]] = {"raw": [], "store": [], "cli": []}
    down: dict[str, list[float]] = {"raw": [], "store": [], "cli": []}

    def raw_up() -> None:
        with sftp.open(f"{base}/raw-big.bin", "wb") as f:
            f.set_pipelined(True)
            for chunk in _chunks(size):
                f.write(chunk)

    def store_up() -> None:
        store.write("big.bin", _chunks(size), overwrite=True)

    def raw_down() -> None:
        with sftp.open(f"{base}/raw-big.bin", "rb") as f:
            f.prefetch(size)
            while f.read(CHUNK):
                pass

    def store_down() -> None:
        with store.read("big.bin") as s:
            while s.read(CHUNK):
                pass

    for r in range(rounds):
        order = [("raw", raw_up, raw_down), ("store", store_up, store_down)]
        if r % 2:
            order.reverse()
        for side, u, d in order:
            up[side].append(size / _time(u) / 1e6)
            down[side].append(size / _time(d) / 1e6)
    cli = _cli_rates(conn, size)
    if cli is not None:
        up["cli"].append(cli[0])
        down["cli"].append(cli[1])
    store.close()
    sftp.close()
    client.close()
    return {
        "upload": {k: max(v) for k, v in up.items() if v},
        "download": {k: max(v) for k, v in down.items() if v},
    }


def _cli_rates(conn: dict[str, Any], size: int) -> tuple[float, float] | None:
    """Upload/download MB/s of the OpenSSH ``sftp -b`` client (local file on a temp dir)."""
    exe = shutil.which("sftp")
    if exe is None:
        return None
    tmp = Path(tempfile.mkdtemp(prefix="rs-bench-cli-"))
    try:
        src = tmp / "src.bin"
        with open(src, "wb") as f:
            for chunk in _chunks(size):
                f.write(chunk)
        args = [
            exe,
            "-q",
            "-i",
            conn["client_key"],
            "-P",
            str(conn["port"]),
            "-o",
            f"UserKnownHostsFile={conn['known_hosts']}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-b",
            "-",
            f"{conn['username']}@{conn['host']}",
        ]

        def run(batch: str) -> float:
            t0 = time.perf_counter()
            subprocess.run(args, input=batch.encode(), check=True, capture_output=True)
            return time.perf_counter() - t0

        t_up = run(f"put {src} {conn['base']}/cli.bin\n")
        t_down = run(f"get {conn['base']}/cli.bin {tmp / 'dst.bin'}\n")
        return size / t_up / 1e6, size / t_down / 1e6
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rss_child(conn: dict[str, Any], size: int) -> int:
    """In a fresh process: stream ``size`` bytes up and down through the backend; return peak RSS (KiB)."""
    from remote_store import Store

    store = Store(_backend(conn))
    store.write("rss.bin", _chunks(size), overwrite=True)
    n = 0
    with store.read("rss.bin") as s:
        while chunk := s.read(CHUNK):
            n += len(chunk)
    assert n == size
    store.delete("rss.bin")
    store.close()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_rss(conn: dict[str, Any], sizes: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for size in sizes:
        proc = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(size), "--conn", json.dumps(conn)],
            check=True,
            capture_output=True,
            text=True,
        )
        out[size] = int(proc.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--small-n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--conn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child is not None:
        print(rss_child(json.loads(args.conn), args.rss_child))
        return

    from testing.servers.sftp import openssh_server

    with openssh_server() as srv:
        conn = {
            "host": srv.host,
            "port": srv.port,
            "username": srv.username,
            "client_key": srv.client_key,
            "known_hosts": srv.known_hosts,
            "base": srv.unique_base("bench"),
        }
        import paramiko

        print(f"# SFTP benchmark: OpenSSH sshd on 127.0.0.1:{srv.port}, paramiko {paramiko.__version__}")
        small = bench_small(conn, args.small_n, args.rounds)
        print(f"\n## 1 KiB operations (median per op over {args.rounds} x {args.small_n}, calls interleaved)")
        print(f"{'op':<10}{'raw paramiko':>12}{'remote-store':>14}{'ratio':>8}  target <= 1.05")
        for op, v in small.items():
            print(f"{op:<10}{v['raw'] * 1e3:>9.3f} ms{v['store'] * 1e3:>11.3f} ms{v['store'] / v['raw']:>8.3f}")
        print("(write-tmp: raw paramiko direct write vs raw paramiko temp file + posix-rename, the publish cost)")
        size = args.big_mib * MiB
        big = bench_big(conn, size, args.rounds)
        print(f"\n## {args.big_mib} MiB transfer (MB/s, best of {args.rounds}; the OpenSSH sftp CLI is the ceiling)")
        print(
            f"{'dir':<10}{'raw paramiko':>14}{'remote-store':>14}{'ratio':>8}{'sftp CLI':>10}{'vs CLI':>8}  target ratio >= 1.0"
        )
        for direction, v in big.items():
            cli = f"{v['cli']:>10.1f}" if "cli" in v else f"{'n/a':>10}"
            vs_cli = f"{v['store'] / v['cli']:>8.3f}" if "cli" in v else f"{'n/a':>8}"
            print(f"{direction:<10}{v['raw']:>14.1f}{v['store']:>14.1f}{v['store'] / v['raw']:>8.3f}{cli}{vs_cli}")
        rss = bench_rss(conn, [64 * MiB, args.big_mib * MiB])
        print("\n## peak RSS of a fresh process streaming the file up and down")
        for sz, kib in rss.items():
            print(f"{sz // MiB:>5} MiB file: {kib / 1024:7.1f} MiB RSS")
        sizes = sorted(rss)
        print(
            f"RSS growth {sizes[0] // MiB} -> {sizes[-1] // MiB} MiB: {(rss[sizes[-1]] - rss[sizes[0]]) / 1024:+.1f} MiB"
        )
        summary = {
            "small_ratio": {op: round(v["store"] / v["raw"], 3) for op, v in small.items()},
            "big_ratio": {d: round(v["store"] / v["raw"], 3) for d, v in big.items()},
            "big_vs_cli": {d: round(v["store"] / v["cli"], 3) for d, v in big.items() if "cli" in v},
            "rss_mib": {sz // MiB: round(kib / 1024, 1) for sz, kib in rss.items()},
        }
        print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
