"""Stream wrappers that report progress or compute a rolling checksum without buffering.

Each wrapper passes reads/writes straight through to the wrapped binary stream and looks
at the bytes on the way; nothing is held beyond the caller's own buffers. Closing a
wrapper closes the wrapped stream unless ``close_inner=False``.

Progress callbacks receive the number of bytes *just* transferred (a delta, like boto3's
``Callback`` and ``tqdm.update``), so one callback can aggregate many streams::

    from remote_store.ext.streams import read_with_progress

    with read_with_progress(store, "big.bin", lambda n: print(n, "bytes")) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            ...

Wrappers are not seekable (a rewind would corrupt the running checksum or the count).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from remote_store import ContentDigest, Store
from remote_store_ext._hashing import digest_of, new_hasher, normalize_algorithm

#: ``callback(n)``: ``n`` bytes were just read or written.
ProgressCallback = Callable[[int], None]


class _Wrapper(io.RawIOBase):
    def __init__(self, stream: IO[bytes], *, close_inner: bool = True) -> None:
        if isinstance(stream, io.TextIOBase):
            raise TypeError("expected a binary stream, got a text stream")
        self._inner = stream
        self._close_inner = close_inner

    @property
    def inner(self) -> IO[bytes]:
        """The wrapped stream."""
        return self._inner

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        if not self.closed:
            try:
                if self._close_inner:
                    self._inner.close()
            finally:
                super().close()


class _Reader(_Wrapper):
    bytes_read: int

    def __init__(self, stream: IO[bytes], *, close_inner: bool = True) -> None:
        super().__init__(stream, close_inner=close_inner)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def _seen(self, data: bytes | bytearray | memoryview) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        data = self._inner.read(-1 if size is None else size)
        if data is None:
            return b""
        if isinstance(data, str):
            raise TypeError("expected a binary stream, got text")
        if data:
            self.bytes_read += len(data)
            self._seen(data)
        return bytes(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(b).cast("B")
        readinto = getattr(self._inner, "readinto", None)
        if readinto is not None:
            n = readinto(view)
            n = 0 if n is None else int(n)
        else:
            data = self._inner.read(len(view))
            n = len(data)
            view[:n] = data
        if n:
            self.bytes_read += n
            self._seen(view[:n])
        return n

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
        """Iterate in 64 KiB chunks (binary content has no lines worth splitting on)."""
        while True:
            chunk = self.read(64 * 1024)
            if not chunk:
                return
            yield chunk


class _Writer(_Wrapper):
    bytes_written: int

    def __init__(self, stream: IO[bytes], *, close_inner: bool = True) -> None:
        super().__init__(stream, close_inner=close_inner)
        self.bytes_written = 0

    def writable(self) -> bool:
        return True

    def _seen(self, data: bytes | bytearray | memoryview) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if isinstance(data, str):
            raise TypeError("write() takes bytes, not str")
        view = memoryview(data).cast("B")
        n = self._inner.write(view)
        n = len(view) if n is None else int(n)
        if n:
            self.bytes_written += n
            self._seen(view[:n])
        return n

    def flush(self) -> None:
        if not self.closed:
            flush = getattr(self._inner, "flush", None)
            if flush is not None:
                flush()


class ProgressReader(_Reader):
    """A read-through wrapper calling ``callback(n)`` after every read that returned ``n > 0`` bytes.

    Args:
        stream: Readable binary stream (e.g. from `Store.read`).
        callback: ``callback(n: int)``; ``n`` bytes were just read.
        total: Expected size in bytes, if known (informational: `total`).
        close_inner: Close ``stream`` when this wrapper closes.

    Attributes:
        bytes_read: Bytes read so far.

    Raises:
        TypeError: ``stream`` is a text stream.
    """

    def __init__(
        self, stream: IO[bytes], callback: ProgressCallback, *, total: int | None = None, close_inner: bool = True
    ) -> None:
        super().__init__(stream, close_inner=close_inner)
        self._callback = callback
        self.total = total

    def _seen(self, data: bytes | bytearray | memoryview) -> None:
        self._callback(len(data))


class ProgressWriter(_Writer):
    """A write-through wrapper calling ``callback(n)`` after every write that took ``n > 0`` bytes.

    Args:
        stream: Writable binary stream (a local file, `Store.open_atomic`'s handle …).
        callback: ``callback(n: int)``; ``n`` bytes were just written.
        close_inner: Close ``stream`` when this wrapper closes.

    Attributes:
        bytes_written: Bytes written so far.
    """

    def __init__(self, stream: IO[bytes], callback: ProgressCallback, *, close_inner: bool = True) -> None:
        super().__init__(stream, close_inner=close_inner)
        self._callback = callback

    def _seen(self, data: bytes | bytearray | memoryview) -> None:
        self._callback(len(data))


class _Hashing(_Wrapper):
    """Rolling hash of every byte that passes through (the shared half of the Checksum wrappers)."""

    def __init__(self, stream: IO[bytes], algorithm: str = "sha256", *, close_inner: bool = True) -> None:
        self.algorithm = normalize_algorithm(algorithm)
        self._hasher = new_hasher(self.algorithm)
        super().__init__(stream, close_inner=close_inner)

    def _seen(self, data: bytes | bytearray | memoryview) -> None:
        self._hasher.update(data)

    def digest(self) -> ContentDigest:
        """The `ContentDigest` of the bytes that passed through so far (to EOF for the whole content)."""
        return digest_of(self._hasher, self.algorithm)

    def hexdigest(self) -> str:
        """The hex digest of the bytes that passed through so far."""
        return self._hasher.hexdigest()


class ChecksumReader(_Hashing, _Reader):
    """A read-through wrapper that hashes every byte read (rolling checksum).

    Args:
        stream: Readable binary stream.
        algorithm: Hash algorithm name (``"sha256"``, ``"md5"``, ``"crc32"`` …).
        close_inner: Close ``stream`` when this wrapper closes.

    Attributes:
        bytes_read: Bytes read (and hashed) so far.

    Raises:
        ConfigError: Unknown ``algorithm``.
    """


class ChecksumWriter(_Hashing, _Writer):
    """A write-through wrapper that hashes every byte the wrapped stream accepted.

    Args:
        stream: Writable binary stream.
        algorithm: Hash algorithm name.
        close_inner: Close ``stream`` when this wrapper closes.

    Attributes:
        bytes_written: Bytes written (and hashed) so far.

    Raises:
        ConfigError: Unknown ``algorithm``.
    """


def read_with_progress(store: Store, path: str, callback: ProgressCallback) -> ProgressReader:
    """Open ``path`` for reading (`Store.read`) with a progress callback.

    ``total`` is the file size when the store has METADATA (one extra stat call:
    ``HeadObject``, ``stat`` …), else None.

    Args:
        store: The store holding the file.
        path: Store-relative file path.
        callback: ``callback(n: int)`` after each read of ``n > 0`` bytes.

    Returns:
        A `ProgressReader` (close it, or use it as a context manager).

    Raises:
        NotFound: No such file.
        InvalidPath: ``path`` is malformed or a folder.
        CapabilityNotSupported: The store cannot READ.
        BackendUnavailable: The service failed (also later, while reading).
    """
    from remote_store import Capability

    total = store.get_file_info(path).size if store.supports(Capability.METADATA) else None
    return ProgressReader(store.read(path), callback, total=total)


__all__ = ["ChecksumReader", "ChecksumWriter", "ProgressReader", "ProgressWriter", "read_with_progress"]
