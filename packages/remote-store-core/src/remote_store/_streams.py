"""Stream helpers for backend authors: ranged lazy readers and error-guarded wrappers."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

from remote_store.errors import ContentChanged, RemoteStoreError

T = TypeVar("T")


def error_cause(exc: BaseException) -> BaseException | None:
    """The ``__cause__`` to give the translation of ``exc``.

    A `RemoteStoreError` is already typed and keeps its own cause (``raise translate(exc)
    from error_cause(exc)`` re-raises it with the path made store-relative); any other
    exception becomes the cause of its translation.
    """
    return exc.__cause__ if isinstance(exc, RemoteStoreError) else exc


class SeekableReader(io.RawIOBase):
    """Base for read-only streams of known size that keep their own position.

    Subclasses set ``self._size`` (bytes) and ``self._pos`` (0) in ``__init__`` and
    implement ``readinto``; this class provides ``size``, ``tell``, ``seek`` (SEEK_SET,
    SEEK_CUR, SEEK_END; past-the-end positions read as EOF) and the readable/seekable flags.
    """

    _size: int
    _pos: int

    @property
    def size(self) -> int:
        """Total size in bytes."""
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos


class RangeReader(SeekableReader):
    """A lazy, seekable, read-only stream over ranged fetches.

    Backends with ranged reads (S3 ``GetObject`` with ``Range``, HTTP ``Range``, Azure
    ``download_blob(offset, length)``, SFTP ``readv``) hand this a ``fetch(start, length)``
    callable; nothing is fetched until the caller reads, and only the bytes asked for
    (rounded up to ``block_size``) are fetched. Wrap it in ``io.BufferedReader`` for
    small reads, or use `open_range_reader`.

    Args:
        fetch: ``fetch(start, length) -> bytes``: up to ``length`` bytes from byte offset ``start``.
        size: Total object size in bytes.
        on_close: Optional callable run once when the stream closes.
    """

    def __init__(
        self, fetch: Callable[[int, int], bytes], size: int, on_close: Callable[[], None] | None = None
    ) -> None:
        self._fetch = fetch
        self._size = size
        self._pos = 0
        self._on_close = on_close

    def _fetch_exact(self, start: int, length: int) -> bytes:
        """``length`` bytes from ``start``, calling ``fetch`` again after a short answer.

        A service may answer a ranged request with fewer bytes than asked (a capped range, a
        chunked proxy): that is not end of file. An empty answer before ``size`` is reached
        means the object shrank under the reader.

        Raises:
            ContentChanged: ``fetch`` returned no bytes before the object's end.
        """
        parts: list[bytes] = []
        got = 0
        while got < length:
            data = self._fetch(start + got, length - got)
            if not data:
                raise ContentChanged(
                    f"object ended at byte {start + got} of {self._size}: it changed while it was being read"
                )
            if len(data) > length - got:
                data = data[: length - got]
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, b: Any) -> int:
        """Fill the writable buffer ``b`` with up to ``len(b)`` bytes from the current position
        (fewer only at the end of the object); returns the byte count (0 at end of object).

        Raises:
            ContentChanged: The object ended before its size (it was replaced by a shorter one).
        """
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size:
            return 0
        want = min(len(b), self._size - self._pos)
        data = self._fetch_exact(self._pos, want)
        n = len(data)
        b[:n] = data
        self._pos += n
        return n

    def readall(self) -> bytes:
        """Everything from the current position to the end (``size`` bytes in all).

        Raises:
            ContentChanged: As `readinto`.
        """
        if self._pos >= self._size:
            return b""
        data = self._fetch_exact(self._pos, self._size - self._pos)
        self._pos += len(data)
        return data

    def close(self) -> None:
        if not self.closed:
            try:
                if self._on_close is not None:
                    self._on_close()
            finally:
                super().close()


def open_range_reader(fetch: Callable[[int, int], bytes], size: int, *, block_size: int = 1024 * 1024) -> IO[bytes]:
    """Return a buffered lazy seekable stream over ``fetch`` (see `RangeReader`).

    Args:
        fetch: ``fetch(start, length) -> bytes``.
        size: Object size in bytes.
        block_size: Read-ahead buffer in bytes: each fetch asks for at least this much.
    """
    return io.BufferedReader(RangeReader(fetch, size), buffer_size=block_size)  # type: ignore[return-value]


class GuardedStream(io.RawIOBase):
    """Wraps a backend stream so any exception while reading is translated by ``translate``.

    Used by `Store.read` so lazily raised backend errors (a dropped connection in
    the middle of a download) still arrive as `remote_store.errors` classes.
    """

    def __init__(self, raw: IO[bytes], translate: Callable[[Exception], Exception]) -> None:
        self._raw = raw
        self._translate = translate

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except RemoteStoreError as exc:
            # Already typed, but it may name the backend key: let the Store make it store-relative.
            raise self._translate(exc) from exc.__cause__
        except (ValueError, io.UnsupportedOperation):
            raise
        except Exception as exc:
            raise self._translate(exc) from exc

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._call(self._raw.seekable))

    def readinto(self, b: Any) -> int:
        readinto = getattr(self._raw, "readinto", None)
        if readinto is not None:
            n = self._call(readinto, b)
            return 0 if n is None else int(n)
        data = self._call(self._raw.read, len(b))
        n = len(data)
        b[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._call(self._raw.read, size if size is not None else -1)
        return b"" if data is None else bytes(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readline(self, size: int | None = -1) -> bytes:
        return bytes(self._call(self._raw.readline, -1 if size is None else size))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._call(self._raw.seek, offset, whence))

    def tell(self) -> int:
        return int(self._call(self._raw.tell))

    def close(self) -> None:
        if not self.closed:
            try:
                self._call(self._raw.close)
            finally:
                super().close()

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        while True:
            line = self.readline()
            if not line:
                return
            yield line


def guard_iter(it: Iterator[T], translate: Callable[[Exception], Exception]) -> Iterator[T]:
    """Yield from ``it``, translating any exception raised while iterating."""
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except Exception as exc:
            raise translate(exc) from error_cause(exc)
        yield item
