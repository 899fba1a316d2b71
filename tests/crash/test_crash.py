"""Crash suite: SIGKILL a writer in the middle of a write; readers see the whole old or whole new file.

For each backend kind (local, SFTP, SQLite ``sql-blob``) and each publishing operation
(``write(overwrite=True)``, ``write_atomic``, ``open_atomic`` streamed, ``move(overwrite=True)``)
every trial:

1. puts the old version (and, for ``move``, the new version at the source key) with the
   parent's store;
2. lets a forked child of the pre-imported test process (no new interpreter) run the
   operation; the child unpickled the store (fresh connections, same files) and connected
   before it was told to go;
3. sleeps a seeded random time in ``[0, bound]`` and SIGKILLs the child; ``bound`` starts at
   the operation's duration in a child and adapts (x1.15 after a kill before publishing,
   x0.87 after one that came too late), so kills cluster around the moment of publishing;
4. checks: the key exists and holds one whole payload (digest verified) that is the old or the
   new version; for ``move`` the source is still there exactly when the destination is old;
   ``list_files`` shows exactly the expected keys (no temp file).

Leftover temp files on disk (hidden names the backends document: local ``.rs-tmp-…``, SFTP
``.~rs-….tmp``) are allowed and counted; ``collect_garbage(older_than=0)`` must remove them all.

``REMOTE_STORE_CRASH_TRIALS`` sets trials per case (default 100; ``scripts/soak.sh`` runs 1,000);
``REMOTE_STORE_CRASH_SEED`` replays a run (the seed is printed).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import select
import signal
import statistics
import sys
import time
import traceback
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from random import Random
from typing import Any

import pytest

from remote_store import Store
from remote_store.errors import NotFound
from testing.backends import make_payload, open_store, parse_payload

TRIALS = int(os.environ.get("REMOTE_STORE_CRASH_TRIALS", "100"))
SEED = int(os.environ.get("REMOTE_STORE_CRASH_SEED", str(int(time.time() * 1000) % 1_000_000)))
#: Spans five SQL chunk rows (``chunk_size`` 32 KiB below) and five SFTP write packets (32 KiB).
SIZE = 128 * 1024 + 17
#: Backend options per kind: small SQL chunks, so a file is several rows a kill could split.
OPTIONS: dict[str, dict[str, Any]] = {"sqlite": {"chunk_size": 32 * 1024}}
#: Children forked ahead of their trial (their connection set-up overlaps earlier trials).
AHEAD = 2
KEY = "data/target.bin"
SRC = "data/incoming.bin"
CASES = ("write", "write_atomic", "open_atomic", "move")
KINDS = ("local", "sftp", "sqlite")
READY_TIMEOUT = 30.0

OLD = make_payload("crash", 1, SIZE)
NEW = make_payload("crash", 2, SIZE)


def _operation(case: str, store: Store) -> None:
    """The operation the child is killed in (each replaces ``KEY``'s ``OLD`` with ``NEW``)."""
    if case == "write":
        store.write(KEY, NEW, overwrite=True)
    elif case == "write_atomic":
        store.write_atomic(KEY, io.BytesIO(NEW), overwrite=True)
    elif case == "open_atomic":
        with store.open_atomic(KEY, overwrite=True) as handle:
            view = memoryview(NEW)
            for start in range(0, len(NEW), 64 * 1024):
                handle.write(view[start : start + 64 * 1024])
    elif case == "move":
        store.move(SRC, KEY, overwrite=True)
    else:  # pragma: no cover - CASES is fixed
        raise AssertionError(case)


def _prepare(case: str, store: Store) -> None:
    store.write(KEY, OLD, overwrite=True)
    if case == "move":
        store.write(SRC, NEW, overwrite=True)


def _child(case: str, blob: bytes, go: int, w: int) -> None:
    """Runs in the forked child; never returns (``os._exit``)."""
    code = 0
    try:
        store: Store = pickle.loads(blob)
        store.exists(KEY)  # connect and authenticate before "ready"
        os.write(w, b"R")
        if os.read(go, 1) == b"G":  # else the parent gave up on this child
            _operation(case, store)
            os.write(w, b"D")
    except BaseException:
        code = 1
        traceback.print_exc(file=sys.stderr)
        os.write(w, b"E")
    finally:
        os._exit(code)


def _wait_byte(r: int, timeout: float) -> bytes:
    """The next byte from the child, or ``b""`` after ``timeout`` seconds (or when it is gone)."""
    ready, _, _ = select.select([r], [], [], timeout)
    return os.read(r, 1) if ready else b""


class _Writer:
    """A forked child that connects at once, then waits for "go" before it runs ``case``.

    The test forks it one trial ahead, so its connection set-up overlaps the parent's checks.
    """

    def __init__(self, case: str, blob: bytes) -> None:
        self.case = case
        go_r, self._go = os.pipe()
        self._r, w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - child
            os.close(self._r)
            os.close(self._go)
            _child(case, blob, go_r, w)
        os.close(go_r)
        os.close(w)
        self._killed = False

    def start(self) -> None:
        """Wait until the child is connected, then let it run the operation."""
        first = _wait_byte(self._r, READY_TIMEOUT)
        if first != b"R":
            raise AssertionError(f"{self.case} child was not ready within {READY_TIMEOUT}s (pipe: {first!r})")
        os.write(self._go, b"G")

    def wait_done(self) -> bytes:
        """Block until the child reports (``b"D"`` done, ``b"E"`` failed, ``b""`` timeout)."""
        return _wait_byte(self._r, READY_TIMEOUT)

    def kill(self) -> str:
        """SIGKILL and reap the child; return ``"done"`` (it finished first) or ``"killed"``."""
        if self._killed:
            return "killed"
        self._killed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        rest = b""
        while chunk := os.read(self._r, 16):
            rest += chunk
        os.close(self._r)
        os.close(self._go)
        if b"E" in rest:
            raise AssertionError(f"the child's {self.case} raised (traceback on stderr)")
        return "done" if b"D" in rest else "killed"


def _check(case: str, store: Store) -> str:
    """Assert the state after a kill; return ``"old"`` or ``"new"``."""
    try:
        data = store.read_bytes(KEY)
    except NotFound:
        raise AssertionError(f"{case}: {KEY} is missing after the kill") from None
    label, version = parse_payload(data)  # TornPayload (an AssertionError) when torn
    assert (label, version) in (("crash", 1), ("crash", 2)), (label, version)
    state = "old" if version == 1 else "new"
    listed = sorted(f.path for f in store.list_files("", recursive=True))
    if case == "move":
        if state == "old":
            assert listed == sorted([KEY, SRC]), f"move killed before publishing: listing {listed}"
            assert parse_payload(store.read_bytes(SRC)) == ("crash", 2)
        else:
            assert listed == [KEY], f"move published: the source must be gone, listing {listed}"
    else:
        assert listed == [KEY], f"{case}: list_files shows {listed} (a temp file or a stray key)"
    return state


def _child_duration(case: str, store: Store, blob: bytes) -> float:
    """Median seconds from a child's "go" to its "done", over 3 runs that are not killed.

    Measured in forked children, not in this process: a fresh child runs slower (copy-on-write
    page faults, a new connection's first requests), and the kill delays scale with this.
    """
    times = []
    for _ in range(3):
        _prepare(case, store)
        child = _Writer(case, blob)
        try:
            child.start()
            t0 = time.perf_counter()
            done = child.wait_done()
            times.append(time.perf_counter() - t0)
            assert done == b"D", f"calibration child did not finish its {case} (pipe {done!r}; stderr has it)"
        finally:
            child.kill()
    return statistics.median(times)


def _disk_leftovers(kind: str, store: Store, request: pytest.FixtureRequest) -> Callable[[], list[str]] | None:
    """A function listing every file on disk below the store's root other than the expected keys."""
    if kind == "local":
        root = store.native_path("")
    elif kind == "sftp":
        root = request.getfixturevalue("sftp_server_session").local_path(store.native_path(""))
    else:
        return None

    def scan() -> list[str]:
        found = []
        for folder, _, files in os.walk(root):
            for name in files:
                rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
                if rel not in (KEY, SRC):
                    found.append(rel)
        return found

    return scan


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_mid_write_leaves_old_or_new(kind: str, case: str, request: pytest.FixtureRequest) -> None:
    store = open_store(kind, request, **OPTIONS.get(kind, {}))
    seed = SEED + CASES.index(case) * 101 + KINDS.index(kind) * 10007
    print(f"\n[crash] {kind}/{case}: seed {seed} (REMOTE_STORE_CRASH_SEED={SEED}), {TRIALS} trials")
    rng = Random(seed)
    blob = pickle.dumps(store)
    typical = bound = _child_duration(case, store, blob)
    states: Counter[str] = Counter()
    spent: defaultdict[str, float] = defaultdict(float)
    started = time.perf_counter()
    state = "new"
    children = deque(_Writer(case, blob) for _ in range(AHEAD))
    child = children[0]
    try:
        for trial in range(TRIALS):
            t0 = time.perf_counter()
            if state != "old":  # after a kill before publishing the old state is still in place
                _prepare(case, store)
            t1 = time.perf_counter()
            child = children.popleft()
            child.start()
            t2 = time.perf_counter()
            delay = rng.uniform(0.0, bound)
            time.sleep(delay)
            reported = child.kill()
            children.append(_Writer(case, blob))  # connects while this trial is checked
            t3 = time.perf_counter()
            try:
                state = _check(case, store)
            except AssertionError as exc:
                raise AssertionError(f"trial {trial} (seed {seed}, kill after {delay * 1000:.1f} ms): {exc}") from exc
            for phase, seconds in (("prepare", t1 - t0), ("ready", t2 - t1), ("run", t3 - t2)):
                spent[phase] += seconds
            spent["check"] += time.perf_counter() - t3
            states[state if reported == "killed" else f"{state}, child finished"] += 1
            bound *= 1.15 if state == "old" else 0.87
    finally:
        for left in (child, *children):
            left.kill()
    leftovers: list[str] = []
    scan = _disk_leftovers(kind, store, request)
    if scan is not None:
        leftovers = scan()
        removed = store.collect_garbage("", older_than=0)
        assert removed == len(leftovers), (removed, leftovers[:5])
        assert scan() == [], scan()[:5]
    elapsed = time.perf_counter() - started
    print(
        f"[crash] {kind}/{case}: {TRIALS} trials in {elapsed:.1f}s, op {typical * 1000:.1f} ms in a child, "
        f"final kill bound {bound * 1000:.1f} ms; "
        f"outcomes {dict(sorted(states.items()))}; torn 0, missing 0, temps listed 0; "
        f"temps left on disk {len(leftovers)}, all removed by collect_garbage; "
        f"seconds {', '.join(f'{k} {v:.1f}' for k, v in spent.items())}"
    )
    assert states["old, child finished"] == 0, "a child finished its operation but the old version is still there"
    if TRIALS >= 20:
        # the kills must land on both sides of the publish, or the trials prove little
        assert states["old"] > 0, f"no trial was killed before publishing: {dict(states)}"
        assert states["new"] + states["new, child finished"] > 0, f"no trial published: {dict(states)}"
