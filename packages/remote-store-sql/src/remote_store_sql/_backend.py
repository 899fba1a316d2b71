"""`SQLBlobBackend`: files stored in SQL tables (SQLite, PostgreSQL, MariaDB/MySQL)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import IO, Any, NoReturn

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from remote_store import SeekableReader
from remote_store._backend import Backend, compile_glob
from remote_store._capabilities import CapabilitySet
from remote_store._models import ContentDigest, FileInfo, FolderInfo, WriteResult, WriteSource
from remote_store._secret import Secret, url_has_password
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store_sql import _errors
from remote_store_sql._engine import EngineHolder, parse_url
from remote_store_sql._schema import MAX_KEY_BYTES, Tables, make_tables

log = logging.getLogger("remote_store.sql-blob")

#: Default bytes per chunk row.
DEFAULT_CHUNK_SIZE = 1024 * 1024
#: Default table-name prefix.
DEFAULT_TABLE_PREFIX = "remote_store_"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PREFIX_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")
#: Rows per listing page: the first page is small (fast first result), later pages grow.
_FIRST_PAGE = 1000
_MAX_PAGE = 10000
#: Upper bound of chunk bytes one ranged fetch returns.
_FETCH_BYTES = 8 * 1024 * 1024
_RETRIES = 5


def _dt(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=int(us))


def _folder_upper(key: str) -> str:
    """Smallest string above every ``key + '/' + …`` (``'/'`` + 1 is ``'0'``)."""
    return key + "0"


def _next_string(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix`` (None if unbounded)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF and not (0xD7FF <= last < 0xDFFF):
            return prefix[:-1] + chr(last + 1)
        prefix = prefix[:-1]
    return None


def _glob_literal(pattern: str) -> str:
    """The literal text a glob pattern starts with (``[c]`` one-character classes count as literal)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch in "*?":
            break
        if ch == "[":
            if i + 2 < n and pattern[i + 2] == "]" and pattern[i + 1] not in "!^]":
                out.append(pattern[i + 1])
                i += 3
                continue
            break
        out.append(ch)
        i += 1
    return "".join(out)


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


class _Chunks:
    """Reads a stream chunk by chunk; the first two chunks are read ahead (before any transaction).

    A transaction that fails with a deadlock may be retried while `consumed` is False.
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

    @property
    def single(self) -> bool:
        """Whether the whole content is already in `head` (at most one chunk)."""
        return len(self.head) <= 1

    def __iter__(self) -> Iterator[bytes]:
        yield from self.head
        if len(self.head) == 2 and len(self.head[1]) == self._cs:
            self.consumed = True
            while True:
                chunk = _read_full(self._stream, self._cs)
                if not chunk:
                    return
                yield chunk


class _ChunkReader(SeekableReader):
    """Lazy, seekable reader over a file's chunk rows; fetches only the chunks a read touches."""

    def __init__(
        self,
        fetch: Callable[[int, int], list[tuple[int, bytes]]],
        key: str,
        size: int,
        chunk_size: int,
        first: bytes | None,
    ) -> None:
        self._fetch = fetch
        self._key = key
        self._size = size
        self._cs = chunk_size
        self._pos = 0
        self._cache_seq = 0 if first is not None else -1
        self._cache = first or b""
        self._batch = max(1, _FETCH_BYTES // chunk_size)

    def _expected_len(self, seq: int) -> int:
        return min(self._cs, self._size - seq * self._cs)

    def _changed(self) -> NoReturn:
        raise NotFound("file was replaced or deleted while it was being read", path=self._key)

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
                    self._changed()
                self._cache_seq, self._cache = got_seq, data
                done += self._copy(mv, done, want)
                expected += 1
            if expected <= last:
                self._changed()
        return done

    def close(self) -> None:
        self._cache = b""
        super().close()


class SQLBlobBackend(Backend):
    """Files in two SQL tables: one row per file, content split over chunk rows.

    Works on SQLite (file or in-memory), PostgreSQL and MariaDB/MySQL through SQLAlchemy 2
    Core, with bound parameters only. Files far larger than memory stream in and out:
    a write inserts one chunk row at a time, a read fetches the chunk rows it touches.

    Every mutation is one database transaction: `write` / `write_atomic` (claim the file
    row, insert the chunks, publish size and etag, drop the old chunks), `move` (one
    ``UPDATE`` of the key: ATOMIC_MOVE), `copy` (``INSERT … SELECT`` of the chunk rows on
    the server), `delete` and `delete_folder`. A failure midway rolls back and leaves the
    previous version intact. ``overwrite=False`` is enforced by the primary key: the
    ``INSERT`` of the file row fails with an ``IntegrityError`` (→ `AlreadyExists`), so two
    racing writers cannot both create the file. Folders are implicit: a folder exists
    while a key lies below it; writing ``a/b`` when ``a`` is a file, or ``a`` when ``a/…``
    exists, raises `InvalidPath` (checked inside the write transaction; on SQLite writers are
    serialised so the check is exact, on PostgreSQL/MariaDB two concurrent writers of ``a``
    and ``a/b`` can both pass it under READ COMMITTED).

    Listing and glob are keyset-paginated range scans on the primary key
    (``key >= 'a/' AND key < 'a0'`` with the key compared byte-wise), so no connection or
    cursor is held between pages and sub-folders are skipped with one index seek each.

    Pickling sends the options (URL with its password as `Secret`), never an engine or
    connections; a backend built from an ``engine`` object cannot be pickled. An in-memory
    SQLite database (``sqlite://``) is private to its process.

    Args:
        url: SQLAlchemy URL (``"sqlite:///path/store.db"``, ``"sqlite://"`` for in-memory,
            ``"postgresql+psycopg://user:pw@host/db"``, ``"mysql+pymysql://user@host/db"``),
            as str, `Secret` or `sqlalchemy.URL`. A password in it is kept as `Secret`.
            A relative SQLite path is made absolute.
        engine: A ready `sqlalchemy.Engine` instead of ``url`` (not disposed by `close`;
            the backend is then not picklable). SQLite engines get the transaction
            handling described in ``remote_store_sql._engine`` attached.
        table_prefix: Prefix of the two table names (``<prefix>files``, ``<prefix>chunks``):
            letters, digits and ``_``, at most 41 characters.
        schema: Database schema holding the tables (PostgreSQL schema, MySQL database,
            SQLite attached database), or None for the default.
        create_tables: Create missing tables on first use (``CREATE TABLE IF NOT EXISTS``).
        chunk_size: Bytes per chunk row (≥ 1; default 1 MiB). Keep it below MariaDB's
            ``max_allowed_packet``. Files written earlier keep their own chunk size.
        max_file_size: Largest file in bytes a write accepts, or None for no limit.
        busy_timeout: SQLite only: seconds a writer waits for the database lock before
            failing with `BackendUnavailable`.
        engine_options: Extra keyword arguments for `sqlalchemy.create_engine`
            (``pool_size``, ``pool_pre_ping``, ``connect_args`` …).

    Raises:
        ConfigError: Neither or both of ``url``/``engine``, a bad URL, a missing driver,
            or an invalid ``table_prefix`` / ``chunk_size`` / ``max_file_size``.
    """

    TYPE = "sql-blob"
    CAPABILITIES = CapabilitySet.all()

    def __init__(
        self,
        url: str | Secret | sa.URL | None = None,
        *,
        engine: Engine | None = None,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        schema: str | None = None,
        create_tables: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_file_size: int | None = None,
        busy_timeout: float = 30.0,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(table_prefix, str) or not _PREFIX_RE.match(table_prefix):
            raise ConfigError(
                f"'table_prefix' must be letters, digits and '_' (at most 41, not starting with a digit): "
                f"{table_prefix!r}"
            )
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ConfigError(f"'chunk_size' must be a positive number of bytes, got {chunk_size!r}")
        if max_file_size is not None and (
            isinstance(max_file_size, bool) or not isinstance(max_file_size, int) or max_file_size < 0
        ):
            raise ConfigError(f"'max_file_size' must be a number of bytes >= 0 or None, got {max_file_size!r}")
        self._url_option: str | Secret | None = None
        if url is not None:
            parsed = _absolute_sqlite(parse_url(url))
            text = parsed.render_as_string(hide_password=False)
            self._url_option = Secret(text) if (parsed.password or url_has_password(text)) else text
            url = parsed
        self._holder = EngineHolder(url, engine, engine_options, busy_timeout=busy_timeout)
        self._engine_options = dict(engine_options or {})
        self._table_prefix = table_prefix
        self._schema = schema
        self._create_tables = bool(create_tables)
        self._chunk_size = chunk_size
        self._max_file_size = max_file_size
        self._busy_timeout = float(busy_timeout)
        self._t: Tables = make_tables(table_prefix, schema)
        self._q = _Statements(self._t)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._safe_url = self._holder.url.render_as_string(hide_password=True)

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this backend (``url`` as `Secret` when it has a password)."""
        opts: dict[str, Any] = {}
        if self._url_option is not None:
            opts["url"] = self._url_option
        else:
            opts["engine"] = self._holder.engine()
        opts.update(
            table_prefix=self._table_prefix,
            schema=self._schema,
            create_tables=self._create_tables,
            chunk_size=self._chunk_size,
            max_file_size=self._max_file_size,
            busy_timeout=self._busy_timeout,
        )
        if self._engine_options:
            opts["engine_options"] = dict(self._engine_options)
        return opts

    def __reduce__(self) -> tuple[Any, ...]:
        if self._url_option is None:
            raise TypeError("an SQLBlobBackend built from an engine object cannot be pickled; build it from url=")
        return super().__reduce__()

    @property
    def tables(self) -> Tables:
        """The SQLAlchemy `Table` objects of this store (for inspection and raw queries)."""
        return self._t

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (created by the backend unless one was passed in)."""
        return self._holder.engine()

    def native_path(self, key: str) -> str:
        """``<url without password>#<files table>/<key>``."""
        return f"{self._safe_url}#{self._t.files.name}/{key}"

    def to_key(self, native: str) -> str:
        prefix = f"{self._safe_url}#{self._t.files.name}/"
        if native.startswith(prefix):
            return native[len(prefix) :]
        if native == prefix[:-1]:
            return ""
        if "://" in native:
            raise InvalidPath("not a path of this sql-blob store", path=native)
        return native

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        return _errors.translate(exc, key)

    # ------------------------------------------------------------------ plumbing
    def _ensure_tables(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            if self._create_tables:
                for attempt in range(_RETRIES):
                    try:
                        with self._holder.begin(write=True) as conn:
                            self._t.metadata.create_all(conn, checkfirst=True)
                        break
                    except (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.OperationalError) as exc:
                        # Another process created the tables between the check and CREATE.
                        if attempt == _RETRIES - 1 or _errors.is_missing_table(exc):
                            raise
                        time.sleep(0.05 * (attempt + 1))
            self._ready = True

    def create_tables(self) -> None:
        """Create the store's tables if they do not exist (``CREATE TABLE``; idempotent).

        Raises:
            BackendUnavailable: The database cannot be reached.
            PermissionDenied: The user may not create tables.
        """
        with self._holder.begin(write=True) as conn:
            self._t.metadata.create_all(conn, checkfirst=True)
        self._ready = True

    def drop_tables(self) -> None:
        """Drop the store's two tables and everything in them (``DROP TABLE``; missing tables are fine).

        Raises:
            BackendUnavailable: The database cannot be reached.
            PermissionDenied: The user may not drop tables.
        """
        with self._holder.begin(write=True) as conn:
            self._t.metadata.drop_all(conn, checkfirst=True)
        self._ready = False

    def _read_tx(self) -> Any:
        """A connection for reads: its statements share one (autobegun) transaction, rolled back on close."""
        self._ensure_tables()
        return self._holder.connect()

    def _write_tx(self) -> Any:
        self._ensure_tables()
        return self._holder.begin(write=True)

    def _retrying(self, fn: Callable[[], Any], can_retry: Callable[[], bool] = lambda: True) -> Any:
        for attempt in range(_RETRIES):
            try:
                return fn()
            except sa_exc.DBAPIError as exc:
                if attempt == _RETRIES - 1 or not _errors.is_retryable(exc) or not can_retry():
                    raise
                log.debug("retrying a transaction after %s", _errors.describe(exc))
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_key(self, key: str) -> None:
        try:
            n = len(key.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidPath("key is not encodable as UTF-8", path=key) from None
        if n > MAX_KEY_BYTES:
            raise InvalidPath(f"key is longer than {MAX_KEY_BYTES} bytes", path=key)

    def _has_below(self, conn: Connection, key: str) -> bool:
        return conn.execute(self._q.has_below, {"lo": key + "/", "hi": _folder_upper(key)}).first() is not None

    def _is_file(self, conn: Connection, key: str) -> bool:
        return conn.execute(self._q.exists, {"key": key}).first() is not None

    def _missing(self, conn: Connection, key: str, what: str = "file not found") -> NoReturn:
        if key and self._has_below(conn, key):
            raise InvalidPath("is a folder, not a file", path=key)
        raise NotFound(what, path=key)

    def _check_placement(self, conn: Connection, key: str) -> None:
        """Raise `InvalidPath` when a parent of ``key`` is a file or ``key`` is a folder.

        One indexed query: ``key IN (parents…) OR (key >= 'k/' AND key < 'k0')``.
        """
        parts = key.split("/")
        params = {f"p{i - 1}": "/".join(parts[:i]) for i in range(1, len(parts))}
        params["lo"], params["hi"] = key + "/", _folder_upper(key)
        row = conn.execute(self._q.placement(len(parts) - 1), params).first()
        if row is None:
            return
        found = str(row[0])
        if found.startswith(key + "/"):
            raise InvalidPath("is a folder, not a file", path=key)
        raise InvalidPath(f"a parent of the path is a file: {found!r}", path=key)

    def _insert_checked(self, conn: Connection, key: str, values: dict[str, Any]) -> None:
        """Insert the file row only if no parent of ``key`` is a file and ``key`` is not a folder.

        One statement: ``INSERT … SELECT :values WHERE NOT EXISTS (SELECT 1 … WHERE key IN
        (parents) OR key >= 'k/' AND key < 'k0')``. A primary-key conflict raises
        ``IntegrityError``; a placement conflict inserts nothing and raises `InvalidPath`.
        """
        parts = key.split("/")
        params = {f"p{i - 1}": "/".join(parts[:i]) for i in range(1, len(parts))}
        params["lo"], params["hi"] = key + "/", _folder_upper(key)
        params["key"] = key
        params.update(values)
        returning = conn.dialect.insert_returning  # psycopg reports rowcount -1 for INSERT … SELECT
        result = conn.execute(self._q.insert_checked(len(parts) - 1, returning), params)
        if (result.first() is None) if returning else (result.rowcount == 0):
            self._check_placement(conn, key)
            raise InvalidPath("conflicts with a file or folder", path=key)  # pragma: no cover - raced away

    def _claim(self, conn: Connection, key: str, values: dict[str, Any], overwrite: bool) -> str | None:
        """Create the file row (checking placement), or with ``overwrite`` lock and update an
        existing one; return the blob id it replaced.

        An existing file row needs no placement check: no file can sit below a file, nor a
        file above one.

        Raises:
            AlreadyExists: ``overwrite`` is False and the key exists (primary-key conflict).
            InvalidPath: A parent of ``key`` is a file, or ``key`` is a folder.
        """
        q = self._q
        if not overwrite:
            try:
                self._insert_checked(conn, key, values)
            except sa_exc.IntegrityError:
                raise AlreadyExists("file exists", path=key) from None
            return None
        for _ in range(_RETRIES):
            row = conn.execute(q.lock_blob_id, {"key": key}).first()
            if row is not None:
                conn.execute(q.update_file, {"b_key": key, **values})
                return str(row[0])
            if conn.dialect.name == "sqlite":  # writers are serialised: no one can insert in between
                self._insert_checked(conn, key, values)
                return None
            try:
                with conn.begin_nested():
                    self._insert_checked(conn, key, values)
                return None
            except sa_exc.IntegrityError:
                continue  # created concurrently: lock and update it
        raise BackendUnavailable("could not write the file row under contention", path=key)

    def _drop_blob(self, conn: Connection, blob_id: str | None) -> None:
        if blob_id is not None:
            conn.execute(self._q.delete_chunks, {"blob_id": blob_id})

    def _info(self, row: Any) -> FileInfo:
        key, size, modified_us, etag, meta = row  # the `_info_columns` order
        return FileInfo(
            path=key,
            name=key.rpartition("/")[2],
            size=size,
            modified_at=_EPOCH + timedelta(microseconds=modified_us),
            etag=etag,
            metadata=json.loads(meta) if meta else {},
        )

    def _info_columns(self) -> list[Any]:
        c = self._t.files.c
        return [c.key, c.size, c.modified_us, c.etag, c.user_metadata]

    # ------------------------------------------------------------------ queries
    def ping(self) -> None:
        """Run ``SELECT 1`` on a pooled connection.

        Raises:
            BackendUnavailable: The database cannot be reached or refuses the credentials.
        """
        with self._holder.connect() as conn:
            conn.execute(sa.select(sa.literal(1))).scalar_one()

    def close(self) -> None:
        """Dispose the connection pool of an engine the backend created (a later call reconnects)."""
        self._holder.dispose()

    def exists(self, key: str) -> bool:
        with self._read_tx() as conn:
            return self._is_file(conn, key)

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        with self._read_tx() as conn:
            return self._has_below(conn, key)

    def stat(self, key: str) -> FileInfo:
        with self._read_tx() as conn:
            row = conn.execute(self._q.stat, {"key": key}).first()
            if row is None:
                self._missing(conn, key)
            return self._info(row)

    # ------------------------------------------------------------------ reads
    def _fetch_chunks(self, blob_id: str, first: int, last: int) -> list[tuple[int, bytes]]:
        params = {"blob_id": blob_id, "first": first, "last": last}
        with self._read_tx() as conn:
            return [(int(seq), bytes(data)) for seq, data in conn.execute(self._q.chunk_range, params)]

    def open_read(self, key: str) -> IO[bytes]:
        """Open a lazy, seekable stream (one query for the file row and its first chunk).

        A file of one chunk is returned whole from that query; a larger file fetches the
        chunk rows a read touches (``SELECT seq, data … WHERE blob_id = ? AND seq BETWEEN``),
        up to 8 MiB per query. If the file is replaced or deleted while a large file is
        read, the next fetch raises `NotFound`.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        with self._read_tx() as conn:
            row = conn.execute(self._q.open_read, {"key": key}).first()
            if row is None:
                self._missing(conn, key)
        blob_id, size, chunk_size, data = str(row[0]), int(row[1]), int(row[2]), row[3]
        first = bytes(data) if data is not None else b""
        if size <= chunk_size:
            if len(first) != size:
                raise NotFound("file was replaced or deleted while it was being read", path=key)
            return io.BytesIO(first)
        raw = _ChunkReader(
            lambda a, b: self._fetch_chunks(blob_id, a, b), key, size, chunk_size, first if data is not None else None
        )
        return io.BufferedReader(raw, buffer_size=min(chunk_size, 64 * 1024))  # type: ignore[return-value]

    def read_bytes(self, key: str) -> bytes:
        """Return the whole file: one query joining the file row to all its chunk rows (one transaction)."""
        buf = bytearray()
        size = -1
        with self._read_tx() as conn:
            for row_size, data in conn.execute(self._q.read_all, {"key": key}):
                size = int(row_size)
                buf += data
            if size < 0:  # no chunk rows: an empty file, or no file at all
                row = conn.execute(self._q.stat, {"key": key}).first()
                if row is None:
                    self._missing(conn, key)
                size = int(row[1])
        if len(buf) != size:  # pragma: no cover - a consistent snapshot always matches
            raise RemoteStoreError("stored chunks do not add up to the file size", path=key)
        return bytes(buf)

    # ------------------------------------------------------------------ writes
    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Store ``stream`` at ``key`` in one transaction, one chunk row at a time.

        Maps to: ``INSERT`` of the file row (or ``SELECT … FOR UPDATE`` + ``UPDATE`` when
        ``overwrite``), one ``INSERT`` per chunk, ``UPDATE`` of size/etag, ``DELETE`` of the
        replaced chunks. A file of one chunk takes one ``INSERT`` per table.

        Raises:
            AlreadyExists: ``overwrite`` is False and a file exists (primary-key conflict).
            InvalidPath: ``key`` is a folder, a parent is a file, or the key exceeds 1024 bytes.
            RemoteStoreError: The content exceeds ``max_file_size``.
            BackendUnavailable: The database is unreachable or the lock wait timed out.
        """
        self._check_key(key)
        chunks = _Chunks(stream, self._chunk_size)
        meta = json.dumps(dict(metadata), sort_keys=True, ensure_ascii=False) if metadata else None

        def attempt() -> WriteResult:
            return self._write_once(key, chunks, overwrite, meta, metadata)

        result: WriteResult = self._retrying(attempt, lambda: not chunks.consumed)
        return result

    def _write_once(
        self, key: str, chunks: _Chunks, overwrite: bool, meta: str | None, metadata: Mapping[str, str]
    ) -> WriteResult:
        cs = self._chunk_size
        blob_id = uuid.uuid4().hex
        now = time.time_ns() // 1000
        with self._write_tx() as conn:
            if chunks.single:
                data = chunks.head[0] if chunks.head else b""
                self._check_size(key, len(data))
                etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
                size = len(data)
                values = {
                    "blob_id": blob_id,
                    "size": size,
                    "chunk_size": cs,
                    "modified_us": now,
                    "etag": etag,
                    "user_metadata": meta,
                }
                old = self._claim(conn, key, values, overwrite)
                if data:
                    conn.execute(self._q.insert_chunk, {"blob_id": blob_id, "seq": 0, "data": data})
            else:
                values = {
                    "blob_id": blob_id,
                    "size": 0,
                    "chunk_size": cs,
                    "modified_us": now,
                    "etag": None,
                    "user_metadata": meta,
                }
                old = self._claim(conn, key, values, overwrite)
                digest = hashlib.md5(usedforsecurity=False)
                size = 0
                for seq, data in enumerate(chunks):
                    size += len(data)
                    self._check_size(key, size)
                    digest.update(data)
                    conn.execute(self._q.insert_chunk, {"blob_id": blob_id, "seq": seq, "data": data})
                etag = digest.hexdigest()
                now = time.time_ns() // 1000
                conn.execute(self._q.finish_file, {"b_key": key, "size": size, "etag": etag, "modified_us": now})
            self._drop_blob(conn, old)
        return WriteResult(
            path=key,
            size=size,
            source=WriteSource.NATIVE,
            digest=ContentDigest("md5", etag),
            etag=etag,
            last_modified=_dt(now),
            metadata=dict(metadata),
        )

    def _check_size(self, key: str, size: int) -> None:
        if self._max_file_size is not None and size > self._max_file_size:
            raise RemoteStoreError(f"file is larger than max_file_size ({self._max_file_size} bytes)", path=key)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Same as `write`: every write is one transaction, so no reader ever sees a partial file."""
        return self.write(key, stream, overwrite=overwrite, metadata=metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete the file row and its chunk rows in one transaction.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        files = self._t.files

        def run() -> None:
            with self._write_tx() as conn:
                if conn.dialect.delete_returning:
                    row = conn.execute(files.delete().where(files.c.key == key).returning(files.c.blob_id)).first()
                else:
                    row = conn.execute(sa.select(files.c.blob_id).where(files.c.key == key).with_for_update()).first()
                    if row is not None:
                        conn.execute(files.delete().where(files.c.key == key))
                if row is None:
                    self._missing(conn, key)
                self._drop_blob(conn, str(row[0]))

        self._retrying(run)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every file below ``key`` in one transaction (``DELETE … WHERE key >= ? AND key < ?``).

        Raises:
            NotFound: No file lies below ``key``.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False (an existing folder always holds files).
        """
        files, ch = self._t.files, self._t.chunks
        lo, hi = key + "/", _folder_upper(key)

        def run() -> None:
            with self._write_tx() as conn:
                if not self._has_below(conn, key):
                    if conn.execute(sa.select(sa.literal(1)).where(files.c.key == key)).first() is not None:
                        raise InvalidPath("not a folder", path=key)
                    raise NotFound("folder not found", path=key)
                if not recursive:
                    raise DirectoryNotEmpty("folder is not empty", path=key)
                in_range = sa.and_(files.c.key >= lo, files.c.key < hi)
                conn.execute(ch.delete().where(ch.c.blob_id.in_(sa.select(files.c.blob_id).where(in_range))))
                conn.execute(files.delete().where(in_range))

        self._retrying(run)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Rename in one transaction: ``UPDATE … SET key = dst`` (content rows are not touched).

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder; ``dst`` is a folder or below a file.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        self._check_key(dst)
        files = self._t.files

        def run() -> None:
            with self._write_tx() as conn:
                row = conn.execute(sa.select(files.c.blob_id).where(files.c.key == src).with_for_update()).first()
                if row is None:
                    self._missing(conn, src, "source not found")
                self._check_placement(conn, dst)
                old = conn.execute(sa.select(files.c.blob_id).where(files.c.key == dst).with_for_update()).first()
                if old is not None:
                    if not overwrite:
                        raise AlreadyExists("destination exists", path=dst)
                    conn.execute(files.delete().where(files.c.key == dst))
                    self._drop_blob(conn, str(old[0]))
                try:
                    conn.execute(files.update().where(files.c.key == src).values(key=dst))
                except sa_exc.IntegrityError:
                    raise AlreadyExists("destination exists", path=dst) from None

        self._retrying(run)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Copy on the server in one transaction: ``INSERT INTO chunks … SELECT`` plus a new file row.

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder; ``dst`` is a folder or below a file.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        self._check_key(dst)
        files, ch = self._t.files, self._t.chunks

        def run() -> None:
            with self._write_tx() as conn:
                row = conn.execute(
                    sa.select(
                        files.c.blob_id, files.c.size, files.c.chunk_size, files.c.etag, files.c.user_metadata
                    ).where(files.c.key == src)
                ).first()
                if row is None:
                    self._missing(conn, src, "source not found")
                blob_id = uuid.uuid4().hex
                values = {
                    "blob_id": blob_id,
                    "size": row.size,
                    "chunk_size": row.chunk_size,
                    "modified_us": time.time_ns() // 1000,
                    "etag": row.etag,
                    "user_metadata": row.user_metadata,
                }
                old = self._claim(conn, dst, values, overwrite)
                conn.execute(
                    ch.insert().from_select(
                        ["blob_id", "seq", "data"],
                        sa.select(sa.literal(blob_id, sa.String(32)), ch.c.seq, ch.c.data).where(
                            ch.c.blob_id == row.blob_id
                        ),
                    )
                )
                self._drop_blob(conn, old)

        self._retrying(run)

    # ------------------------------------------------------------------ listing
    def _scan(
        self, base: str, lo: str, hi: str | None, depth: int | None, columns: list[Any]
    ) -> Iterator[tuple[str | None, Any]]:
        """Keyset-paginated range scan over ``[lo, hi)`` in key order.

        Yields ``(None, row)`` for rows within ``depth`` segments below ``base`` (``base``
        ends with ``/`` or is ``""``), and ``(folder, None)`` once per sub-folder at that depth,
        whose rows are then skipped with one index seek.
        """
        k = self._t.files.c.key
        inclusive = True
        page = _FIRST_PAGE
        cut = len(base)
        while True:
            stmt = sa.select(*columns).where(k >= lo if inclusive else k > lo)
            if hi is not None:
                stmt = stmt.where(k < hi)
            stmt = stmt.order_by(k).limit(page)
            with self._read_tx() as conn:
                rows = conn.execute(stmt).all()
            jumped = False
            for row in rows:
                key = row[0]  # the key is the first column of every scan
                if depth is not None:
                    parts = key[cut:].split("/", depth)
                    if len(parts) > depth:
                        folder = base + "/".join(parts[:depth])
                        yield folder, None
                        lo, inclusive, jumped = _folder_upper(folder), True, True
                        break
                yield None, row
                lo, inclusive = key, False
            if not jumped and len(rows) < page:
                return
            page = min(page * 2, _MAX_PAGE)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Yield files below ``prefix`` in key order, one indexed range query per page.

        Without ``recursive`` (or with ``max_depth``) sub-folders deeper than the limit are
        skipped with one index seek each instead of being read.
        """
        base = prefix + "/" if prefix else ""
        hi = _folder_upper(prefix) if prefix else None
        depth = None if recursive and max_depth is None else (1 if not recursive else max_depth)
        for _, row in self._scan(base, base, hi, depth, self._info_columns()):
            if row is not None:
                yield self._info(row)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Yield direct sub-folders of ``prefix`` (derived from keys; one index seek per folder)."""
        base = prefix + "/" if prefix else ""
        hi = _folder_upper(prefix) if prefix else None
        for folder, _ in self._scan(base, base, hi, 1, [self._t.files.c.key]):
            if folder is not None:
                yield folder

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Match ``pattern`` against keys, scanning only the range of its literal leading text.

        Without ``**`` keys deeper than the pattern are skipped by folder.
        """
        regex = compile_glob(pattern)
        norm = "/".join(s for s in pattern.strip("/").split("/") if s not in ("", "."))
        literal = _glob_literal(norm)
        depth = None if "**" in norm else norm.count("/") + 1
        hi = _next_string(literal) if literal else None
        for _, row in self._scan("", literal, hi, depth, self._info_columns()):
            if row is not None and regex.fullmatch(row.key):
                yield self._info(row)

    def folder_info(self, key: str) -> FolderInfo:
        """``SELECT count(*), sum(size), max(modified_us)`` over the folder's key range.

        Raises:
            NotFound: ``key`` is not a folder (and not the root).
        """
        f = self._t.files
        stmt = sa.select(sa.func.count(), sa.func.sum(f.c.size), sa.func.max(f.c.modified_us))
        if key:
            stmt = stmt.where(f.c.key >= key + "/", f.c.key < _folder_upper(key))
        with self._read_tx() as conn:
            count, total, newest = conn.execute(stmt).one()
        if key and not count:
            raise NotFound("folder not found", path=key)
        return FolderInfo(
            path=key,
            file_count=int(count),
            total_size=int(total or 0),
            modified_at=_dt(newest) if newest is not None else None,
        )


def _absolute_sqlite(url: sa.URL) -> sa.URL:
    """Make a relative SQLite file path absolute, so pickled copies in other processes find it."""
    if url.get_backend_name() != "sqlite":
        return url
    db = url.database or ""
    if not db or db == ":memory:" or db.startswith("file:") or os.path.isabs(db):
        return url
    return url.set(database=os.path.abspath(db))


class _Statements:
    """Statements built once per backend with named bind parameters (compiled once, cached)."""

    def __init__(self, t: Tables) -> None:
        f, ch = t.files, t.chunks
        k = f.c.key
        self._files = f
        self._placement: dict[int, Any] = {}
        self._insert_checked: dict[tuple[int, bool], Any] = {}
        self.exists = sa.select(sa.literal(1)).select_from(f).where(k == sa.bindparam("key"))
        self.has_below = (
            sa.select(sa.literal(1)).select_from(f).where(k >= sa.bindparam("lo"), k < sa.bindparam("hi")).limit(1)
        )
        self.stat = sa.select(f.c.key, f.c.size, f.c.modified_us, f.c.etag, f.c.user_metadata).where(
            k == sa.bindparam("key")
        )
        self.lock_blob_id = sa.select(f.c.blob_id).where(k == sa.bindparam("key")).with_for_update()
        self.insert_file = f.insert()
        self.update_file = f.update().where(k == sa.bindparam("b_key"))
        self.finish_file = f.update().where(k == sa.bindparam("b_key"))
        self.insert_chunk = ch.insert()
        self.delete_chunks = ch.delete().where(ch.c.blob_id == sa.bindparam("blob_id"))
        self.chunk_range = (
            sa.select(ch.c.seq, ch.c.data)
            .where(
                ch.c.blob_id == sa.bindparam("blob_id"),
                ch.c.seq >= sa.bindparam("first"),
                ch.c.seq <= sa.bindparam("last"),
            )
            .order_by(ch.c.seq)
        )
        self.open_read = (
            sa.select(f.c.blob_id, f.c.size, f.c.chunk_size, ch.c.data)
            .select_from(f.outerjoin(ch, sa.and_(ch.c.blob_id == f.c.blob_id, ch.c.seq == 0)))
            .where(k == sa.bindparam("key"))
        )
        # An inner join: MariaDB sorts an outer join's rows in a temporary table.
        self.read_all = (
            sa.select(f.c.size, ch.c.data)
            .select_from(f.join(ch, ch.c.blob_id == f.c.blob_id))
            .where(k == sa.bindparam("key"))
            .order_by(ch.c.seq)
        )

    def insert_checked(self, n: int, returning: bool) -> Any:
        """``INSERT INTO files … SELECT :values WHERE NOT EXISTS (placement conflict)`` [``RETURNING key``]."""
        stmt = self._insert_checked.get((n, returning))
        if stmt is None:
            f = self._files
            other = f.alias("other")
            k = other.c.key
            below = sa.and_(k >= sa.bindparam("lo"), k < sa.bindparam("hi"))
            terms = [k == sa.bindparam(f"p{i}") for i in range(n)]
            conflict = sa.select(sa.literal(1)).select_from(other).where(sa.or_(*terms, below))
            names = ["key", "blob_id", "size", "chunk_size", "modified_us", "etag", "user_metadata"]
            values = sa.select(*(sa.bindparam(name, type_=f.c[name].type) for name in names)).where(
                ~sa.exists(conflict)
            )
            stmt = f.insert().from_select(names, values)
            if returning:
                stmt = stmt.returning(f.c.key)
            self._insert_checked[(n, returning)] = stmt
        return stmt

    def placement(self, n: int) -> Any:
        """``SELECT key … WHERE key IN (:p0 … :pn-1) OR (key >= :lo AND key < :hi) LIMIT 1`` (cached per ``n``)."""
        stmt = self._placement.get(n)
        if stmt is None:
            k = self._files.c.key
            below = sa.and_(k >= sa.bindparam("lo"), k < sa.bindparam("hi"))
            terms = [k == sa.bindparam(f"p{i}") for i in range(n)]
            stmt = sa.select(k).where(sa.or_(*terms, below)).limit(1)
            self._placement[n] = stmt
        return stmt
