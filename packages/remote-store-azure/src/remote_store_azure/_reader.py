"""`BlobReader`: lazy, seekable blob download with adaptive, parallel read-ahead."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from remote_store import SeekableReader

#: First ranged GET size in bytes; small, so a partial read of a big blob stays cheap.
FIRST_RANGE = 256 * 1024


class BlobReader(SeekableReader):
    """A read-only, seekable stream over ranged fetches of one blob version.

    Nothing is fetched until the first read. The first fetch asks for `FIRST_RANGE` bytes;
    each further sequential fetch doubles the range up to ``block_size``. Once reads are
    sequential at full block size, up to ``concurrency`` following blocks are fetched
    ahead in parallel, so a streaming download runs as fast as the SDK's parallel
    downloader while holding at most ``(concurrency + 1) * block_size`` bytes. A seek
    elsewhere drops the read-ahead.

    Args:
        fetch: ``fetch(start, length) -> bytes`` (one ranged Get Blob pinned to an ETag).
        size: Blob size in bytes.
        block_size: Largest range per request, bytes.
        concurrency: Ranges fetched ahead in parallel (1 = no read-ahead).
    """

    def __init__(self, fetch: Callable[[int, int], bytes], size: int, *, block_size: int, concurrency: int) -> None:
        self._fetch = fetch
        self._size = size
        self._block = max(1, block_size)
        self._concurrency = max(1, concurrency)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0
        self._next_len = min(FIRST_RANGE, self._block)
        self._ahead: dict[int, Future[bytes]] = {}
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
                self._ahead[offset] = self._pool.submit(self._fetch, offset, length)
            offset += self._block

    def _load(self, pos: int) -> None:
        """Make ``self._buf`` cover ``pos``."""
        buf_end = self._buf_start + len(self._buf)
        sequential = pos == buf_end and bool(self._buf)
        future = self._ahead.pop(pos, None)
        if future is not None:
            # Drop read-ahead that is behind us.
            for stale in [k for k in self._ahead if k < pos]:
                self._ahead.pop(stale).cancel()
            data = future.result()
        else:
            self._drop_ahead()
            if sequential:
                self._next_len = min(self._next_len * 2, self._block)
            else:
                self._next_len = min(FIRST_RANGE, self._block)
            data = self._fetch(pos, min(self._next_len, self._size - pos))
        self._buf, self._buf_start = data, pos
        if data:
            self._schedule_ahead(pos + len(data))

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size:
            return 0
        view = memoryview(b).cast("B")
        want = min(len(view), self._size - self._pos)
        done = 0
        while done < want:
            offset = self._pos - self._buf_start
            if not (0 <= offset < len(self._buf)):
                self._load(self._pos)
                offset = 0
                if not self._buf:
                    break
            n = min(want - done, len(self._buf) - offset)
            view[done : done + n] = self._buf[offset : offset + n]
            done += n
            self._pos += n
        return done

    def read(self, size: int | None = -1) -> bytes:
        """Return up to ``size`` bytes (all remaining bytes for -1/None), copying at most once."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            return self.readall()
        if size == 0 or self._pos >= self._size:
            return b""
        offset = self._pos - self._buf_start
        if not (0 <= offset < len(self._buf)):
            self._load(self._pos)
            offset = 0
        n = min(size, len(self._buf) - offset)
        if n >= size or self._buf_start + len(self._buf) >= self._size:
            data = self._buf if (offset == 0 and n == len(self._buf)) else self._buf[offset : offset + n]
            self._pos += len(data)
            return data
        buf = bytearray(min(size, self._size - self._pos))
        got = self.readinto(buf)
        return bytes(buf[:got]) if got < len(buf) else bytes(buf)

    def readall(self) -> bytes:
        out = bytearray()
        while True:
            chunk = self.read(self._block)
            if not chunk:
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
