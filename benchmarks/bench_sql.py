"""Benchmark: remote-store-sql (``sql-blob``) vs raw SQLAlchemy Core statements on the same tables.

For each database (SQLite file, PostgreSQL, MariaDB when reachable) and in the same run, the
same work is done through `Store` and through hand-written SQLAlchemy Core statements on the
backend's own tables and engine; the table prints per-operation times and the ratio
(target <= 1.2x):

* 1 KiB write: ``store.write(key, data)`` vs one transaction of ``INSERT`` file row +
  ``INSERT`` chunk row; and again vs the same transaction plus the folder/file placement
  lookup the backend must do (``write 1 KiB (checked)``: same guarantees on both sides),
* 1 KiB read: ``store.read_bytes`` vs ``SELECT data FROM files JOIN chunks WHERE key = ?``,
* exists: ``store.exists`` vs ``SELECT 1 FROM files WHERE key = ?``,
* stream of a 4-chunk (4 x 64 KiB) file: ``store.read(key).read()`` (a snapshot transaction
  held for the stream, so concurrent writers cannot tear it) vs one ``SELECT`` of the chunks,
* listing 10,000 files: ``list(store.list_files(prefix, recursive=True))`` vs one
  ``SELECT … WHERE key >= ? AND key < ? ORDER BY key`` fetched whole as rows, and vs the same
  rows turned into the same `FileInfo` objects (``(FileInfo)``: same output on both sides),

then a 256 MiB streamed write and read in a fresh process (MB/s and peak RSS growth).
Small operations alternate between the two sides in rounds, so load on the machine hits
both alike; the best round of each side is reported.

Usage::

    uv run --all-packages python benchmarks/bench_sql.py [--small N] [--list N] [--big-mib N]
        [--dialects sqlite,postgresql,mysql]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

from remote_store import FileInfo, Store  # noqa: E402
from remote_store_sql import SQLBlobBackend  # noqa: E402
from testing.servers.sql import mysql_url_from_env, pg_url_from_env, probe  # noqa: E402

MiB = 1024 * 1024
TARGET = 1.2
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


#: Clock for the small operations. SQLite runs inside this process, so its CPU time is the
#: cost and is not inflated by other load on the machine; servers need wall time.
CLOCK: Callable[[], float] = time.perf_counter


def best_round(fn: Callable[[int], None], rounds: int, per_round: int) -> float:
    """Seconds per call of the fastest round (``fn(i)`` is called ``per_round`` times per round)."""
    best = float("inf")
    for r in range(rounds):
        start = CLOCK()
        for i in range(per_round):
            fn(r * per_round + i)
        best = min(best, (CLOCK() - start) / per_round)
    return best


def interleaved(
    ours: Callable[[int], None], raw: Callable[[int], None], rounds: int, per_round: int
) -> tuple[float, float]:
    """Alternate rounds of both sides; return each side's best seconds per call."""
    best_ours = best_raw = float("inf")
    for r in range(rounds):
        best_raw = min(best_raw, best_round(lambda i, r=r: raw(r * per_round + i), 1, per_round))
        best_ours = min(best_ours, best_round(lambda i, r=r: ours(r * per_round + i), 1, per_round))
    return best_ours, best_raw


def bench_small(url: str, n: int, n_list: int) -> list[tuple[str, float, float]]:
    backend = SQLBlobBackend(url, table_prefix=f"b{uuid.uuid4().hex[:10]}_")
    store = Store(backend)
    # The raw side uses a plain engine (SQLAlchemy defaults: no pre-ping, no timeouts) on the
    # same database, so the ratios include what pre-ping and the snapshot reads cost.
    if backend.engine.dialect.name == "sqlite":
        engine = backend.engine
    else:
        engine = sa.create_engine(
            url, **({"isolation_level": "READ COMMITTED"} if backend.engine.dialect.name == "mysql" else {})
        )
    files, chunks = backend.tables.files, backend.tables.chunks
    data = os.urandom(1024)
    etag = hashlib.md5(data).hexdigest()
    results: list[tuple[str, float, float]] = []
    try:
        store.write("warm/up", data)
        insert_file, insert_chunk = files.insert(), chunks.insert()

        def raw_write(i: int) -> None:
            blob = uuid.uuid4().hex
            now = time.time_ns() // 1000
            with engine.begin() as conn:
                conn.execute(
                    insert_file,
                    {
                        "key": f"raw/w{i}",
                        "blob_id": blob,
                        "size": len(data),
                        "chunk_size": 1 << 20,
                        "modified_us": now,
                        "etag": hashlib.md5(data).hexdigest(),
                        "user_metadata": None,
                    },
                )
                conn.execute(insert_chunk, {"blob_id": blob, "seq": 0, "data": data})

        def ours_write(i: int) -> None:
            store.write(f"ours/w{i}", data)

        rounds, per = 20, max(1, n // 20)
        results.append(("write 1 KiB", *interleaved(ours_write, raw_write, rounds, per)))

        # The same write with the guarantee Store gives: the row goes in only if no parent is a
        # file and the key is not a folder (one more indexed lookup inside the transaction).
        k = files.c.key
        conflict = sa.select(sa.literal(1)).where(
            sa.or_(k == sa.bindparam("parent"), sa.and_(k >= sa.bindparam("lo"), k < sa.bindparam("hi")))
        )

        def raw_write_checked(i: int) -> None:
            blob = uuid.uuid4().hex
            now = time.time_ns() // 1000
            key = f"rawc/w{i}"
            with engine.begin() as conn:
                if conn.execute(conflict, {"parent": "rawc", "lo": key + "/", "hi": key + "0"}).first():
                    raise RuntimeError("placement conflict")
                conn.execute(
                    insert_file,
                    {
                        "key": key,
                        "blob_id": blob,
                        "size": len(data),
                        "chunk_size": 1 << 20,
                        "modified_us": now,
                        "etag": hashlib.md5(data).hexdigest(),
                        "user_metadata": None,
                    },
                )
                conn.execute(insert_chunk, {"blob_id": blob, "seq": 0, "data": data})

        def ours_write2(i: int) -> None:
            store.write(f"ours2/w{i}", data)

        results.append(("write 1 KiB (checked)", *interleaved(ours_write2, raw_write_checked, rounds, per)))

        read_stmt = (
            sa.select(chunks.c.data)
            .select_from(files.join(chunks, chunks.c.blob_id == files.c.blob_id))
            .where(files.c.key == sa.bindparam("key"))
            .order_by(chunks.c.seq)
        )

        def raw_read(i: int) -> None:
            with engine.connect() as conn:
                got = b"".join(bytes(r[0]) for r in conn.execute(read_stmt, {"key": f"raw/w{i % (rounds * per)}"}))
            assert len(got) == 1024

        def ours_read(i: int) -> None:
            assert len(store.read_bytes(f"ours/w{i % (rounds * per)}")) == 1024

        results.append(("read 1 KiB", *interleaved(ours_read, raw_read, rounds, per)))

        exists_stmt = sa.select(sa.literal(1)).select_from(files).where(files.c.key == sa.bindparam("key"))

        def raw_exists(i: int) -> None:
            with engine.connect() as conn:
                assert conn.execute(exists_stmt, {"key": f"raw/w{i % (rounds * per)}"}).first() is not None

        def ours_exists(i: int) -> None:
            assert store.exists(f"ours/w{i % (rounds * per)}")

        results.append(("exists", *interleaved(ours_exists, raw_exists, rounds, per)))

        # 10,000 files under one prefix, inserted in bulk (the listing is what is measured).
        now = time.time_ns() // 1000
        with engine.begin() as conn:
            conn.execute(
                insert_file,
                [
                    {
                        "key": f"list/d{i % 100:03d}/f{i:06d}.bin",
                        "blob_id": uuid.uuid4().hex,
                        "size": 1024,
                        "chunk_size": 1 << 20,
                        "modified_us": now,
                        "etag": etag,
                        "user_metadata": None,
                    }
                    for i in range(n_list)
                ],
            )
        c = files.c
        list_stmt = (
            sa.select(c.key, c.size, c.modified_us, c.etag, c.user_metadata)
            .where(c.key >= sa.bindparam("lo"), c.key < sa.bindparam("hi"))
            .order_by(c.key)
        )

        def raw_list(_: int) -> None:
            with engine.connect() as conn:
                rows = conn.execute(list_stmt, {"lo": "list/", "hi": "list0"}).all()
            assert len(rows) == n_list

        def ours_list(_: int) -> None:
            assert sum(1 for _ in store.list_files("list", recursive=True)) == n_list

        results.append((f"list {n_list:,} files", *interleaved(ours_list, raw_list, 7, 1)))

        def raw_list_infos(_: int) -> None:
            # The same rows turned into the same FileInfo objects Store returns.
            with engine.connect() as conn:
                infos = [
                    FileInfo(
                        path=key,
                        name=key.rpartition("/")[2],
                        size=size,
                        modified_at=EPOCH + timedelta(microseconds=mod),
                        etag=tag,
                        metadata=json.loads(meta) if meta else {},
                    )
                    for key, size, mod, tag, meta in conn.execute(list_stmt, {"lo": "list/", "hi": "list0"})
                ]
            assert len(infos) == n_list

        results.append((f"list {n_list:,} (FileInfo)", *interleaved(ours_list, raw_list_infos, 7, 1)))

        # A 4-chunk file read as a stream: ours holds one snapshot transaction for the stream
        # (consistent under concurrent writers); raw reads the chunk rows with one SELECT.
        big_chunk = 64 * 1024
        streamed = SQLBlobBackend(url, table_prefix=f"s{uuid.uuid4().hex[:10]}_", chunk_size=big_chunk)
        sstore = Store(streamed)
        payload = os.urandom(4 * big_chunk)
        sstore.write("s.bin", payload)
        sf, sc = streamed.tables.files, streamed.tables.chunks
        stream_stmt = (
            sa.select(sc.c.data)
            .select_from(sf.join(sc, sc.c.blob_id == sf.c.blob_id))
            .where(sf.c.key == "s.bin")
            .order_by(sc.c.seq)
        )

        def raw_stream(_: int) -> None:
            with engine.connect() as conn:
                got = b"".join(bytes(r[0]) for r in conn.execute(stream_stmt))
            assert len(got) == len(payload)

        def ours_stream(_: int) -> None:
            with sstore.read("s.bin") as f:
                assert len(f.read()) == len(payload)

        try:
            results.append(("stream 4x64 KiB chunks", *interleaved(ours_stream, raw_stream, rounds, max(1, per // 4))))
        finally:
            streamed.drop_tables()
            streamed.close()
    finally:
        backend.drop_tables()
        backend.close()
        if engine is not backend.engine:
            engine.dispose()
    return results


_BIG_CHILD = """
import hashlib, json, resource, sys, time
from remote_store import Store
from remote_store_sql import SQLBlobBackend
url, prefix, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
backend = SQLBlobBackend(url, table_prefix=prefix)
store = Store(backend)
store.write("warm.bin", b"w" * (2 << 20)); store.read_bytes("warm.bin")
class Source:
    def __init__(self, n):
        self.left = n; self.block = hashlib.sha256(b"s").digest() * 32768   # 1 MiB
    def read(self, n=-1):
        if self.left <= 0: return b""
        n = self.left if n is None or n < 0 else min(n, self.left)
        out = self.block[:n] if n <= len(self.block) else (self.block * (n // len(self.block) + 1))[:n]
        self.left -= n; return out
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
base = peak()
t = time.perf_counter(); store.write("big.bin", Source(size)); w = time.perf_counter() - t
after_w = peak()
t = time.perf_counter(); n = 0
with store.read("big.bin") as f:
    while True:
        b = f.read(1 << 20)
        if not b: break
        n += len(b)
r = time.perf_counter() - t
assert n == size
print(json.dumps({"write_s": w, "read_s": r, "base_mib": base, "write_peak_mib": after_w, "read_peak_mib": peak()}))
backend.drop_tables(); backend.close()
"""


def bench_big(url: str, size: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", _BIG_CHILD, url, f"g{uuid.uuid4().hex[:10]}_", str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    out: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="1 KiB operations per side (default 1000)")
    parser.add_argument("--list", type=int, default=10_000, help="files in the listing test (default 10,000)")
    parser.add_argument("--big-mib", type=int, default=256, help="size of the streamed file in MiB (0 skips)")
    parser.add_argument("--dialects", default="sqlite,postgresql,mysql", help="comma-separated subset")
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="bench-sql-")
    urls = {
        "sqlite": f"sqlite:///{tmp}/bench.db",
        "postgresql": pg_url_from_env(),
        "mysql": mysql_url_from_env(),
    }
    worst = 0.0
    global CLOCK
    for name in args.dialects.split(","):
        url = urls[name]
        CLOCK = time.process_time if name == "sqlite" else time.perf_counter
        if name != "sqlite" and (reason := probe(url)) is not None:
            print(f"\n== {name}: skipped ({reason})")
            continue
        print(f"\n== {name} ({sa.make_url(url).render_as_string(hide_password=True)})")
        clock = "CPU time (SQLite runs in-process)" if name == "sqlite" else "wall time"
        print(f"small operations: best round, {clock}")
        print(f"{'operation':<24}{'remote-store':>14}{'raw Core':>12}{'ratio':>8}  target")
        for op, ours, raw in bench_small(url, args.small, args.list):
            ratio = ours / raw
            worst = max(worst, ratio)
            unit, scale = ("ms", 1e3) if ours > 1e-3 or raw > 1e-3 else ("µs", 1e6)
            flag = "ok" if ratio <= TARGET else "OVER"
            print(f"{op:<24}{ours * scale:>11.1f} {unit}{raw * scale:>9.1f} {unit}{ratio:>7.2f}x  <= {TARGET}x {flag}")
        if args.big_mib and name in ("sqlite", "postgresql"):
            size = args.big_mib * MiB
            big = bench_big(url, size)
            print(
                f"{args.big_mib} MiB stream: write {size / MiB / big['write_s']:.1f} MB/s, "
                f"read {size / MiB / big['read_s']:.1f} MB/s, peak RSS {big['read_peak_mib']:.0f} MiB "
                f"(growth over a 2 MiB warm-up: write {big['write_peak_mib'] - big['base_mib']:.1f} MiB, "
                f"read {big['read_peak_mib'] - big['base_mib']:.1f} MiB)"
            )
    print(f"\nworst small-operation ratio: {worst:.2f}x (target <= {TARGET}x)")
    for f in Path(tmp).glob("bench.db*"):
        f.unlink()
    os.rmdir(tmp)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
