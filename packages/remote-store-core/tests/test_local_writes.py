"""LocalBackend writes publish whole: SIGKILLed writers, racing threads, temp-file garbage.

``REMOTE_STORE_SOAK_SECONDS`` does not apply here; the kill trials are a bounded sample
(``REMOTE_STORE_KILL_TRIALS``, default 40 per scenario).
"""

from __future__ import annotations

import os
import random
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from remote_store import AlreadyExists, NotFound, RemoteStoreError, Store
from remote_store.backends import LocalBackend
from remote_store.backends._local_sys import openat2_available

SIZE = 2 * 1024 * 1024
TEMP_RE = re.compile(r"^\.~rs-(\d+)-(\d+)-[0-9a-f]{8}-.*\.tmp$")


@pytest.fixture(params=["openat2", "walk"])
def resolver(request: pytest.FixtureRequest) -> str:
    if request.param == "openat2" and not openat2_available():
        pytest.skip("openat2 is not available on this kernel")
    return str(request.param)


def _payload(gen: int, size: int = SIZE) -> bytes:
    return (b"%015d\n" % gen) * (size // 16)


def _check_whole(data: bytes, size: int = SIZE) -> bool:
    return len(data) == size and data == data[:16] * (size // 16)


def _kill_trials() -> int:
    return int(os.environ.get("REMOTE_STORE_KILL_TRIALS", "40"))


def _writer_child(root: Path, resolver: str, overwrite: bool, ready_w: int) -> None:
    """Runs in a forked child: write generations until killed."""
    try:
        store = Store(LocalBackend(root, resolver=resolver))
        gen = int(time.time() * 1000) % 10**9
        os.write(ready_w, b"r")
        while True:
            gen += 1
            key = "k.bin" if overwrite else f"new/k{gen}.bin"
            store.write(key, _payload(gen), overwrite=overwrite)
    finally:
        os._exit(0)


def _kill_during_writes(root: Path, resolver: str, overwrite: bool, rng: random.Random) -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        _writer_child(root, resolver, overwrite, w)
    os.close(w)
    assert os.read(r, 1) == b"r"
    os.close(r)
    time.sleep(rng.uniform(0.0, 0.03))
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@pytest.mark.parametrize("overwrite", [True, False], ids=["overwrite", "first-write"])
def test_sigkill_mid_write_never_tears_or_loses(tmp_path: Path, resolver: str, overwrite: bool) -> None:
    root = tmp_path / "root"
    store = Store(LocalBackend(root, resolver=resolver))
    store.write("k.bin", _payload(1))
    rng = random.Random(1234)
    trials = _kill_trials()
    torn = 0
    for _ in range(trials):
        _kill_during_writes(root, resolver, overwrite, rng)
        keys = ["k.bin"] + ([i.path for i in store.list_files("new")] if not overwrite else [])
        for key in keys:
            if not _check_whole(store.read_bytes(key)):
                torn += 1
            if key != "k.bin":
                store.delete(key)  # keep the disk use bounded
    names = os.listdir(root) + (os.listdir(root / "new") if (root / "new").exists() else [])
    leftovers = [n for n in names if n.startswith(".~rs-")]
    print(
        f"\n{trials} SIGKILLs ({resolver}, {'overwrite' if overwrite else 'first write'}): {torn} torn, "
        f"{len(leftovers)} temp files left behind"
    )
    assert torn == 0
    assert _check_whole(store.read_bytes("k.bin"))  # the old file survived every kill
    # leftovers are never listed, carry pid + timestamp, and collect_garbage removes them
    for n in leftovers:
        m = TEMP_RE.match(n)
        assert m is not None, n
        assert abs(int(m.group(2)) - time.time()) < 3600
    listed = {i.name for i in store.list_files("", recursive=True)}
    assert not any(n.startswith(".~rs-") for n in listed)
    removed = store.backend.collect_garbage("", older_than=0)
    assert removed == len(leftovers)
    names = os.listdir(root) + (os.listdir(root / "new") if (root / "new").exists() else [])
    assert not [n for n in names if n.startswith(".~rs-")]


def test_sixteen_threads_never_see_a_torn_file(tmp_path: Path, resolver: str) -> None:
    store = Store(LocalBackend(tmp_path / "root", resolver=resolver))
    keys = ["a.bin", "b.bin", "d/c.bin", "d/e/f.bin"]
    for i, k in enumerate(keys):
        store.write(k, _payload(i, 64 * 1024 + 16 * i))
    torn: list[str] = []
    counts = {"ops": 0, "reads": 0}
    lock = threading.Lock()

    def whole(data: bytes) -> bool:
        return len(data) % 16 == 0 and len(data) >= 16 and data == data[:16] * (len(data) // 16)

    def worker(tid: int) -> None:
        rng = random.Random(tid)
        n_reads = 0
        for i in range(1000):
            key = rng.choice(keys)
            op = rng.randrange(8)
            try:
                if op in (0, 1):
                    store.write(key, _payload(tid * 10**6 + i, 16 * rng.randrange(1, 4096)), overwrite=True)
                elif op == 2:
                    data = store.read_bytes(key)
                    n_reads += 1
                    if not whole(data):
                        torn.append(f"read_bytes {key} {len(data)}")
                elif op == 3:
                    with store.read(key) as f:
                        data = f.read()
                    n_reads += 1
                    if not whole(data):
                        torn.append(f"read {key} {len(data)}")
                elif op == 4:
                    info = store.get_file_info(key)
                    if info.size % 16:
                        torn.append(f"stat {key} {info.size}")
                elif op == 5:
                    with store.open_atomic(key, overwrite=True) as w:
                        w.write(_payload(i, 16 * 100))
                elif op == 6:
                    other = rng.choice(keys)
                    if other != key:
                        store.copy(key, other, overwrite=True)
                else:
                    for info in store.list_files("", recursive=True):
                        if info.size % 16 or info.name.startswith(".~rs-"):
                            torn.append(f"listing {info.path} {info.size}")
            except NotFound:
                pass  # a copy's source may be mid-replace on another thread: never partial
        with lock:
            counts["ops"] += 1000
            counts["reads"] += n_reads

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"\n16 threads ({resolver}): {counts['ops']} ops, {counts['reads']} full reads, {len(torn)} torn")
    assert counts["ops"] == 16000
    assert torn == []
    root = tmp_path / "root"
    assert not [n for _, _, files in os.walk(root) for n in files if n.startswith(".~rs-")]


def test_exclusive_write_has_one_winner(tmp_path: Path, resolver: str) -> None:
    store = Store(LocalBackend(tmp_path / "root", resolver=resolver))
    wins: list[int] = []
    losses: list[int] = []
    barrier = threading.Barrier(8)

    def worker(tid: int) -> None:
        barrier.wait()
        try:
            store.write("once.bin", _payload(tid, 4096), overwrite=False)
            wins.append(tid)
        except AlreadyExists:
            losses.append(tid)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7
    assert store.read_bytes("once.bin") == _payload(wins[0], 4096)


def _stale_temp(folder: Path, age: float, name: str = "x") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f".~rs-99999-{int(time.time() - age)}-deadbeef-{name}.tmp"
    p.write_bytes(b"partial")
    os.utime(p, (time.time() - age, time.time() - age))
    return p


def test_write_sweeps_stale_temps_of_its_folder_rate_limited(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = Store(LocalBackend(root, temp_max_age=1000))
    stale = _stale_temp(root / "d", 2000)
    fresh = _stale_temp(root / "d", 10, "fresh")
    other = _stale_temp(root / "elsewhere", 2000)
    store.write("d/f.txt", b"x")
    assert not stale.exists()  # older than temp_max_age: removed by the write into its folder
    assert fresh.exists()  # younger: could be a live writer's
    assert other.exists()  # another folder is not scanned
    again = _stale_temp(root / "d", 2000, "again")
    store.write("d/g.txt", b"x")
    assert again.exists()  # the folder was scanned less than a sweep interval ago
    assert store.backend.collect_garbage("", older_than=1000) == 2  # 'again' and 'other'
    assert fresh.exists() and not again.exists() and not other.exists()
    assert store.backend.collect_garbage("", older_than=0) == 1
    assert sorted(os.listdir(root / "d")) == ["f.txt", "g.txt"]


def test_sweep_can_be_turned_off_and_garbage_prefix_is_scoped(tmp_path: Path) -> None:
    root = tmp_path / "root"
    store = Store(LocalBackend(root, temp_max_age=None))
    stale = _stale_temp(root / "a", 5000)
    b_stale = _stale_temp(root / "b" / "deep", 5000)
    store.write("a/f.txt", b"x")
    assert stale.exists()
    assert store.backend.collect_garbage("b", older_than=60) == 1
    assert stale.exists() and not b_stale.exists()
    assert store.backend.collect_garbage("missing", older_than=0) == 0
    assert [i.path for i in store.list_files("", recursive=True)] == ["a/f.txt"]


def test_failed_write_keeps_old_and_leaves_no_temp(tmp_path: Path, resolver: str) -> None:
    root = tmp_path / "root"
    store = Store(LocalBackend(root, resolver=resolver))
    store.write("f.bin", b"old")

    def failing() -> Iterator[bytes]:
        yield b"new-partial"
        raise RuntimeError("source broke")

    for method in (store.write, store.write_atomic):
        with pytest.raises(RuntimeError):
            method("f.bin", failing(), overwrite=True)
        with pytest.raises(RuntimeError):
            method("fresh.bin", failing(), overwrite=False)
    assert store.read_bytes("f.bin") == b"old"
    assert sorted(os.listdir(root)) == ["f.bin"]
    with pytest.raises(RemoteStoreError):
        store.write("f.bin/below", b"x")
    assert sorted(os.listdir(root)) == ["f.bin"]
