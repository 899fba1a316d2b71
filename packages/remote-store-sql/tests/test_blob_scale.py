"""sql-blob at scale: a 256 MiB file streamed through bounded memory, and 8 threads x 2 processes
sharing one SQLite file. Both run in fresh subprocesses so peak RSS and process isolation are real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from remote_store import Store
from remote_store_sql import SQLBlobBackend
from testing.servers.sql import unique_prefix

REPO = Path(__file__).resolve().parents[3]
MIB = 1024 * 1024

_STREAM_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, resource, sys
    from remote_store import Store
    from remote_store_sql import SQLBlobBackend

    url, prefix, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backend = SQLBlobBackend(url, table_prefix=prefix)
    store = Store(backend)
    store.write("warm-up.bin", b"w" * (2 * 1024 * 1024))   # imports, pool, tables, one multi-chunk write
    store.read_bytes("warm-up.bin")

    def peak_kib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    class Source:
        # A readable stream producing `size` pseudo-random-ish bytes without holding them.
        def __init__(self, n):
            self.left = n
            self.block = hashlib.sha256(b"seed").digest() * 2048   # 64 KiB pattern
            self.md5 = hashlib.md5()
        def read(self, n=-1):
            if self.left <= 0:
                return b""
            n = self.left if n is None or n < 0 else min(n, self.left)
            reps = n // len(self.block) + 1
            out = (self.block * reps)[:n]
            self.left -= n
            self.md5.update(out)
            return out

    base = peak_kib()
    src = Source(size)
    result = store.write("big/file.bin", src)
    after_write = peak_kib()
    md5 = hashlib.md5()
    total = 0
    with store.read("big/file.bin") as f:
        while True:
            block = f.read(1024 * 1024)
            if not block:
                break
            md5.update(block)
            total += len(block)
    after_read = peak_kib()
    print(json.dumps({
        "size": result.size, "etag": result.etag, "source_md5": src.md5.hexdigest(),
        "read_md5": md5.hexdigest(), "read_total": total,
        "write_growth_mib": (after_write - base) / 1024, "read_growth_mib": (after_read - base) / 1024,
    }))
    backend.drop_tables()
    backend.close()
    """
)


def _run_stream(url: str, size: int) -> dict[str, float | str | int]:
    proc = subprocess.run(
        [sys.executable, "-c", _STREAM_SCRIPT, url, unique_prefix(), str(size)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out: dict[str, float | str | int] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_256_mib_streams_in_and_out_with_bounded_memory(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'big.db'}" if dialect == "sqlite" else request.getfixturevalue("postgres_url")
    out = _run_stream(url, 256 * MIB)
    assert out["size"] == out["read_total"] == 256 * MIB
    assert out["etag"] == out["source_md5"] == out["read_md5"]
    # The whole file is 256 MiB; a streaming path stays within a few chunks of it.
    assert float(out["write_growth_mib"]) < 48, out
    assert float(out["read_growth_mib"]) < 48, out


_WORKER_SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    from remote_store import Store
    from remote_store.errors import AlreadyExists
    from remote_store_sql import SQLBlobBackend

    url, prefix, proc_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    backend = SQLBlobBackend(url, table_prefix=prefix, chunk_size=1024)
    store = Store(backend)
    won, errors = [], []
    start = threading.Barrier(8)

    def work(t):
        try:
            start.wait()
            for i in range(25):
                key = f"p{proc_id}/t{t}/f{i}.bin"
                data = f"{proc_id}-{t}-{i}".encode() * 100
                store.write(key, data)
                assert store.read_bytes(key) == data
                store.write("shared/hot.bin", bytes([proc_id * 8 + t]) * 3000, overwrite=True)
                hot = store.read_bytes("shared/hot.bin")
                assert len(hot) == 3000 and len(set(hot)) == 1, "torn read of shared/hot.bin"
                if i % 5 == 0:
                    sum(1 for _ in store.list_files("", recursive=True))
            try:
                store.write("shared/once.bin", f"{proc_id}-{t}".encode(), overwrite=False)
                won.append(f"{proc_id}-{t}")
            except AlreadyExists:
                pass
        except BaseException as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(json.dumps({"won": won, "errors": errors}))
    """
)


def test_8_threads_x_2_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    prefix = unique_prefix()
    SQLBlobBackend(url, table_prefix=prefix).create_tables()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER_SCRIPT, url, prefix, str(p)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        for p in range(2)
    ]
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    assert [r["errors"] for r in results] == [[], []]
    winners = [w for r in results for w in r["won"]]
    assert len(winners) == 1, winners

    backend = SQLBlobBackend(url, table_prefix=prefix, chunk_size=1024)
    store = Store(backend)
    assert store.read_bytes("shared/once.bin") == winners[0].encode()
    files = {i.path for i in store.list_files("", recursive=True)}
    expected = {f"p{p}/t{t}/f{i}.bin" for p in range(2) for t in range(8) for i in range(25)}
    assert files == expected | {"shared/hot.bin", "shared/once.bin"}
    for p in range(2):
        for t in range(8):
            assert store.read_bytes(f"p{p}/t{t}/f24.bin") == f"{p}-{t}-24".encode() * 100
    with backend.engine.connect() as conn:
        chunks = conn.execute(sa.select(sa.func.count()).select_from(backend.tables.chunks)).scalar()
    # 400 files of 500-600 bytes (1 chunk each), hot.bin (3 chunks), once.bin (1 chunk): no orphans.
    assert chunks == 400 + 3 + 1
    backend.drop_tables()
    backend.close()
