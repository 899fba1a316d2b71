"""Stress: 16 threads x mixed operations on a few overlapping keys, on every backend kind.

Each thread runs ``REMOTE_STORE_STRESS_OPS`` operations (default 1,000 per thread), or as many
as fit in ``REMOTE_STORE_STRESS_SECONDS`` per backend (default 30, the CI figure: memory,
local and SQLite finish all 16,000 ops, the network emulators reach a few thousand; 0 = no
limit, as ``scripts/soak.sh`` runs it), drawn from
write / write_atomic / read / exists / get_file_info / list_files / move / copy / delete on
the same six keys, all through one shared `Store`. Every payload describes itself
(`testing.backends.make_payload`: a header with the writer, a version and the body's
SHA-256), so a reader can tell a whole version from a torn or mixed one.

The test fails when:

- a read returns bytes that are not one whole payload some thread wrote (torn);
- ``list_files`` shows a path that is not one of the keys (a temp file, a stray key);
- an operation raises anything but a `remote_store.errors` class, or a typed error a race
  does not explain (allowed: `NotFound` where the key may have been deleted or moved
  away, `AlreadyExists` for ``overwrite=False``, `ContentChanged` for a read, copy or move
  whose source another write replaced meanwhile);
- the threads do not finish within ``REMOTE_STORE_STRESS_TIMEOUT`` seconds (default 120):
  a deadlock or hang, reported with every thread's stack.

It prints one summary line per backend: ops, ops per kind, errors by type, torn 0.
``REMOTE_STORE_STRESS_SEED`` replays a run (the seed is printed).
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
import traceback
from collections import Counter
from random import Random

import pytest

from remote_store import Store
from remote_store.errors import AlreadyExists, ContentChanged, NotFound, RemoteStoreError
from testing.backends import TornPayload, make_payload, parse_payload

THREADS = 16
OPS = int(os.environ.get("REMOTE_STORE_STRESS_OPS", "1000"))
#: Seconds per backend after which the threads stop early (0 = no limit; the soak sets 0).
BUDGET = float(os.environ.get("REMOTE_STORE_STRESS_SECONDS", "30"))
TIMEOUT = float(os.environ.get("REMOTE_STORE_STRESS_TIMEOUT", "120"))
SEED = int(os.environ.get("REMOTE_STORE_STRESS_SEED", str(int(time.time() * 1000) % 1_000_000)))
FOLDER = "s"
KEYS = tuple(f"{FOLDER}/k{i}" for i in range(6))

#: Operation -> relative weight in the mix.
WEIGHTS = {
    "write": 3,
    "write_atomic": 3,
    "read": 6,
    "exists": 2,
    "get_file_info": 2,
    "list_files": 2,
    "move": 2,
    "copy": 2,
    "delete": 1,
}
#: Typed errors a race explains, per operation (anything else fails the test).
EXPECTED: dict[str, tuple[type[RemoteStoreError], ...]] = {
    "write": (AlreadyExists,),
    "write_atomic": (AlreadyExists,),
    "read": (NotFound, ContentChanged),
    "exists": (),
    "get_file_info": (NotFound,),
    "list_files": (),
    # ContentChanged: GCS pins the source generation it just read; a replace before the
    # server-side rewrite is reported, not copied (the GCS backend documents it)
    "move": (NotFound, AlreadyExists, ContentChanged),
    "copy": (NotFound, AlreadyExists, ContentChanged),
    "delete": (NotFound,),
}


class _Run:
    """Shared state of one stress run: what was written, what was seen, what went wrong."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()
        self.written: set[tuple[str, int]] = set()
        self.ops: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.reads_whole = 0
        self.torn = 0
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.deadline = time.perf_counter() + BUDGET if BUDGET > 0 else float("inf")
        self.out_of_time = 0

    def fail(self, message: str) -> None:
        with self.lock:
            if len(self.failures) < 20:
                self.failures.append(message)
        self.stop.set()

    def check_whole(self, op: str, key: str, data: bytes) -> None:
        try:
            version = parse_payload(data)
        except TornPayload as exc:
            with self.lock:
                self.torn += 1
            self.fail(f"torn read: {op} {key}: {exc}")
            return
        with self.lock:
            known = version in self.written
            self.reads_whole += known
        if not known:
            self.fail(f"{op} {key}: whole payload {version} that no thread wrote")


def _payload(run: _Run, rng: Random, thread: int, seq: int) -> bytes:
    size = rng.choice((0, 1, 700, 4096, 20_000)) if rng.random() < 0.95 else 300_000
    version = (f"t{thread}", seq)
    with run.lock:
        run.written.add(version)  # before the write: a reader may see it as soon as it is published
    return make_payload(version[0], seq, size)


def _one(run: _Run, rng: Random, thread: int, seq: int, op: str) -> None:
    store = run.store
    key = rng.choice(KEYS)
    overwrite = rng.random() < 0.7
    if op == "write":
        store.write(key, _payload(run, rng, thread, seq), overwrite=overwrite)
    elif op == "write_atomic":
        store.write_atomic(key, io.BytesIO(_payload(run, rng, thread, seq)), overwrite=overwrite)
    elif op == "read":
        if rng.random() < 0.5:
            data = store.read_bytes(key)
        else:
            with store.read(key) as stream:
                data = stream.read()
        run.check_whole(op, key, data)
    elif op == "exists":
        store.exists(key)
    elif op == "get_file_info":
        info = store.get_file_info(key)
        if info.path != key:
            run.fail(f"get_file_info({key!r}) returned path {info.path!r}")
    elif op == "list_files":
        for info in store.list_files(FOLDER, recursive=True):
            if info.path not in KEYS:
                run.fail(f"list_files shows {info.path!r}, not one of the keys (a temp file?)")
    elif op in ("move", "copy"):
        dst = rng.choice([k for k in KEYS if k != key])
        getattr(store, op)(key, dst, overwrite=overwrite)
    elif op == "delete":
        store.delete(key, missing_ok=rng.random() < 0.5)
    else:  # pragma: no cover - WEIGHTS is fixed
        raise AssertionError(op)


def _worker(run: _Run, seed: int, thread: int) -> None:
    rng = Random(seed * 1000 + thread)
    names = list(WEIGHTS)
    weights = list(WEIGHTS.values())
    for seq in range(OPS):
        if run.stop.is_set():
            return
        if time.perf_counter() > run.deadline:
            with run.lock:
                run.out_of_time += 1
            return
        op = rng.choices(names, weights)[0]
        try:
            _one(run, rng, thread, seq, op)
        except RemoteStoreError as exc:
            name = type(exc).__name__
            with run.lock:
                run.errors[f"{op}:{name}"] += 1
            if not isinstance(exc, EXPECTED[op]):
                run.fail(f"{op}: unexpected {name}: {exc}\n{traceback.format_exc()}")
        except BaseException as exc:
            run.fail(f"{op}: untyped {type(exc).__module__}.{type(exc).__qualname__}: {exc}\n{traceback.format_exc()}")
            return
        with run.lock:
            run.ops[op] += 1


def _thread_dump(threads: list[threading.Thread]) -> str:
    frames = sys._current_frames()
    out = []
    for t in threads:
        if t.is_alive() and t.ident in frames:
            out.append(f"--- {t.name}\n{''.join(traceback.format_stack(frames[t.ident]))}")
    return "\n".join(out)


def test_threads_mixed_operations(any_store: Store, request: pytest.FixtureRequest) -> None:
    kind = request.node.callspec.id
    run = _Run(any_store)
    print(f"\n[stress] {kind}: seed {SEED} (REMOTE_STORE_STRESS_SEED), {THREADS} threads x {OPS} ops")
    started = time.perf_counter()
    threads = [
        threading.Thread(target=_worker, args=(run, SEED, i), name=f"stress-{i}", daemon=True) for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    deadline = started + TIMEOUT
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    hung = [t for t in threads if t.is_alive()]
    if hung:
        dump = _thread_dump(hung)
        run.stop.set()
        pytest.fail(f"{kind}: {len(hung)} threads still running after {TIMEOUT:.0f}s (deadlock?):\n{dump}")
    elapsed = time.perf_counter() - started
    # after the storm: every key left is one whole payload, and nothing else is listed
    for info in any_store.list_files("", recursive=True):
        if info.path not in KEYS:
            run.fail(f"after the run list_files shows {info.path!r}")
        else:
            run.check_whole("final read", info.path, any_store.read_bytes(info.path))
    total = sum(run.ops.values())
    errors = ", ".join(f"{k} {v}" for k, v in sorted(run.errors.items())) or "none"
    print(
        f"[stress] {kind}: {total} ops in {elapsed:.1f}s ({total / elapsed:.0f}/s); "
        f"{', '.join(f'{k} {v}' for k, v in sorted(run.ops.items()))}; whole reads {run.reads_whole}; "
        f"typed errors: {errors}; torn {run.torn}, failures {len(run.failures)}; "
        + (f"threads stopped by the {BUDGET:g}s budget {run.out_of_time}" if BUDGET > 0 else "no time budget")
    )
    assert not run.failures, f"{kind}: {len(run.failures)} failures (seed {SEED}):\n" + "\n".join(run.failures)
    assert run.out_of_time or total == THREADS * OPS
    assert run.reads_whole > 0, "no read saw a whole payload: the test exercised nothing"
