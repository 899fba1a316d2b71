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
            None only for the ``first`` result given to `PinnedRangeReader` from a HEAD.
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


#: Default read-ahead of a ranged read after a seek (bytes beyond what the caller asked for).
READ_AHEAD = 1024 * 1024
#: Forward seeks of at most this many bytes inside the open range read and discard instead
#: of sending a new request.
SKIP_LIMIT = 256 * 1024


class PinnedRangeReader(SeekableReader):
    """A lazy, seekable stream over ``fetch`` that sends bounded ranged GETs after seeks.

    Requests, by access pattern (prior art: fsspec's ``readahead`` cache, PyArrow's read
    coalescing):

    - **sequential** from where the open body stands: served by that body, no request;
    - **a seek**: one bounded GET ``fetch(pos, pos + max(n, read_ahead), etag)`` where ``n``
      is what the read asked for (``Range: bytes=pos-(pos+max(n, read_ahead)-1)``), clipped
      to the object; a forward seek of at most ``skip_limit`` bytes inside the open range reads
      and discards instead;
    - **a read that continues exactly where a bounded range ended** (a sequential scan
      after a seek): one open-ended GET from there, which the service streams.

    ``first`` is the result of an opening GET (its body serves the first reads) or of a
    ``HEAD`` (``body=None``: nothing is requested until the first read).

    Every fetch is pinned to the first result's ``etag``. If the object was replaced: while
    no byte has reached the caller the reader restarts on the new version (new size and
    etag); once bytes were delivered it raises `remote_store.errors.ContentChanged`, so a
    caller never holds a mix of two versions. An object deleted or shrunk after bytes were
    delivered raises `ContentChanged` too; deleted before, `NotFound`.

    Args:
        fetch: The ranged GET (see `Fetch`).
        first: The first GET's result (``fetch(0, None, None)``), or a HEAD's
            (``FetchResult(None, size, etag)``); its size and etag define the version read.
        key: Key named in errors.
        read_ahead: Least bytes fetched by the GET after a seek (≥ 0; default 1 MiB): a
            smaller read still fetches this much, a larger one exactly what it asks for.
        skip_limit: Largest forward seek (bytes) served by discarding from the open body.

    Raises:
        ContentChanged: See above (from ``read``/``readinto``).
        NotFound: The object is gone before any byte was delivered.
    """

    def __init__(
        self,
        fetch: Fetch,
        first: FetchResult,
        *,
        key: str | None = None,
        read_ahead: int = READ_AHEAD,
        skip_limit: int = SKIP_LIMIT,
    ) -> None:
        if read_ahead < 0 or skip_limit < 0:
            raise ValueError("read_ahead and skip_limit must be >= 0")
        self._fetch = fetch
        self._key = key
        self._pos = 0
        self._size = first.size
        self._etag = first.etag
        self._body: _Body | None = first.body
        self._body_pos = 0
        self._body_end: int | None = None  # exclusive end of the open body's range; None = object end
        self._delivered = 0
        self._read_ahead = read_ahead
        self._skip_limit = skip_limit
        self._requests = 0 if first.body is None else 1

    @property
    def etag(self) -> str | None:
        """The entity tag the stream is pinned to."""
        return self._etag

    @property
    def requests(self) -> int:
        """GET requests made so far (the opening one included)."""
        return self._requests

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def _open(self, start: int, end: int | None) -> None:
        self._drop()
        self._requests += 1
        try:
            result = self._fetch(start, end, self._etag)
        except (ContentChanged, NotFound) as exc:
            if self._delivered:
                raise ContentChanged(
                    f"file changed while being read ({type(exc).__name__}); retry the whole read", path=self._key
                ) from exc
            if isinstance(exc, NotFound):
                raise
            log.debug("%r changed before any byte was read: restarting on the new version", self._key)
            self._requests += 1
            result = self._fetch(start, end, None)
        self._body = result.body
        self._body_pos = start
        self._body_end = None if end is None or end >= result.size else end
        if self._delivered == 0:
            self._size = result.size
            self._etag = result.etag

    def _position(self, want: int) -> None:
        """Make the open body stand at ``self._pos`` (skip forward, or open a range)."""
        pos = self._pos
        body_end = self._body_end
        if self._body is not None:
            if self._body_pos == pos and (body_end is None or pos < body_end):
                return
            gap = pos - self._body_pos
            if 0 < gap <= self._skip_limit and (body_end is None or pos < body_end):
                while gap:
                    skipped = len(self._body.read(min(gap, 64 * 1024)))
                    if not skipped:
                        break
                    gap -= skipped
                    self._body_pos += skipped
                if not gap:
                    return
        if body_end is not None and pos == body_end:
            self._open(pos, None)  # a scan continuing past its range: stream the rest
            return
        if pos == 0 and self._requests == 0:
            self._open(0, None)  # the first read of a lazy stream starts at 0: a whole-object GET
            return
        self._open(pos, pos + max(want, self._read_ahead))

    def readinto(self, b: Any) -> int:
        """Fill ``b`` from the current position; 0 at the end of the object."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size:
            return 0
        for attempt in range(2):
            want = min(len(b), self._size - self._pos)
            self._position(want)
            if self._pos >= self._size:
                return 0
            want = min(len(b), self._size - self._pos)
            if self._body_end is not None:
                want = min(want, self._body_end - self._pos)
            n = self._fill(b, want)
            if n:
                break
            # The body ended early: the object shrank (replaced) under us.
            self._drop()
            if self._delivered or attempt:
                raise ContentChanged("file changed while being read (it shrank); retry the whole read", path=self._key)
            self._etag = None  # restart on whatever is there now
        self._advance(n)
        return n

    def _fill(self, b: Any, want: int) -> int:
        """Up to ``want`` bytes of the open body into ``b``: straight into it where the body
        has ``readinto`` (PyArrow's streams, botocore's), else one ``read`` and one copy."""
        body = self._body
        assert body is not None
        readinto = getattr(body, "readinto", None)
        if readinto is not None:
            with memoryview(b) as view:
                return int(readinto(view[:want]) or 0)
        data = body.read(want)
        n = len(data)
        b[:n] = data
        return n

    def _advance(self, n: int) -> None:
        self._pos += n
        self._body_pos += n
        self._delivered += n

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all to the end when negative or None); short only at the end.

        Unlike a plain raw read, a read that crosses the end of a ranged GET continues with
        the next one, so an unbuffered caller (PyArrow's ``read_at``) gets whole reads.
        """
        if size is None or size < 0:
            return self.readall()
        if self.closed:
            raise ValueError("I/O operation on closed file")
        want = min(size, max(0, self._size - self._pos))
        if not want:
            return b""
        # One body read that yields the whole request is handed over as it is (no copy).
        self._position(want)
        want = min(want, max(0, self._size - self._pos))
        if want and self._body is not None:
            if self._body_end is not None:
                want = min(want, self._body_end - self._pos)
            data = self._body.read(want)
            if data:
                self._advance(len(data))
                head = data if type(data) is bytes else bytes(data)
                rest = min(size - len(head), max(0, self._size - self._pos))
                return head + self._read_copy(rest) if rest else head
        return self._read_copy(min(size, max(0, self._size - self._pos)))

    def _read_copy(self, size: int) -> bytes:
        """``size`` bytes (fewer only at the end) through `readinto`."""
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < len(buf):
            n = self.readinto(view[got:])
            if not n:
                break
            got += n
        view.release()
        del buf[got:]
        return bytes(buf)

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
    fetch: Fetch,
    first: FetchResult,
    *,
    key: str | None = None,
    block_size: int = 1024 * 1024,
    read_ahead: int = READ_AHEAD,
) -> IO[bytes]:
    """Return ``io.BufferedReader(PinnedRangeReader(fetch, first, read_ahead=...), block_size)``.

    Args:
        fetch: The ranged GET (see `Fetch`).
        first: The first fetch's result, or a HEAD's with ``body=None`` (the object's size and
            etag come from it).
        key: Key named in errors.
        block_size: Read buffer in bytes (small reads are served from it).
        read_ahead: Bytes fetched beyond each read after a seek (see `PinnedRangeReader`).
    """
    raw = PinnedRangeReader(fetch, first, key=key, read_ahead=read_ahead)
    return io.BufferedReader(raw, buffer_size=block_size)  # type: ignore[return-value]
