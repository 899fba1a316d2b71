"""Config-driven middleware: ``cache``, ``observe`` and ``otel`` as named store middleware.

The core applies middleware listed in a store profile when it builds the store, so a
configuration file can ask for a cached, observed store without code::

    [backends.s3main]
    type = "s3"
    options = { bucket = "reports" }

    [stores.reports]
    backend = "s3main"
    middleware = [
        { name = "cache", options = { ttl = 30, max_bytes = 67108864 } },
        "observe",
    ]

``open_store("reports")`` then returns a `remote_store.Store` whose calls go
observe → cache → S3.

**Order.** The core wraps the backend in the listed middleware *innermost first*, in the
order the list gives (pluggy's registration order never matters). With
``["cache", "observe"]`` every call is observed, cache hits included; with
``["observe", "cache"]`` only the calls that reach the backend (cache misses,
revalidations, writes, listings) are observed. The priorities the plugin declares on each
`remote_store.MiddlewareSpec` (shown by ``remote-store plugins``) record the recommended
nesting: ``cache`` (10) inside ``observe`` (50) inside ``otel`` (60).

**Seam.** A core middleware wraps a `remote_store.Backend` in another `Backend`; the
extensions wrap a `remote_store.Store`. `StoreMiddleware` bridges the two: it is a
`remote_store.kit.ForwardingBackend` that runs every backend call through a wrapped
``Store(inner)`` (root ``""``, so paths are backend keys) built by `wrap`. Events of the
``observe``/``otel`` middleware therefore name backend keys (the profile's ``root_path``
included) and the `Store` operation names (``get_file_info`` for ``stat``, ``read`` for
``open_read``).

Each middleware pickles by configuration (its options), like every backend, so stores
built from configuration travel to worker processes; the cache starts empty there.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast

from remote_store import AtomicWriteHandle, AtomicWriter, Backend, FileInfo, FolderEntry, FolderInfo, Store, WriteResult
from remote_store.errors import ConfigError
from remote_store.kit import ForwardingBackend
from remote_store_ext._cachebackend import DEFAULT_MAX_BYTES, DiskCache, MemoryCache
from remote_store_ext._cachestore import DEFAULT_MAX_ENTRY_BYTES, CachedStore
from remote_store_ext.observe import Callback, ObservedStore, StoreEvent

#: Logger the ``observe`` middleware reports events to when no ``callback`` is configured.
EVENT_LOGGER = "remote_store.events"

_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}


class _AtomicAdapter(AtomicWriter):
    """A backend `AtomicWriter` over the wrapped store's ``open_atomic`` context manager."""

    def __init__(self, store: Store, key: str, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._cm = store.open_atomic(key, overwrite=overwrite, metadata=dict(metadata) or None)
        self._handle: AtomicWriteHandle = self._cm.__enter__()
        self._done = False

    def write(self, data: bytes) -> int:
        return int(self._handle.write(data))

    def commit(self) -> WriteResult:
        self._done = True
        self._cm.__exit__(None, None, None)
        result = self._handle.result
        assert result is not None
        return result

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        exc = _Aborted("atomic write aborted")
        try:
            self._cm.__exit__(type(exc), exc, None)
        except _Aborted:
            pass


class _Aborted(Exception):
    """Thrown into the wrapped ``open_atomic`` block to abort it."""


class StoreMiddleware(ForwardingBackend):
    """A `Backend` whose every call goes through a `Store` wrapper of the inner backend.

    Subclasses implement `wrap` (``Store(inner)`` → e.g. a `CachedStore`) and list their
    own constructor options in `options`, so the middleware pickles and compares by
    configuration. Every `Backend` method maps to the `Store` method of the same meaning
    (``stat`` → ``get_file_info``, ``open_read`` → ``read``, ``iter_files`` →
    ``list_files``, ``folder_info`` → ``get_folder_info`` …) on a store rooted at ``""``,
    so keys pass through unchanged and errors arrive already typed
    (`remote_store.errors.RemoteStoreError` subclasses, with the key as ``path``).
    `close` closes the inner backend; the wrapper store itself holds nothing to close.

    Args:
        inner: The backend to wrap.
        inner_type: With ``inner_options``, build the inner backend (used when unpickling).
        inner_options: Constructor arguments of ``inner_type``.
    """

    def __init__(
        self,
        inner: Backend | None = None,
        *,
        inner_type: type[Backend] | None = None,
        inner_options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(inner, inner_type=inner_type, inner_options=inner_options)
        self._store = self.wrap(Store(self.inner))

    def wrap(self, store: Store) -> Store:
        """Return the `Store` every call goes through (``store`` is ``Store(inner)``). Override it."""
        return store

    def rescoped(self, inner_view: Backend) -> Backend:
        """This middleware over the inner backend's scoped view, with its own wrapped store.

        The view gets a fresh `wrap` store (``Store(inner_view)``), so per-store state such as
        a cache is never shared between scopes: the same key can name different files
        through a view and through the unscoped backend.
        """
        clone = cast(StoreMiddleware, super().rescoped(inner_view))
        clone._store = clone.wrap(Store(inner_view))
        return clone

    @property
    def store(self) -> Store:
        """The wrapped `Store` the backend calls go through."""
        return self._store

    def middleware_options(self) -> dict[str, Any]:
        """This middleware's own constructor options (added to `options`). Override it."""
        return {}

    @property
    def options(self) -> dict[str, Any]:
        """Inner backend type and options plus `middleware_options`: rebuilds an equivalent wrapper."""
        return {**super().options, **self.middleware_options()}

    # required
    def exists(self, key: str) -> bool:
        return self._store.exists(key)

    def is_folder(self, key: str) -> bool:
        return self._store.is_folder(key)

    def is_file(self, key: str) -> bool:
        return self._store.is_file(key)

    def open_read(self, key: str) -> IO[bytes]:
        return self._store.read(key)

    def open_read_seekable(self, key: str) -> IO[bytes]:
        return self._store.read_seekable(key)

    def read_bytes(self, key: str) -> bytes:
        return self._store.read_bytes(key)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return self._store.write(key, stream, overwrite=overwrite, metadata=dict(metadata) or None)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return self._store.write_atomic(key, stream, overwrite=overwrite, metadata=dict(metadata) or None)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        return _AtomicAdapter(self._store, key, overwrite, metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        self._store.delete(key, missing_ok=missing_ok)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        self._store.delete_folder(key, recursive=recursive)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        return self._store.list_files(prefix, recursive=recursive, max_depth=max_depth)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        return self._store.list_folders(prefix)

    def iter_children(self, prefix: str) -> Iterator[FileInfo | FolderEntry]:
        return self._store.iter_children(prefix)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        return self._store.glob(pattern)

    def stat(self, key: str) -> FileInfo:
        return self._store.get_file_info(key)

    def folder_info(self, key: str) -> FolderInfo:
        return self._store.get_folder_info(key)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        self._store.move(src, dst, overwrite=overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        self._store.copy(src, dst, overwrite=overwrite)

    def ping(self) -> None:
        self._store.ping()

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        return self._store.collect_garbage(prefix, older_than=older_than)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def _reject(middleware: str, unknown: Mapping[str, Any]) -> None:
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigError(f"middleware '{middleware}' got unknown options: {names}", path=f"{middleware}.options")


def _number(name: str, value: Any, *, minimum: float, integer: bool = False) -> Any:
    bad = isinstance(value, bool) or not isinstance(value, int if integer else (int, float))
    if bad or value < minimum:
        kind = "an int" if integer else "a number"
        raise ConfigError(f"{name} must be {kind} >= {minimum:g}, got {value!r}", path=name)
    return value


class CacheMiddleware(StoreMiddleware):
    """Middleware ``cache``: read-through caching (`CachedStore`) configured by options.

    Options (all optional):
        ttl: Seconds before a cached file is revalidated (``0`` = never expire; default 0).
        max_bytes: Bound of the cache in bytes of content (default 256 MiB); LRU eviction.
        max_entry_bytes: Largest file cached, in bytes (default `DEFAULT_MAX_ENTRY_BYTES`).
        directory: Keep contents on local disk in this folder (`DiskCache`) instead of
            memory (`MemoryCache`).

    Raises:
        ConfigError: An option has the wrong type or range, or is unknown.
    """

    def __init__(
        self,
        inner: Backend | None = None,
        *,
        ttl: float = 0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        directory: str | None = None,
        inner_type: type[Backend] | None = None,
        inner_options: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        _reject("cache", unknown)
        self._ttl = float(_number("ttl", ttl, minimum=0))
        self._max_bytes = int(_number("max_bytes", max_bytes, minimum=1, integer=True))
        self._max_entry_bytes = int(_number("max_entry_bytes", max_entry_bytes, minimum=1, integer=True))
        if directory is not None and not isinstance(directory, str):
            raise ConfigError(f"directory must be a str, got {type(directory).__name__}", path="directory")
        self._directory = directory
        super().__init__(inner, inner_type=inner_type, inner_options=inner_options)

    def wrap(self, store: Store) -> Store:
        """A `CachedStore` over ``store`` with this middleware's options."""
        cache = DiskCache(self._directory, self._max_bytes) if self._directory else MemoryCache(self._max_bytes)
        return CachedStore(store, cache, ttl=self._ttl, max_entry_bytes=self._max_entry_bytes)

    def middleware_options(self) -> dict[str, Any]:
        """``ttl``, ``max_bytes``, ``max_entry_bytes`` and ``directory``."""
        return {
            "ttl": self._ttl,
            "max_bytes": self._max_bytes,
            "max_entry_bytes": self._max_entry_bytes,
            "directory": self._directory,
        }

    @property
    def cached_store(self) -> CachedStore:
        """The `CachedStore` (its ``stats`` and ``invalidate``)."""
        store = self.store
        assert isinstance(store, CachedStore)
        return store


def _log_events(logger: str, level: int) -> Callback:
    log = logging.getLogger(logger)

    def record(event: StoreEvent) -> None:
        if log.isEnabledFor(level):
            log.log(
                level,
                "%s %s %s %.6fs bytes=%s%s",
                event.operation,
                event.path,
                event.outcome,
                event.duration,
                event.bytes,
                f" error={event.error_type}" if event.error_type else "",
            )

    return record


class ObserveMiddleware(StoreMiddleware):
    """Middleware ``observe``: one `StoreEvent` per call (`ObservedStore`) configured by options.

    Options (all optional):
        callback: ``"package.module:function"`` of a ``callback(StoreEvent)``, imported when
            the store is built. Default: log each event to the ``remote_store.events`` logger.
        level: Log level of the default callback: ``"DEBUG"`` (default), ``"INFO"`` or
            ``"WARNING"``.
        logger: Logger name of the default callback (default ``"remote_store.events"``).

    Event paths are backend keys (see the module docstring). Event contents never include
    file data or option values.

    Raises:
        ConfigError: ``callback`` cannot be imported or is not callable; ``level`` or an
            option name is unknown.
    """

    def __init__(
        self,
        inner: Backend | None = None,
        *,
        callback: str | None = None,
        level: str = "DEBUG",
        logger: str = EVENT_LOGGER,
        inner_type: type[Backend] | None = None,
        inner_options: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        _reject("observe", unknown)
        if not isinstance(level, str) or level.upper() not in _LEVELS:
            raise ConfigError(f"level must be one of {', '.join(_LEVELS)}, got {level!r}", path="level")
        if not isinstance(logger, str) or not logger:
            raise ConfigError(f"logger must be a non-empty str, got {logger!r}", path="logger")
        self._callback_target = callback
        self._level = level.upper()
        self._logger = logger
        self._callback = self._resolve(callback)
        super().__init__(inner, inner_type=inner_type, inner_options=inner_options)

    def _resolve(self, target: str | None) -> Callback:
        if target is None:
            return _log_events(self._logger, _LEVELS[self._level])
        if not isinstance(target, str) or ":" not in target:
            raise ConfigError(f"callback must be a 'module:function' str, got {target!r}", path="callback")
        module, _, attr = target.partition(":")
        try:
            fn: Any = importlib.import_module(module)
            for part in attr.split("."):
                fn = getattr(fn, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"observe callback {target!r} cannot be imported: {exc}", path="callback") from None
        if not callable(fn):
            raise ConfigError(f"observe callback {target!r} is not callable", path="callback")
        return fn  # type: ignore[no-any-return]

    @property
    def callback(self) -> Callback:
        """The event callback in use."""
        return self._callback

    def wrap(self, store: Store) -> Store:
        """An `ObservedStore` over ``store`` reporting to the configured callback."""
        return ObservedStore(store, self._callback)

    def middleware_options(self) -> dict[str, Any]:
        """``callback``, ``level`` and ``logger``."""
        return {"callback": self._callback_target, "level": self._level, "logger": self._logger}


class OtelMiddleware(StoreMiddleware):
    """Middleware ``otel``: a span per call and metrics (`remote_store_ext.otel.otel_hooks`).

    Uses the global OpenTelemetry tracer and meter providers (configure them at start-up
    as usual); it takes no options. Needs ``pip install "remote-store-ext[otel]"``.

    Raises:
        ConfigError: ``opentelemetry-api`` is not installed, or options are given.
    """

    def __init__(
        self,
        inner: Backend | None = None,
        *,
        inner_type: type[Backend] | None = None,
        inner_options: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        _reject("otel", unknown)
        super().__init__(inner, inner_type=inner_type, inner_options=inner_options)

    def wrap(self, store: Store) -> Store:
        """An `ObservedStore` over ``store`` reporting to `otel_hooks`."""
        try:
            from remote_store_ext.otel import otel_hooks
        except ImportError:
            raise ConfigError(
                'middleware "otel" needs opentelemetry-api: pip install "remote-store-ext[otel]"'
            ) from None
        return ObservedStore(store, otel_hooks())


__all__ = ["CacheMiddleware", "EVENT_LOGGER", "ObserveMiddleware", "OtelMiddleware", "StoreMiddleware"]
