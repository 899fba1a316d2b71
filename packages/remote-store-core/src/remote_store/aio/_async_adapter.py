"""`AsyncBackendSyncAdapter`: an `AsyncBackend` as a sync `remote_store.Backend`, on a dedicated loop thread."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator, Mapping
from typing import IO, Any, TypeVar

from remote_store._backend import AtomicWriter, Backend
from remote_store._capabilities import CapabilitySet
from remote_store._models import FileInfo, FolderEntry, FolderInfo, WriteResult
from remote_store.aio._backend import AsyncBackend
from remote_store.aio._describe import describe, rebuild
from remote_store.aio._streams import AsyncAtomicWriter, AsyncReadStream
from remote_store.errors import RemoteStoreError

T = TypeVar("T")

#: Listing items fetched per loop round trip.
LIST_BATCH = 64
#: Bytes read from a sync write stream per chunk handed to the async backend.
WRITE_CHUNK = 1024 * 1024


class _LoopThread:
    """One daemon thread running an event loop; started lazily, stoppable, restartable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is not None:
            return loop
        with self._lock:
            if self._loop is None:
                new = asyncio.new_event_loop()
                ready = threading.Event()

                def main() -> None:
                    asyncio.set_event_loop(new)
                    new.call_soon(ready.set)
                    new.run_forever()

                thread = threading.Thread(target=main, name="remote-store-aio-loop", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = new, thread
            return self._loop

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def stop(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if threading.current_thread() is not thread:
            thread.join(timeout=10)
            loop.close()


class _SyncStream(io.RawIOBase):
    """A sync binary stream over an `AsyncReadStream` driven on the adapter's loop."""

    def __init__(self, adapter: AsyncBackendSyncAdapter, raw: AsyncReadStream) -> None:
        self._adapter = adapter
        self._raw = raw

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self._adapter._run(self._raw.read(len(view)))
        n = len(data)
        view[:n] = data
        return n

    def readall(self) -> bytes:
        return self._adapter._run(self._raw.read(-1))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self._raw.seekable():
            raise io.UnsupportedOperation("seek")
        return self._adapter._run(self._raw.seek(offset, whence))

    def tell(self) -> int:
        if not self._raw.seekable():
            raise io.UnsupportedOperation("tell")
        return self._raw.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                self._adapter._run(self._raw.aclose())
            finally:
                super().close()


class _SyncWriter(AtomicWriter):
    def __init__(self, adapter: AsyncBackendSyncAdapter, writer: AsyncAtomicWriter) -> None:
        self._adapter = adapter
        self._writer = writer

    def write(self, data: bytes) -> int:
        return self._adapter._run(self._writer.write(data))

    def commit(self) -> WriteResult:
        return self._adapter._run(self._writer.commit())

    def abort(self) -> None:
        self._adapter._run(self._writer.abort())


async def _stream_chunks(stream: IO[bytes]) -> AsyncIterator[bytes]:
    """Read the caller's sync stream in a worker thread (never on the loop) and yield its chunks."""
    while True:
        chunk = await asyncio.to_thread(stream.read, WRITE_CHUNK)
        if not chunk:
            return
        yield chunk


async def _take(it: AsyncIterator[T], n: int) -> list[T]:
    out: list[T] = []
    while len(out) < n:
        try:
            out.append(await it.__anext__())
        except StopAsyncIteration:
            break
    return out


class AsyncBackendSyncAdapter(Backend):
    """Runs an `AsyncBackend` from sync code: a `remote_store.Backend` for `remote_store.Store`.

    Each call is submitted to one event loop running on a dedicated daemon thread owned by
    the adapter (started on first use), and the calling thread waits for the result; any
    number of threads may call at once and their calls run concurrently on that loop.
    Streams, writers and listings (fetched in batches of `LIST_BATCH`) work the same way.
    Capabilities, type name, native paths and error translation are the async backend's
    own, and every verb calls the async backend's own method.

    Do not call it from a coroutine running on its own loop (that would wait on itself):
    such a call raises `RemoteStoreError`. Calling it from another event loop blocks that
    loop for the call's duration; use the `AsyncBackend` directly there.

    Args:
        backend: The async backend (owned: `close` calls its ``aclose`` and stops the loop;
            a later call starts a new loop), or its description
            ``{"class": "module:Class", "options": {...}}`` as `options` gives it.

    Raises:
        TypeError: ``backend`` is not an `AsyncBackend`.
        ConfigError: A description that cannot be rebuilt.
    """

    def __init__(self, backend: AsyncBackend | Mapping[str, Any]) -> None:
        if isinstance(backend, Mapping):
            backend = rebuild(backend, AsyncBackend)
        if not isinstance(backend, AsyncBackend):
            raise TypeError(
                f"AsyncBackendSyncAdapter wraps a remote_store.aio.AsyncBackend, got {type(backend).__name__}"
            )
        self._async = backend
        self._thread = _LoopThread()

    # ------------------------------------------------------------------ identity
    @property
    def backend(self) -> AsyncBackend:
        """The wrapped async backend."""
        return self._async

    @property
    def type_name(self) -> str:
        """The async backend's type name."""
        return self._async.type_name

    @property
    def capabilities(self) -> CapabilitySet:
        """Exactly the async backend's capabilities."""
        return self._async.capabilities

    @property
    def options(self) -> dict[str, Any]:
        """``{"backend": {"class": ..., "options": <async backend options>}}``: compares by value,
        rebuilds the adapter, pickles by the async backend's configuration."""
        return {"backend": describe(self._async, self._async.options)}

    def __repr__(self) -> str:
        return f"AsyncBackendSyncAdapter({self._async!r})"

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """The async backend's `translate_error`."""
        return self._async.translate_error(exc, key)

    def native_path(self, key: str) -> str:
        """The async backend's `native_path` (no I/O)."""
        return self._async.native_path(key)

    def to_key(self, native: str) -> str:
        """The async backend's `to_key` (no I/O)."""
        return self._async.to_key(native)

    # ------------------------------------------------------------------ loop
    def _run(self, awaitable: Awaitable[T]) -> T:
        if self._thread.in_loop_thread():
            if isinstance(awaitable, Coroutine):
                awaitable.close()
            raise RemoteStoreError(
                "AsyncBackendSyncAdapter called from its own event loop; await the AsyncBackend instead",
                backend=self._async.type_name,
            )

        async def call() -> T:
            return await awaitable

        fut = asyncio.run_coroutine_threadsafe(call(), self._thread.loop())
        try:
            return fut.result()
        except BaseException:
            fut.cancel()
            raise

    def _iterate(self, it: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                batch = self._run(_take(it, LIST_BATCH))
                yield from batch
                if len(batch) < LIST_BATCH:
                    return
        finally:
            aclose = getattr(it, "aclose", None)
            if aclose is not None and self._thread._loop is not None:
                self._run(aclose())

    # ------------------------------------------------------------------ verbs
    def exists(self, key: str) -> bool:
        """`AsyncBackend.exists` on the loop."""
        return self._run(self._async.exists(key))

    def is_file(self, key: str) -> bool:
        """`AsyncBackend.is_file` on the loop."""
        return self._run(self._async.is_file(key))

    def is_folder(self, key: str) -> bool:
        """`AsyncBackend.is_folder` on the loop."""
        return self._run(self._async.is_folder(key))

    def ping(self) -> None:
        """`AsyncBackend.ping` on the loop."""
        self._run(self._async.ping())

    def close(self) -> None:
        """`AsyncBackend.aclose` on the loop, then stop the loop thread. Idempotent."""
        if self._thread._loop is None:
            return
        try:
            self._run(self._async.aclose())
        finally:
            self._thread.stop()

    def open_read(self, key: str) -> IO[bytes]:
        """`AsyncBackend.open_read`; the returned sync stream reads on the loop."""
        raw = self._run(self._async.open_read(key))
        return io.BufferedReader(_SyncStream(self, raw), buffer_size=1024 * 1024)  # type: ignore[return-value]

    def open_read_seekable(self, key: str) -> IO[bytes]:
        """`AsyncBackend.open_read_seekable`; the returned sync stream seeks and reads on the loop."""
        raw = self._run(self._async.open_read_seekable(key))
        return io.BufferedReader(_SyncStream(self, raw), buffer_size=1024 * 1024)  # type: ignore[return-value]

    def read_bytes(self, key: str) -> bytes:
        """`AsyncBackend.read_bytes` on the loop."""
        return self._run(self._async.read_bytes(key))

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """`AsyncBackend.write`, fed from ``stream`` read in a worker thread."""
        return self._run(self._async.write(key, _stream_chunks(stream), overwrite=overwrite, metadata=metadata))

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """`AsyncBackend.write_atomic`, fed from ``stream`` read in a worker thread."""
        return self._run(self._async.write_atomic(key, _stream_chunks(stream), overwrite=overwrite, metadata=metadata))

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """`AsyncBackend.open_atomic`; the writer's calls run on the loop."""
        return _SyncWriter(self, self._run(self._async.open_atomic(key, overwrite=overwrite, metadata=metadata)))

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """`AsyncBackend.delete` on the loop."""
        self._run(self._async.delete(key, missing_ok=missing_ok))

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """`AsyncBackend.delete_folder` on the loop."""
        self._run(self._async.delete_folder(key, recursive=recursive))

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """`AsyncBackend.move` on the loop."""
        self._run(self._async.move(src, dst, overwrite=overwrite))

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """`AsyncBackend.copy` on the loop."""
        self._run(self._async.copy(src, dst, overwrite=overwrite))

    def stat(self, key: str) -> FileInfo:
        """`AsyncBackend.stat` on the loop."""
        return self._run(self._async.stat(key))

    def folder_info(self, key: str) -> FolderInfo:
        """`AsyncBackend.folder_info` on the loop."""
        return self._run(self._async.folder_info(key))

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        """`AsyncBackend.collect_garbage` on the loop."""
        return self._run(self._async.collect_garbage(prefix, older_than=older_than))

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """`AsyncBackend.iter_files`, fetched on the loop in batches of `LIST_BATCH`."""
        return self._iterate(self._async.iter_files(prefix, recursive=recursive, max_depth=max_depth))

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """`AsyncBackend.iter_folders`, fetched on the loop in batches."""
        return self._iterate(self._async.iter_folders(prefix))

    def iter_children(self, prefix: str) -> Iterator[FileInfo | FolderEntry]:
        """`AsyncBackend.iter_children`, fetched on the loop in batches."""
        return self._iterate(self._async.iter_children(prefix))

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """`AsyncBackend.glob`, fetched on the loop in batches."""
        return self._iterate(self._async.glob(pattern))
