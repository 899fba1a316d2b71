"""Mutations of the sql-blob store: each one is one database transaction.

A write stores the content under a new ``blob_id`` and points the file row at it in the
same transaction, deleting the replaced chunk set; readers keep seeing the old version
through their snapshot (see ``_reads``). No savepoints: a transaction that meets a row
created or removed concurrently (or a deadlock) is rolled back whole and run again while
the content stream has not been consumed past its read-ahead.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from remote_store import ContentDigest, WriteResult, WriteSource
from remote_store.errors import AlreadyExists, DirectoryNotEmpty, InvalidPath, NotFound, RemoteStoreError
from remote_store_sql._db import Db, NoStore, Retry, outcome_unknown, run_query
from remote_store_sql._keys import check_key, folder_upper, parents
from remote_store_sql._reads import dt, has_below, missing


def _read_full(stream: IO[bytes], size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads; fewer only at end of stream."""
    first = stream.read(size)
    if not first:
        return b""
    if isinstance(first, str):
        raise TypeError("write() needs a binary stream, got text")
    if len(first) >= size:
        return bytes(first)
    parts = [bytes(first)]
    got = len(first)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(bytes(more))
        got += len(more)
    return b"".join(parts)


class Chunks:
    """Reads a stream chunk by chunk; the first two chunks are read ahead (before any transaction).

    A failed transaction may run again while `replayable`: nothing was read past the
    read-ahead yet, or the stream can seek back to the end of the read-ahead (`rewind`).
    """

    def __init__(self, stream: IO[bytes], chunk_size: int) -> None:
        self._stream = stream
        self._cs = chunk_size
        first = _read_full(stream, chunk_size)
        self.head = [first] if first else []
        if len(first) == chunk_size:
            second = _read_full(stream, chunk_size)
            if second:
                self.head.append(second)
        self.consumed = False
        self._resume_at: int | None = None
        try:
            if stream.seekable():
                self._resume_at = stream.tell()
        except (AttributeError, OSError, ValueError):
            self._resume_at = None

    @property
    def single(self) -> bool:
        """Whether the whole content is already in `head` (at most one chunk)."""
        return len(self.head) <= 1

    @property
    def replayable(self) -> bool:
        """Whether the content can be produced again from the first chunk."""
        return not self.consumed or self._resume_at is not None

    def rewind(self) -> None:
        """Before a rerun: seek the stream back to the end of the read-ahead (no-op if unread)."""
        if not self.consumed:
            return
        if self._resume_at is None:
            raise ValueError("the content stream cannot be rewound")
        self._stream.seek(self._resume_at)
        self.consumed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.head
        if len(self.head) == 2 and len(self.head[1]) == self._cs:
            self.consumed = True
            while True:
                chunk = _read_full(self._stream, self._cs)
                if not chunk:
                    return
                yield chunk


def _bounds(key: str) -> dict[str, Any]:
    return {"parents": parents(key), "lo": key + "/", "hi": folder_upper(key)}


def check_placement(db: Db, conn: Connection, key: str) -> None:
    """Raise `InvalidPath` when a parent of ``key`` is a file or ``key`` is a folder.

    One indexed query: ``key IN (parents…) OR (key >= 'k/' AND key < 'k0')``.
    """
    row = conn.execute(db.q.placement, _bounds(key)).first()
    if row is None:
        return
    found = str(row[0])
    if found.startswith(key + "/"):
        raise InvalidPath("is a folder, not a file", path=key)
    raise InvalidPath(f"a parent of the path is a file: {found!r}", path=key)


def _insert_checked(db: Db, conn: Connection, key: str, values: dict[str, Any]) -> None:
    """Insert the file row only if no parent of ``key`` is a file and ``key`` is not a folder.

    One statement: ``INSERT … SELECT :values WHERE NOT EXISTS (SELECT 1 … WHERE key IN
    (parents) OR key >= 'k/' AND key < 'k0')``. A primary-key conflict raises
    ``IntegrityError``; a placement conflict inserts nothing and raises `InvalidPath`.
    """
    params = {**_bounds(key), "key": key, **values}
    returning = conn.dialect.insert_returning  # psycopg reports rowcount -1 for INSERT … SELECT
    stmt = db.q.insert_checked_returning if returning else db.q.insert_checked
    result = conn.execute(stmt, params)
    if (result.first() is None) if returning else (result.rowcount == 0):
        check_placement(db, conn, key)
        raise Retry("the placement conflict went away")  # pragma: no cover - raced away


def claim(db: Db, conn: Connection, key: str, values: dict[str, Any], overwrite: bool) -> str | None:
    """Create the file row (checking placement), or with ``overwrite`` lock and update an
    existing one; return the blob id it replaced.

    An existing file row needs no placement check: no file can sit below a file, nor a
    file above one.

    Raises:
        AlreadyExists: ``overwrite`` is False and the key exists (primary-key conflict).
        InvalidPath: A parent of ``key`` is a file, or ``key`` is a folder.
        Retry: With ``overwrite``, the row was created concurrently (run the transaction again).
    """
    q = db.q
    if overwrite:
        row = conn.execute(q.lock_blob_id, {"key": key}).first()
        if row is not None:
            conn.execute(q.update_file, {"b_key": key, **values})
            return str(row[0])
    try:
        _insert_checked(db, conn, key, values)
    except sa_exc.IntegrityError:
        if overwrite:
            raise Retry("the file was created concurrently") from None
        raise AlreadyExists("file exists", path=key) from None
    return None


def drop_blob(db: Db, conn: Connection, blob_id: str | None) -> None:
    """Delete the chunk rows of a replaced version (deferred while an in-memory reader uses them)."""
    db.drop_blob(conn, blob_id)


def _check_size(limit: int | None, key: str, size: int) -> None:
    if limit is not None and size > limit:
        raise RemoteStoreError(f"file is larger than max_file_size ({limit} bytes)", path=key)


def write(
    db: Db,
    key: str,
    stream: IO[bytes],
    *,
    overwrite: bool,
    metadata: Mapping[str, str],
    chunk_size: int,
    max_file_size: int | None,
) -> WriteResult:
    """Store ``stream`` at ``key`` in one transaction (see `SQLBlobBackend.write`)."""
    check_key(key)
    chunks = Chunks(stream, chunk_size)
    meta = json.dumps(dict(metadata), sort_keys=True, ensure_ascii=False) if metadata else None

    last: dict[str, Any] = {}

    def attempt() -> WriteResult:
        chunks.rewind()
        blob_id = last["blob_id"] = uuid.uuid4().hex
        now = time.time_ns() // 1000
        values = {"blob_id": blob_id, "chunk_size": chunk_size, "modified_us": now, "user_metadata": meta}
        with db.write() as conn:
            if chunks.single:
                data = chunks.head[0] if chunks.head else b""
                _check_size(max_file_size, key, len(data))
                etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
                size = len(data)
                old = claim(db, conn, key, {**values, "size": size, "etag": etag}, overwrite)
                if data:
                    conn.execute(db.q.insert_chunk, {"blob_id": blob_id, "seq": 0, "data": data})
            else:
                old = claim(db, conn, key, {**values, "size": 0, "etag": None}, overwrite)
                digest = hashlib.md5(usedforsecurity=False)
                size = 0
                for seq, data in enumerate(chunks):
                    size += len(data)
                    _check_size(max_file_size, key, size)
                    digest.update(data)
                    conn.execute(db.q.insert_chunk, {"blob_id": blob_id, "seq": seq, "data": data})
                etag = digest.hexdigest()
                now = time.time_ns() // 1000
                conn.execute(db.q.update_file, {"b_key": key, "size": size, "etag": etag, "modified_us": now})
            drop_blob(db, conn, old)
            result = last["result"] = WriteResult(
                path=key,
                size=size,
                source=WriteSource.NATIVE,
                digest=ContentDigest("md5", etag),
                etag=etag,
                last_modified=dt(now),
                metadata=dict(metadata),
            )
        return result

    def resolve() -> tuple[bool, WriteResult]:
        blob = _blob_of(db, key)
        if blob is not None and blob == last.get("blob_id") and "result" in last:
            return True, last["result"]
        if blob is not None and not overwrite:
            raise AlreadyExists("file exists (another writer created it while our COMMIT answer was lost)", path=key)
        return False, last.get("result")  # type: ignore[return-value]

    return db.retrying(attempt, lambda: chunks.replayable, resolve)


def _blob_of(db: Db, key: str) -> str | None:
    """The ``blob_id`` the file row of ``key`` points at, or None (a query, retried after a lost connection)."""
    files = db.t.files

    def run(conn: Connection) -> str | None:
        row = conn.execute(sa.select(files.c.blob_id).where(files.c.key == key)).first()
        return str(row[0]) if row is not None else None

    return run_query(db, run, lambda: None)


def delete(db: Db, key: str) -> None:
    """``DELETE`` the file row (``RETURNING blob_id`` or after ``SELECT … FOR UPDATE``) and its chunks."""
    files = db.t.files

    def run() -> None:
        with db.write(creating=False) as conn:
            if conn.dialect.delete_returning:
                row = conn.execute(files.delete().where(files.c.key == key).returning(files.c.blob_id)).first()
            else:
                row = conn.execute(sa.select(files.c.blob_id).where(files.c.key == key).with_for_update()).first()
                if row is not None:
                    conn.execute(files.delete().where(files.c.key == key))
            if row is None:
                missing(db, conn, key)
            drop_blob(db, conn, str(row[0]))

    _nothing_stored(db, run, key, "file not found", lambda: (_blob_of(db, key) is None, None))


def _nothing_stored(
    db: Db, run: Callable[[], None], key: str, what: str, resolve: Callable[[], tuple[bool, None]]
) -> None:
    """``db.retrying(run, resolve=resolve)``; a store with nothing written yet raises `NotFound` (creating nothing)."""
    try:
        db.retrying(run, resolve=resolve)
    except NoStore:
        raise NotFound(what, path=key) from None


def delete_folder(db: Db, key: str, *, recursive: bool) -> None:
    """``DELETE … WHERE key >= 'k/' AND key < 'k0'`` on both tables, in one transaction."""
    files, ch = db.t.files, db.t.chunks
    lo, hi = key + "/", folder_upper(key)

    def run() -> None:
        with db.write(creating=False) as conn:
            if not has_below(db, conn, key):
                if conn.execute(db.q.exists, {"key": key}).first() is not None:
                    raise InvalidPath("not a folder", path=key)
                raise NotFound("folder not found", path=key)
            if not recursive:
                raise DirectoryNotEmpty("folder is not empty", path=key)
            in_range = sa.and_(files.c.key >= lo, files.c.key < hi)
            if db.pinning:  # in-memory readers are open: chunk sets they use must outlive the rows
                for (blob_id,) in conn.execute(sa.select(files.c.blob_id).where(in_range)).all():
                    drop_blob(db, conn, str(blob_id))
            else:
                conn.execute(ch.delete().where(ch.c.blob_id.in_(sa.select(files.c.blob_id).where(in_range))))
            conn.execute(files.delete().where(in_range))

    def gone() -> tuple[bool, None]:
        return not run_query(db, lambda conn: has_below(db, conn, key), lambda: False), None

    _nothing_stored(db, run, key, "folder not found", gone)


def move(db: Db, src: str, dst: str, *, overwrite: bool) -> None:
    """``UPDATE files SET key = dst WHERE key = src`` after locking both rows, in one transaction.

    A destination created by another transaction after the check is an `AlreadyExists`
    (``overwrite=False``) or a rerun that replaces it (``overwrite=True``); a source moved
    or deleted meanwhile is a `NotFound`.
    """
    check_key(dst)
    files = db.t.files
    moving: dict[str, str] = {}

    def run() -> None:
        with db.write(creating=False) as conn:
            row = conn.execute(db.q.lock_blob_id, {"key": src}).first()
            if row is None:
                missing(db, conn, src, "source not found (moved or deleted)")
            moving["blob_id"] = str(row[0])
            check_placement(db, conn, dst)
            old = conn.execute(db.q.lock_blob_id, {"key": dst}).first()
            if old is not None:
                if not overwrite:
                    raise AlreadyExists("destination exists", path=dst)
                conn.execute(files.delete().where(files.c.key == dst))
                drop_blob(db, conn, str(old[0]))
            try:
                result = conn.execute(files.update().where(files.c.key == src).values(key=dst))
            except sa_exc.IntegrityError:
                if not overwrite:
                    raise AlreadyExists("destination was created concurrently", path=dst) from None
                raise Retry("the destination was created concurrently") from None
            if result.rowcount == 0:  # pragma: no cover - the row is locked
                raise NotFound("source not found (moved or deleted)", path=src)

    def resolve() -> tuple[bool, None]:
        ours = moving.get("blob_id")
        now_src, now_dst = _blob_of(db, src), _blob_of(db, dst)
        if ours is not None and now_src is None and now_dst == ours:
            return True, None
        if ours is not None and now_src == ours:
            return False, None  # not committed: the row is still at the source
        raise outcome_unknown(RuntimeError("the source and destination rows changed meanwhile"))

    _nothing_stored(db, run, src, "source not found", resolve)


def copy(db: Db, src: str, dst: str, *, overwrite: bool) -> None:
    """``INSERT INTO chunks … SELECT`` plus a new file row, in one transaction."""
    check_key(dst)
    files, ch = db.t.files, db.t.chunks
    copying: dict[str, str] = {}

    def run() -> None:
        with db.write(creating=False) as conn:
            row = conn.execute(
                sa.select(files.c.blob_id, files.c.size, files.c.chunk_size, files.c.etag, files.c.user_metadata)
                .where(files.c.key == src)
                .with_for_update()  # a concurrent overwrite of src must not drop the chunks being copied
            ).first()
            if row is None:
                missing(db, conn, src, "source not found")
            blob_id = copying["blob_id"] = uuid.uuid4().hex
            values = {
                "blob_id": blob_id,
                "size": row.size,
                "chunk_size": row.chunk_size,
                "modified_us": time.time_ns() // 1000,
                "etag": row.etag,
                "user_metadata": row.user_metadata,
            }
            old = claim(db, conn, dst, values, overwrite)
            conn.execute(
                ch.insert().from_select(
                    ["blob_id", "seq", "data"],
                    sa.select(sa.literal(blob_id, sa.String(32)), ch.c.seq, ch.c.data).where(
                        ch.c.blob_id == row.blob_id
                    ),
                )
            )
            drop_blob(db, conn, old)

    def resolve() -> tuple[bool, None]:
        blob = _blob_of(db, dst)
        if blob is not None and blob == copying.get("blob_id"):
            return True, None
        if blob is not None and not overwrite:
            raise AlreadyExists("destination exists (created while our COMMIT answer was lost)", path=dst)
        return False, None

    _nothing_stored(db, run, src, "source not found", resolve)
