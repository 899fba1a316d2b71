"""Copy, delete or test many paths in one call, in parallel, with per-path failure reporting.

Every path is attempted: a failure is recorded in `BatchResult.failed` with its typed
`remote_store.errors` exception and the batch goes on. Work runs on up to ``max_workers``
threads (a `Store` may be shared by threads); results keep the input order.

    from remote_store.ext.batch import batch_delete

    result = batch_delete(store, ["a.txt", "b.txt", "missing.txt"], missing_ok=False)
    result.succeeded      # ("a.txt", "b.txt")
    result.failed         # {"missing.txt": NotFound(...)}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from remote_store import Capability, Store
from remote_store.errors import InvalidPath, RemoteStoreError
from remote_store.kit import FlatKeyBackend
from remote_store_ext._pool import check_workers, run_bounded

#: Default number of worker threads.
DEFAULT_WORKERS = 8


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The outcome of a batch operation.

    Attributes:
        succeeded: Paths whose operation completed, in input order (for `batch_copy`:
            the source paths).
        failed: Path → the `RemoteStoreError` its operation raised, in input order.
        values: Path → the operation's return value for every succeeded path (for
            `batch_exists`: whether the file exists; None for copy and delete).
    """

    succeeded: tuple[str, ...] = ()
    failed: Mapping[str, RemoteStoreError] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "failed", MappingProxyType(dict(self.failed)))
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @property
    def ok(self) -> bool:
        """True when no path failed."""
        return not self.failed

    @property
    def total(self) -> int:
        """Number of paths attempted."""
        return len(self.succeeded) + len(self.failed)

    def raise_first(self) -> None:
        """Raise the first failure (in input order), if any.

        Raises:
            RemoteStoreError: The first recorded failure.
        """
        for exc in self.failed.values():
            raise exc


def _run(items: list[str], fn: Callable[[str], Any], max_workers: int) -> BatchResult:
    outcome: dict[str, tuple[Any, BaseException | None]] = {}
    for item, value, exc in run_bounded(items, fn, max_workers):
        outcome[item] = (value, exc)
    succeeded: list[str] = []
    failed: dict[str, RemoteStoreError] = {}
    values: dict[str, Any] = {}
    unexpected: BaseException | None = None
    for item in items:
        value, exc = outcome[item]
        if exc is None:
            succeeded.append(item)
            values[item] = value
        elif isinstance(exc, RemoteStoreError):
            failed[item] = exc
        elif unexpected is None:
            unexpected = exc
    if unexpected is not None:
        raise unexpected  # a programming error (TypeError …), not a storage failure
    return BatchResult(tuple(succeeded), failed, values)


def _unique(paths: Iterable[str]) -> list[str]:
    if isinstance(paths, (str, bytes)):
        raise InvalidPath("expected an iterable of paths, got a single string", path=str(paths))
    return list(dict.fromkeys(paths))


def batch_exists(store: Store, paths: Iterable[str], *, max_workers: int = DEFAULT_WORKERS) -> BatchResult:
    """Check which of ``paths`` are files (`Store.exists` per path).

    Args:
        store: The store to query.
        paths: Store-relative paths (duplicates are checked once).
        max_workers: Worker threads (≥ 1).

    Returns:
        A `BatchResult`; ``values[path]`` is True/False for every path that could be checked,
        ``failed`` holds paths whose check raised (``InvalidPath``, ``BackendUnavailable`` …).

    Raises:
        ConfigError: ``max_workers`` < 1.
        InvalidPath: ``paths`` is a single string instead of an iterable of paths.
    """
    return _run(_unique(paths), store.exists, max_workers)


def _native_deleter(store: Store) -> FlatKeyBackend | None:
    """The backend to bulk-delete through, or None when only the per-path loop is right.

    Bulk deletes bypass `Store.delete`, so they are used only for a plain `Store` (a
    `CachedStore`/`ObservedStore` subclass must see each delete) over a flat-key backend in
    flat mode (where `Store.delete` is exactly one delete request per key, too).
    """
    backend = store.backend
    if type(store) is not Store or not isinstance(backend, FlatKeyBackend) or backend.hierarchical:
        return None
    if Capability.DELETE not in backend.capabilities:
        return None
    return backend


def _bulk_delete(
    store: Store, backend: FlatKeyBackend, items: list[str], missing_ok: bool, max_workers: int
) -> BatchResult:
    failed: dict[str, RemoteStoreError] = {}
    names: dict[str, str] = {}  # path -> native object key
    for path in items:
        try:
            key = backend.to_key(store.native_path(path))
            if not key:
                raise InvalidPath("cannot delete the store root", path=path, backend=backend.type_name)
            names[path] = backend.object_key(key)
        except RemoteStoreError as exc:
            failed[path] = exc
    absent: list[str] = []  # checked and missing: Store.delete reports them
    retry: list[str] = []  # in a failed bulk request: deleted one by one (they existed)
    if not missing_ok:
        # DeleteObjects succeeds for absent keys: find them first (HEAD, in parallel) and let
        # Store.delete report each one with its exact error (NotFound, or InvalidPath for a folder).
        checked = _run(list(names), store.exists, max_workers)
        failed.update(checked.failed)
        absent = [p for p in checked.succeeded if not checked.values[p]]
        targets = [p for p in checked.succeeded if checked.values[p]]
    else:
        targets = list(names)
    size = max(1, int(backend.DELETE_BATCH))
    chunks = {str(i): targets[i : i + size] for i in range(0, len(targets), size)}

    def one_chunk(chunk_id: str) -> None:
        backend.delete_objects([names[p] for p in chunks[chunk_id]])

    done: set[str] = set()
    for chunk_id, _, error in run_bounded(list(chunks), one_chunk, max_workers):
        if error is None:
            done.update(chunks[chunk_id])
        elif isinstance(error, Exception):
            retry.extend(chunks[chunk_id])  # key by key, for typed per-path errors
        else:
            raise error

    def strict(path: str) -> None:
        store.delete(path, missing_ok=False)

    def lenient(path: str) -> None:
        store.delete(path, missing_ok=True)

    for todo, fn in ((absent, strict), (retry, lenient)):
        if todo:
            again = _run(todo, fn, max_workers)
            done.update(again.succeeded)
            failed.update(again.failed)
    succeeded = tuple(p for p in items if p in done)
    return BatchResult(succeeded, {p: failed[p] for p in items if p in failed})


def batch_delete(
    store: Store, paths: Iterable[str], *, missing_ok: bool = True, max_workers: int = DEFAULT_WORKERS
) -> BatchResult:
    """Delete every file in ``paths``, with the backend's bulk delete where it has one.

    On a plain `Store` over a flat-key backend (`remote_store.kit.FlatKeyBackend` in flat
    mode: S3, Azure), the paths are deleted with the backend's public
    `FlatKeyBackend.delete_objects` hook in chunks of its ``DELETE_BATCH`` keys (S3
    ``DeleteObjects``, 1,000 keys per request; Azure Blob Batch, 256 Delete Blob
    sub-requests per request), chunks in parallel; with ``missing_ok=False`` the paths are first checked with one ``HeadObject``
    each, in parallel, and the absent ones are reported by `Store.delete`. A chunk whose
    request fails is retried path by path, so every failure is typed and per path.
    Everywhere else (other backends, hierarchical mode, `CachedStore` / `ObservedStore`
    wrappers, which must see each delete) it is `Store.delete` per path (``unlink``,
    ``DeleteObject``, ``DELETE FROM`` …) on up to ``max_workers`` threads.

    Args:
        store: The store to delete from.
        paths: Store-relative file paths (duplicates are deleted once).
        missing_ok: When False, a missing file is a failure (`NotFound`; `InvalidPath`
            when the path is a folder).
        max_workers: Worker threads (≥ 1).

    Returns:
        A `BatchResult` with the deleted paths (input order) and the per-path failures.

    Raises:
        ConfigError: ``max_workers`` < 1.
        InvalidPath: ``paths`` is a single string.
    """
    items = _unique(paths)
    check_workers(max_workers)
    backend = _native_deleter(store)
    if backend is not None and len(items) > 1:
        return _bulk_delete(store, backend, items, missing_ok, max_workers)

    def one(path: str) -> None:
        store.delete(path, missing_ok=missing_ok)

    return _run(items, one, max_workers)


def batch_copy(
    store: Store,
    pairs: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    overwrite: bool = False,
    max_workers: int = DEFAULT_WORKERS,
) -> BatchResult:
    """Copy files within ``store`` (`Store.copy` per pair: server-side where the backend can).

    Args:
        store: The store holding sources and destinations.
        pairs: ``{src: dst}`` or an iterable of ``(src, dst)`` pairs.
        overwrite: Replace existing destinations; when False an existing one is a failure
            (`AlreadyExists`).
        max_workers: Worker threads (≥ 1).

    Returns:
        A `BatchResult` keyed by source path.

    Raises:
        ConfigError: ``max_workers`` < 1.
        InvalidPath: The same source appears twice with different destinations, or a
            pair is not a ``(src, dst)`` tuple.
    """
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    mapping: dict[str, str] = {}
    for pair in items:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidPath(f"batch_copy pairs must be (src, dst) tuples, got {pair!r}")
        src, dst = pair
        if mapping.setdefault(src, dst) != dst:
            raise InvalidPath("source listed twice with different destinations", path=str(src))

    def one(src: str) -> None:
        store.copy(src, mapping[src], overwrite=overwrite)

    return _run(list(mapping), one, max_workers)


__all__ = ["BatchResult", "batch_copy", "batch_delete", "batch_exists"]
