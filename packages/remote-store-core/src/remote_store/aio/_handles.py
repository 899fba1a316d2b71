"""The objects `AsyncStore.read` and `AsyncStore.open_atomic` return."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from remote_store import _policy
from remote_store._models import WriteResult
from remote_store.aio._streams import AsyncAtomicWriter, AsyncReadStream
from remote_store.errors import AlreadyExists, RemoteStoreError

if TYPE_CHECKING:
    from remote_store.aio._store import AsyncStore


class ReadOpener:
    """What `AsyncStore.read` returns: await it for the stream, or use it in ``async with``.

    ``stream = await store.read(p)`` (close it with ``await stream.aclose()``), or
    ``async with store.read(p) as stream: ...`` which closes it on exit, also on error or
    cancellation.
    """

    def __init__(self, opener: Callable[[], Awaitable[AsyncReadStream]]) -> None:
        self._opener = opener
        self._stream: AsyncReadStream | None = None

    def __await__(self) -> Generator[Any, None, AsyncReadStream]:
        return self._opener().__await__()

    async def __aenter__(self) -> AsyncReadStream:
        self._stream = await self._opener()
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.aclose()


class AsyncAtomicWriteHandle:
    """The writer ``async with store.open_atomic(path) as f`` yields.

    ``await f.write(data)`` appends bytes; after a clean exit `result` holds the
    `WriteResult`. When the block raises or is cancelled, the backend writer is aborted:
    nothing is published and the previous file stays intact.
    """

    def __init__(self, store: AsyncStore, path: str, key: str, *, overwrite: bool, metadata: dict[str, str]) -> None:
        self._store = store
        self._path = path
        self._key = key
        self._overwrite = overwrite
        self._metadata = metadata
        self._writer: AsyncAtomicWriter | None = None
        #: The `WriteResult` after a clean exit of the ``async with`` block, else None.
        self.result: WriteResult | None = None
        #: Bytes accepted by `write` so far.
        self.bytes_written = 0

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append ``data``; return its length in bytes.

        Raises:
            TypeError: ``data`` is a str or not bytes-like.
            RemoteStoreError: The handle is not open (outside ``async with``) or the backend failed.
        """
        if isinstance(data, str) or not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("open_atomic() streams take bytes; encode text first")
        if self._writer is None:
            raise RemoteStoreError(
                "atomic writer is not open; use 'async with store.open_atomic(...)'", path=self._path
            )
        chunk = bytes(data)
        await self._store._call(self._path, self._writer.write(chunk))
        self.bytes_written += len(chunk)
        return len(chunk)

    async def __aenter__(self) -> AsyncAtomicWriteHandle:
        store = self._store
        if not self._overwrite and await store.exists(self._path):
            raise AlreadyExists("file exists", path=self._path, backend=store._backend.type_name)
        self._writer = await store._call(
            self._path, store._backend.open_atomic(self._key, overwrite=self._overwrite, metadata=self._metadata)
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        if exc_type is not None:
            try:
                await writer.abort()
            except Exception:
                pass
            return
        result = await self._store._call(self._path, writer.commit())
        self.result = _policy.result(self._store._root, result, self._metadata)
