"""`AsyncBlobReader`: a lazy, seekable async read stream over ETag-pinned ranged Get Blob calls."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from remote_store.aio import AsyncReadStream
from remote_store.errors import ContentChanged, InvalidPath, RemoteStoreError

#: First ranged GET in bytes: small, so reading the head of a large blob stays cheap.
FIRST_RANGE = 256 * 1024
#: How many times a stream that has returned no byte yet follows a replaced blob.
MAX_RESTARTS = 8
#: Range size once `readall` had to follow a new version (fewer ranges, fewer chances to tear).
WHOLE_RANGE = 32 * 1024 * 1024


class VersionChanged(Exception):
    """Raised by a ``fetch`` whose ``If-Match`` failed (HTTP 412): the blob is another version now."""


#: ``await fetch(start, length, etag) -> bytes``: one ranged Get Blob with ``If-Match: etag``.
AsyncFetch = Callable[[int, int, str], Awaitable[bytes]]
#: ``await head() -> (etag, size)``: Get Blob Properties of the current version.
AsyncHead = Callable[[], Awaitable[tuple[str, int]]]


def _consume(task: asyncio.Task[bytes]) -> None:
    """Mark a dropped read-ahead task's exception as retrieved (no "never retrieved" warning)."""
    if not task.cancelled():
        task.exception()


class AsyncBlobReader(AsyncReadStream):
    """Read-only async stream over one version of a blob.

    Nothing is downloaded before the first `read`. The first range is `FIRST_RANGE` bytes and
    each sequential range doubles up to ``block_size``; once reads are sequential at full size,
    up to ``concurrency - 1`` following ranges are downloaded ahead as tasks, so memory stays
    below ``concurrency * block_size`` bytes plus the caller's current buffer. `seek` elsewhere
    drops the read-ahead.

    Every range carries ``If-Match`` with the ETag seen at open, so all bytes come from one
    version. A blob replaced before this stream returned any byte is followed to its new
    version (at most `MAX_RESTARTS` times); after that, reads raise `ContentChanged`.

    Cancelling a `read` (or leaving ``async with`` early) cancels the range downloads in
    flight, which closes their HTTP responses; `aclose` waits until they have stopped.

    Args:
        fetch: ``await fetch(start, length, etag) -> bytes``; raises `VersionChanged` on HTTP 412.
        head: ``await head() -> (etag, size)`` of the current version (used to restart).
        etag: ETag of the version seen at open.
        size: Its size in bytes.
        key: Backend key, named in `ContentChanged`.
        block_size: Largest range per request, bytes.
        concurrency: Ranges in flight at most (1 = no read-ahead).
    """

    def __init__(
        self,
        fetch: AsyncFetch,
        head: AsyncHead,
        etag: str,
        size: int,
        *,
        key: str,
        block_size: int,
        concurrency: int,
    ) -> None:
        self._get = fetch
        self._head = head
        self._etag = etag
        self._size = size
        self._key = key
        self._block = max(1, block_size)
        self._concurrency = max(1, concurrency)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._next_len = min(FIRST_RANGE, self._block)
        self._ahead: dict[int, asyncio.Task[bytes]] = {}
        self._delivered = False
        self._restarts = 0
        self._whole = False
        self._closed = False

    # -- properties
    @property
    def size(self) -> int:
        """Size in bytes of the version being read."""
        return self._size

    @property
    def etag(self) -> str:
        """ETag of the version being read."""
        return self._etag

    @property
    def closed(self) -> bool:
        """Whether `aclose` has run."""
        return self._closed

    def seekable(self) -> bool:
        """Always True: ranged reads make every position reachable."""
        return True

    def tell(self) -> int:
        """Current position in bytes."""
        return self._pos

    # -- internals
    def _check_open(self) -> None:
        if self._closed:
            raise RemoteStoreError("I/O on a closed stream", path=self._key)

    def _drop_ahead(self) -> None:
        for task in self._ahead.values():
            task.cancel()
        self._ahead.clear()

    def _schedule_ahead(self, start: int) -> None:
        if self._concurrency < 2 or self._next_len < self._block or self._whole:
            return
        offset = start
        for _ in range(self._concurrency - 1):
            if offset >= self._size:
                break
            if offset not in self._ahead:
                length = min(self._block, self._size - offset)
                task = asyncio.ensure_future(self._get(offset, length, self._etag))
                task.add_done_callback(_consume)
                self._ahead[offset] = task
            offset += self._block

    async def _restart(self) -> None:
        self._drop_ahead()
        if self._delivered or self._restarts >= MAX_RESTARTS:
            raise ContentChanged("the file was replaced while it was being read; retry the whole read", path=self._key)
        self._restarts += 1
        self._etag, self._size = await self._head()
        self._buf, self._buf_start = b"", 0

    async def _fetch(self, pos: int, length: int) -> bytes:
        while True:
            if length <= 0:
                return b""
            try:
                return await self._get(pos, length, self._etag)
            except VersionChanged:
                await self._restart()
            length = min(length, self._size - pos)

    async def _load(self, pos: int) -> None:
        """Make the buffer cover ``pos``."""
        sequential = bool(self._buf) and pos == self._buf_start + len(self._buf)
        task = self._ahead.pop(pos, None)
        if task is not None:
            for stale in [k for k in self._ahead if k < pos]:
                self._ahead.pop(stale).cancel()
            try:
                data = await task
            except VersionChanged:
                await self._restart()
                data = await self._fetch(pos, min(self._next_len, self._size - pos))
        elif self._whole:
            data = await self._fetch(pos, min(WHOLE_RANGE, self._size - pos))
        else:
            self._drop_ahead()
            self._next_len = min(self._next_len * 2, self._block) if sequential else min(FIRST_RANGE, self._block)
            data = await self._fetch(pos, min(self._next_len, self._size - pos))
        self._buf, self._buf_start = data, pos
        if data:
            self._schedule_ahead(pos + len(data))

    async def _read_some(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current buffer (loading it when needed)."""
        if size == 0 or self._pos >= self._size:
            return b""
        offset = self._pos - self._buf_start
        if not (0 <= offset < len(self._buf)):
            await self._load(self._pos)
            offset = 0
            if self._pos >= self._size:
                return b""  # replaced by a shorter version before any byte was returned
        data = self._buf[offset : offset + size]
        self._pos += len(data)
        return data

    # -- public reading
    async def read(self, size: int = -1) -> bytes:
        """Return up to ``size`` bytes (everything to the end for a negative ``size``); b"" at the end.

        Raises:
            ContentChanged: The blob was replaced after this stream returned bytes.
            RemoteStoreError: The stream is closed.
        """
        self._check_open()
        if size is None or size < 0:
            return await self.readall()
        start, generation = self._pos, self._restarts
        parts: list[bytes] = []
        got = 0
        while got < size:
            chunk = await self._read_some(size - got)
            if self._restarts != generation:
                # followed a new version before returning anything: start again from ``start``
                parts, got, generation, self._pos = [], 0, self._restarts, start
                continue
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if data:
            self._delivered = True
        return data

    async def readall(self) -> bytes:
        """Everything from the position to the end, all from one version of the blob.

        Nothing is returned before the end is reached, so a stream that returned no byte
        before follows a replaced blob and reads the new version whole.

        Raises:
            ContentChanged: The blob was replaced after this stream had returned bytes, or
                kept changing through `MAX_RESTARTS` attempts.
        """
        self._check_open()
        start, generation = self._pos, self._restarts
        parts: list[bytes] = []
        while True:
            chunk = await self._read_some(WHOLE_RANGE if self._whole else self._block)
            if self._restarts != generation:
                parts, generation = [], self._restarts
                self._pos, self._whole = start, True
                self._drop_ahead()
                continue
            if not chunk:
                break
            parts.append(chunk)
        data = b"".join(parts)
        if data:
            self._delivered = True
        return data

    async def seek(self, offset: int, whence: int = 0) -> int:
        """Move to ``offset`` (``whence`` 0 = start, 1 = current, 2 = end); return the new position.

        Raises:
            InvalidPath: A negative resulting position or an unknown ``whence``.
            RemoteStoreError: The stream is closed.
        """
        self._check_open()
        if whence == 0:
            pos = offset
        elif whence == 1:
            pos = self._pos + offset
        elif whence == 2:
            pos = self._size + offset
        else:
            raise InvalidPath(f"invalid seek: whence={whence!r}", path=self._key)
        if pos < 0:
            raise InvalidPath(f"invalid seek: offset={offset} whence={whence} is before the start", path=self._key)
        self._pos = pos
        return pos

    async def aclose(self) -> None:
        """Cancel the range downloads in flight and wait until they stopped; idempotent."""
        if self._closed:
            return
        self._closed = True
        tasks = list(self._ahead.values())
        self._drop_ahead()
        self._buf = b""
        if tasks:
            await asyncio.wait(tasks)
