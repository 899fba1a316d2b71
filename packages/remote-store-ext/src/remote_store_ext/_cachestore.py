"""`CachedStore`: read-through caching of file contents in front of any `Store`."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from remote_store import (
    AtomicWriteHandle,
    Capability,
    FileInfo,
    FolderEntry,
    FolderInfo,
    Store,
    WritableContent,
    WriteResult,
)
from remote_store.errors import ConfigError, InvalidPath
from remote_store_ext._cachebackend import CacheBackend, CacheEntry, MemoryCache

#: Files larger than this are streamed through without being cached (bytes).
DEFAULT_MAX_ENTRY_BYTES = 16 * 1024 * 1024
_STRIPES = 1024


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Counters of a `CachedStore` (a snapshot).

    Attributes:
        hits: Reads served from the cache.
        misses: Reads that fetched from the store.
        revalidations: Expired entries confirmed unchanged by a metadata call (ETag/size).
        invalidations: Entries dropped because a mutation went through the store.
        evictions: Entries the cache backend removed to stay within its size bound.
        entries: Entries held now.
        bytes: Bytes of content held now.
    """

    hits: int
    misses: int
    revalidations: int
    invalidations: int
    evictions: int
    entries: int
    bytes: int

    @property
    def hit_ratio(self) -> float:
        """``hits / (hits + misses)`` (0.0 before any read)."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


def _norm(path: str) -> str:
    return "/".join(s for s in path.split("/") if s not in ("", "."))


class _State:
    """What a cached store and its children share: the cache, counters and fill guards."""

    def __init__(self, backend: CacheBackend, namespace: str, ttl: float, max_entry: int, clock: Callable[[], float]):
        self.cache = backend
        self.namespace = namespace
        self.ttl = ttl
        self.max_entry = max_entry
        self.clock = clock
        self.lock = threading.Lock()
        self.hits = self.misses = self.revalidations = self.invalidations = 0
        # A fill records these generations when it starts and stores its result only if
        # none moved meanwhile, so data read before a mutation is never cached after it.
        self.stripes = [0] * _STRIPES
        self.epoch = 0  # bumped by folder-wide invalidations

    def key(self, rel: str) -> str:
        return f"{self.namespace}\x00{rel}"

    def generation(self, rel: str) -> tuple[int, int]:
        return self.epoch, self.stripes[hash(rel) % _STRIPES]

    def invalidate(self, rel: str) -> None:
        with self.lock:
            self.stripes[hash(rel) % _STRIPES] += 1
        if self.cache.discard(self.key(rel)):
            with self.lock:
                self.invalidations += 1

    def invalidate_prefix(self, rel: str) -> None:
        with self.lock:
            self.epoch += 1
        n = self.cache.discard_prefix(self.key(rel + "/" if rel else ""))
        with self.lock:
            self.invalidations += n

    def store(self, rel: str, generation: tuple[int, int], entry: CacheEntry) -> None:
        if len(entry.data) > self.max_entry:
            return
        with self.lock:
            if self.generation(rel) != generation:
                return
            # Hold the lock across put so an invalidation cannot slip between check and put.
            self.cache.put(self.key(rel), entry)

    def count(self, field: str) -> None:
        with self.lock:
            setattr(self, field, getattr(self, field) + 1)


class _FillingReader(io.RawIOBase):
    """A pass-through stream that caches the content once it has been read to the end.

    It is seekable when the wrapped stream is; a seek away from the position reached by
    sequential reads stops the filling (the bytes seen would no longer be the file in order),
    so only streams read front to back populate the cache.
    """

    def __init__(self, raw: IO[bytes], on_complete: Callable[[bytes], None], limit: int) -> None:
        self._raw = raw
        self._on_complete = on_complete
        self._limit = limit
        self._buf: bytearray | None = bytearray()

    def readable(self) -> bool:
        return True

    def _seen(self, data: bytes) -> None:
        if self._buf is None:
            return
        if not data:
            buf, self._buf = self._buf, None
            self._on_complete(bytes(buf))
            return
        if len(self._buf) + len(data) > self._limit:
            self._buf = None  # too big to cache: stream through
        else:
            self._buf += data

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._seen(data)
        if size is None or size < 0:
            self._seen(b"")  # read to the end
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self._raw.seekable():
            raise io.UnsupportedOperation("seek")
        pos = int(self._raw.seek(offset, whence))
        if self._buf is not None and pos != len(self._buf):
            self._buf = None  # out of order: never cache what this stream reads
        return pos

    def tell(self) -> int:
        return int(self._raw.tell()) if self._raw.seekable() else super().tell()

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            finally:
                super().close()


class CachedStore(Store):
    """A `Store` that serves repeated reads of a file from a `CacheBackend`.

    **Reads** (`read_bytes`, `read_text`, `read`, `read_seekable`) are read-through: a miss
    fetches from the wrapped store and caches the content (files up to ``max_entry_bytes``;
    a stream is cached once read to its end). With ``ttl > 0`` an entry older than ``ttl``
    seconds is revalidated with one metadata call (`Store.get_file_info`: ``HeadObject``,
    ``stat`` …): unchanged ETag and size (or size and modification time when the backend
    reports no ETag) keep the entry, anything else refetches. ``ttl == 0`` never expires.

    **Mutations** through this store or its `child` stores — `write`, `write_text`,
    `write_atomic`, `open_atomic`, `delete`, `delete_folder`, `move`, `copy` — invalidate
    the affected entries when they complete, and a read that was fetching concurrently
    does not put its (possibly older) data into the cache. Changes made by other clients
    are seen after at most ``ttl`` seconds (never with ``ttl == 0``).

    Metadata calls and listings are not cached; they go to the wrapped store. Thread-safe.
    This class never closes the wrapped store unless you call `close` yourself.

    Args:
        store: The store to cache.
        backend: Where to keep contents (default: a new `MemoryCache`).
        ttl: Seconds before an entry is revalidated (0 = never expire).
        max_entry_bytes: Largest file cached, in bytes.
        clock: Wall clock in seconds (``time.time``); for tests.

    Raises:
        TypeError: ``store`` is not a `Store` or ``backend`` not a `CacheBackend`.
        ConfigError: ``ttl`` < 0 or ``max_entry_bytes`` < 1.
    """

    __slots__ = ("_inner", "_prefix", "_state")

    def __init__(
        self,
        store: Store,
        backend: CacheBackend | None = None,
        *,
        ttl: float = 0,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        clock: Callable[[], float] = time.time,
        _state: _State | None = None,
        _prefix: str = "",
    ) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"cache() needs a remote_store.Store, got {type(store).__name__}")
        super().__init__(store.backend, store.root_path, strict_keys=store.strict_keys)
        self._inner = store
        self._prefix = _prefix
        if _state is None:
            if backend is None:
                backend = MemoryCache()
            if not isinstance(backend, CacheBackend):
                raise TypeError(f"backend must be a CacheBackend, got {type(backend).__name__}")
            if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < 0:
                raise ConfigError(f"ttl must be a number of seconds >= 0, got {ttl!r}")
            if isinstance(max_entry_bytes, bool) or not isinstance(max_entry_bytes, int) or max_entry_bytes < 1:
                raise ConfigError(f"max_entry_bytes must be an int >= 1, got {max_entry_bytes!r}")
            _state = _State(backend, self._namespace(store), float(ttl), max_entry_bytes, clock)
        self._state = _state

    @staticmethod
    def _namespace(store: Store) -> str:
        try:
            native = store.native_path("")
        except Exception:
            native = f"id:{id(store.backend)}"
        return f"{store.backend.type_name}:{native}:{store.root_path}"

    # ------------------------------------------------------------------ introspection
    @property
    def wrapped(self) -> Store:
        """The store this one delegates to."""
        return self._inner

    @property
    def cache_backend(self) -> CacheBackend:
        """The `CacheBackend` holding the contents (shared with child stores)."""
        return self._state.cache

    @property
    def stats(self) -> CacheStats:
        """A `CacheStats` snapshot (shared with child stores)."""
        s = self._state
        with s.lock:
            return CacheStats(
                s.hits, s.misses, s.revalidations, s.invalidations, s.cache.evictions, s.cache.entries, s.cache.bytes
            )

    def invalidate(self, path: str | None = None) -> None:
        """Drop the cached content of ``path`` (a file, or a folder and everything below), or all when None."""
        if path is None:
            self._state.invalidate_prefix(self._prefix)
            return
        rel = self._rel_key(path)
        self._state.invalidate(rel)
        self._state.invalidate_prefix(rel)

    def _rel_key(self, path: str) -> str:
        if not isinstance(path, str):
            raise InvalidPath(f"path must be a str, got {type(path).__name__}", path=repr(path))
        p = _norm(path)
        return f"{self._prefix}/{p}" if self._prefix and p else (self._prefix or p)

    # ------------------------------------------------------------------ reads
    def _fresh(self, rel: str, path: str) -> CacheEntry | None:
        s = self._state
        entry = s.cache.get(s.key(rel))
        if entry is None:
            return None
        if s.ttl and s.clock() - entry.stored_at > s.ttl:
            return self._revalidate(rel, path, entry)
        return entry

    def _revalidate(self, rel: str, path: str, entry: CacheEntry) -> CacheEntry | None:
        s = self._state
        if not self.supports(Capability.METADATA):
            return None
        generation = s.generation(rel)
        info = self._inner.get_file_info(path)
        same_size = info.size == len(entry.data)
        if entry.etag is not None and info.etag is not None:
            unchanged = same_size and info.etag == entry.etag
        else:
            modified = info.modified_at.isoformat() if info.modified_at else None
            unchanged = same_size and modified is not None and modified == entry.modified_at
        if not unchanged:
            return None
        with s.lock:
            if s.generation(rel) != generation:
                return None
            s.cache.renew(s.key(rel), s.clock())
            s.revalidations += 1
        return entry

    def _validator(self, path: str) -> FileInfo | None:
        if self._state.ttl and self.supports(Capability.METADATA):
            return self._inner.get_file_info(path)  # before the read: a newer file only fails validation
        return None

    def _entry(self, data: bytes, info: FileInfo | None) -> CacheEntry:
        modified = info.modified_at.isoformat() if info is not None and info.modified_at else None
        return CacheEntry(data, self._state.clock(), info.etag if info else None, info.size if info else None, modified)

    def read_bytes(self, path: str) -> bytes:
        """`Store.read_bytes`, served from the cache when possible. Raises as `Store.read_bytes`."""
        rel = self._rel_key(path)
        s = self._state
        entry = self._fresh(rel, path)
        if entry is not None:
            s.count("hits")
            return entry.data
        s.count("misses")
        generation = s.generation(rel)
        info = self._validator(path)
        data = self._inner.read_bytes(path)
        s.store(rel, generation, self._entry(data, info))
        return data

    def read_text(self, path: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
        """`Store.read_text` over the cached `read_bytes`."""
        return self.read_bytes(path).decode(encoding, errors)

    def read(self, path: str) -> IO[bytes]:
        """`Store.read`: a cached file is returned as an in-memory stream; otherwise the
        wrapped store's stream, cached once read to its end (if not larger than ``max_entry_bytes``)."""
        rel = self._rel_key(path)
        s = self._state
        entry = self._fresh(rel, path)
        if entry is not None:
            s.count("hits")
            return io.BytesIO(entry.data)
        s.count("misses")
        generation = s.generation(rel)
        info = self._validator(path)
        raw = self._inner.read(path)

        def complete(data: bytes) -> None:
            s.store(rel, generation, self._entry(data, info))

        return _FillingReader(raw, complete, s.max_entry)  # type: ignore[return-value]

    def read_seekable(self, path: str) -> IO[bytes]:
        """`Store.read_seekable`: a cached file is an in-memory stream, else the wrapped store's (not cached)."""
        entry = self._fresh(self._rel_key(path), path)
        if entry is not None:
            self._state.count("hits")
            return io.BytesIO(entry.data)
        self._state.count("misses")
        return self._inner.read_seekable(path)

    # ------------------------------------------------------------------ mutations
    def _after(self, path: str) -> None:
        self._state.invalidate(self._rel_key(path))

    def write(
        self, path: str, content: WritableContent, *, overwrite: bool = False, metadata: Mapping[str, str] | None = None
    ) -> WriteResult:
        """`Store.write`; invalidates ``path`` (also when the write fails)."""
        try:
            return self._inner.write(path, content, overwrite=overwrite, metadata=metadata)
        finally:
            self._after(path)

    def write_text(
        self,
        path: str,
        text: str,
        *,
        encoding: str = "utf-8",
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """`Store.write_text`; invalidates ``path``."""
        try:
            return self._inner.write_text(path, text, encoding=encoding, overwrite=overwrite, metadata=metadata)
        finally:
            self._after(path)

    def write_atomic(
        self, path: str, content: WritableContent, *, overwrite: bool = False, metadata: Mapping[str, str] | None = None
    ) -> WriteResult:
        """`Store.write_atomic`; invalidates ``path``."""
        try:
            return self._inner.write_atomic(path, content, overwrite=overwrite, metadata=metadata)
        finally:
            self._after(path)

    @contextmanager
    def open_atomic(
        self, path: str, *, overwrite: bool = False, metadata: Mapping[str, str] | None = None
    ) -> Iterator[AtomicWriteHandle]:
        """`Store.open_atomic`; invalidates ``path`` when the block exits."""
        try:
            with self._inner.open_atomic(path, overwrite=overwrite, metadata=metadata) as handle:
                yield handle
        finally:
            self._after(path)

    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """`Store.delete`; invalidates ``path``."""
        try:
            self._inner.delete(path, missing_ok=missing_ok)
        finally:
            self._after(path)

    def delete_folder(self, path: str, *, recursive: bool = False, missing_ok: bool = False) -> None:
        """`Store.delete_folder`; invalidates everything below ``path``."""
        try:
            self._inner.delete_folder(path, recursive=recursive, missing_ok=missing_ok)
        finally:
            self._state.invalidate_prefix(self._rel_key(path))

    def collect_garbage(self, path: str = "", *, older_than: float = 3600.0) -> int:
        """`Store.collect_garbage` of the wrapped store (temp leftovers are never cached)."""
        return self._inner.collect_garbage(path, older_than=older_than)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """`Store.move`; invalidates ``src`` and ``dst``."""
        try:
            self._inner.move(src, dst, overwrite=overwrite)
        finally:
            self._after(src)
            self._after(dst)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """`Store.copy`; invalidates ``dst``."""
        try:
            self._inner.copy(src, dst, overwrite=overwrite)
        finally:
            self._after(dst)

    # ------------------------------------------------------------------ delegated (not cached)
    # Everything else goes to the wrapped store, so wrappers compose: cache(observe(store))
    # still reports every call to the observer.
    def exists(self, path: str) -> bool:
        """`Store.exists` of the wrapped store (not cached)."""
        return self._inner.exists(path)

    def is_file(self, path: str) -> bool:
        """`Store.is_file` of the wrapped store (not cached)."""
        return self._inner.is_file(path)

    def is_folder(self, path: str) -> bool:
        """`Store.is_folder` of the wrapped store (not cached)."""
        return self._inner.is_folder(path)

    def ping(self) -> None:
        """`Store.ping` of the wrapped store."""
        self._inner.ping()

    def close(self) -> None:
        """`Store.close` of the wrapped store (only when you call it); the cache is kept."""
        self._inner.close()

    def list_files(
        self, path: str = "", *, recursive: bool = False, max_depth: int | None = None, pattern: str | None = None
    ) -> Iterator[FileInfo]:
        """`Store.list_files` of the wrapped store (not cached)."""
        return self._inner.list_files(path, recursive=recursive, max_depth=max_depth, pattern=pattern)

    def list_folders(
        self, path: str = "", *, recursive: bool = False, max_depth: int | None = None, pattern: str | None = None
    ) -> Iterator[str]:
        """`Store.list_folders` of the wrapped store (not cached)."""
        return self._inner.list_folders(path, recursive=recursive, max_depth=max_depth, pattern=pattern)

    def iter_children(self, path: str = "") -> Iterator[FileInfo | FolderEntry]:
        """`Store.iter_children` of the wrapped store (not cached)."""
        return self._inner.iter_children(path)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """`Store.glob` of the wrapped store (not cached)."""
        return self._inner.glob(pattern)

    def head(self, path: str) -> WriteResult:
        """`Store.head` of the wrapped store (not cached)."""
        return self._inner.head(path)

    def get_file_info(self, path: str) -> FileInfo:
        """`Store.get_file_info` of the wrapped store (not cached)."""
        return self._inner.get_file_info(path)

    def get_folder_info(self, path: str = "", *, max_depth: int | None = None) -> FolderInfo:
        """`Store.get_folder_info` of the wrapped store (not cached)."""
        return self._inner.get_folder_info(path, max_depth=max_depth)

    def child(self, subpath: str) -> CachedStore:
        """`Store.child` sharing this store's cache (mutations through either invalidate both)."""
        inner = self._inner.child(subpath)
        return CachedStore(inner, _state=self._state, _prefix=self._rel_key(subpath))

    def __repr__(self) -> str:
        return f"CachedStore({self._inner!r}, ttl={self._state.ttl})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Store, (self.backend, self.root_path))  # a cache does not travel between processes


def cache(
    store: Store,
    backend: CacheBackend | None = None,
    *,
    ttl: float = 0,
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
) -> CachedStore:
    """Wrap ``store`` in a read-through `CachedStore`.

    Args:
        store: The store to cache (never closed by this function).
        backend: `MemoryCache` (default, 256 MiB), `DiskCache`, or your own `CacheBackend`.
        ttl: Seconds before an entry is revalidated by ETag/size (0 = never expire).
        max_entry_bytes: Largest file cached, in bytes.

    Returns:
        The `CachedStore`.

    Raises:
        TypeError: ``store`` is not a `Store` or ``backend`` not a `CacheBackend`.
        ConfigError: ``ttl`` < 0 or ``max_entry_bytes`` < 1.
    """
    return CachedStore(store, backend, ttl=ttl, max_entry_bytes=max_entry_bytes)
