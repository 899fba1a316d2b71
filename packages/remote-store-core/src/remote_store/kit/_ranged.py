"""One read-ahead ranged reader for every service with ranged GETs, pinned to the first version."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from remote_store._streams import SeekableReader
from remote_store.errors import ContentChanged, NotFound

__all__ = ["Fetch", "FetchResult", "PinnedRangeReader", "open_pinned_reader"]

log = logging.getLogger("remote_store.kit")


class _Body(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one ranged GET returned.

    Attributes:
        body: A readable binary stream of the bytes from ``start`` to the end of the requested
            range (an SDK's streaming body); read sequentially, closed when no longer needed.
        size: Size of the *whole* object in bytes (not of the range).
        etag: The object's entity tag (or any version token) as the service reports it, or
            None when the service has none (the reader then cannot pin and never raises
            `ContentChanged`).
    """

    body: Any
    size: int
    etag: str | None


#: ``fetch(start, end, if_match) -> FetchResult``: one ranged GET of bytes ``start`` ..
#: ``end - 1`` (``end`` None = to the end of the object). With ``if_match`` set, the service
#: must refuse a different version: raise `ContentChanged` (S3/Azure ``If-Match`` → 412).
#: Raise `NotFound` when the object is gone.
Fetch = Callable[[int, "int | None", "str | None"], FetchResult]


class PinnedRangeReader(SeekableReader):
    """A lazy, seekable stream over ``fetch``: one open body serves sequential reads (read-ahead
    by the service's stream); a seek elsewhere opens ``fetch(pos, None, etag)``.

    Every fetch after the first is pinned to the first response's ``etag``. If the object was
    replaced: while no byte has reached the caller the reader restarts on the new version
    (new size and etag); once bytes were delivered it raises
    `remote_store.errors.ContentChanged`, so a caller never holds a mix of two versions. An
    object deleted or shrunk after bytes were delivered raises `ContentChanged` too; deleted
    before, `NotFound`.

    Args:
        fetch: The ranged GET (see `Fetch`).
        first: The result of the first fetch (``fetch(0, None, None)``): its body serves the
            first reads, its size and etag define the version read.
        key: Key named in errors.

    Raises:
        ContentChanged: See above (from ``read``/``readinto``).
        NotFound: The object is gone before any byte was delivered.
    """

    def __init__(self, fetch: Fetch, first: FetchResult, *, key: str | None = None) -> None:
        self._fetch = fetch
        self._key = key
        self._pos = 0
        self._size = first.size
        self._etag = first.etag
        self._body: _Body | None = first.body
        self._body_pos = 0
        self._delivered = 0

    @property
    def etag(self) -> str | None:
        """The entity tag the stream is pinned to."""
        return self._etag

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def _open(self, start: int) -> None:
        self._drop()
        try:
            result = self._fetch(start, None, self._etag)
        except (ContentChanged, NotFound) as exc:
            if self._delivered:
                raise ContentChanged(
                    f"file changed while being read ({type(exc).__name__}); retry the whole read", path=self._key
                ) from exc
            if isinstance(exc, NotFound):
                raise
            log.debug("%r changed before any byte was read: restarting on the new version", self._key)
            result = self._fetch(start, None, None)
        self._body = result.body
        self._body_pos = start
        if self._delivered == 0:
            self._size = result.size
            self._etag = result.etag

    def readinto(self, b: Any) -> int:
        """Fill ``b`` from the current position; 0 at the end of the object."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size:
            return 0
        want = min(len(b), self._size - self._pos)
        for attempt in range(2):
            if self._body is None or self._body_pos != self._pos:
                self._open(self._pos)
                if self._pos >= self._size:
                    return 0
                want = min(len(b), self._size - self._pos)
            assert self._body is not None
            data = self._body.read(want)
            if data:
                break
            # The body ended early: the object shrank (replaced) under us.
            self._drop()
            if self._delivered or attempt:
                raise ContentChanged("file changed while being read (it shrank); retry the whole read", path=self._key)
            self._etag = None  # restart on whatever is there now
        n = len(data)
        b[:n] = data
        self._pos += n
        self._body_pos += n
        self._delivered += n
        return n

    def readall(self) -> bytes:
        """Read from the current position to the end."""
        chunks = []
        while self._pos < self._size:
            chunk = self.read(self._size - self._pos)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            try:
                self._drop()
            finally:
                super().close()


def open_pinned_reader(
    fetch: Fetch, first: FetchResult, *, key: str | None = None, block_size: int = 1024 * 1024
) -> IO[bytes]:
    """Return ``io.BufferedReader(PinnedRangeReader(fetch, first), block_size)``.

    Args:
        fetch: The ranged GET (see `Fetch`).
        first: The first fetch's result (the object's size and etag come from it).
        key: Key named in errors.
        block_size: Read buffer in bytes (small reads are served from it).
    """
    return io.BufferedReader(PinnedRangeReader(fetch, first, key=key), buffer_size=block_size)  # type: ignore[return-value]
