"""Queries and reads of the sql-blob store: every reader sees one whole committed version.

* `read_bytes` is one statement (file row joined to its chunk rows): one snapshot on every
  engine, even under READ COMMITTED.
* `open_read` returns a file of one chunk whole from its first query. A larger file is read
  through a connection holding a snapshot transaction (`Db.snapshot`) until the stream is
  closed, so chunk rows replaced or deleted meanwhile are still seen in their old version;
  the stream holds one pooled connection while open. An in-memory SQLite database (one
  connection shared by every thread, private to this process) cannot hold a snapshot per
  reader; its open readers pin their chunk set instead (`Db.pin`): a write that replaces
  or deletes the file defers deleting the old chunk rows until the last reader closes.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import IO, Any, NoReturn

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from remote_store import ContentChanged, FileInfo, SeekableReader
from remote_store.errors import InvalidPath, NotFound, RemoteStoreError
from remote_store_sql import _errors, _retry
from remote_store_sql._db import Db, NoStore, run_query
from remote_store_sql._keys import folder_upper

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Upper bound of chunk bytes one ranged fetch returns.
FETCH_BYTES = 8 * 1024 * 1024
#: Attempts of `read_bytes` when a file appears between its two statements.
_READ_ATTEMPTS = 5


def dt(us: int) -> datetime:
    """Microseconds since the epoch → aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=int(us))


def info(row: Any) -> FileInfo:
    """A `FileInfo` from a row of `Statements.info_columns`."""
    key, size, modified_us, etag, meta = row
    return FileInfo(
        path=key,
        name=key.rpartition("/")[2],
        size=size,
        modified_at=dt(modified_us),
        etag=etag,
        metadata=json.loads(meta) if meta else {},
    )


def has_below(db: Db, conn: Connection, key: str) -> bool:
    """Whether a file lies below folder key ``key``."""
    return conn.execute(db.q.has_below, {"lo": key + "/", "hi": folder_upper(key)}).first() is not None


def missing(db: Db, conn: Connection, key: str, what: str = "file not found") -> NoReturn:
    """Raise `InvalidPath` when ``key`` is a folder, else `NotFound` (``what``)."""
    if key and has_below(db, conn, key):
        raise InvalidPath("is a folder, not a file", path=key)
    raise NotFound(what, path=key)


def _not_found(key: str) -> Callable[[], NoReturn]:
    def empty() -> NoReturn:
        raise NotFound("file not found", path=key)

    return empty


def exists(db: Db, key: str) -> bool:
    """``SELECT 1 … WHERE key = ?``."""
    return run_query(db, lambda conn: conn.execute(db.q.exists, {"key": key}).first() is not None, lambda: False)


def is_folder(db: Db, key: str) -> bool:
    """``SELECT 1 … WHERE key >= 'k/' AND key < 'k0' LIMIT 1`` (the root is always a folder)."""
    if not key:
        return True
    return run_query(db, lambda conn: has_below(db, conn, key), lambda: False)


def stat(db: Db, key: str) -> FileInfo:
    """``SELECT key, size, modified_us, etag, user_metadata … WHERE key = ?``."""

    def run(conn: Connection) -> FileInfo:
        row = conn.execute(db.q.stat, {"key": key}).first()
        if row is None:
            missing(db, conn, key)
        return info(row)

    return run_query(db, run, _not_found(key))


def read_bytes(db: Db, key: str) -> bytes:
    """The whole file from one statement (``files JOIN chunks ORDER BY seq``).

    When that statement returns no row (an empty file, or no file) a second one reads the
    file row; if a non-empty file appeared in between, the read starts over.
    """

    def run(conn: Connection) -> bytes | None:
        buf = bytearray()
        size = -1
        for row_size, data in conn.execute(db.q.read_all, {"key": key}):
            size = int(row_size)
            buf += data
        if size < 0:  # no chunk rows: an empty file, or no file at all
            row = conn.execute(db.q.stat, {"key": key}).first()
            if row is None:
                missing(db, conn, key)
            if int(row[1]) != 0:
                return None  # created or replaced between the two statements
            size = 0
        if len(buf) != size:  # pragma: no cover - one statement sees one snapshot
            raise RemoteStoreError("stored chunks do not add up to the file size", path=key)
        return bytes(buf)

    for _ in range(_READ_ATTEMPTS):
        data = run_query(db, run, _not_found(key))
        if data is not None:
            return data
    return _read_in_snapshot(db, key)


def _read_in_snapshot(db: Db, key: str) -> bytes:
    with _open_snapshot(db, key) as stream:
        return stream.read()


def _open_snapshot(db: Db, key: str) -> IO[bytes]:
    """`_open_in` on a new snapshot connection; nothing stored yet → `NotFound`.

    Retried on a new connection after a lost one (`Db.query`).
    """
    return db.query(lambda: _open_snapshot_once(db, key))


def _open_snapshot_once(db: Db, key: str) -> IO[bytes]:
    try:
        conn = db.snapshot()
    except NoStore:
        raise NotFound("file not found", path=key) from None
    try:
        return _open_in(db, conn, key)
    except sa_exc.DBAPIError as exc:
        conn.close()
        if db.create and _errors.is_missing_table(exc):
            raise NotFound("file not found", path=key) from None
        raise
    except BaseException:
        conn.close()
        raise


def open_read(db: Db, key: str) -> IO[bytes]:
    """A lazy seekable stream of one whole version of the file.

    Maps to: ``SELECT blob_id, size, chunk_size, data … LEFT JOIN chunks ON seq = 0``; for a
    file of several chunks, the same in a snapshot transaction, then ``SELECT seq, data …
    WHERE blob_id = ? AND seq BETWEEN ? AND ?`` per read (up to 8 MiB each) on that snapshot.
    """

    if db.cheap_snapshot:  # PostgreSQL / SQLite file: read inside the snapshot from the start
        return _open_snapshot(db, key)

    def first(conn: Connection) -> Any:
        row = conn.execute(db.q.open_read, {"key": key}).first()
        if row is None:
            missing(db, conn, key)
        return row

    def first_pinned(conn: Connection) -> Any:
        row = first(conn)
        if int(row[1]) > int(row[2]):
            db.pin(str(row[0]))  # still inside the read: no writer can drop it before this
        return row

    row = run_query(db, first_pinned if db.holder.is_memory else first, _not_found(key))
    if int(row[1]) <= int(row[2]) and row[3] is not None and len(row[3]) == int(row[1]):
        return io.BytesIO(bytes(row[3]))
    if int(row[1]) == 0:
        return io.BytesIO(b"")
    if db.holder.is_memory:
        return _pinned_reader(db, key, row)
    # MariaDB/MySQL: a file of several chunks is opened again, in a snapshot.
    return _open_snapshot(db, key)


def _pinned_reader(db: Db, key: str, row: Any) -> IO[bytes]:
    """In-memory SQLite: a lazy reader over a pinned chunk set (each fetch is its own read)."""
    blob_id = str(row[0])

    def fetch(first: int, last: int) -> list[tuple[int, bytes]]:
        params = {"blob_id": blob_id, "first": first, "last": last}
        with db.read() as conn:
            return [(int(seq), bytes(data)) for seq, data in conn.execute(db.q.chunk_range, params)]

    raw = _ChunkReader(fetch, lambda: db.unpin(blob_id), key, int(row[1]), int(row[2]), bytes(row[3]))
    return io.BufferedReader(raw, buffer_size=min(int(row[2]), 64 * 1024))  # type: ignore[return-value]


def _open_in(db: Db, conn: Connection, key: str) -> IO[bytes]:
    """Open ``key`` on snapshot connection ``conn``; the returned stream closes ``conn``."""
    row = conn.execute(db.q.open_read, {"key": key}).first()
    if row is None:
        missing(db, conn, key)
    blob_id, size, chunk_size, data = str(row[0]), int(row[1]), int(row[2]), row[3]
    if size <= chunk_size or data is None:
        conn.close()
        content = bytes(data) if data is not None else b""
        if len(content) != size:  # pragma: no cover - one snapshot
            raise RemoteStoreError("stored chunks do not add up to the file size", path=key)
        return io.BytesIO(content)
    stmt = db.q.chunk_range
    current = [conn]
    resumes = 0

    def fetch(first: int, last: int) -> list[tuple[int, bytes]]:
        nonlocal resumes
        params = {"blob_id": blob_id, "first": first, "last": last}
        while True:
            try:
                return [(int(seq), bytes(data)) for seq, data in current[0].execute(stmt, params)]
            except sa_exc.DBAPIError as exc:
                if _retry.classify(exc) is None or resumes >= db.policy.retries:
                    raise
                resumes += 1
                with contextlib.suppress(Exception):
                    current[0].close()
                current[0] = db.query(lambda: _resume(db, key, blob_id))

    raw = _ChunkReader(fetch, lambda: current[0].close(), key, size, chunk_size, bytes(data))
    return io.BufferedReader(raw, buffer_size=min(chunk_size, 64 * 1024))  # type: ignore[return-value]


def _resume(db: Db, key: str, blob_id: str) -> Connection:
    """A new snapshot connection in which ``key`` still points at ``blob_id`` (a stream lost its connection).

    Chunk rows of one ``blob_id`` never change, so the stream continues at its offset.

    Raises:
        ContentChanged: The file was replaced or deleted meanwhile (its old chunks are gone).
    """
    conn = db.snapshot()
    try:
        files = db.t.files
        row = conn.execute(sa.select(files.c.blob_id).where(files.c.key == key)).first()
    except BaseException:
        conn.close()
        raise
    if row is None or str(row[0]) != blob_id:
        conn.close()
        raise ContentChanged("the file was replaced while the connection was re-established", path=key)
    return conn


class _ChunkReader(SeekableReader):
    """Lazy, seekable reader over one version's chunk rows.

    Fetches only the chunks a read touches (``fetch(first_seq, last_seq)``); closing the
    reader calls ``release`` once (ends the snapshot / releases the pin).
    """

    def __init__(
        self,
        fetch: Callable[[int, int], list[tuple[int, bytes]]],
        release: Callable[[], None],
        key: str,
        size: int,
        chunk_size: int,
        first: bytes,
    ) -> None:
        self._fetch = fetch
        self._release: Callable[[], None] | None = release
        self._key = key
        self._size = size
        self._cs = chunk_size
        self._pos = 0
        self._cache_seq = 0
        self._cache = first
        self._batch = max(1, FETCH_BYTES // chunk_size)

    def _expected_len(self, seq: int) -> int:
        return min(self._cs, self._size - seq * self._cs)

    def _broken(self) -> NoReturn:  # pragma: no cover - a snapshot never changes
        raise RemoteStoreError("stored chunks do not add up to the file size", path=self._key)

    def _copy(self, mv: memoryview, done: int, want: int) -> int:
        off = self._pos - self._cache_seq * self._cs
        n = min(len(self._cache) - off, want - done)
        if n <= 0:
            return 0
        mv[done : done + n] = self._cache[off : off + n]
        self._pos += n
        return n

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        mv = memoryview(b).cast("B")
        want = min(len(mv), self._size - self._pos)
        if want <= 0:
            return 0
        done = 0
        while done < want:
            seq = self._pos // self._cs
            if seq == self._cache_seq:
                done += self._copy(mv, done, want)
                continue
            if done and want <= self._cs:
                break  # a short read beats fetching the next chunk for a small (read-ahead) request
            # A small request (BufferedReader read-ahead) fetches one chunk; a large one up to 8 MiB.
            last = seq if want <= self._cs else min((self._pos + want - done - 1) // self._cs, seq + self._batch - 1)
            expected = seq
            for got_seq, data in self._fetch(seq, last):
                if got_seq != expected or len(data) != self._expected_len(got_seq):
                    self._broken()
                self._cache_seq, self._cache = got_seq, data
                done += self._copy(mv, done, want)
                expected += 1
            if expected <= last:
                self._broken()
        return done

    def close(self) -> None:
        release, self._release = self._release, None
        self._cache = b""
        try:
            if release is not None:
                release()
        finally:
            super().close()
