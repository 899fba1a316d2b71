"""`SQLBlobBackend`: files stored in SQL tables (SQLite, PostgreSQL, MariaDB/MySQL).

The class holds configuration and identity; the work lives in private modules by concern:
``_db`` (schema, transactions, retries), ``_reads`` (queries and consistent reads),
``_writes`` (mutations), ``_listing`` (range scans), ``_statements`` (SQL), ``_keys``
(key limits and range arithmetic), ``_engine`` / ``_timeouts`` (engines and timeouts).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import sqlalchemy as sa

from remote_store import Backend, CapabilitySet, FileInfo, FolderInfo, Secret, WriteResult
from remote_store.errors import BackendUnavailable, ConfigError, InvalidPath, RemoteStoreError
from remote_store.kit import RetryPolicy, url_has_password
from remote_store_sql import _errors, _listing, _reads, _retry, _writes
from remote_store_sql._db import Db
from remote_store_sql._engine import EngineHolder, parse_url
from remote_store_sql._schema import Tables, make_tables
from remote_store_sql._timeouts import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, check_seconds

#: Default bytes per chunk row.
DEFAULT_CHUNK_SIZE = 1024 * 1024
#: Default table-name prefix.
DEFAULT_TABLE_PREFIX = "remote_store_"
_PREFIX_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,40}$")


class _Unset:
    """Marks an option that was not given (to tell an alias from the canonical name)."""

    __slots__ = ()


_UNSET = _Unset()


def pick_alias(name: str, value: Any, alias: str, alias_value: Any, default: Any) -> Any:
    """The value of option ``name`` given under it or under its former name ``alias``.

    Raises:
        ConfigError: Both spellings were given.
    """
    if not isinstance(value, _Unset) and not isinstance(alias_value, _Unset):
        raise ConfigError(f"give '{name}' or its alias '{alias}', not both")
    if not isinstance(value, _Unset):
        return value
    return default if isinstance(alias_value, _Unset) else alias_value


class SQLBlobBackend(Backend):
    """Files in two SQL tables: one row per file, content split over chunk rows.

    Works on SQLite (file or in-memory), PostgreSQL and MariaDB/MySQL through SQLAlchemy 2
    Core, with bound parameters only. Files far larger than memory stream in and out:
    a write inserts one chunk row at a time, a read fetches the chunk rows it touches.

    Every mutation is one database transaction: `write` / `write_atomic` (claim the file
    row, insert the chunks under a new blob id, publish size and etag, drop the old chunk
    set), `move` (one ``UPDATE`` of the key: ATOMIC_MOVE), `copy` (``INSERT … SELECT`` of
    the chunk rows on the server), `delete` and `delete_folder`. A failure midway rolls
    back and leaves the previous version intact. ``overwrite=False`` is enforced by the
    primary key, so two racing writers cannot both create the file. Folders are implicit:
    a folder exists while a key lies below it; writing ``a/b`` when ``a`` is a file, or
    ``a`` when ``a/…`` exists, raises `InvalidPath` (checked inside the write transaction;
    on SQLite writers are serialised so the check is exact, on PostgreSQL/MariaDB two
    concurrent writers of ``a`` and ``a/b`` can both pass it under READ COMMITTED).

    Reads are consistent: a reader always gets one whole committed version, whatever is
    written, moved or deleted meanwhile. `read_bytes` is one statement; `open_read` of a
    file of several chunks keeps a snapshot transaction (``REPEATABLE READ`` on
    PostgreSQL/MariaDB, a WAL read transaction on SQLite) on one pooled connection until
    the stream is closed — close streams promptly: each open one holds a connection, and
    a long snapshot delays PostgreSQL vacuum / InnoDB purge / SQLite WAL checkpoints.

    Queries never create anything: ``ping``, ``exists``, listing, reads and ``stat`` on a
    SQLite file that does not exist (or on tables not created yet) see an empty store; the
    first write creates the file, its folder and the tables (``create_tables=True``).

    Keys are at most `MAX_KEY_BYTES` (1024) UTF-8 bytes and `MAX_KEY_DEPTH` (512) segments;
    longer keys are refused up front with `InvalidPath`.

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
            the backend is then not picklable; its pool and timeouts are the caller's).
            SQLite engines get the transaction handling described in ``remote_store_sql._engine``.
        table_prefix: Prefix of the two table names (``<prefix>files``, ``<prefix>chunks``):
            letters, digits and ``_``, at most 41 characters.
        schema: Database schema holding the tables (PostgreSQL schema, MySQL database,
            SQLite attached database), or None for the default.
        create_tables: Create missing tables on the first write (``CREATE TABLE IF NOT
            EXISTS``); reads of missing tables see an empty store. False: missing tables
            are a `BackendUnavailable` error.
        chunk_size: Bytes per chunk row (≥ 1; default 1 MiB). Keep it below MariaDB's
            ``max_allowed_packet``. Files written earlier keep their own chunk size.
        max_file_size: Largest file in bytes a write accepts, or None for no limit.
        connect_timeout: Seconds to open a database connection (default 10; None: the
            driver's default). PostgreSQL/MariaDB ``connect_timeout``.
        read_timeout: Seconds one statement, lock wait or server answer may take (default 60;
            None: unlimited) — PostgreSQL ``statement_timeout`` + ``tcp_user_timeout`` +
            TCP keepalives, MariaDB ``max_statement_time`` + ``innodb_lock_wait_timeout`` +
            socket read/write timeouts, SQLite busy timeout. Exceeding it raises
            `BackendUnavailable`. A server-side ``copy`` or ``delete_folder`` of a huge
            amount of data is one statement and must fit in it. ``timeout`` is its former
            name and stays an alias (give one of the two).
        timeout: Alias of ``read_timeout``.
        busy_timeout: SQLite only: seconds a writer waits for the database lock; None
            (default) uses ``read_timeout`` (30 s when it is None); also ``sqlite3``'s own
            ``timeout`` when opening the file.
        engine_options: Extra keyword arguments for `sqlalchemy.create_engine`
            (``pool_size``, ``pool_pre_ping`` (default True), ``connect_args`` …); they
            override the timeout settings above.
        pool_recycle: Seconds after which a pooled connection is replaced (default 1800;
            None: never); PostgreSQL and MariaDB only.
        retries: Retries after a lost connection (0..100, default 2): queries and write
            transactions whose ``COMMIT`` was not sent yet are run again on a new connection
            (a write only while its content stream has not been read past its first two
            chunks). A connection lost *during* ``COMMIT`` is never re-run blindly: the file
            row is checked (does it point at the ``blob_id`` this write created?) and the
            call succeeds, raises `AlreadyExists`, runs again (it did not commit), or raises
            `BackendUnavailable` saying the outcome is unknown.
        retry_backoff: Seconds before the first retry, doubling (default 0.5).
        retry_backoff_max: Cap on one delay in seconds (default 10).
        retry_budget: Seconds one call may spend, retries included (default 120).
        retry_on: Failures retried: ``"connection"``, ``"timeout"`` (set, comma list,
            ``"all"`` or ``"none"``).

    Raises:
        ConfigError: Neither or both of ``url``/``engine``, a bad URL, a missing driver,
            or an invalid ``table_prefix`` / ``chunk_size`` / ``max_file_size`` / timeout /
            retry option; both ``read_timeout`` and ``timeout``.
    """

    TYPE = "sql-blob"
    CAPABILITIES = CapabilitySet.all()

    def __init__(
        self,
        url: str | Secret | sa.URL | None = None,
        *,
        engine: sa.Engine | None = None,
        table_prefix: str = DEFAULT_TABLE_PREFIX,
        schema: str | None = None,
        create_tables: bool = True,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        max_file_size: int | None = None,
        connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float | _Unset | None = _UNSET,
        timeout: float | _Unset | None = _UNSET,
        busy_timeout: float | None = None,
        engine_options: Mapping[str, Any] | None = None,
        pool_recycle: float | None = _retry.DEFAULT_POOL_RECYCLE,
        retries: int = 2,
        retry_backoff: float = 0.5,
        retry_backoff_max: float = 10.0,
        retry_budget: float = 120.0,
        retry_on: str | Iterable[str] = "all",
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
        self._connect_timeout = _retry.check_timeout("connect_timeout", connect_timeout)
        self._timeout = _retry.check_timeout(
            "read_timeout", pick_alias("read_timeout", read_timeout, "timeout", timeout, DEFAULT_TIMEOUT)
        )
        self._busy_option = check_seconds("busy_timeout", busy_timeout)
        self._pool_recycle = _retry.TABLE.check("pool_recycle", pool_recycle)
        self._retry = _retry.build_policy(
            retries=retries,
            retry_backoff=retry_backoff,
            retry_backoff_max=retry_backoff_max,
            retry_budget=retry_budget,
            retry_on=retry_on,
        )
        busy = self._busy_option or self._timeout or 30.0
        self._url_option: str | Secret | None = None
        if url is not None:
            parsed = _absolute_sqlite(parse_url(url))
            text = parsed.render_as_string(hide_password=False)
            self._url_option = Secret(text) if (parsed.password or url_has_password(text)) else text
            url = parsed
        self._holder = EngineHolder(
            url,
            engine,
            engine_options,
            busy_timeout=busy,
            connect_timeout=self._connect_timeout,
            timeout=self._timeout,
            pool_recycle=self._pool_recycle,
        )
        self._engine_options = dict(engine_options or {})
        self._table_prefix = table_prefix
        self._schema = schema
        self._create_tables = bool(create_tables)
        self._chunk_size = chunk_size
        self._max_file_size = max_file_size
        self._t: Tables = make_tables(table_prefix, schema)
        self._db = Db(self._holder, self._t, self._create_tables, self._retry)
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
            connect_timeout=self._connect_timeout,
            read_timeout=self._timeout,
            busy_timeout=self._busy_option,
            pool_recycle=self._pool_recycle,
            retries=self._retry.retries,
            retry_backoff=self._retry.backoff,
            retry_backoff_max=self._retry.backoff_max,
            retry_budget=self._retry.budget,
            retry_on=sorted(self._retry.retry_on),
        )
        if self._engine_options:
            opts["engine_options"] = dict(self._engine_options)
        return opts

    def __reduce__(self) -> tuple[Any, ...]:
        if self._url_option is None:
            raise TypeError("an SQLBlobBackend built from an engine object cannot be pickled; build it from url=")
        return super().__reduce__()

    @property
    def retry_policy(self) -> RetryPolicy:
        """The `remote_store.kit.RetryPolicy` built from the retry options."""
        return self._retry

    @property
    def tables(self) -> Tables:
        """The SQLAlchemy `Table` objects of this store (for inspection and raw queries)."""
        return self._t

    @property
    def engine(self) -> sa.Engine:
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
        return _errors.translate(exc, key, _errors.url_secrets(self._holder.url))

    # ------------------------------------------------------------------ schema
    def create_tables(self) -> None:
        """Create the store's tables if they do not exist (``CREATE TABLE``; idempotent).

        Creates a SQLite database file (and its folder) when missing.

        Raises:
            BackendUnavailable: The database cannot be reached.
            PermissionDenied: The user may not create tables.
        """
        self._db.create_tables()

    def drop_tables(self) -> None:
        """Drop the store's two tables and everything in them (``DROP TABLE``; missing tables are fine).

        Raises:
            BackendUnavailable: The database cannot be reached.
            PermissionDenied: The user may not drop tables.
        """
        self._db.drop_tables()

    # ------------------------------------------------------------------ queries
    def ping(self) -> None:
        """Run ``SELECT 1`` on a pooled connection (creates nothing).

        A SQLite file that does not exist yet is fine when its folder exists (the first write
        creates the file); nothing is opened then.

        Raises:
            BackendUnavailable: The database cannot be reached or refuses the credentials, or
                the folder of a SQLite database file does not exist.
        """
        path = self._holder.sqlite_file()
        if path is not None and not os.path.exists(path):
            folder = os.path.dirname(path) or "."
            if not os.path.isdir(folder):
                raise BackendUnavailable(f"the folder of the SQLite database does not exist: {folder}")
            return

        def attempt() -> None:
            with self._holder.connect() as conn:
                conn.execute(sa.select(sa.literal(1))).scalar_one()

        self._db.query(attempt)

    def close(self) -> None:
        """Dispose the connection pool of an engine the backend created (a later call reconnects)."""
        self._holder.dispose()

    def exists(self, key: str) -> bool:
        """Whether a file is stored at ``key`` (``SELECT 1 … WHERE key = ?``)."""
        return _reads.exists(self._db, key)

    def is_folder(self, key: str) -> bool:
        """Whether a file lies below ``key`` (one index seek; the root is always a folder)."""
        return _reads.is_folder(self._db, key)

    def stat(self, key: str) -> FileInfo:
        """The file row of ``key`` (``SELECT key, size, modified_us, etag, user_metadata``).

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        return _reads.stat(self._db, key)

    def open_read(self, key: str) -> IO[bytes]:
        """Open a lazy, seekable stream of one whole committed version of the file.

        A file of one chunk comes whole from one query (``SELECT blob_id, size, chunk_size,
        data … LEFT JOIN chunks ON seq = 0``). A larger file is read in a snapshot transaction
        held on one pooled connection until the stream is closed: each read fetches the chunk
        rows it touches (``SELECT seq, data … WHERE blob_id = ? AND seq BETWEEN ? AND ?``, up
        to 8 MiB per query), and a concurrent overwrite, move or delete does not affect it.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
            BackendUnavailable: No pooled connection became free (``pool_timeout``).
        """
        return _reads.open_read(self._db, key)

    def read_bytes(self, key: str) -> bytes:
        """Return the whole file: one query joining the file row to all its chunk rows.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        return _reads.read_bytes(self._db, key)

    # ------------------------------------------------------------------ writes
    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Store ``stream`` at ``key`` in one transaction, one chunk row at a time.

        Maps to: ``INSERT`` of the file row (or ``SELECT … FOR UPDATE`` + ``UPDATE`` when
        ``overwrite``), one ``INSERT`` per chunk under a new blob id, ``UPDATE`` of
        size/etag, ``DELETE`` of the replaced chunks. A file of one chunk takes one
        ``INSERT`` per table. Deadlocks and rows created concurrently rerun the transaction
        while the stream has not been read past its first two chunks.

        Raises:
            AlreadyExists: ``overwrite`` is False and a file exists (primary-key conflict).
            InvalidPath: ``key`` is a folder, a parent is a file, or the key exceeds
                `MAX_KEY_BYTES` bytes / `MAX_KEY_DEPTH` segments.
            RemoteStoreError: The content exceeds ``max_file_size``.
            BackendUnavailable: The database is unreachable, or ``timeout`` / the busy
                timeout expired.
        """
        return _writes.write(
            self._db,
            key,
            stream,
            overwrite=overwrite,
            metadata=metadata,
            chunk_size=self._chunk_size,
            max_file_size=self._max_file_size,
        )

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Same as `write`: every write is one transaction, so no reader ever sees a partial file."""
        return self.write(key, stream, overwrite=overwrite, metadata=metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete the file row and its chunk rows in one transaction.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        _writes.delete(self._db, key)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every file below ``key`` in one transaction (``DELETE … WHERE key >= ? AND key < ?``).

        Raises:
            NotFound: No file lies below ``key``.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False (an existing folder always holds files).
        """
        _writes.delete_folder(self._db, key, recursive=recursive)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Rename in one transaction: ``UPDATE … SET key = dst`` (content rows are not touched).

        Under contention the errors stay typed: a source moved or deleted by another
        transaction is `NotFound`; a destination created meanwhile is `AlreadyExists`
        (``overwrite=False``) or is replaced by a rerun (``overwrite=True``).

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder; ``dst`` is a folder or below a file.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        _writes.move(self._db, src, dst, overwrite=overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Copy on the server in one transaction: ``INSERT INTO chunks … SELECT`` plus a new file row.

        The source row is locked for the copy, so a concurrent overwrite cannot tear it.

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder; ``dst`` is a folder or below a file.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        _writes.copy(self._db, src, dst, overwrite=overwrite)

    # ------------------------------------------------------------------ listing
    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Yield files below ``prefix`` in key order, one indexed range query per page.

        Without ``recursive`` (or with ``max_depth``) sub-folders deeper than the limit are
        skipped with one index seek each instead of being read.
        """
        return _listing.iter_files(self._db, prefix, recursive=recursive, max_depth=max_depth)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Yield direct sub-folders of ``prefix`` (derived from keys; one index seek per folder)."""
        return _listing.iter_folders(self._db, prefix)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Match ``pattern`` against keys, scanning only the range of its literal leading text.

        Without ``**`` keys deeper than the pattern are skipped by folder.
        """
        return _listing.glob(self._db, pattern)

    def folder_info(self, key: str) -> FolderInfo:
        """``SELECT count(*), sum(size), max(modified_us)`` over the folder's key range.

        Raises:
            NotFound: ``key`` is not a folder (and not the root).
        """
        return _listing.folder_info(self._db, key)


def _absolute_sqlite(url: sa.URL) -> sa.URL:
    """Make a relative SQLite file path absolute, so pickled copies in other processes find it."""
    if url.get_backend_name() != "sqlite":
        return url
    db = url.database or ""
    if not db or db == ":memory:" or db.startswith("file:") or os.path.isabs(db):
        return url
    return url.set(database=os.path.abspath(db))
