"""Where `CachedStore` keeps file contents: the `CacheBackend` ABC, `MemoryCache` and `DiskCache`."""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import os
import struct
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass

from remote_store.errors import ConfigError

#: Default bound of a cache, in bytes of content.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One cached file.

    Attributes:
        data: The file's content.
        stored_at: When the content was fetched or last revalidated (``time.time()`` seconds).
        etag: The etag the backend reported when it was fetched, or None.
        size: The size the backend reported, or None (``len(data)`` is the cached size).
        modified_at: The modification time reported (ISO 8601 string), or None.
    """

    data: bytes
    stored_at: float
    etag: str | None = None
    size: int | None = None
    modified_at: str | None = None


def _check_bytes(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be an int >= 1, got {value!r}")
    return value


class CacheBackend(abc.ABC):
    """Storage for cached file contents, bounded in bytes, evicting least-recently-used entries.

    Implementations must be thread-safe: `CachedStore` calls them from every thread that
    uses the store. Keys are opaque strings. ``get`` counts as a use (moves the entry to the
    most-recently-used end); ``put`` replaces any previous entry and evicts LRU entries until
    the total content size fits ``max_bytes`` (an entry larger than ``max_bytes`` is not stored).
    """

    #: Upper bound on the summed ``len(entry.data)`` of all entries, in bytes.
    max_bytes: int

    @abc.abstractmethod
    def get(self, key: str) -> CacheEntry | None:
        """Return the entry for ``key`` (marking it recently used), or None."""

    @abc.abstractmethod
    def put(self, key: str, entry: CacheEntry) -> None:
        """Store ``entry`` under ``key``, evicting LRU entries as needed."""

    @abc.abstractmethod
    def discard(self, key: str) -> bool:
        """Remove ``key``; return whether it was present."""

    @abc.abstractmethod
    def discard_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix``; return how many were removed."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Remove everything."""

    @property
    @abc.abstractmethod
    def entries(self) -> int:
        """Number of entries held."""

    @property
    @abc.abstractmethod
    def bytes(self) -> int:
        """Summed content size of the entries, in bytes."""

    @property
    @abc.abstractmethod
    def evictions(self) -> int:
        """Entries removed to make room since creation."""

    def renew(self, key: str, stored_at: float) -> None:
        """Mark ``key`` as revalidated at ``stored_at``. Default: re-``put`` the entry."""
        entry = self.get(key)
        if entry is not None:
            self.put(key, CacheEntry(entry.data, stored_at, entry.etag, entry.size, entry.modified_at))


class MemoryCache(CacheBackend):
    """An in-process LRU cache bounded by ``max_bytes`` of content.

    Args:
        max_bytes: Bound on cached content in bytes (≥ 1; default 256 MiB).

    Raises:
        ConfigError: ``max_bytes`` < 1.
    """

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = _check_bytes("max_bytes", max_bytes)
        self._lock = threading.Lock()
        self._items: OrderedDict[str, CacheEntry] = OrderedDict()
        self._bytes = 0
        self._evictions = 0

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
            return entry

    def put(self, key: str, entry: CacheEntry) -> None:
        size = len(entry.data)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.data)
            if size > self.max_bytes:
                return
            while self._items and self._bytes + size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.data)
                self._evictions += 1
            self._items[key] = entry
            self._bytes += size

    def renew(self, key: str, stored_at: float) -> None:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items[key] = CacheEntry(entry.data, stored_at, entry.etag, entry.size, entry.modified_at)
                self._items.move_to_end(key)

    def discard(self, key: str) -> bool:
        with self._lock:
            old = self._items.pop(key, None)
            if old is None:
                return False
            self._bytes -= len(old.data)
            return True

    def discard_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [k for k in self._items if k.startswith(prefix)]
            for k in doomed:
                self._bytes -= len(self._items.pop(k).data)
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    @property
    def entries(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def evictions(self) -> int:
        return self._evictions


_HEADER = struct.Struct(">I")


class DiskCache(CacheBackend):
    """An LRU cache in a local folder, bounded by ``max_bytes`` of content; survives restarts.

    Each entry is one file (named by the SHA-256 of its key) holding a small JSON header
    and the content, written to a temp file and renamed, so a crash never leaves a torn
    entry. On start the folder is scanned and entries are ordered by modification time.
    Share one folder between processes only read-mostly: each process keeps its own index.

    Args:
        directory: Folder for the entries (created if needed).
        max_bytes: Bound on cached content in bytes (≥ 1; default 256 MiB).

    Raises:
        ConfigError: ``max_bytes`` < 1, or ``directory`` cannot be created.
    """

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = _check_bytes("max_bytes", max_bytes)
        self.directory = os.path.abspath(os.fspath(directory))
        try:
            os.makedirs(self.directory, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create cache folder {self.directory}: {exc.strerror}") from exc
        self._lock = threading.Lock()
        self._index: OrderedDict[str, tuple[str, int]] = OrderedDict()  # key -> (file name, content size)
        self._bytes = 0
        self._evictions = 0
        self._load()

    def _file(self, key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest() + ".entry"

    def _load(self) -> None:
        found: list[tuple[float, str, str, int]] = []
        for name in os.listdir(self.directory):
            full = os.path.join(self.directory, name)
            if name.startswith(".~rs-"):
                with contextlib.suppress(OSError):
                    os.unlink(full)  # temp file of a killed writer
                continue
            if not name.endswith(".entry"):
                continue
            try:
                header, offset = self._read_header(full)
                size = os.path.getsize(full) - offset
                found.append((os.path.getmtime(full), str(header["key"]), name, size))
            except (OSError, ValueError, KeyError):
                with contextlib.suppress(OSError):
                    os.unlink(full)
        for _, key, name, size in sorted(found):
            self._index[key] = (name, size)
            self._bytes += size
        with self._lock:
            self._evict(0)

    @staticmethod
    def _read_header(full: str) -> tuple[dict[str, object], int]:
        with open(full, "rb") as f:
            raw = f.read(_HEADER.size)
            if len(raw) != _HEADER.size:
                raise ValueError("truncated entry")
            (n,) = _HEADER.unpack(raw)
            header = json.loads(f.read(n))
        if not isinstance(header, dict):
            raise ValueError("bad header")
        return header, _HEADER.size + n

    def _evict(self, incoming: int) -> None:
        while self._index and self._bytes + incoming > self.max_bytes:
            _, (name, size) = self._index.popitem(last=False)
            self._bytes -= size
            self._evictions += 1
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.directory, name))

    def get(self, key: str) -> CacheEntry | None:
        with self._lock:
            item = self._index.get(key)
            if item is None:
                return None
            self._index.move_to_end(key)
        full = os.path.join(self.directory, item[0])
        try:
            with open(full, "rb") as f:
                (n,) = _HEADER.unpack(f.read(_HEADER.size))
                header = json.loads(f.read(n))
                data = f.read()
        except (OSError, ValueError, struct.error):
            self.discard(key)  # evicted or damaged meanwhile: a miss
            return None
        if header.get("key") != key:
            return None
        return CacheEntry(
            data, float(header["stored_at"]), header.get("etag"), header.get("size"), header.get("modified_at")
        )

    def put(self, key: str, entry: CacheEntry) -> None:
        size = len(entry.data)
        if size > self.max_bytes:
            self.discard(key)
            return
        header = json.dumps(
            {
                "key": key,
                "stored_at": entry.stored_at,
                "etag": entry.etag,
                "size": entry.size,
                "modified_at": entry.modified_at,
            }
        ).encode()
        name = self._file(key)
        fd, tmp = tempfile.mkstemp(prefix=".~rs-", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_HEADER.pack(len(header)))
                f.write(header)
                f.write(entry.data)
            with self._lock:
                old = self._index.pop(key, None)
                if old is not None:
                    self._bytes -= old[1]
                self._evict(size)
                os.replace(tmp, os.path.join(self.directory, name))
                self._index[key] = (name, size)
                self._bytes += size
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def discard(self, key: str) -> bool:
        with self._lock:
            item = self._index.pop(key, None)
            if item is None:
                return False
            self._bytes -= item[1]
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(self.directory, item[0]))
            return True

    def discard_prefix(self, prefix: str) -> int:
        with self._lock:
            doomed = [k for k in self._index if k.startswith(prefix)]
        return sum(self.discard(k) for k in doomed)

    def clear(self) -> None:
        with self._lock:
            keys = list(self._index)
        for k in keys:
            self.discard(k)

    @property
    def entries(self) -> int:
        return len(self._index)

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def evictions(self) -> int:
        return self._evictions
