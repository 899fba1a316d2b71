"""Turning what callers pass to ``write()`` into one readable binary stream."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import IO

#: What ``Store.write()`` accepts: bytes-like, a readable binary stream, or an iterable of byte chunks.
WritableContent = bytes | bytearray | memoryview | IO[bytes] | Iterable[bytes]

CHUNK_SIZE = 1024 * 1024


class IterStream(io.RawIOBase):
    """A read-only binary stream over an iterator of byte chunks (no buffering of the whole)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        while not self._buf:
            try:
                chunk = next(self._it)
            except StopIteration:
                return 0
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"content iterables must yield bytes, got {type(chunk).__name__}")
            self._buf = bytes(chunk)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def as_stream(content: object) -> IO[bytes]:
    """Return a readable binary stream for any accepted content.

    Streams are read from their current position. ``str`` is rejected (use ``write_text``).

    Raises:
        TypeError: ``content`` is a str, a text stream, or not bytes-like, stream or iterable.
    """
    if isinstance(content, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(content))
    if isinstance(content, str):
        raise TypeError("write() takes bytes or a binary stream; use write_text() for str")
    if isinstance(content, io.TextIOBase):
        raise TypeError("write() needs a binary stream, got a text stream")
    if hasattr(content, "read"):
        return content  # type: ignore[return-value]
    if isinstance(content, Iterable):
        return io.BufferedReader(IterStream(content), buffer_size=CHUNK_SIZE)
    raise TypeError(f"cannot write content of type {type(content).__name__}")


def iter_chunks(stream: IO[bytes], size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield chunks of at most ``size`` bytes until the stream is exhausted.

    Raises:
        TypeError: The stream returns str instead of bytes.
    """
    while True:
        chunk = stream.read(size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("write() needs a binary stream, got text")
        yield chunk


class SourceReader(io.RawIOBase):
    """Wraps the caller's content stream and remembers an exception it raised, so `Store` can
    re-raise the caller's own error unchanged instead of translating it as a backend failure."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._inner.read(size)
        except BaseException as exc:
            self.error = exc
            raise
        if isinstance(data, str):
            self.error = TypeError("write() needs a binary stream, got text")
            raise self.error
        return b"" if data is None else data

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        readinto = getattr(self._inner, "readinto", None)
        if readinto is not None:  # straight into the caller's buffer: no intermediate bytes
            try:
                got = readinto(b)
            except BaseException as exc:
                self.error = exc
                raise
            return 0 if got is None else int(got)
        data = self.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def readall(self) -> bytes:
        return self.read(-1)


def source_stream(content: object) -> tuple[IO[bytes], SourceReader | None]:
    """`as_stream`, plus a `SourceReader` wrapper for content that can fail while read."""
    stream = as_stream(content)
    if isinstance(stream, io.BytesIO):
        return stream, None
    reader = SourceReader(stream)
    return reader, reader  # type: ignore[return-value]
