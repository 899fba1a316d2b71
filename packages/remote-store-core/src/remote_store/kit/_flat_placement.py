"""Placement of `FlatKeyBackend` writes under ``hierarchical``: the checks and their threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from remote_store import _path
from remote_store.errors import InvalidPath

if TYPE_CHECKING:
    from remote_store.kit._flat import FlatKeyBackend

__all__ = ["check_placement", "close_checks"]


def check_placement(backend: FlatKeyBackend, key: str) -> None:
    """`FlatKeyBackend.check_placement`: one listing for ``key/`` plus one ``head`` per parent
    folder, sent concurrently; no request without ``hierarchical``.

    Raises:
        InvalidPath: ``key`` is a folder, or a parent of ``key`` is a file.
    """
    if not backend._hierarchical:
        return
    parents: list[str] = []
    parent = _path.parent(key)
    while parent:
        parents.append(parent)
        parent = _path.parent(parent)
    checks: list[Callable[[], bool]] = [lambda: backend.is_folder(key)]
    checks += [lambda p=p: backend._head(p) is not None for p in parents]  # type: ignore[misc]
    results = [checks[0]()] if len(checks) == 1 else list(_checker(backend).map(lambda fn: fn(), checks))
    if results[0]:
        raise InvalidPath("is a folder, not a file", path=key)
    if any(results[1:]):
        raise InvalidPath("a parent of the path is a file", path=key)


def _checker(backend: FlatKeyBackend) -> ThreadPoolExecutor:
    pool = backend._check_pool
    if pool is not None and backend._check_pid == os.getpid():
        return pool
    if backend._check_pid != os.getpid():
        backend._kit_lock = threading.Lock()  # the parent's lock may be held by a thread that is not here
    with backend._kit_lock:
        if backend._check_pool is None or backend._check_pid != os.getpid():
            backend._check_pool = ThreadPoolExecutor(4, thread_name_prefix="rs-kit-check")
            backend._check_pid = os.getpid()
        return backend._check_pool


def close_checks(backend: FlatKeyBackend) -> None:
    """Stop the placement-check threads of ``backend`` (recreated on demand)."""
    with backend._kit_lock:
        pool, backend._check_pool = backend._check_pool, None
    if pool is not None and backend._check_pid == os.getpid():
        pool.shutdown(wait=False)
