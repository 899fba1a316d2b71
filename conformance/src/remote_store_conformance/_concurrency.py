"""Concurrency: many threads on one backend; no torn content, no lost writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from remote_store import Capability, Store
from remote_store.errors import AlreadyExists
from remote_store_conformance._base import paths, payload, requires

THREADS = 8


class ConcurrencyTests:
    """A backend instance is shared by every thread of a process."""

    @requires(Capability.WRITE, Capability.READ)
    def test_threads_write_and_read_distinct_keys(self, store: Store) -> None:
        def work(i: int) -> bool:
            data = payload(20_000 + i, 100 + i)
            for j in range(3):
                store.write(f"t{i}/f{j}.bin", data, overwrite=True)
                if store.read_bytes(f"t{i}/f{j}.bin") != data:
                    return False
            return True

        with ThreadPoolExecutor(THREADS) as pool:
            assert all(pool.map(work, range(THREADS)))

    @requires(Capability.WRITE, Capability.LIST)
    def test_no_lost_writes_under_concurrency(self, store: Store) -> None:
        names = [f"lost/f{i:03d}.txt" for i in range(48)]
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda n: store.write(n, n.encode()), names))
        assert paths(store.list_files("lost")) == names

    @requires(Capability.WRITE, Capability.READ)
    def test_racing_overwrites_never_tear(self, store: Store) -> None:
        size = 256 * 1024
        payloads = [bytes([65 + i]) * size for i in range(4)]
        atomic = Capability.ATOMIC_WRITE in store.capabilities
        store.write("race.bin", payloads[0])
        stop = threading.Event()
        bad: list[str] = []
        reads = [0]

        def writer(i: int) -> None:
            for _ in range(6):
                if atomic:
                    store.write_atomic("race.bin", payloads[i], overwrite=True)
                else:
                    store.write("race.bin", payloads[i], overwrite=True)

        def reader() -> None:
            while not stop.is_set():
                data = store.read_bytes("race.bin")
                reads[0] += 1
                if data not in payloads:
                    bad.append(f"torn read: {len(data)} bytes, starts {data[:4]!r}")

        readers = [threading.Thread(target=reader) for _ in range(4)]
        for t in readers:
            t.start()
        try:
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(writer, range(4)))
        finally:
            stop.set()
            for t in readers:
                t.join()
        assert not bad, bad[:3]
        assert reads[0] > 0
        assert store.read_bytes("race.bin") in payloads

    @requires(Capability.WRITE, Capability.READ)
    def test_racing_creates_have_one_winner(self, store: Store) -> None:
        barrier = threading.Barrier(THREADS)

        def create(i: int) -> str:
            barrier.wait()
            try:
                store.write("winner.txt", f"writer-{i}".encode())
            except AlreadyExists:
                return "lost"
            return "won"

        with ThreadPoolExecutor(THREADS) as pool:
            outcomes = list(pool.map(create, range(THREADS)))
        assert outcomes.count("won") == 1, outcomes
        assert store.read_bytes("winner.txt").startswith(b"writer-")

    @requires(Capability.WRITE, Capability.LIST)
    def test_listing_while_writing(self, store: Store) -> None:
        stop = threading.Event()
        seen: list[set[str]] = []

        def lister() -> None:
            while not stop.is_set():
                seen.append({i.path for i in store.list_files("live", recursive=True)})

        t = threading.Thread(target=lister)
        t.start()
        try:
            for i in range(20):
                store.write(f"live/f{i:02d}.txt", b"x")
        finally:
            stop.set()
            t.join()
        valid = {f"live/f{i:02d}.txt" for i in range(20)}
        assert all(s <= valid for s in seen)
        assert paths(store.list_files("live")) == sorted(valid)

    @requires(Capability.WRITE, Capability.READ)
    def test_child_stores_in_threads(self, store: Store) -> None:
        def work(i: int) -> bytes:
            child = store.child(f"c{i}")
            child.write("x.bin", str(i).encode())
            return child.read_bytes("x.bin")

        with ThreadPoolExecutor(THREADS) as pool:
            assert list(pool.map(work, range(THREADS))) == [str(i).encode() for i in range(THREADS)]

    @pytest.mark.conformance_heavy
    @requires(Capability.WRITE, Capability.READ)
    def test_concurrent_large_writes(self, store: Store) -> None:
        blobs = [payload(5 * 1024 * 1024, 200 + i) for i in range(4)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: store.write(f"big{i}.bin", blobs[i]), range(4)))
        for i in range(4):
            assert store.read_bytes(f"big{i}.bin") == blobs[i]
