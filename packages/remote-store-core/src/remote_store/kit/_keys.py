"""Native keys the Store's path rules cannot address, and the record a backend keeps of them."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

__all__ = ["UnreachableKeys", "UnreachableSnapshot", "unreachable_reason"]

log = logging.getLogger("remote_store.kit")

#: How many distinct keys a `UnreachableKeys` remembers (and logs individually).
_REMEMBER = 1000


def unreachable_reason(key: str, *, size: int | None = None) -> str | None:
    """Why the Store cannot address the native key ``key`` (relative to the backend root), or None.

    A `Store` path never has an empty segment, a leading ``/``, a ``.`` or ``..`` segment or
    a NUL, so objects named that way by other tools can be listed by the service but never
    read, written or deleted one by one through a `Store`. A key ending in ``/`` is a folder
    marker when it is empty (``size`` 0 or unknown) and unreachable when it holds bytes.

    Args:
        key: Object key relative to the backend root (no root prefix).
        size: Object size in bytes, when known (listing entries), else None.

    Returns:
        A short reason (``"empty segment ('//')"``) or None when the key is addressable.
    """
    if not key:
        return "empty key"
    if "\x00" in key:
        return "NUL character"
    if key.startswith("/"):
        return "leading '/'"
    body = key
    if key.endswith("/"):
        if size:
            return f"non-empty object ({size} bytes) whose key ends in '/'"
        body = key[:-1]
        if not body:
            return "leading '/'"
    for segment in body.split("/"):
        if segment == "":
            return "empty segment ('//')"
        if segment in (".", ".."):
            return f"'{segment}' segment"
    return None


@dataclass(frozen=True, slots=True)
class UnreachableSnapshot:
    """What a backend's listings have met so far that a `Store` cannot address.

    Attributes:
        count: Distinct native keys seen (encounters beyond the remembered ones are counted too).
        keys: The first remembered native keys (full object keys, as the service names
            them), at most 1,000, in the order they were met.
        deleted: How many of them `delete_folder` removed together with their folder.
    """

    count: int
    keys: tuple[str, ...]
    deleted: int


class UnreachableKeys:
    """Thread-safe record of unaddressable keys met by listings; exposed as ``backend.unreachable``.

    Each distinct key is logged once at WARNING on ``logging.getLogger("remote_store.kit")``
    with its native name and the reason. Listings skip such keys (they cannot be passed back
    to a `Store`), so this record is where a caller sees them::

        for info in store.list_files("", recursive=True):
            ...
        if store.backend.unreachable.count:
            print("not reachable through the store:", store.backend.unreachable.snapshot().keys)

    Args:
        backend: Backend type name used in the log line (``"s3"``).
    """

    def __init__(self, backend: str) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self._seen: dict[str, None] = {}
        self._overflow = 0
        self._deleted = 0

    @property
    def count(self) -> int:
        """Distinct unaddressable keys met so far (0 when every key was addressable)."""
        return len(self._seen) + self._overflow

    def snapshot(self) -> UnreachableSnapshot:
        """Return a consistent copy of the record."""
        with self._lock:
            return UnreachableSnapshot(len(self._seen) + self._overflow, tuple(self._seen), self._deleted)

    def report(self, native: str, reason: str) -> None:
        """Record the native key ``native`` (unaddressable for ``reason``); log it the first time."""
        with self._lock:
            if native in self._seen:
                return
            if len(self._seen) >= _REMEMBER:
                self._overflow += 1
                first = self._overflow == 1
            else:
                self._seen[native] = None
                first = True
        if first:
            log.warning(
                "%s: skipping object %r: the store cannot address it (%s); see backend.unreachable",
                self._backend,
                native,
                reason,
            )

    def count_deleted(self, n: int) -> None:
        """Add ``n`` to the number of unaddressable keys removed by `delete_folder`."""
        with self._lock:
            self._deleted += n

    def reset(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._seen.clear()
            self._overflow = 0
            self._deleted = 0
