"""The fuzz driver: one example runs every operation on hostile paths and checks the store
against a model and against the target's native view.

Properties checked:

- only `remote_store.errors` classes escape any operation (a native exception fails the
  example, and hypothesis shrinks it to a minimal path);
- a successful write is readable under the same path, `exists`, has the right `FileInfo`, is
  listed in its folder, and lies *natively* under the root (filesystem, raw SDK, raw SQL);
- no read returns the canary content planted outside the root (through a symlink, an
  encoded ``..``, a URL);
- at every checkpoint (every 20 examples and at the end) nothing outside the root has
  changed (native snapshot of the canary neighbours), and the files natively under the root
  are exactly those the model says exist (plus keys whose last mutation failed with a typed
  error, which may or may not have happened), each a name the store can address;
- read-only (http): every request the server received stays inside the site folder;
- every operation saw at least the required number of hostile inputs (asserted).
"""

from __future__ import annotations

import collections
import os
import posixpath
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings

from remote_store import Capability, Store
from remote_store._path import normalize_path
from remote_store.errors import RemoteStoreError

from ._targets import CANARY, Target

#: Examples per backend and operation in CI.
DEFAULT_EXAMPLES = 2000


def fuzz_examples() -> int:
    """Examples per backend (and so per operation) from ``REMOTE_STORE_FUZZ_EXAMPLES`` (default 2,000, as in CI and `scripts/soak.sh`)."""
    return int(os.environ.get("REMOTE_STORE_FUZZ_EXAMPLES", "") or DEFAULT_EXAMPLES)


FUZZ_SETTINGS = settings(
    max_examples=fuzz_examples(),
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

_FAILED = object()
_MAGIC = set("*?[]{}\\")


def _key(path: str) -> str | None:
    try:
        return normalize_path(path, allow_root=False)
    except RemoteStoreError:
        return None


def _raw_parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _payload(path: str) -> bytes:
    return b"fuzz " + path.encode("utf-8", "surrogatepass")[:200]


class Fuzzer:
    """Runs examples against one `Target` and keeps counts per operation and outcome.

    Files written by the examples stay until the next checkpoint (every ``check_every``
    examples and at the end): it lists the bucket/folder/table natively, requires the files
    under the root to be exactly the model's (plus keys whose mutation failed with a typed
    error) and everything outside the root to be unchanged, then deletes what is inside.

    Args:
        target: The backend under test.
        check_every: Examples between two checkpoints.
    """

    def __init__(self, target: Target, *, check_every: int = 20) -> None:
        self.t = target
        self.store: Store = target.store
        self.outside_before = target.outside()
        self.check_every = check_every
        self.examples = 0
        self.checkpoints = 0
        self.calls: collections.Counter[str] = collections.Counter()
        self.outcomes: collections.Counter[tuple[str, str]] = collections.Counter()
        self.model: dict[str, bytes] = {}
        self.uncertain: set[str] = set()
        self.history: collections.deque[tuple[str, ...]] = collections.deque(maxlen=check_every)
        self.glob = self.store.supports(Capability.GLOB)
        self.ops = ["read", "exists", "get_file_info", "list_files"] + (["glob"] if self.glob else [])
        if target.writable:
            self.ops = ["write", *self.ops, "copy", "move", "delete"]
        self.seconds = 0.0
        self._requests_seen = 0

    # ------------------------------------------------------------------ plumbing
    def call(self, op: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one operation; typed errors are outcomes, anything else fails the example."""
        self.calls[op] += 1
        try:
            result = fn(*args, **kwargs)
            if op in ("list_files", "glob"):
                result = list(result)
        except RemoteStoreError as exc:
            self.outcomes[op, type(exc).__name__] += 1
            return exc
        except Exception as exc:
            raise AssertionError(
                f"{self.t.kind}: {op}{tuple(args)!r} raised a native {type(exc).__module__}.{type(exc).__name__}: {exc}"
            ) from exc
        self.outcomes[op, "ok"] += 1
        return result

    def _failed(self, result: Any, *keys: str | None) -> bool:
        if isinstance(result, RemoteStoreError):
            self.uncertain.update(k for k in keys if k)
            return True
        return False

    def _check_listing(self, op: str, infos: Any, under: str | None) -> None:
        if isinstance(infos, RemoteStoreError):
            return
        for info in infos:
            assert _key(info.path) == info.path, f"{self.t.kind}: {op} returned a non-normal path {info.path!r}"
            if under:
                assert info.path.startswith(under + "/"), f"{self.t.kind}: {op} under {under!r} gave {info.path!r}"
            if self.t.writable:
                assert info.path in self.model or info.path in self.uncertain or info.path in self.t.known, (
                    f"{self.t.kind}: {op} listed {info.path!r}, which was never written"
                )

    # ------------------------------------------------------------------ one example
    def example(self, p: str, q: str, r: str) -> None:
        """Run every operation on ``p``, ``q``, ``r`` (a checkpoint every ``check_every`` examples)."""
        started = time.perf_counter()
        if self.t.exclude:
            p, q, r = ("".join("_" if c in self.t.exclude else c for c in x) for x in (p, q, r))
        self.examples += 1
        self.history.append((p, q, r))
        if self.t.writable:
            self._mutating_example(p, q, r)
        else:
            self._read_only_example(p, q)
        if self.examples % self.check_every == 0:
            self.checkpoint()
        self.seconds += time.perf_counter() - started

    def _read_only_example(self, p: str, q: str) -> None:
        for path in (p, q):
            data = self.call("read", self.store.read_bytes, path)
            assert not (isinstance(data, bytes) and CANARY in data), (
                f"{self.t.kind}: read({path!r}) returned the canary"
            )
            self.call("exists", self.store.exists, path)
            self.call("get_file_info", self.store.get_file_info, path)
            self._check_listing("list_files", self.call("list_files", self.store.list_files, _raw_parent(path)), None)
            if self.glob:
                self._check_listing("glob", self.call("glob", self.store.glob, path), None)
        self.check_requests()

    def _mutating_example(self, p: str, q: str, r: str) -> None:
        kind, store = self.t.kind, self.store
        k, kq, kr = _key(p), _key(q), _key(r)
        data = _payload(p)
        ok = not self._failed(self.call("write", store.write, p, data, overwrite=True), k)
        if ok:
            assert k is not None, f"{kind}: write({p!r}) succeeded though the path is invalid"
            self.model[k] = data
            self.uncertain.discard(k)
            assert self.t.native_has(k), f"{kind}: write({p!r}) succeeded but {k!r} is not natively under the root"
        got = self.call("read", store.read_bytes, p)
        assert not (isinstance(got, bytes) and CANARY in got), f"{kind}: read({p!r}) returned the canary"
        if ok:
            assert got == data, f"{kind}: read({p!r}) after write gave {got!r}"
        there = self.call("exists", store.exists, p)
        if ok:
            assert there is True, f"{kind}: exists({p!r}) after write gave {there!r}"
        info = self.call("get_file_info", store.get_file_info, p)
        if ok:
            assert info.path == k and info.size == len(data), f"{kind}: get_file_info({p!r}) gave {info!r}"
        parent = _raw_parent(p)
        listed = self.call("list_files", store.list_files, parent)
        pk = _key(parent) if parent else ""
        self._check_listing("list_files", listed, pk)
        if ok and k is not None and pk == posixpath.dirname(k):
            assert not isinstance(listed, RemoteStoreError), f"{kind}: list_files({parent!r}) failed: {listed!r}"
            assert k in {i.path for i in listed}, f"{kind}: list_files({parent!r}) misses {k!r}"
        if self.glob:
            found = self.call("glob", store.glob, p)
            self._check_listing("glob", found, None)
            if ok and k is not None and p == k and not (_MAGIC & set(k)):
                assert not isinstance(found, RemoteStoreError), f"{kind}: glob({p!r}) failed: {found!r}"
                assert k in {i.path for i in found}, f"{kind}: glob({p!r}) misses {k!r}"
        if not self._failed(self.call("copy", store.copy, p, q, overwrite=True), kq) and kq and k:
            self.model[kq] = self.model.get(k, data)
            self.uncertain.discard(kq)
        if not self._failed(self.call("move", store.move, q, r, overwrite=True), kq, kr) and kq and kr and kq != kr:
            self.model[kr] = self.model.pop(kq, data)
            self.uncertain.discard(kr)
        victim, kv = (p, k) if self.examples % 2 else (q, kq)
        if not self._failed(self.call("delete", store.delete, victim, missing_ok=True), kv) and kv:
            self.model.pop(kv, None)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> None:
        """Native comparison inside and outside the root, then empty the root."""
        self.checkpoints += 1
        self.check_outside()
        if not self.t.writable:
            return
        native = self.t.inside()
        missing = sorted(set(self.model) - native)
        extra = sorted(native - set(self.model) - self.uncertain)
        last = list(self.history)
        assert not missing, f"{self.t.kind}: written files not natively under the root: {missing[:5]!r}; {last!r}"
        assert not extra, f"{self.t.kind}: files under the root nobody wrote: {extra[:5]!r}; {last!r}"
        for key in native:
            assert _key(key) == key, f"{self.t.kind}: the store wrote {key!r}, a name it cannot address; {last!r}"
        for key in native:  # not a bulk native delete: S3 DeleteObjects cannot carry control characters in XML
            self.store.delete(key, missing_ok=True)
        self.model.clear()
        self.uncertain.clear()

    def check_outside(self) -> None:
        """The canary neighbours are unchanged (native snapshot)."""
        now = self.t.outside()
        if now != self.outside_before:
            added = sorted(set(now) - set(self.outside_before))
            removed = sorted(set(self.outside_before) - set(now))
            changed = sorted(k for k in now if k in self.outside_before and now[k] != self.outside_before[k])
            raise AssertionError(
                f"{self.t.kind}: outside the root: added {added!r}, removed {removed!r}, changed {changed!r}; "
                f"last examples: {list(self.history)!r}"
            )

    def check_requests(self) -> None:
        """(http) Every request the server received stays inside the site folder."""
        assert self.t.request_paths is not None
        paths = self.t.request_paths()
        new, self._requests_seen = paths[self._requests_seen :], len(paths)
        for path in new:
            norm = posixpath.normpath(path) + ("/" if path.endswith("/") else "")
            assert norm.startswith(self.t.site_path) or norm == self.t.site_path.rstrip("/"), (
                f"http: the server received {path!r}, outside {self.t.site_path!r}"
            )

    def finish(self, required: int) -> str:
        """Last checkpoint; returns a one-line summary. ``required``: calls each operation must have seen."""
        self.checkpoint()
        per_op = {op: self.calls[op] for op in self.ops}
        short = {op: n for op, n in per_op.items() if n < required}
        assert not short, f"{self.t.kind}: operations with fewer than {required} hostile inputs: {short!r}"
        accepted = {op: self.outcomes[op, "ok"] for op in self.ops}
        return (
            f"fuzz {self.t.kind}: {self.examples} examples, {self.checkpoints} native checkpoints, "
            f"{self.seconds:.1f} s; calls {per_op}; succeeded {accepted}; escapes 0, untyped errors 0"
        )
