"""Error-guarded wrappers `AsyncStore` puts around backend streams, iterators and content."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from remote_store._streams import error_cause
from remote_store.aio._streams import AsyncReadStream
from remote_store.errors import RemoteStoreError

T = TypeVar("T")
Translate = Callable[[Exception], RemoteStoreError]


async def guarded(translate: Translate, awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``; re-raise any exception (cancellation excepted) as ``translate`` maps it."""
    try:
        return await awaitable
    except Exception as exc:
        raise translate(exc) from error_cause(exc)


class ClosingAsyncStream(AsyncReadStream):
    """An `AsyncReadStream` wrapper that tracks `aclose` (``_closed``) and refuses reads after it."""

    _closed: bool = False

    @property
    def closed(self) -> bool:
        """Whether `aclose` has run."""
        return self._closed

    def _check_open(self) -> None:
        """Raises `RemoteStoreError` once the stream is closed."""
        if self._closed:
            raise RemoteStoreError("I/O on a closed stream")


class GuardedAsyncStream(ClosingAsyncStream):
    """Wraps a backend `AsyncReadStream`; errors raised while reading arrive as `remote_store.errors`."""

    def __init__(self, raw: AsyncReadStream, translate: Translate) -> None:
        self._raw = raw
        self._translate = translate

    async def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all when negative); ``b""`` at the end.

        Raises:
            RemoteStoreError: The stream is closed, or the backend failed (typed subclass).
        """
        self._check_open()
        data = await guarded(self._translate, self._raw.read(-1 if n is None else n))
        return bytes(data)

    async def aclose(self) -> None:
        """Release the backend stream. Idempotent."""
        if not self._closed:
            self._closed = True
            await guarded(self._translate, self._raw.aclose())

    def seekable(self) -> bool:
        """Whether the backend stream supports `seek`."""
        return self._raw.seekable()

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Seek the backend stream (see `AsyncReadStream.seek`).

        Raises:
            CapabilityNotSupported: The stream is not seekable.
            InvalidPath: Invalid ``offset``/``whence``.
        """
        return int(await guarded(self._translate, self._raw.seek(offset, whence)))

    def tell(self) -> int:
        """The current byte position (see `AsyncReadStream.tell`)."""
        try:
            return int(self._raw.tell())
        except Exception as exc:
            raise self._translate(exc) from error_cause(exc)


async def guarded_iter(translate: Translate, it: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """Yield from ``it``, translating its errors; closing this generator closes ``it``."""
    try:
        while True:
            try:
                item = await it.__anext__()
            except StopAsyncIteration:
                return
            except Exception as exc:
                raise translate(exc) from error_cause(exc)
            yield item
    finally:
        aclose = getattr(it, "aclose", None)
        if aclose is not None:
            await aclose()


class SourceIter:
    """Wraps the caller's write content: checks chunk types and remembers the caller's own error.

    `AsyncStore` re-raises that error unchanged instead of reporting it as a backend failure.
    """

    def __init__(self, content: AsyncIterable[Any]) -> None:
        self._content = content
        self.error: BaseException | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        """Yield the caller's chunks as ``bytes`` (empty ones skipped).

        Raises:
            TypeError: A chunk is not bytes-like.
        """
        it = self._content.__aiter__()
        while True:
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                return
            except Exception as exc:
                self.error = exc
                raise
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                self.error = TypeError(f"content async iterables must yield bytes, got {type(chunk).__name__}")
                raise self.error
            if chunk:
                yield bytes(chunk)
