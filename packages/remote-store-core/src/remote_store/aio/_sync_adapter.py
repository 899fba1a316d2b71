"""`SyncBackendAdapter`: any sync `remote_store.Backend` as an `AsyncBackend`, via a bounded thread pool."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, TypeVar

from remote_store._backend import Backend
from remote_store._capabilities import CapabilitySet
from remote_store._models import FileInfo, FolderEntry, FolderInfo, WriteResult
from remote_store.aio._backend import AsyncBackend
from remote_store.aio._describe import describe, rebuild
from remote_store.aio._guard import ClosingAsyncStream
from remote_store.aio._streams import AsyncAtomicWriter, AsyncReadStream, AsyncWritableContent
from remote_store.errors import InvalidPath, RemoteStoreError

T = TypeVar("T")

#: Default number of worker threads of a `SyncBackendAdapter` (calls beyond it queue).
DEFAULT_MAX_WORKERS = 32
#: Listing items fetched per worker-thread hop (bounds read-ahead of a lazy listing).
LIST_BATCH = 64


class WriteCancelled(RemoteStoreError):
    """Raised inside the worker thread to stop a backend write whose task was cancelled.

    The backend sees it as a failing content stream and discards the partial upload or temp
    file; the caller only ever sees ``asyncio.CancelledError``.
    """


class _ContentReader(io.RawIOBase):
    """Sync binary stream for the backend's worker thread, fed from async content on the loop.

    Every read first checks the cancel flag, so a cancelled write stops at the next chunk.
    """

    def __init__(self, content: AsyncWritableContent, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._bytes: memoryview | None = None
        self._it: AsyncIterator[bytes] | None = None
        if isinstance(content, (bytes, bytearray, memoryview)):
            self._bytes = memoryview(bytes(content))
        else:
            self._it = content
        self._buf = b""
        self._pending: Future[bytes] | None = None
        self.cancelled = threading.Event()

    def readable(self) -> bool:
        return True

    def cancel(self) -> None:
        """Make the next (or the pending) read raise `WriteCancelled`."""
        self.cancelled.set()
        pending = self._pending
        if pending is not None:
            pending.cancel()

    def _next_chunk(self) -> bytes:
        assert self._it is not None
        it = self._it

        async def step() -> bytes:
            try:
                return await it.__anext__()
            except StopAsyncIteration:
                return b""

        fut = asyncio.run_coroutine_threadsafe(step(), self._loop)
        self._pending = fut
        if self.cancelled.is_set():  # cancel() ran before _pending was set: it could not reach fut
            fut.cancel()
        try:
            return fut.result()
        except Exception as exc:
            if self.cancelled.is_set():
                raise WriteCancelled("write cancelled") from exc
            raise
        finally:
            self._pending = None

    def readinto(self, b: Any) -> int:
        if self.cancelled.is_set():
            raise WriteCancelled("write cancelled")
        view = memoryview(b).cast("B")
        if self._bytes is not None:
            n = min(len(view), len(self._bytes))
            view[:n] = self._bytes[:n]
            self._bytes = self._bytes[n:]
            return n
        while not self._buf:
            chunk = self._next_chunk()
            if not chunk:
                return 0
            self._buf = chunk
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    async def aclose_source(self) -> None:
        """Close the async content iterator if it was not consumed to the end."""
        aclose = getattr(self._it, "aclose", None)
        if aclose is not None:
            await aclose()


class _SyncReadStream(ClosingAsyncStream):
    """An `AsyncReadStream` over a sync stream; each read runs in the adapter's pool."""

    def __init__(self, adapter: SyncBackendAdapter, raw: IO[bytes], seekable: bool) -> None:
        self._adapter = adapter
        self._raw = raw
        self._seekable = seekable

    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes in a worker thread (all remaining when negative).

        Raises:
            RemoteStoreError: The stream is closed.
        """
        self._check_open()
        data = await self._adapter._run(self._raw.read, -1 if n is None else n, _held=True)
        return b"" if data is None else bytes(data)

    async def aclose(self) -> None:
        """Close the sync stream (in a worker thread). Idempotent; completes even if cancelled."""
        if self._closed:
            return
        self._closed = True
        await self._adapter._run_to_end(self._raw.close, _held=True)

    def seekable(self) -> bool:
        """Whether the sync stream is seekable."""
        return self._seekable

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Seek the sync stream in a worker thread.

        Raises:
            CapabilityNotSupported: The stream is not seekable.
            InvalidPath: A negative position or bad ``whence``.
        """
        if not self._seekable:
            return await super().seek(offset, whence)
        try:
            return int(await self._adapter._run(self._raw.seek, offset, whence, _held=True))
        except ValueError as exc:
            raise InvalidPath(f"invalid seek: {exc}") from exc

    def tell(self) -> int:
        """The current byte position (no I/O)."""
        if not self._seekable:
            return super().tell()
        return int(self._raw.tell())


class _SyncAtomicWriter(AsyncAtomicWriter):
    def __init__(self, adapter: SyncBackendAdapter, writer: Any) -> None:
        self._adapter = adapter
        self._writer = writer

    async def write(self, data: bytes) -> int:
        """Append ``data`` (in a worker thread)."""
        return int(await self._adapter._run(self._writer.write, data, _held=True))

    async def commit(self) -> WriteResult:
        """Publish (in a worker thread). If cancelled, waits for the commit to settle, then aborts."""
        try:
            result: WriteResult = await self._adapter._run_to_end(self._writer.commit, _held=True)
        except asyncio.CancelledError:
            await self._adapter._run_to_end(self._writer.abort, _held=True)
            raise
        return result

    async def abort(self) -> None:
        """Discard the write (in a worker thread); completes even if the task is cancelled."""
        await self._adapter._run_to_end(self._writer.abort, _held=True)


class SyncBackendAdapter(AsyncBackend):
    """Runs a sync `remote_store.Backend` in async code without blocking the event loop.

    Every backend call runs in a bounded thread pool owned by the adapter (at most
    ``max_workers`` at once; more calls queue), with the caller's context variables
    (tracing spans). Calls on already open streams, listings and atomic writers use a
    second pool of the same size, so calls waiting for a free connection can never starve
    the streams that hold the connections. Read streams read in the pool; listings advance in the pool in
    batches of `LIST_BATCH` items, so they stay lazy. Capabilities, type name, native
    paths and error translation are the wrapped backend's own, and every verb calls the
    wrapped backend's own method (server-side copy, atomic rename stay native).

    **Cancellation.** A cancelled write makes the backend's content stream fail at its
    next read, so the backend discards its temp file or staged upload; the coroutine then
    waits for the worker thread to finish before ``CancelledError`` propagates, so when
    the caller sees it no partial file exists. An aborted/cancelled `open_atomic` writer
    aborts in the pool. Closing a cancelled read stream still closes the sync stream.

    Args:
        backend: The sync backend to run (owned: `aclose` closes it), or its description
            ``{"class": "module:Class", "options": {...}}`` as `options` gives it.
        max_workers: Worker threads (>= 1). Default `DEFAULT_MAX_WORKERS`.

    Raises:
        TypeError: ``backend`` is not a `Backend`.
        InvalidPath: ``max_workers`` is not a positive int.
        ConfigError: A description that cannot be rebuilt.
    """

    def __init__(self, backend: Backend | Mapping[str, Any], *, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        if isinstance(backend, Mapping):
            backend = rebuild(backend, Backend)
        if not isinstance(backend, Backend):
            raise TypeError(f"SyncBackendAdapter wraps a remote_store.Backend, got {type(backend).__name__}")
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise InvalidPath(f"max_workers must be an int >= 1, got {max_workers!r}")
        self._sync = backend
        self._max_workers = max_workers
        self._pools: dict[bool, ThreadPoolExecutor] = {}
        self._pool_lock = threading.Lock()
        self._origin: SyncBackendAdapter | None = None

    # ------------------------------------------------------------------ store scope
    def scoped(self, prefix: str) -> AsyncBackend:
        """An adapter over the wrapped backend's `Backend.scoped` view, sharing this adapter's pools.

        ``self`` when the sync backend has no view for ``prefix`` (it returns itself). A view
        adapter's `aclose` closes the wrapped backend and shuts the shared pools down, like
        this adapter's.
        """
        origin = self._origin if self._origin is not None else self
        view = origin._sync.scoped(prefix)
        if view is origin._sync:
            return origin
        clone = object.__new__(type(self))
        clone.__dict__.update(origin.__dict__)
        clone._sync = view
        clone._origin = origin
        return clone

    @property
    def unscoped(self) -> AsyncBackend:
        """The adapter a `scoped` view was made from (``self`` when this is none)."""
        return self._origin if self._origin is not None else self

    # ------------------------------------------------------------------ identity
    @property
    def backend(self) -> Backend:
        """The wrapped sync backend."""
        return self._sync

    @property
    def type_name(self) -> str:
        """The wrapped backend's type name."""
        return self._sync.type_name

    @property
    def capabilities(self) -> CapabilitySet:
        """Exactly the wrapped backend's capabilities."""
        return self._sync.capabilities

    @property
    def options(self) -> dict[str, Any]:
        """``{"backend": {"class": ..., "options": <wrapped options>}, "max_workers": n}``.

        Compares by value and rebuilds the adapter (``SyncBackendAdapter(**options)``), so it
        pickles by the wrapped backend's configuration.
        """
        sync = self._sync.unscoped
        return {"backend": describe(sync, sync.options), "max_workers": self._max_workers}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._sync!r}, max_workers={self._max_workers})"

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """The wrapped backend's `translate_error`."""
        return self._sync.translate_error(exc, key)

    def native_path(self, key: str) -> str:
        """The wrapped backend's `native_path` (no I/O)."""
        return self._sync.native_path(key)

    def to_key(self, native: str) -> str:
        """The wrapped backend's `to_key` (no I/O)."""
        return self._sync.to_key(native)

    # ------------------------------------------------------------------ pool
    def _executor(self, held: bool = False) -> ThreadPoolExecutor:
        """The pool for new calls, or (``held``) the pool for calls on a resource already held.

        Calls on open streams, listings and atomic writers (``held``) run in their own pool:
        a backend with a bounded connection/channel pool makes new calls wait for a free
        channel, and if those waits could occupy every worker, the open streams holding the
        channels could never be read to the end and released.
        """
        pool = self._pools.get(held)
        if pool is None:
            with self._pool_lock:
                pool = self._pools.get(held)
                if pool is None:
                    name = "remote-store-aio-held" if held else "remote-store-aio"
                    pool = self._pools[held] = ThreadPoolExecutor(self._max_workers, thread_name_prefix=name)
        return pool

    async def _run(self, fn: Callable[..., T], *args: Any, _held: bool = False, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor(_held), call)

    async def _run_to_end(
        self, fn: Callable[..., T], *args: Any, on_cancel: Callable[[], None] | None = None, _held: bool = False
    ) -> T:
        """Like `_run`, but a cancellation first calls ``on_cancel`` and waits for the thread to end."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        fut = loop.run_in_executor(self._executor(_held), functools.partial(ctx.run, fn, *args))
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            if on_cancel is not None:
                on_cancel()
            while not fut.done():
                try:
                    await asyncio.wait({fut})
                except asyncio.CancelledError:
                    continue
            if not fut.cancelled():
                fut.exception()  # mark retrieved: the caller gets CancelledError
            raise

    async def _iterate(self, factory: Callable[[], Iterator[T]]) -> AsyncGenerator[T, None]:
        it = await self._run(factory)
        try:
            while True:
                batch = await self._run(_take, it, LIST_BATCH, _held=True)
                for item in batch:
                    yield item
                if len(batch) < LIST_BATCH:
                    return
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                await self._run_to_end(close, _held=True)

    async def _write(
        self, fn: Callable[..., WriteResult], key: str, content: AsyncWritableContent, **kw: Any
    ) -> WriteResult:
        reader = _ContentReader(content, asyncio.get_running_loop())
        stream = io.BufferedReader(reader, buffer_size=1024 * 1024)
        try:
            return await self._run_to_end(functools.partial(fn, key, stream, **kw), on_cancel=reader.cancel)
        finally:
            await reader.aclose_source()

    # ------------------------------------------------------------------ verbs
    async def exists(self, key: str) -> bool:
        """`Backend.exists` in the pool."""
        return await self._run(self._sync.exists, key)

    async def is_file(self, key: str) -> bool:
        """`Backend.is_file` in the pool."""
        return await self._run(self._sync.is_file, key)

    async def is_folder(self, key: str) -> bool:
        """`Backend.is_folder` in the pool."""
        return await self._run(self._sync.is_folder, key)

    async def ping(self) -> None:
        """`Backend.ping` in the pool."""
        await self._run(self._sync.ping)

    async def aclose(self) -> None:
        """Close the wrapped backend (in the pool) and shut the pool down; a later call starts a new pool."""
        await self._run_to_end(self._sync.close)
        with self._pool_lock:  # cleared in place: `scoped` views share the dict
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.shutdown(wait=False)

    async def _open(self, fn: Callable[[str], IO[bytes]], key: str) -> AsyncReadStream:
        def open_it() -> tuple[IO[bytes], bool]:
            raw = fn(key)
            try:
                return raw, bool(raw.seekable())
            except BaseException:
                raw.close()
                raise

        task = asyncio.ensure_future(self._run(open_it))
        try:
            raw, seekable = await asyncio.shield(task)
        except asyncio.CancelledError:
            # The open may still complete in the thread: close what it returns.
            def _close(done: asyncio.Future[tuple[IO[bytes], bool]]) -> None:
                if not done.cancelled() and done.exception() is None:
                    self._executor(True).submit(done.result()[0].close)

            task.add_done_callback(_close)
            raise
        return _SyncReadStream(self, raw, seekable)

    async def open_read(self, key: str) -> AsyncReadStream:
        """`Backend.open_read` in the pool; the stream reads in the pool."""
        return await self._open(self._sync.open_read, key)

    async def open_read_seekable(self, key: str) -> AsyncReadStream:
        """`Backend.open_read_seekable` in the pool."""
        return await self._open(self._sync.open_read_seekable, key)

    async def read_bytes(self, key: str) -> bytes:
        """`Backend.read_bytes` in the pool."""
        return await self._run(self._sync.read_bytes, key)

    async def write(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """`Backend.write` in the pool, fed from ``content`` on the loop (cancellation-safe, see class)."""
        return await self._write(self._sync.write, key, content, overwrite=overwrite, metadata=metadata)

    async def write_atomic(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """`Backend.write_atomic` in the pool (cancellation-safe, see class)."""
        return await self._write(self._sync.write_atomic, key, content, overwrite=overwrite, metadata=metadata)

    async def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AsyncAtomicWriter:
        """`Backend.open_atomic` in the pool; the writer's calls run in the pool."""
        writer = await self._run(self._sync.open_atomic, key, overwrite=overwrite, metadata=metadata)
        return _SyncAtomicWriter(self, writer)

    async def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """`Backend.delete` in the pool."""
        await self._run(self._sync.delete, key, missing_ok=missing_ok)

    async def delete_folder(self, key: str, *, recursive: bool) -> None:
        """`Backend.delete_folder` in the pool."""
        await self._run(self._sync.delete_folder, key, recursive=recursive)

    async def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """`Backend.move` in the pool."""
        await self._run(self._sync.move, src, dst, overwrite=overwrite)

    async def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """`Backend.copy` in the pool."""
        await self._run(self._sync.copy, src, dst, overwrite=overwrite)

    async def stat(self, key: str) -> FileInfo:
        """`Backend.stat` in the pool."""
        return await self._run(self._sync.stat, key)

    async def folder_info(self, key: str) -> FolderInfo:
        """`Backend.folder_info` in the pool."""
        return await self._run(self._sync.folder_info, key)

    async def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        """`Backend.collect_garbage` in the pool."""
        return await self._run(self._sync.collect_garbage, prefix, older_than=older_than)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> AsyncIterator[FileInfo]:
        """`Backend.iter_files`, advanced in the pool in batches of `LIST_BATCH`."""
        return self._iterate(lambda: self._sync.iter_files(prefix, recursive=recursive, max_depth=max_depth))

    def iter_folders(self, prefix: str) -> AsyncIterator[str]:
        """`Backend.iter_folders`, advanced in the pool in batches."""
        return self._iterate(lambda: self._sync.iter_folders(prefix))

    def iter_children(self, prefix: str) -> AsyncIterator[FileInfo | FolderEntry]:
        """`Backend.iter_children`, advanced in the pool in batches."""
        return self._iterate(lambda: self._sync.iter_children(prefix))

    def glob(self, pattern: str) -> AsyncIterator[FileInfo]:
        """`Backend.glob`, advanced in the pool in batches."""
        return self._iterate(lambda: self._sync.glob(pattern))


def _take(it: Iterator[T], n: int) -> list[T]:
    out: list[T] = []
    for item in it:
        out.append(item)
        if len(out) >= n:
            break
    return out
