"""Async stream contracts: `AsyncReadStream`, `AsyncAtomicWriter`, and in-memory helpers.

`AsyncBackend.open_read` returns an `AsyncReadStream`; `AsyncBackend.open_atomic` returns an
`AsyncAtomicWriter`. Both are async context managers. Writes take `AsyncWritableContent`:
``bytes`` or an async iterator of ``bytes`` chunks.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TypeAlias

from remote_store._models import WriteResult
from remote_store.errors import CapabilityNotSupported, InvalidPath, RemoteStoreError

#: What async writes accept: the whole content as ``bytes``, or an async iterator of chunks.
AsyncWritableContent: TypeAlias = bytes | AsyncIterator[bytes]

#: Bytes per chunk yielded by ``async for chunk in stream`` (64 KiB).
CHUNK_SIZE = 64 * 1024


class AsyncReadStream(abc.ABC):
    """A binary read stream driven with ``await``.

    ``await stream.read(n)`` returns up to ``n`` bytes (``n=-1``: to the end; ``b""`` at
    the end); ``async for chunk in stream`` yields chunks of at most `CHUNK_SIZE` bytes;
    ``async with stream:`` calls `aclose` on exit. Seeking is optional: `seekable` says
    whether `seek` works.
    """

    @abc.abstractmethod
    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all remaining bytes when ``n`` is negative); ``b""`` at the end."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the connection / file handle. Idempotent."""

    @property
    def closed(self) -> bool:
        """Whether `aclose` has run. Subclasses that track it override this; default False."""
        return False

    def seekable(self) -> bool:
        """Whether `seek` and `tell` work on this stream (default False)."""
        return False

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Move to byte ``offset`` (``whence`` as in `io.IOBase.seek`); return the new position.

        Raises:
            CapabilityNotSupported: The stream is not seekable (capability ``SEEKABLE_READ``).
        """
        raise CapabilityNotSupported("stream is not seekable", capability="SEEKABLE_READ")

    def tell(self) -> int:
        """The current byte position.

        Raises:
            CapabilityNotSupported: The stream is not seekable (capability ``SEEKABLE_READ``).
        """
        raise CapabilityNotSupported("stream is not seekable", capability="SEEKABLE_READ")

    async def __aenter__(self) -> AsyncReadStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.read(CHUNK_SIZE)
        if not chunk:
            raise StopAsyncIteration
        return chunk


class BytesAsyncReadStream(AsyncReadStream):
    """A seekable `AsyncReadStream` over bytes held in memory (no I/O; never blocks)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether `aclose` has run."""
        return self._closed

    def _check(self) -> None:
        if self._closed:
            raise RemoteStoreError("I/O on a closed stream")

    async def read(self, n: int = -1) -> bytes:
        """Return up to ``n`` bytes from memory (all remaining when ``n`` < 0).

        Raises:
            RemoteStoreError: The stream is closed.
        """
        self._check()
        end = len(self._data) if n is None or n < 0 else min(len(self._data), self._pos + n)
        out = self._data[self._pos : end]
        self._pos = max(self._pos, end)
        return out

    async def aclose(self) -> None:
        """Drop the buffer. Idempotent."""
        self._closed = True

    def seekable(self) -> bool:
        """Always True."""
        return True

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Move to ``offset`` bytes relative to start (0), current (1) or end (2).

        Raises:
            RemoteStoreError: The stream is closed.
            InvalidPath: ``whence`` is not 0/1/2, or the result is negative.
        """
        self._check()
        base = {0: 0, 1: self._pos, 2: len(self._data)}.get(whence)
        if base is None or base + offset < 0:
            raise InvalidPath(f"invalid seek: offset={offset} whence={whence}")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        """The current byte position."""
        return self._pos


class AsyncAtomicWriter(abc.ABC):
    """An async writer whose content becomes visible only on `commit`.

    `AsyncBackend.open_atomic` returns one; `AsyncStore.open_atomic` drives it:
    ``await write()`` while the ``async with`` block runs, then `commit` on a clean exit or
    `abort` when the block raises or is cancelled. After `abort` no partial file and no
    temp file remain; the previous file (if any) is untouched.
    """

    @abc.abstractmethod
    async def write(self, data: bytes) -> int:
        """Append ``data`` (bytes); return the number of bytes taken."""

    @abc.abstractmethod
    async def commit(self) -> WriteResult:
        """Publish the content atomically and return what was written (backend key in ``path``)."""

    @abc.abstractmethod
    async def abort(self) -> None:
        """Discard everything written; leave the previous file untouched. Idempotent."""

    async def __aenter__(self) -> AsyncAtomicWriter:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            await self.commit()
        else:
            await self.abort()


async def iter_content(content: AsyncWritableContent) -> AsyncIterator[bytes]:
    """Yield the chunks of ``content`` (``bytes`` as one chunk; empty chunks skipped)."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        if content:
            yield bytes(content)
        return
    async for chunk in content:
        if chunk:
            yield bytes(chunk)


async def read_content(content: AsyncWritableContent) -> bytes:
    """Collect ``content`` into one ``bytes`` (for backends that hold files in memory)."""
    if isinstance(content, (bytes, bytearray, memoryview)):
        return bytes(content)
    return b"".join([chunk async for chunk in iter_content(content)])
