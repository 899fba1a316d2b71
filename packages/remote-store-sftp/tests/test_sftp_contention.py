"""16 threads hammering overlapping keys on one backend: no torn read, only typed errors, no leftovers.

The run lasts ``REMOTE_STORE_SOAK_SECONDS`` (default 3) and at least ``MIN_OPS`` operations in
total, so CI runs a bounded sample and a soak run is one environment variable away.
"""

from __future__ import annotations

import hashlib
import os
import random
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from remote_store import Store
from remote_store.errors import AlreadyExists, NotFound
from remote_store_sftp import SFTPBackend
from testing.servers.sftp import SFTPServer

Make = Callable[..., SFTPBackend]
THREADS = 16
MIN_OPS = 1_000
KEYS = ["k0", "k1", "d/k2", "d/k3", "d/e/k4"]
_HEAD = struct.Struct(">I16s")


def _payload(rng: random.Random) -> bytes:
    """A self-checking payload: length + MD5 of the body, then the body (1 B .. 3 MB)."""
    n = rng.choice([1, 100, 3_000, 40_000, 172_212, 200_000, 200_000, 3_000_000])
    body = rng.randbytes(n)
    return _HEAD.pack(n, hashlib.md5(body).digest()) + body


def _intact(data: bytes) -> bool:
    if len(data) < _HEAD.size:
        return False
    n, digest = _HEAD.unpack_from(data)
    body = data[_HEAD.size :]
    return len(body) == n and hashlib.md5(body).digest() == digest


def _soak_seconds() -> float:
    return float(os.environ.get("REMOTE_STORE_SOAK_SECONDS", "3"))


def test_mixed_ops_on_overlapping_keys_never_tear(
    make_backend: Make, sftp_server_session: SFTPServer, sftp_base: str
) -> None:
    store = Store(make_backend(max_channels=8))
    for key in KEYS:
        store.write_atomic(key, _payload(random.Random(key)), overwrite=True)
    deadline = time.monotonic() + _soak_seconds()
    lock = threading.Lock()
    counts = {"ops": 0, "reads": 0, "torn": 0, "expected_errors": 0}
    unexpected: list[BaseException] = []
    slowest: list[tuple[float, str]] = []

    def one(rng: random.Random) -> None:
        op = rng.choice(["write_atomic", "write_atomic", "read", "read", "read", "stream", "peek", "move", "write"])
        key, other = rng.sample(KEYS, 2)
        t0 = time.monotonic()
        try:
            if op == "write_atomic":
                store.write_atomic(key, _payload(rng), overwrite=True)
            elif op == "write":
                store.write(key, _payload(rng), overwrite=True)
            elif op == "read":
                data = store.read_bytes(key)
                with lock:
                    counts["reads"] += 1
                    counts["torn"] += not _intact(data)
            elif op == "stream":
                with store.read(key) as s:
                    data = s.read()
                with lock:
                    counts["reads"] += 1
                    counts["torn"] += not _intact(data)
            elif op == "peek":  # close with READs still in flight; the channel goes back to the pool
                with store.read(key) as s:
                    head = s.read(_HEAD.size)
                    s.seek(rng.randrange(1, 1 << 20))
                    s.read(1000)
                with lock:
                    counts["torn"] += len(head) != _HEAD.size
            else:
                store.move(key, other, overwrite=rng.random() < 0.5)
        except (NotFound, AlreadyExists):
            with lock:
                counts["expected_errors"] += 1
        elapsed = time.monotonic() - t0
        with lock:
            counts["ops"] += 1
            slowest.append((elapsed, op))

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            while time.monotonic() < deadline or counts["ops"] < MIN_OPS:
                one(rng)
        except BaseException as exc:
            unexpected.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    wall = time.monotonic() - started
    slowest.sort(reverse=True)
    print(f"\nsoak: {counts} in {wall:.1f}s; slowest ops: {[(round(s, 2), op) for s, op in slowest[:5]]}")
    assert not unexpected, [repr(e) for e in unexpected[:5]]
    assert counts["ops"] >= MIN_OPS
    assert counts["reads"] > 0 and counts["torn"] == 0
    # nothing but the keys remains on disk: no temp file of any write
    local = Path(sftp_server_session.local_path(sftp_base))
    leftovers = [p.name for p in local.rglob("*") if p.is_file() and p.name.startswith(".~rs-")]
    assert leftovers == []
