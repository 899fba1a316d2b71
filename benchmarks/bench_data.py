"""Benchmark: the data stack (PyArrow / pandas over remote-store) against PyArrow's and s3fs's own S3 clients, on moto.

Starts its own moto S3 server (``testing.servers.s3.moto_s3_server``), uploads one ~64 MiB
Parquet file (8 float64 columns, uncompressed, 8 row groups) and times, in the same run and
in interleaved rounds (the order of the sides rotates each round, so machine noise hits all
of them alike):

* **one column** (1/8 of the file), ``pyarrow.parquet.read_table(columns=["c3"])``: through
  ``pyarrow_fs(store)`` vs ``pyarrow.fs.S3FileSystem`` (target <= 1.1x) and vs s3fs
  (target <= 1.0x);
* **the whole file**, ``pandas.read_parquet``: ``"rs://STORE/key"`` vs ``"s3://bucket/key"``
  through s3fs (target <= 1.1x); also ``filesystem=pyarrow_fs(store)`` vs
  ``filesystem=pyarrow.fs.S3FileSystem``.

s3fs cannot be installed beside the workspace's pinned botocore, so its side runs in a
throwaway environment (``uv run --isolated --no-project --with s3fs --with pandas==<ours>
--with pyarrow==<ours>``) as a subprocess against the same moto server; it times each call
itself and reports the seconds over a pipe, one command per round. ``--no-s3fs`` skips it.

Before timing, every side reads once through a counting HTTP proxy (``testing.faults.FaultProxy``)
and the HEAD/GET requests of that one read are printed: request counts do not depend on
the machine load, times do. Median and best of ``--repeat`` rounds and the load average
are printed.

Usage: ``uv run --all-packages python benchmarks/bench_data.py [--mib 64] [--repeat 7] [--no-s3fs]``
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from remote_store import Store  # noqa: E402
from remote_store_ext.arrow import pyarrow_fs  # noqa: E402
from remote_store_s3 import S3Backend  # noqa: E402
from testing.faults import FaultProxy  # noqa: E402
from testing.servers.s3 import MotoS3Server, moto_s3_server  # noqa: E402

MiB = 1024 * 1024
COLUMNS = 8

#: The s3fs side, run in its own environment. argv: endpoint proxy_endpoint bucket key
#: access_key secret region. Reads commands from stdin ("one", "full", "count-one",
#: "count-full", "version"), answers each with one line: the seconds the call took.
S3FS_WORKER = r"""
import sys, time
import pandas as pd, pyarrow.parquet as pq, s3fs
endpoint, proxy, bucket, key, key_id, secret, region = sys.argv[1:8]
def opts(ep):
    return {"key": key_id, "secret": secret, "endpoint_url": ep, "client_kwargs": {"region_name": region}}
fs = {endpoint: s3fs.S3FileSystem(**opts(endpoint)), proxy: s3fs.S3FileSystem(**opts(proxy))}
def one(ep):
    pq.read_table(f"{bucket}/{key}", filesystem=fs[ep], columns=["c3"])
def full(ep):
    pd.read_parquet(f"s3://{bucket}/{key}", storage_options=opts(ep))
print("ready", s3fs.__version__, flush=True)
for line in sys.stdin:
    cmd = line.strip()
    ep = proxy if cmd.startswith("count-") else endpoint
    t0 = time.perf_counter()
    (one if cmd.endswith("one") else full)(ep)
    print(time.perf_counter() - t0, flush=True)
"""


def make_parquet(mib: int) -> bytes:
    import numpy as np

    rows = mib * MiB // (COLUMNS * 8)
    rng = np.random.default_rng(1)
    cols = {f"c{i}": pa.array(rng.random(rows), pa.float64()) for i in range(COLUMNS)}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="none", use_dictionary=False, row_group_size=max(1, rows // 8))
    return buf.getvalue()


def arrow_s3(server: MotoS3Server, endpoint: str) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        access_key=server.access_key_id,
        secret_key=server.secret_access_key,
        region=server.region,
        endpoint_override=endpoint.split("://", 1)[1],
        scheme="http",
    )


class S3fsSide:
    """The s3fs worker subprocess (see `S3FS_WORKER`)."""

    def __init__(self, server: MotoS3Server, proxy_url: str, bucket: str, key: str) -> None:
        versions = [f"pandas=={pd.__version__}", f"pyarrow=={pa.__version__}"]
        cmd = ["uv", "run", "--isolated", "--no-project", "--quiet", "--with", "s3fs"]
        for v in versions:
            cmd += ["--with", v]
        cmd += ["python", "-c", S3FS_WORKER, server.endpoint_url, proxy_url, bucket, key]
        cmd += [server.access_key_id, server.secret_access_key, server.region]
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tempfile.gettempdir()
        )
        assert self._proc.stdout is not None
        ready = self._proc.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("the s3fs worker did not start (see its stderr above)")
        self.version = ready[1]

    def call(self, command: str) -> float:
        """Run ``command`` in the worker; return the seconds it measured."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the s3fs worker died during {command!r}")
        return float(line)

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=60)


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def requests_of(proxy: FaultProxy, fn: Callable[[], object]) -> str:
    """``"3 HEAD + 9 GET"``: the requests one call of ``fn`` sent through ``proxy``."""
    proxy.requests.clear()
    fn()
    counts = collections.Counter(method for method, _ in proxy.requests)
    proxy.requests.clear()
    return " + ".join(f"{n} {m}" for m, n in sorted(counts.items(), reverse=True)) or "none"


def named_store_config(tmp: str, bucket: str, server: MotoS3Server, endpoint: str, name: str) -> str:
    return (
        f'[backends.{name}]\ntype = "s3"\noptions.bucket = "{bucket}"\n'
        f'options.endpoint_url = "{endpoint}"\noptions.region = "{server.region}"\n'
        f'options.access_key_id = "{server.access_key_id}"\n'
        f'options.secret_access_key = "{server.secret_access_key}"\n'
        f'[stores.{name}]\nbackend = "{name}"\n'
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=7, help="interleaved timing rounds (default 7)")
    ap.add_argument("--no-s3fs", action="store_true", help="skip the s3fs subprocess")
    args = ap.parse_args()

    data = make_parquet(args.mib)
    key = "bench/wide.parquet"
    with moto_s3_server() as server, tempfile.TemporaryDirectory() as tmp:
        bucket = server.create_bucket()
        server.client().put_object(Bucket=bucket, Key=key, Body=data)
        proxy = FaultProxy(int(server.endpoint_url.rsplit(":", 1)[1]))
        cfg = Path(tmp) / "remote-store.toml"
        cfg.write_text(
            named_store_config(tmp, bucket, server, server.endpoint_url, "bench")
            + named_store_config(tmp, bucket, server, proxy.url, "counted")
        )
        os.environ["REMOTE_STORE_CONFIG"] = str(cfg)

        def store_at(endpoint: str) -> Store:
            return Store(S3Backend(**{**server.backend_options(bucket), "endpoint_url": endpoint}))

        ours, ours_c = store_at(server.endpoint_url), store_at(proxy.url)
        ours_fs, ours_fs_c = pyarrow_fs(ours), pyarrow_fs(ours_c)
        arrow_fs, arrow_fs_c = arrow_s3(server, server.endpoint_url), arrow_s3(server, proxy.url)
        path = f"{bucket}/{key}"

        sfs: S3fsSide | None = None
        if not args.no_s3fs:
            try:
                sfs = S3fsSide(server, proxy.url, bucket, key)
            except (OSError, RuntimeError) as exc:
                print(f"s3fs side unavailable: {exc}")

        one: dict[str, Callable[[], float]] = {
            "pyarrow_fs(store)": lambda: timed(lambda: pq.read_table(key, filesystem=ours_fs, columns=["c3"])),
            "pyarrow S3FileSystem": lambda: timed(lambda: pq.read_table(path, filesystem=arrow_fs, columns=["c3"])),
        }
        full: dict[str, Callable[[], float]] = {
            "rs:// (fsspec bridge)": lambda: timed(lambda: pd.read_parquet(f"rs://bench/{key}")),
            "pyarrow_fs(store)": lambda: timed(lambda: pd.read_parquet(key, filesystem=ours_fs)),
            "pyarrow S3FileSystem": lambda: timed(lambda: pd.read_parquet(path, filesystem=arrow_fs)),
        }
        counted = {
            ("one", "pyarrow_fs(store)"): lambda: pq.read_table(key, filesystem=ours_fs_c, columns=["c3"]),
            ("one", "pyarrow S3FileSystem"): lambda: pq.read_table(path, filesystem=arrow_fs_c, columns=["c3"]),
            ("full", "rs:// (fsspec bridge)"): lambda: pd.read_parquet(f"rs://counted/{key}"),
            ("full", "pyarrow_fs(store)"): lambda: pd.read_parquet(key, filesystem=ours_fs_c),
            ("full", "pyarrow S3FileSystem"): lambda: pd.read_parquet(path, filesystem=arrow_fs_c),
        }
        if sfs is not None:
            side = sfs
            one["s3fs"] = lambda: side.call("one")
            full["s3:// (s3fs)"] = lambda: side.call("full")
            counted["one", "s3fs"] = lambda: side.call("count-one")
            counted["full", "s3:// (s3fs)"] = lambda: side.call("count-full")

        # Warm-up (connections, the named store, the worker's imports), then one counted read per side.
        for fn in [*one.values(), *full.values()]:
            fn()
        for warm in counted.values():
            warm()
        counts = {case: requests_of(proxy, fn) for case, fn in counted.items()}

        times: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
        for i in range(args.repeat):
            for case, sides in (("one", one), ("full", full)):
                order = list(sides.items())
                shift = i % len(order)
                for name, fn in order[shift:] + order[:shift]:
                    times[case, name].append(fn())
        load = os.getloadavg()
        if sfs is not None:
            sfs.close()
        for s in (ours, ours_c):
            s.close()
        proxy.close()

    print(
        f"file: {len(data) / MiB:.1f} MiB, {COLUMNS} columns; {args.repeat} interleaved rounds;"
        f" load {load[0]:.1f} / {load[1]:.1f}; s3fs {sfs.version if sfs else 'not run'}"
    )
    print(f"{'case':<34} {'median ms':>10} {'best ms':>9}  requests of one read")
    for (case, name), values in times.items():
        label = f"{'one column' if case == 'one' else 'full file'}: {name}"
        print(f"{label:<34} {statistics.median(values) * 1000:10.1f} {min(values) * 1000:9.1f}  {counts[case, name]}")

    def ratio(case: str, a: str, b: str, target: float) -> None:
        if (case, a) not in times or (case, b) not in times:
            return
        med = statistics.median(times[case, a]) / statistics.median(times[case, b])
        best = min(times[case, a]) / min(times[case, b])
        verdict = "ok" if med <= target else f"ABOVE target {target}x"
        print(f"  {case:<4} {a} / {b}: median {med:.2f}x, best {best:.2f}x (target <= {target}x: {verdict})")

    print("ratios:")
    ratio("one", "pyarrow_fs(store)", "pyarrow S3FileSystem", 1.1)
    ratio("one", "pyarrow_fs(store)", "s3fs", 1.0)
    ratio("full", "rs:// (fsspec bridge)", "s3:// (s3fs)", 1.1)
    ratio("full", "rs:// (fsspec bridge)", "pyarrow S3FileSystem", 1.1)
    ratio("full", "pyarrow_fs(store)", "pyarrow S3FileSystem", 1.1)


if __name__ == "__main__":
    main()
