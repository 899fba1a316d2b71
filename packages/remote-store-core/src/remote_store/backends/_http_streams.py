"""Response streams of `HttpBackend` (whole-body, spooling and prefetched readers) and header parsing."""

from __future__ import annotations

import email.utils
import io
from datetime import UTC, datetime
from typing import IO, Any

from remote_store.backends._http_transport import _Response

_CHUNK = 1024 * 1024


class _BodyStream(io.RawIOBase):
    """A plain (non-seekable) streaming ``GET`` body; closing it releases the connection."""

    def __init__(self, resp: _Response) -> None:
        self._resp = resp

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self._resp.readinto(memoryview(b).cast("B"))

    def close(self) -> None:
        if not self.closed:
            try:
                self._resp.close()
            finally:
                super().close()


class _SpoolingReader(io.RawIOBase):
    """A seekable stream over a plain streaming ``GET`` body, for servers that ignore ``Range``.

    Bytes are pulled from the body only as far as the caller reads or seeks, and kept in a
    spooled temp file (memory up to 8 MiB, then disk) so seeking back needs no new request.
    Used for the first read that reveals a server ignores ``Range`` while SEEKABLE_READ was
    still declared, so the stream keeps the promise the capability made.
    """

    def __init__(self, resp: _Response, size: int | None) -> None:
        import tempfile

        self._resp = resp
        self._size = size
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        self._have = 0
        self._eof = False
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _pull_to(self, end: int | None) -> None:
        """Append body bytes to the spool until it holds ``end`` bytes (None = everything)."""
        while not self._eof and (end is None or self._have < end):
            want = _CHUNK if end is None else min(_CHUNK, end - self._have)
            chunk = self._resp.read(want)
            if not chunk:
                self._eof = True
                self._resp.close()
                break
            self._spool.seek(self._have)
            self._spool.write(chunk)
            self._have += len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            if self._size is None:
                self._pull_to(None)
            pos = (self._size if self._size is not None else self._have) + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(b).cast("B")
        self._pull_to(self._pos + len(view))
        if self._pos >= self._have:
            return 0
        self._spool.seek(self._pos)
        n = self._spool.readinto(view[: self._have - self._pos])  # type: ignore[attr-defined]
        self._pos += n
        return int(n)

    def close(self) -> None:
        if not self.closed:
            try:
                self._resp.close()
                self._spool.close()
            finally:
                super().close()


class _SizedResponse:
    """A closed ranged response standing in for a ``HEAD`` answer: ``Content-Length`` is the full size."""

    def __init__(self, resp: _Response, size: int, status: int | None = None) -> None:
        self._resp = resp
        self._size = size
        self.status = status if status is not None else 200
        self.reason = resp.reason

    def header(self, name: str) -> str | None:
        if name.lower() == "content-length":
            return str(self._size)
        return self._resp.header(name)

    def read(self, n: int = -1) -> bytes:
        return b""

    def readinto(self, b: Any) -> int:
        return 0

    def close(self) -> None:
        return None


class _PrefetchedReader(io.BufferedReader):
    """`RangeReader` in a buffer; ``size`` exposes the object size (bytes)."""

    size: int


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _content_range_total(value: str | None) -> tuple[int, int, int | None] | None:
    """Parse ``bytes start-end/total`` (total may be ``*``) or ``bytes */total``."""
    if not value or not value.startswith("bytes "):
        return None
    spec, _, total = value[6:].partition("/")
    total_n = int(total) if total.strip().isdigit() else None
    if spec.strip() == "*":
        return (-1, -1, total_n)
    start, _, end = spec.partition("-")
    try:
        return (int(start), int(end), total_n)
    except ValueError:
        return None


def _strip_etag(etag: str | None) -> str | None:
    if not etag:
        return None
    tag = etag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"') or None
