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

from remote_store import Store
from remote_store.errors import InvalidPath, RemoteStoreError
from remote_store_ext._pool import run_bounded

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


def batch_delete(
    store: Store, paths: Iterable[str], *, missing_ok: bool = True, max_workers: int = DEFAULT_WORKERS
) -> BatchResult:
    """Delete every file in ``paths`` (`Store.delete` per path: ``DeleteObject``, ``unlink`` …).

    Args:
        store: The store to delete from.
        paths: Store-relative file paths (duplicates are deleted once).
        missing_ok: When False, a missing file is a failure (`NotFound`).
        max_workers: Worker threads (≥ 1).

    Returns:
        A `BatchResult` with the deleted paths and the per-path failures.

    Raises:
        ConfigError: ``max_workers`` < 1.
        InvalidPath: ``paths`` is a single string.
    """

    def one(path: str) -> None:
        store.delete(path, missing_ok=missing_ok)

    return _run(_unique(paths), one, max_workers)


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
