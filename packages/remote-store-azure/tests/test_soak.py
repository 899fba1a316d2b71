"""16 threads of mixed operations on a few hot blobs with 64 KiB blocks: no call may fail.

Bounded for CI: each thread runs until ``REMOTE_STORE_SOAK_SECONDS`` (default 3) have passed
or it has made ``REMOTE_STORE_SOAK_OPS`` operations (default 2,000). Every read must return
one whole version written by some writer (self-describing payloads), never a mix. The only
outcome that is not a success is `ContentChanged` from a *chunked* streaming read whose blob
was replaced after it had returned bytes — the contract's answer for a read that cannot
complete; it is counted and reported, and every other exception is a failure.
"""

from __future__ import annotations

import os
import random
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable

from azure.storage.blob import ContainerClient

from remote_store import Store
from remote_store.errors import ContentChanged
from remote_store_azure import AzureBackend
from testing.servers.azure import AzuriteServer

THREADS = 16
BLOCK = 64 * 1024
SECONDS = float(os.environ.get("REMOTE_STORE_SOAK_SECONDS", "3"))
MAX_OPS = int(os.environ.get("REMOTE_STORE_SOAK_OPS", "2000"))
HOT = [f"hot/k{i}.bin" for i in range(4)]


def make_payload(tag: int, size: int) -> bytes:
    """``size`` bytes that name their writer and length and can be checked for tearing."""
    return struct.pack(">QQ", tag, size) + bytes([tag % 251]) * (size - 16)


def is_whole(data: bytes) -> bool:
    if len(data) < 16:
        return False
    tag, size = struct.unpack(">QQ", data[:16])
    return size == len(data) and data[16:] == bytes([tag % 251]) * (size - 16)


def test_sixteen_threads_of_mixed_operations_fail_no_call(
    azurite: AzuriteServer, azure_container: str, azure_raw: ContainerClient
) -> None:
    backend = AzureBackend(
        azure_container,
        connection_string=azurite.connection_string,
        max_single_put_size=BLOCK,
        block_size=BLOCK,
        max_concurrency=2,
    )
    store = Store(backend)
    for i, key in enumerate(HOT):
        store.write(key, make_payload(i, 3 * BLOCK + 17))
    failures: list[str] = []
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS
    tags = iter(range(1000, 10**9))

    def check(what: str, data: bytes) -> None:
        if not is_whole(data):
            raise AssertionError(f"{what}: torn or foreign content ({len(data)} bytes)")

    def worker(n: int) -> None:
        rng = random.Random(n)
        own = f"own/t{n}.bin"

        def write_small() -> None:
            store.write(rng.choice(HOT), make_payload(next(tags), rng.randrange(16, BLOCK)), overwrite=True)

        def write_staged() -> None:
            store.write(rng.choice(HOT), make_payload(next(tags), rng.randrange(BLOCK + 1, 6 * BLOCK)), overwrite=True)

        def write_atomic() -> None:
            with store.open_atomic(rng.choice(HOT), overwrite=True) as f:
                data = make_payload(next(tags), rng.randrange(16, 4 * BLOCK))
                for i in range(0, len(data), 50_000):
                    f.write(data[i : i + 50_000])

        def read_bytes() -> None:
            check("read_bytes", store.read_bytes(rng.choice(HOT)))

        def read_all() -> None:
            with store.read(rng.choice(HOT)) as f:
                check("read().read()", f.read())

        def read_chunks() -> None:
            with store.read(rng.choice(HOT)) as f:
                got = b""
                while chunk := f.read(100_000):
                    got += chunk
            check("chunked read", got)

        def stat() -> None:
            info = store.get_file_info(rng.choice(HOT))
            assert info.size >= 16

        def listing() -> None:
            assert {i.path for i in store.list_files("hot")} == set(HOT)

        def own_cycle() -> None:
            store.write(own, make_payload(next(tags), 1000), overwrite=True)
            store.copy(rng.choice(HOT), own + ".copy", overwrite=True)
            check("copy", store.read_bytes(own + ".copy"))
            store.delete(own, missing_ok=True)
            store.delete(own + ".copy")

        ops: list[tuple[str, Callable[[], None]]] = [
            ("write_small", write_small),
            ("write_staged", write_staged),
            ("open_atomic", write_atomic),
            ("read_bytes", read_bytes),
            ("read_all", read_all),
            ("read_chunks", read_chunks),
            ("stat", stat),
            ("list", listing),
            ("own_cycle", own_cycle),
        ]
        done = 0
        while done < MAX_OPS and time.monotonic() < deadline:
            name, op = rng.choice(ops)
            try:
                op()
                outcome = name
            except ContentChanged:
                outcome = f"{name}:ContentChanged"
                if name != "read_chunks":
                    with lock:
                        failures.append(f"{name}: ContentChanged although nothing had been returned")
            except Exception as exc:  # every other exception is a failed call
                outcome = f"{name}:failed"
                with lock:
                    failures.append(f"{name}: {type(exc).__name__}: {exc}")
            with lock:
                outcomes[outcome] += 1
            done += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    backend.close()
    print(f"soak: {sum(outcomes.values())} calls in {THREADS} threads: {dict(sorted(outcomes.items()))}")
    assert not failures, f"{len(failures)} failed calls, e.g. {failures[:5]}"
    assert sum(outcomes.values()) >= THREADS
    for key in HOT:
        check(key, azure_raw.download_blob(key).readall())
