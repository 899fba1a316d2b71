"""`BlobReader`: lazy, seekable blob download with adaptive, parallel read-ahead."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from remote_store import SeekableReader

#: First ranged GET size in bytes; small, so a partial read of a big blob stays cheap.
FIRST_RANGE = 256 * 1024
#: How many times a read that has delivered no byte yet follows the blob to a new version.
MAX_RESTARTS = 8
#: After `readall` had to follow a new version, it asks for up to this many bytes per range
#: (one ranged GET is one version; a blob that changes faster than sequential ranges still reads).
WHOLE_RANGE = 32 * 1024 * 1024


class VersionChanged(Exception):
    """Raised by a ``fetch`` whose ``If-Match`` failed (HTTP 412): the blob is another version now."""


class TornRead(Exception):
    """The blob was replaced after this stream returned bytes of the old version.

    A native exception on purpose: `Store` passes it through the backend's ``translate_error``
    (→ `remote_store.errors.ContentChanged`), which names the *store-relative* path.

    Attributes:
        key: The backend key being read.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"blob {key!r} was replaced while it was being read")


#: ``fetch(start, length, etag) -> bytes``: one ranged Get Blob with ``If-Match: etag``.
Fetch = Callable[[int, int, str], bytes]
#: ``head() -> (etag, size)``: Get Blob Properties of the blob's current version.
Head = Callable[[], tuple[str, int]]


class BlobReader(SeekableReader):
    """A read-only, seekable stream over ranged fetches of one blob version.

    Nothing is fetched until the first read. The first fetch asks for `FIRST_RANGE` bytes;
    each further sequential fetch doubles the range up to ``block_size``. Once reads are
    sequential at full block size, up to ``concurrency`` following blocks are fetched
    ahead in parallel, so a streaming download runs as fast as the SDK's parallel
    downloader while holding at most ``(concurrency + 1) * block_size`` bytes. A seek
    elsewhere drops the read-ahead.

    Every range is pinned to one version (``If-Match`` its ETag). When the blob is replaced
    before this stream has returned any byte, the stream follows it to the new version (new
    ETag and size, at most `MAX_RESTARTS` times); once bytes were returned it raises
    `TornRead` (which the backend translates to `remote_store.errors.ContentChanged`)
    instead of mixing two versions.

    Args:
        fetch: ``fetch(start, length, etag) -> bytes``; raises `VersionChanged` on HTTP 412.
        head: ``head() -> (etag, size)`` of the current version (used to restart).
        etag: ETag of the version seen at open.
        size: Its size in bytes.
        key: The key, named in `ContentChanged`.
        block_size: Largest range per request, bytes.
        concurrency: Ranges fetched ahead in parallel (1 = no read-ahead).
    """

    def __init__(
        self,
        fetch: Fetch,
        head: Head,
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
        self._key = key
        self._delivered = False
        self._restarts = 0
        self._size = size
        self._block = max(1, block_size)
        self._concurrency = max(1, concurrency)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._next_len = min(FIRST_RANGE, self._block)
        self._ahead: dict[int, Future[bytes]] = {}
        self._whole = False  # readall after a restart: one range for the rest
        self._pool: ThreadPoolExecutor | None = None

    def _drop_ahead(self) -> None:
        for future in self._ahead.values():
            future.cancel()
        self._ahead.clear()

    def _schedule_ahead(self, start: int) -> None:
        if self._concurrency < 2 or self._next_len < self._block:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="rs-azure-read")
        offset = start
        for _ in range(self._concurrency):
            if offset >= self._size:
                break
            if offset not in self._ahead:
                length = min(self._block, self._size - offset)
                self._ahead[offset] = self._pool.submit(self._get, offset, length, self._etag)
            offset += self._block

    def _fetch(self, pos: int, length: int) -> bytes:
        """One pinned range; follows a replaced blob while nothing has been returned yet."""
        while True:
            if length <= 0:
                return b""
            try:
                return self._get(pos, length, self._etag)
            except VersionChanged:
                self._restart()
            length = min(length, self._size - pos)

    def _restart(self) -> None:
        """Switch to the blob's current version, or raise `ContentChanged` if that would tear the read."""
        self._drop_ahead()
        if self._delivered or self._restarts >= MAX_RESTARTS:
            raise TornRead(self._key)
        self._restarts += 1
        self._etag, self._size = self._head()
        self._buf, self._buf_start = b"", 0

    def _load(self, pos: int) -> None:
        """Make ``self._buf`` cover ``pos``."""
        buf_end = self._buf_start + len(self._buf)
        sequential = pos == buf_end and bool(self._buf)
        future = self._ahead.pop(pos, None)
        if future is not None:
            # Drop read-ahead that is behind us.
            for stale in [k for k in self._ahead if k < pos]:
                self._ahead.pop(stale).cancel()
            try:
                data = future.result()
            except VersionChanged:
                self._restart()
                data = self._fetch(pos, min(self._next_len, self._size - pos))
        elif self._whole:
            data = self._fetch(pos, min(WHOLE_RANGE, self._size - pos))
        else:
            self._drop_ahead()
            if sequential:
                self._next_len = min(self._next_len * 2, self._block)
            else:
                self._next_len = min(FIRST_RANGE, self._block)
            data = self._fetch(pos, min(self._next_len, self._size - pos))
        self._buf, self._buf_start = data, pos
        if data and not self._whole:
            self._schedule_ahead(pos + len(data))

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size:
            return 0
        view = memoryview(b).cast("B")
        start, generation = self._pos, self._restarts
        want = min(len(view), self._size - self._pos)
        done = 0
        while done < want:
            offset = self._pos - self._buf_start
            if not (0 <= offset < len(self._buf)):
                self._load(self._pos)
                offset = 0
                if self._restarts != generation:
                    # Followed the blob to a new version (nothing had been returned): copy again from
                    # ``start``, so ``b`` never mixes two versions.
                    generation, done, self._pos = self._restarts, 0, start
                    want = min(len(view), self._size - self._pos)
                    continue
                if not self._buf:
                    break
            n = min(want - done, len(self._buf) - offset)
            view[done : done + n] = self._buf[offset : offset + n]
            done += n
            self._pos += n
        if done:
            self._delivered = True
        return done

    def read(self, size: int | None = -1) -> bytes:
        """Return up to ``size`` bytes (all remaining bytes for -1/None), copying at most once."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            return self.readall()
        data = self._read(size)
        if data:
            self._delivered = True
        return data

    def _read(self, size: int) -> bytes:
        if size == 0 or self._pos >= self._size:
            return b""
        offset = self._pos - self._buf_start
        if not (0 <= offset < len(self._buf)):
            self._load(self._pos)
            offset = 0
            if self._pos >= self._size:
                return b""  # the blob was replaced by a shorter version before any byte was returned
        n = min(size, len(self._buf) - offset)
        if n >= size or self._buf_start + len(self._buf) >= self._size:
            data = self._buf if (offset == 0 and n == len(self._buf)) else self._buf[offset : offset + n]
            self._pos += len(data)
            return data
        buf = bytearray(min(size, self._size - self._pos))
        delivered = self._delivered
        got = self.readinto(buf)
        self._delivered = delivered
        return bytes(buf[:got]) if got < len(buf) else bytes(buf)

    def readall(self) -> bytes:
        """Return everything from the position to the end, all from one version of the blob.

        Nothing is returned until the end is reached, so if this stream has returned no byte
        before, a replaced blob restarts the whole read on the new version.
        """
        if self.closed:
            raise ValueError("I/O operation on closed file")
        start, generation = self._pos, self._restarts
        out = bytearray()
        while True:
            chunk = self._read(WHOLE_RANGE if self._whole else self._block)
            if self._restarts != generation:
                # Followed the blob to a new version: what was gathered belongs to the old one.
                # Read the rest in as few ranges as possible, so it all comes from one version.
                out, generation = bytearray(), self._restarts
                self._pos, self._whole = start, True
                self._drop_ahead()
                continue
            if not chunk:
                if out:
                    self._delivered = True
                return bytes(out)
            out += chunk

    def close(self) -> None:
        if not self.closed:
            self._drop_ahead()
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
            self._buf = b""
            super().close()
