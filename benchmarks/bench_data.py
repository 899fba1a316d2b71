"""Benchmark: the data stack (PyArrow / pandas over remote-store) against PyArrow's and fsspec's own S3 clients, on moto.

Starts its own moto S3 server (``testing.servers.s3.moto_s3_server``), uploads one ~64 MiB
Parquet file (8 float64 columns, uncompressed, 8 row groups) and prints, in the same run,
median times and the ratio remote-store / baseline:

* one column (1/8 of the file) with ``pyarrow.parquet.read_table(columns=[...])`` through
  ``pyarrow_fs(store)`` vs ``pyarrow.fs.S3FileSystem`` (target <= 1.1x) and vs s3fs when
  importable;
* the whole file with ``pandas.read_parquet("rs://STORE/key")`` vs
  ``pandas.read_parquet("s3://bucket/key")`` through s3fs (target <= 1.1x); without s3fs the
  baseline is ``pandas.read_parquet(..., filesystem=pyarrow.fs.S3FileSystem)``.

Bytes read from GetObject bodies by the remote-store client are printed as well.

Usage: ``uv run --all-packages python benchmarks/bench_data.py [--mib 64] [--repeat 5]``
(s3fs cannot share the workspace's pinned botocore; when it can be installed, add
``--with s3fs``).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.fs as pafs  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from remote_store import Store  # noqa: E402
from remote_store_ext.arrow import pyarrow_fs  # noqa: E402
from remote_store_s3 import S3Backend  # noqa: E402
from testing.servers.s3 import MotoS3Server, moto_s3_server  # noqa: E402

MiB = 1024 * 1024
COLUMNS = 8


def make_parquet(mib: int) -> bytes:
    import numpy as np

    rows = mib * MiB // (COLUMNS * 8)
    rng = np.random.default_rng(1)
    cols = {f"c{i}": pa.array(rng.random(rows), pa.float64()) for i in range(COLUMNS)}
    buf = io.BytesIO()
    pq.write_table(pa.table(cols), buf, compression="none", use_dictionary=False, row_group_size=max(1, rows // 8))
    return buf.getvalue()


def median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (connections, metadata caches of the client under test)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def arrow_s3(server: MotoS3Server) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(
        access_key=server.access_key_id,
        secret_key=server.secret_access_key,
        region=server.region,
        endpoint_override=server.endpoint_url,
        scheme="http",
    )


def s3fs_fs(server: MotoS3Server) -> Any | None:
    try:
        import s3fs
    except ImportError:
        return None
    return s3fs.S3FileSystem(
        key=server.access_key_id,
        secret=server.secret_access_key,
        endpoint_url=server.endpoint_url,
        client_kwargs={"region_name": server.region},
    )


class GetBytes:
    """Bytes the boto3 client reads from GetObject bodies (botocore event hook)."""

    def __init__(self, client: Any) -> None:
        self.bytes = 0
        client.meta.events.register("after-call.s3.GetObject", self._after)

    def _after(self, parsed: Any, **_: Any) -> None:
        body = parsed.get("Body")
        if body is None:
            return
        original = body.read

        def read(amt: int | None = None) -> bytes:
            data: bytes = original(amt)
            self.bytes += len(data)
            return data

        body.read = read


def row(label: str, ours: float, base: float, target: float | None) -> None:
    ratio = ours / base
    verdict = "" if target is None else ("  ok" if ratio <= target else f"  ABOVE target {target}x")
    print(f"{label:<58} {ours * 1000:9.1f} ms {base * 1000:9.1f} ms {ratio:7.2f}x{verdict}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    data = make_parquet(args.mib)
    with moto_s3_server() as server:
        bucket = server.create_bucket()
        key = "bench/wide.parquet"
        server.client().put_object(Bucket=bucket, Key=key, Body=data)
        backend = S3Backend(**server.backend_options(bucket))
        store = Store(backend)
        counter = GetBytes(backend._client())
        ours_fs = pyarrow_fs(store)
        their_fs = arrow_s3(server)
        sfs = s3fs_fs(server)
        print(
            f"file: {len(data) / MiB:.1f} MiB, {COLUMNS} columns; median of {args.repeat}; moto {server.endpoint_url}"
        )
        print(f"{'case':<58} {'remote-store':>12} {'baseline':>12} {'ratio':>8}")

        one = median_time(lambda: pq.read_table(key, filesystem=ours_fs, columns=["c3"]), args.repeat)
        counter.bytes = 0
        pq.read_table(key, filesystem=ours_fs, columns=["c3"])
        one_bytes = counter.bytes
        base = median_time(lambda: pq.read_table(f"{bucket}/{key}", filesystem=their_fs, columns=["c3"]), args.repeat)
        row("one column: pyarrow_fs(store) vs pyarrow.fs.S3FileSystem", one, base, 1.1)
        if sfs is not None:
            b2 = median_time(lambda: pq.read_table(f"{bucket}/{key}", filesystem=sfs, columns=["c3"]), args.repeat)
            row("one column: pyarrow_fs(store) vs s3fs", one, b2, 1.1)
        else:
            print("one column vs s3fs: skipped (s3fs not importable)")
        print(f"  bytes read for one column: {one_bytes / MiB:.1f} MiB of {len(data) / MiB:.1f} MiB")
        # The same with a 64 KiB read-ahead on the S3 stream (default 1 MiB): each ranged read
        # then stops close to the bytes PyArrow asked for.
        small = S3Backend(**server.backend_options(bucket, read_block_size=64 * 1024))
        small_fs = pyarrow_fs(Store(small))
        one_small = median_time(lambda: pq.read_table(key, filesystem=small_fs, columns=["c3"]), args.repeat)
        row("one column, S3 read_block_size=64KiB vs pyarrow S3", one_small, base, 1.1)
        small.close()

        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "remote-store.toml"
            cfg.write_text(
                f'[backends.b]\ntype = "s3"\noptions.bucket = "{bucket}"\n'
                f'options.endpoint_url = "{server.endpoint_url}"\noptions.region = "{server.region}"\n'
                f'options.access_key_id = "{server.access_key_id}"\n'
                f'options.secret_access_key = "{server.secret_access_key}"\n'
                '[stores.bench]\nbackend = "b"\n'
            )
            os.environ["REMOTE_STORE_CONFIG"] = str(cfg)
            full = median_time(lambda: pd.read_parquet(f"rs://bench/{key}"), args.repeat)
            if sfs is not None:
                opts = {
                    "key": server.access_key_id,
                    "secret": server.secret_access_key,
                    "endpoint_url": server.endpoint_url,
                    "client_kwargs": {"region_name": server.region},
                }
                b3 = median_time(lambda: pd.read_parquet(f"s3://{bucket}/{key}", storage_options=opts), args.repeat)
                row("full file: pd.read_parquet rs:// vs s3:// (s3fs)", full, b3, 1.1)
            else:
                b3 = median_time(lambda: pd.read_parquet(f"{bucket}/{key}", filesystem=their_fs), args.repeat)
                row("full file: pd.read_parquet rs:// vs pyarrow S3FileSystem", full, b3, 1.1)
                print("  (s3fs not importable: baseline is PyArrow's own S3 client)")
            full_ours = median_time(lambda: pd.read_parquet(key, filesystem=ours_fs), args.repeat)
            row(
                "full file: pd.read_parquet pyarrow_fs(store) vs pyarrow S3",
                full_ours,
                b3
                if sfs is None
                else median_time(lambda: pd.read_parquet(f"{bucket}/{key}", filesystem=their_fs), args.repeat),
                1.1,
            )
        backend.close()


if __name__ == "__main__":
    main()
