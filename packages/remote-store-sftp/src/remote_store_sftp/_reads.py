"""Reads: open a checked handle, take the size from that handle, stream it with a read-ahead window."""

from __future__ import annotations

import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Any

import paramiko

from remote_store import ContentChanged, InvalidPath, SeekableReader
from remote_store_sftp import _paths, _pool, _retry, _wire
from remote_store_sftp._errors import enoent

if TYPE_CHECKING:
    from remote_store_sftp._backend import SFTPBackend

#: Bytes kept in flight by a sequential reader (the window ramps up from one request after a seek).
READ_WINDOW = 4 * 1024 * 1024
#: How often an open is retried when the handle's FSTAT disagrees with the checked path.
_OPEN_ATTEMPTS = 8


def open_checked(
    c: _wire.Client, base: str, key: str, *, first: bool = False
) -> tuple[paramiko.SFTPFile, int, bytes | None]:
    """Open ``key`` for reading; return ``(file, size, first bytes)`` with the size from the handle's ``FSTAT``.

    See `open_version` (which also returns the handle's attributes).
    """
    f, fst, data = open_version(c, base, key, first=first)
    return f, int(fst.st_size or 0), data


def open_version(
    c: _wire.Client, base: str, key: str, *, first: bool = False
) -> tuple[paramiko.SFTPFile, paramiko.SFTPAttributes, bytes | None]:
    """Open ``key`` for reading; return ``(file, the handle's FSTAT attributes, first bytes)``.

    With ``first`` (whole-file reads), the first ``READ`` travels with the ``FSTAT`` and its
    bytes are returned (else None: a lazy stream fetches nothing before it is read).

    Order: resolve and check the path (``LSTAT``, or ``REALPATH`` + ``STAT``), refuse anything
    that is not a regular file *before* ``OPEN`` (opening a FIFO would block the server),
    ``OPEN``, then ``FSTAT`` the handle. When the handle's attributes differ from the checked
    ones (a concurrent replace, or a swapped link), the path is checked again and the handle
    kept only when the new check describes it; otherwise the open is retried.

    Raises:
        NotFound: No file at ``key``.
        InvalidPath: A folder, not a regular file, a symlink leading outside the base, or a
            path that kept changing between check and open.
    """
    for _ in range(_OPEN_ATTEMPTS):
        path, st, _checked = _paths.resolve(c, base, key)
        err = _paths.kind_error(st, key)
        if err is not None:
            raise err
        try:
            f = c.open(path, "rb")
        except OSError as exc:
            if enoent(exc):
                continue  # replaced or removed since the check: check again
            raise
        try:
            n = min(getattr(c, "max_read", _wire.SAFE_REQUEST), int(st.st_size or 0)) if first else 0
            fst, data = _wire.fstat_and_read(c, f, n)
            if _paths.same_file(st, fst) or _recheck(c, base, key, fst):
                return f, fst, data
        except BaseException:
            _wire.close_async(c, f)
            raise
        _wire.close_async(c, f)
    raise InvalidPath("the file kept changing between its check and its open; refused", path=key)


def _recheck(c: _wire.Client, base: str, key: str, fst: paramiko.SFTPAttributes) -> bool:
    """Check the path again; True when it now describes the open handle (and stays inside the base)."""
    _path, st, _checked = _paths.resolve(c, base, key)
    return _paths.kind_error(st, key) is None and _paths.same_file(st, fst)


class Reader(SeekableReader):
    """Lazy, seekable stream over one open SFTP handle with a bounded window of pipelined READs.

    Sequential reads keep up to `READ_WINDOW` bytes of requests in flight, each as large as
    the server allows (``limits@openssh.com``; 32 KiB without it); the window ramps up from one
    request after every seek, so random access fetches little. Memory is bounded by the
    window, never by the file size. The size comes from the handle's ``FSTAT``: the bytes
    returned all belong to the file version that was opened, even when it is replaced by a
    rename meanwhile. A file shrunk in place after bytes were delivered raises
    `remote_store.ContentChanged`.
    """

    def __init__(
        self,
        backend: SFTPBackend,
        session: _pool.Session,
        client: _wire.Client,
        f: paramiko.SFTPFile,
        size: int,
        key: str,
        first: bytes | None = None,
        attrs: paramiko.SFTPAttributes | None = None,
    ) -> None:
        self._backend = backend
        self._attrs = attrs
        self._resumes = 0
        self._failed_at: float | None = None
        self._key = key
        self._session = session
        self._client = client
        self._f = f
        self._size = size
        self._pos = 0
        self._next = 0
        self._delivered = False
        self._request = getattr(client, "max_read", _wire.SAFE_REQUEST)
        self._max_depth = max(2, READ_WINDOW // self._request)
        self._depth = 1
        self._pending: deque[tuple[int, int, int]] = deque()
        self._win = _wire.ReadWindow(client, f)
        self._buf = first or b""
        self._buf_start = 0
        self._next = len(self._buf)
        self._released = False

    def _reset(self, at: int) -> None:
        self._win.cancel()
        self._pending.clear()
        self._next = at
        self._depth = 1

    def _fill(self) -> None:
        # request sizes ramp up with the depth too: random access after a seek fetches little
        step = min(self._request, _wire.SAFE_REQUEST * max(1, self._depth // 2))
        while len(self._pending) < self._depth and self._next < self._size:
            n = min(step, self._size - self._next)
            self._pending.append((self._win.request(self._next, n), self._next, n))
            self._next += n

    def _fetch(self) -> bool:
        """Load the block at ``_pos`` into the buffer; False at end of file.

        A lost connection (while a reply is awaited or a request is sent) resumes on a new
        one (`_resume`) when the retry policy allows.
        """
        while True:
            try:
                return self._fetch_once()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    self._reset(self._pos)
                if not self._resume(exc):
                    raise

    def _fetch_once(self) -> bool:
        if self._pos >= self._size:
            return False
        if not self._pending or self._pending[0][1] != self._pos:
            self._reset(self._pos)
        self._fill()
        ticket, off, n = self._pending.popleft()
        try:
            data = self._win.result(ticket)
        except BaseException:
            self._reset(self._pos)
            raise
        if not data:  # the file shrank under us
            if self._delivered:
                raise ContentChanged("the file shrank while it was read", path=self._key)
            self._size = off
            self._reset(off)
            return False
        if len(data) < n:  # short read: restart the window after what we got
            self._reset(off + len(data))
        else:
            self._depth = min(self._depth * 2, self._max_depth)
        self._fill()
        self._buf, self._buf_start = data, off
        return True

    def _take(self, want: int) -> bytes:
        """Up to ``want`` bytes from ``_pos`` (at least one unless at end of file)."""
        rel = self._pos - self._buf_start
        if not (0 <= rel < len(self._buf)):
            try:
                if not self._fetch():
                    return b""
            except BaseException:
                self._on_error()
                raise
            rel = self._pos - self._buf_start
        buf = self._buf
        n = min(want, len(buf) - rel)
        out = buf if rel == 0 and n == len(buf) else buf[rel : rel + n]
        self._pos += n
        self._delivered = True
        return out

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(b).cast("B")
        got = 0
        while got < len(view) and self._pos < self._size:
            if got and not self._pending and not (0 <= self._pos - self._buf_start < len(self._buf)):
                break
            data = self._take(len(view) - got)
            if not data:
                break
            view[got : got + len(data)] = data
            got += len(data)
        return got

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        want = self._size - self._pos if size is None or size < 0 else min(size, self._size - self._pos)
        parts: list[bytes] = []
        got = 0
        while got < want:
            data = self._take(want - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readall(self) -> bytes:
        return self.read(-1)

    def _resume(self, exc: Exception) -> bool:
        """Reopen the same file version on a new connection after ``exc``; False when not allowed.

        Raises:
            ContentChanged: The key now holds another version.
        """
        policy = self._backend.retry_policy
        category = _retry.classify(exc)
        now = time.monotonic()
        if self._failed_at is None:
            self._failed_at = now
        if (
            self._attrs is None
            or category is None
            or category not in policy.retry_on
            or self._resumes >= policy.retries
            or now - self._failed_at > policy.budget
        ):
            return False
        self._resumes += 1
        pool = self._backend._pool
        pool.release(self._session, self._client, discard=True)
        self._released = True
        pool.drop(self._session)
        time.sleep(policy.delay(self._resumes))

        def attempt() -> tuple[_pool.Session, _wire.Client, paramiko.SFTPFile, paramiko.SFTPAttributes]:
            session, client = pool.checkout()
            try:
                f, fst, _ = open_version(client, session.base, self._key)
            except BaseException:
                pool.release(session, client, discard=True)
                if not session.transport.is_active():
                    pool.drop(session)
                raise
            return session, client, f, fst

        session, client, f, fst = policy.call(attempt, classify=_retry.classify, idempotent=True)
        if not _paths.same_file(self._attrs, fst):
            _wire.close_async(client, f)
            pool.release(session, client)
            raise ContentChanged("the file was replaced while the connection was re-established", path=self._key)
        self._session, self._client, self._f = session, client, f
        self._win = _wire.ReadWindow(client, f)
        self._released = False
        self._reset(self._pos)
        return True

    def _on_error(self) -> None:
        if not self._session.transport.is_active():
            self._backend._pool.drop(self._session)

    def close(self) -> None:
        if self.closed:
            return
        try:
            if not self._released:
                self._released = True
                self._reset(self._pos)
                broken = False
                try:
                    _wire.close_async(self._client, self._f)
                except Exception:
                    broken = True
                self._backend._pool.release(self._session, self._client, discard=broken)
        finally:
            super().close()
