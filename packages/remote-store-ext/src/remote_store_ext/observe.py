"""Structured events for every store operation: logging, metrics, tracing, audit trails.

`observe(store, callback)` returns an `ObservedStore`; each public `Store` operation on it
calls ``callback(StoreEvent)`` once, after the operation finished, with the operation name,
path, bytes moved, duration in seconds, outcome and error type::

    from remote_store.ext.observe import BufferedObserver, observe, set_correlation_id

    events = BufferedObserver()
    store = observe(store, events)
    set_correlation_id("request-42")
    store.write("a.txt", b"hi")
    events.drain()  # [StoreEvent(operation='write', path='a.txt', bytes=2, ..., correlation_id='request-42')]

**Design.** `ObservedStore` *is a* `Store` (``isinstance`` checks, type hints and
``store.backend`` keep working) that delegates every operation to the `Store` it wraps and
times it there. Wrapping the store rather than its backend means events carry the caller's
store-relative paths, the public operation names and the *typed* error
(``NotFound``, ``CapabilityNotSupported`` raised by the capability gate …), and each
public call yields exactly one event (``read_text`` is one ``read_text`` event, not also a
``read_bytes``). Results and exceptions are the wrapped store's, unchanged.

Lazy results are observed when they finish: a stream from `read` / `read_seekable`
reports when it is closed (bytes actually read, time from open to close, the first error
raised while reading); an iterator from `list_files`, `list_folders`, `iter_children` or
`glob` reports when it is exhausted, fails or is closed early (``items`` yielded); an
`open_atomic` block reports at exit (bytes written). Errors raised before any I/O (bad
path, missing capability) are reported immediately.

A callback that raises is logged (``remote_store.ext.observe`` logger) and never changes
the operation's outcome. Callbacks run in the thread that performed the operation.
"""

from __future__ import annotations

import collections
import contextvars
import io
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import IO, Any, NamedTuple, TypeVar

from remote_store import AtomicWriteHandle, FileInfo, FolderEntry, FolderInfo, Store, WritableContent, WriteResult

_log = logging.getLogger("remote_store.ext.observe")
_CORRELATION: contextvars.ContextVar[str | None] = contextvars.ContextVar("remote_store_correlation_id", default=None)

T = TypeVar("T")
_new_event = tuple.__new__
_get_correlation = _CORRELATION.get
#: True once `set_correlation_id` has set an id in any context: until then the hot paths
#: skip the ContextVar look-up (every context's value is still the default, None).
_correlation_used = False


class StoreEvent(NamedTuple):
    """One finished store operation.

    Attributes:
        operation: The `Store` method name (``"read_bytes"``, ``"write"``, ``"list_files"`` …).
        path: Store-relative path (the source for move/copy, the pattern for glob), or None.
        bytes: Bytes read or written, when the operation moves content (else None).
        duration: Wall-clock seconds the operation took (for streams: open to close;
            for iterators: first call to exhaustion).
        outcome: ``"ok"`` or ``"error"``.
        error_type: Class name of the raised exception (``"NotFound"``), or None.
        correlation_id: The value of `set_correlation_id` in the calling context, or None.
        target: Destination path of move/copy, else None.
        items: Entries yielded by a listing/glob iterator, else None.
        backend: The backend's type name (``"s3"``, ``"memory"`` …).
    """

    operation: str
    path: str | None
    bytes: int | None
    duration: float
    outcome: str
    error_type: str | None
    correlation_id: str | None = None
    target: str | None = None
    items: int | None = None
    backend: str = ""


Callback = Callable[[StoreEvent], None]


def set_correlation_id(value: str | None) -> contextvars.Token[str | None]:
    """Set the correlation id attached to events of operations run in the current context.

    Uses a `contextvars.ContextVar`: it follows ``asyncio`` tasks and is per thread (a new
    thread starts without one unless run via ``contextvars.copy_context().run``).

    Args:
        value: Any string (request id, trace id), or None to clear it.

    Returns:
        A token for `reset_correlation_id`.

    Raises:
        TypeError: ``value`` is neither a str nor None.
    """
    global _correlation_used
    if value is not None:
        if not isinstance(value, str):
            raise TypeError(f"correlation id must be a str or None, got {type(value).__name__}")
        _correlation_used = True
    return _CORRELATION.set(value)


def reset_correlation_id(token: contextvars.Token[str | None]) -> None:
    """Restore the correlation id that was current before `set_correlation_id` returned ``token``."""
    _CORRELATION.reset(token)


def get_correlation_id() -> str | None:
    """The correlation id of the current context, or None."""
    return _CORRELATION.get()


class BufferedObserver:
    """A thread-safe event buffer to use as the callback of `observe`.

    Without ``sink`` it keeps the latest ``capacity`` events (older ones are dropped and
    not counted); read them with `events` or `drain`. With ``sink``, every
    ``capacity`` events are handed to ``sink(list_of_events)`` in one call (and the rest on
    `flush`), e.g. to batch-write them to a log or metrics system.

    Args:
        capacity: Events kept (≥ 1); with ``sink``, the batch size.
        sink: Optional ``sink(list[StoreEvent])`` called with full batches.

    Raises:
        ValueError: ``capacity`` < 1.
    """

    def __init__(self, capacity: int = 10_000, sink: Callable[[list[StoreEvent]], None] | None = None) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            from remote_store.errors import ConfigError

            raise ConfigError(f"capacity must be an int >= 1, got {capacity!r}")
        self.capacity = capacity
        self._sink = sink
        self._lock = threading.Lock()
        # Without a sink, `ObservedStore` appends compact raw records (see `_raw_record`) that
        # become `StoreEvent`s only when read: the cheapest calls then pay no event construction.
        self._events: collections.deque[Any] = collections.deque(maxlen=None if sink else capacity)

    def __call__(self, event: StoreEvent) -> None:
        """Record ``event`` (the `observe` callback)."""
        if self._sink is None:
            self._events.append(event)  # deque.append is atomic; maxlen drops the oldest
            return
        batch = None
        with self._lock:
            self._events.append(event)
            if len(self._events) >= self.capacity:
                batch = list(self._events)
                self._events.clear()
        if batch:
            self._sink(batch)

    @property
    def events(self) -> list[StoreEvent]:
        """A copy of the buffered events, oldest first."""
        with self._lock:
            return [_materialize(e) for e in list(self._events)]

    def _fast_record(self) -> Callback:
        """The cheapest callable recording an event (the deque's ``append`` when there is no sink)."""
        return self._events.append if self._sink is None else self

    def _raw_record(self) -> Callable[[tuple[Any, ...]], None] | None:
        """``append`` of raw ``(operation, path, bytes, t0, t1, correlation_id, backend)`` success
        records, or None when events must be built at once (with a sink)."""
        return self._events.append if self._sink is None else None

    def drain(self) -> list[StoreEvent]:
        """Return the buffered events and empty the buffer."""
        with self._lock:
            out = list(self._events)
            self._events.clear()
        return [_materialize(e) for e in out]

    def flush(self) -> None:
        """Hand the buffered events to ``sink`` now (no-op without a sink or when empty)."""
        if self._sink is None:
            return
        with self._lock:
            batch = list(self._events)
            self._events.clear()
        if batch:
            self._sink(batch)

    def __len__(self) -> int:
        return len(self._events)


def _result_size(result: WriteResult) -> int:
    return result.size


def _materialize(record: Any) -> StoreEvent:
    """A `StoreEvent` from a buffered entry (a raw success record or an event)."""
    if type(record) is tuple:
        op, path, nbytes, t0, t1, corr, backend = record
        return StoreEvent(op, path, nbytes, t1 - t0, "ok", None, corr, None, None, backend)
    return record  # type: ignore[no-any-return]


class _ObservedStream(io.RawIOBase):
    """The stream an observed ``read`` returns: counts bytes, reports one event on close."""

    def __init__(self, owner: ObservedStore, op: str, path: str, raw: IO[bytes], t0: float) -> None:
        self._owner = owner
        self._op = op
        self._path = path
        self._raw = raw
        self._t0 = t0
        self._n = 0
        self._error: BaseException | None = None

    def _guard(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except BaseException as exc:
            self._note(exc)
            raise

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._guard(self._raw.seekable))

    def _note(self, exc: BaseException) -> None:
        if self._error is None and not isinstance(exc, (ValueError, io.UnsupportedOperation)):
            self._error = exc

    def read(self, size: int | None = -1) -> bytes:
        # The hot call: inlined rather than through `_guard` (one Python frame less per read).
        try:
            data = self._raw.read(-1 if size is None else size)
        except BaseException as exc:
            self._note(exc)
            raise
        self._n += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, b: Any) -> int:
        readinto = getattr(self._raw, "readinto", None)
        if readinto is None:
            data = self._guard(self._raw.read, len(b))
            n = len(data)
            b[:n] = data
        else:
            n = int(self._guard(readinto, b) or 0)
        self._n += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        data = self._guard(self._raw.readline, -1 if size is None else size)
        self._n += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._guard(self._raw.seek, offset, whence))

    def tell(self) -> int:
        return int(self._guard(self._raw.tell))

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._raw.close()
        except BaseException as exc:
            self._note(exc)
            raise
        finally:
            super().close()
            self._owner._emit(self._op, self._path, self._t0, self._error, self._n)

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class ObservedStore(Store):
    """A `Store` that reports every operation to a callback; see the module docstring.

    Args:
        store: The store to observe (never closed by this object unless you call `close`).
        callback: ``callback(StoreEvent)``, called once per finished operation.

    Raises:
        TypeError: ``store`` is not a `Store` or ``callback`` is not callable.
    """

    __slots__ = ("_callback", "_inner", "_raw", "_sink", "_type_name")

    def __init__(self, store: Store, callback: Callback) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"observe() needs a remote_store.Store, got {type(store).__name__}")
        if not callable(callback):
            raise TypeError("callback must be callable")
        super().__init__(store.backend, store.root_path, strict_keys=store.strict_keys)
        self._inner = store
        self._callback = callback
        # A BufferedObserver without a sink records with deque.append directly (C call).
        self._sink: Callback = callback._fast_record() if isinstance(callback, BufferedObserver) else callback
        self._raw = callback._raw_record() if isinstance(callback, BufferedObserver) else None
        self._type_name = store.backend.type_name

    @property
    def wrapped(self) -> Store:
        """The store this one delegates to."""
        return self._inner

    @property
    def callback(self) -> Callback:
        """The event callback."""
        return self._callback

    # ------------------------------------------------------------------ plumbing
    def _emit(
        self,
        op: str,
        path: str | None,
        t0: float,
        exc: BaseException | None,
        nbytes: int | None = None,
        target: str | None = None,
        items: int | None = None,
    ) -> None:
        raw = self._raw
        if raw is not None and exc is None and target is None and items is None:
            corr = _get_correlation() if _correlation_used else None
            raw((op, path, nbytes, t0, perf_counter(), corr, self._type_name))
            return
        event = _new_event(
            StoreEvent,
            (
                op,
                path,
                nbytes,
                perf_counter() - t0,
                "ok" if exc is None else "error",
                None if exc is None else type(exc).__name__,
                _get_correlation() if _correlation_used else None,
                target,
                items,
                self._type_name,
            ),
        )
        try:
            self._sink(event)
        except Exception:
            _log.warning("observer callback %r failed for %s", self._callback, op, exc_info=True)

    def _simple(self, op: str, path: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        t0 = perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._emit(op, path, t0, exc)
            raise
        self._emit(op, path, t0, None)
        return result

    def _one(self, op: str, path: str, fn: Callable[[str], T]) -> T:
        """`_simple` for the cheap one-path calls: no argument packing, and the success record
        of a `BufferedObserver` appended inline (one Python frame less than `_emit`)."""
        t0 = perf_counter()
        try:
            result = fn(path)
        except BaseException as exc:
            self._emit(op, path, t0, exc)
            raise
        raw = self._raw
        if raw is not None:
            corr = _get_correlation() if _correlation_used else None
            raw((op, path, None, t0, perf_counter(), corr, self._type_name))
            return result
        self._emit(op, path, t0, None)
        return result

    def _sized(
        self, op: str, path: str, size: Callable[[T], int], fn: Callable[..., T], *args: Any, **kwargs: Any
    ) -> T:
        """`_simple` whose success event carries ``size(result)`` bytes."""
        t0 = perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._emit(op, path, t0, exc)
            raise
        self._emit(op, path, t0, None, size(result))
        return result

    def _stream(self, op: str, path: str, fn: Callable[[str], IO[bytes]]) -> IO[bytes]:
        t0 = perf_counter()
        try:
            raw = fn(path)
        except BaseException as exc:
            self._emit(op, path, t0, exc)
            raise
        return _ObservedStream(self, op, path, raw, t0)  # type: ignore[return-value]

    def _listing(self, op: str, path: str, fn: Callable[..., Iterator[T]], *args: Any, **kwargs: Any) -> Iterator[T]:
        t0 = perf_counter()
        try:
            it = fn(*args, **kwargs)
        except BaseException as exc:
            self._emit(op, path, t0, exc)
            raise
        return self._iterate(op, path, it, t0)

    def _iterate(self, op: str, path: str, it: Iterator[T], t0: float) -> Iterator[T]:
        n = 0
        error: BaseException | None = None
        try:
            for item in it:
                n += 1
                yield item
        except GeneratorExit:
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
            self._emit(op, path, t0, error, items=n)

    # ------------------------------------------------------------------ ungated
    def exists(self, path: str) -> bool:
        """`Store.exists`, observed as ``"exists"``."""
        return self._one("exists", path, self._inner.exists)

    def is_file(self, path: str) -> bool:
        """`Store.is_file`, observed as ``"is_file"``."""
        return self._one("is_file", path, self._inner.is_file)

    def is_folder(self, path: str) -> bool:
        """`Store.is_folder`, observed as ``"is_folder"``."""
        return self._one("is_folder", path, self._inner.is_folder)

    def ping(self) -> None:
        """`Store.ping`, observed as ``"ping"``."""
        self._simple("ping", None, self._inner.ping)

    def close(self) -> None:
        """`Store.close` of the wrapped store (you asked for it), observed as ``"close"``."""
        self._simple("close", None, self._inner.close)

    def child(self, subpath: str) -> ObservedStore:
        """`Store.child`, observed with the same callback (no event: no I/O)."""
        return ObservedStore(self._inner.child(subpath), self._callback)

    # ------------------------------------------------------------------ READ
    def read(self, path: str) -> IO[bytes]:
        """`Store.read`; one ``"read"`` event when the stream closes (bytes actually read)."""
        return self._stream("read", path, self._inner.read)

    def read_seekable(self, path: str) -> IO[bytes]:
        """`Store.read_seekable`; one ``"read_seekable"`` event when the stream closes."""
        return self._stream("read_seekable", path, self._inner.read_seekable)

    def read_bytes(self, path: str) -> bytes:
        """`Store.read_bytes`, observed as ``"read_bytes"`` with the byte count."""
        return self._sized("read_bytes", path, len, self._inner.read_bytes, path)

    def read_text(self, path: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
        """`Store.read_text`, observed as ``"read_text"`` (bytes = encoded length)."""
        t0 = perf_counter()
        try:
            text = self._inner.read_text(path, encoding=encoding, errors=errors)
        except BaseException as exc:
            self._emit("read_text", path, t0, exc)
            raise
        self._emit("read_text", path, t0, None, len(text.encode(encoding, errors="replace")) if text else 0)
        return text

    # ------------------------------------------------------------------ WRITE
    def write(
        self,
        path: str,
        content: WritableContent,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """`Store.write`, observed as ``"write"`` with the stored size."""
        return self._sized(
            "write", path, _result_size, self._inner.write, path, content, overwrite=overwrite, metadata=metadata
        )

    def write_text(
        self,
        path: str,
        text: str,
        *,
        encoding: str = "utf-8",
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """`Store.write_text`, observed as ``"write_text"``."""
        return self._sized(
            "write_text",
            path,
            _result_size,
            self._inner.write_text,
            path,
            text,
            encoding=encoding,
            overwrite=overwrite,
            metadata=metadata,
        )

    def write_atomic(
        self,
        path: str,
        content: WritableContent,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """`Store.write_atomic`, observed as ``"write_atomic"``."""
        return self._sized(
            "write_atomic",
            path,
            _result_size,
            self._inner.write_atomic,
            path,
            content,
            overwrite=overwrite,
            metadata=metadata,
        )

    @contextmanager
    def open_atomic(
        self,
        path: str,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> Iterator[AtomicWriteHandle]:
        """`Store.open_atomic`; one ``"open_atomic"`` event when the block exits (bytes written)."""
        t0 = perf_counter()
        handle: AtomicWriteHandle | None = None
        try:
            with self._inner.open_atomic(path, overwrite=overwrite, metadata=metadata) as handle:
                yield handle
        except BaseException as exc:
            self._emit("open_atomic", path, t0, exc, handle.bytes_written if handle is not None else None)
            raise
        self._emit("open_atomic", path, t0, None, handle.bytes_written)

    # ------------------------------------------------------------------ DELETE
    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """`Store.delete`, observed as ``"delete"``."""
        self._simple("delete", path, self._inner.delete, path, missing_ok=missing_ok)

    def delete_folder(self, path: str, *, recursive: bool = False, missing_ok: bool = False) -> None:
        """`Store.delete_folder`, observed as ``"delete_folder"``."""
        self._simple("delete_folder", path, self._inner.delete_folder, path, recursive=recursive, missing_ok=missing_ok)

    def collect_garbage(self, path: str = "", *, older_than: float = 3600.0) -> int:
        """`Store.collect_garbage`, observed as ``"collect_garbage"``."""
        return self._simple("collect_garbage", path, self._inner.collect_garbage, path, older_than=older_than)

    # ------------------------------------------------------------------ LIST / GLOB
    def list_files(
        self, path: str = "", *, recursive: bool = False, max_depth: int | None = None, pattern: str | None = None
    ) -> Iterator[FileInfo]:
        """`Store.list_files`; one ``"list_files"`` event when the iterator ends (``items``)."""
        return self._listing(
            "list_files", path, self._inner.list_files, path, recursive=recursive, max_depth=max_depth, pattern=pattern
        )

    def list_folders(
        self, path: str = "", *, recursive: bool = False, max_depth: int | None = None, pattern: str | None = None
    ) -> Iterator[str]:
        """`Store.list_folders`; one ``"list_folders"`` event when the iterator ends."""
        return self._listing(
            "list_folders",
            path,
            self._inner.list_folders,
            path,
            recursive=recursive,
            max_depth=max_depth,
            pattern=pattern,
        )

    def iter_children(self, path: str = "") -> Iterator[FileInfo | FolderEntry]:
        """`Store.iter_children`; one ``"iter_children"`` event when the iterator ends."""
        return self._listing("iter_children", path, self._inner.iter_children, path)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """`Store.glob`; one ``"glob"`` event (path = the pattern) when the iterator ends."""
        return self._listing("glob", pattern, self._inner.glob, pattern)

    # ------------------------------------------------------------------ MOVE / COPY
    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """`Store.move`, observed as ``"move"`` (path = src, target = dst)."""
        t0 = perf_counter()
        try:
            self._inner.move(src, dst, overwrite=overwrite)
        except BaseException as exc:
            self._emit("move", src, t0, exc, target=dst)
            raise
        self._emit("move", src, t0, None, target=dst)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """`Store.copy`, observed as ``"copy"`` (path = src, target = dst)."""
        t0 = perf_counter()
        try:
            self._inner.copy(src, dst, overwrite=overwrite)
        except BaseException as exc:
            self._emit("copy", src, t0, exc, target=dst)
            raise
        self._emit("copy", src, t0, None, target=dst)

    # ------------------------------------------------------------------ METADATA
    def head(self, path: str) -> WriteResult:
        """`Store.head`, observed as ``"head"``."""
        return self._simple("head", path, self._inner.head, path)

    def get_file_info(self, path: str) -> FileInfo:
        """`Store.get_file_info`, observed as ``"get_file_info"``."""
        return self._simple("get_file_info", path, self._inner.get_file_info, path)

    def get_folder_info(self, path: str = "", *, max_depth: int | None = None) -> FolderInfo:
        """`Store.get_folder_info`, observed as ``"get_folder_info"``."""
        if max_depth is None:
            return self._simple("get_folder_info", path, self._inner.get_folder_info, path)
        inner = self._inner
        return self._simple("get_folder_info", path, lambda p: inner.get_folder_info(p, max_depth=max_depth))

    # ------------------------------------------------------------------ protocol
    def __enter__(self) -> ObservedStore:
        return self

    def __repr__(self) -> str:
        return f"ObservedStore({self._inner!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ObservedStore, (self._inner, self._callback))


def observe(store: Store, callback: Callback) -> ObservedStore:
    """Wrap ``store`` so every operation calls ``callback(StoreEvent)``; see `ObservedStore`.

    Args:
        store: The store to observe (not closed by this function).
        callback: ``callback(StoreEvent)`` (a `BufferedObserver`, a logging function …).

    Returns:
        The `ObservedStore`.

    Raises:
        TypeError: ``store`` is not a `Store` or ``callback`` is not callable.
    """
    return ObservedStore(store, callback)


__all__ = [
    "BufferedObserver",
    "ObservedStore",
    "StoreEvent",
    "get_correlation_id",
    "observe",
    "reset_correlation_id",
    "set_correlation_id",
]
