"""Engine ownership shared by both SQL backends: lazy creation, fork safety, SQLite tuning.

SQLite gets, on every connection: ``PRAGMA busy_timeout`` (writers wait instead of failing
with "database is locked"), ``journal_mode=WAL`` (readers never block the writer and the
other way round) and ``synchronous=NORMAL`` (commits cost no fsync in WAL mode; a power
loss can lose the last commits but never corrupts the file). pysqlite's own transaction
handling is switched off and SQLAlchemy's ``begin`` emits ``BEGIN`` itself, so SAVEPOINT
works and write transactions start with ``BEGIN IMMEDIATE`` (take the write lock first:
a deferred transaction that upgrades to a writer can fail at once instead of waiting).
Within one process, write transactions on one SQLite file also queue on a Python lock, so
threads wait on each other directly instead of polling SQLite's busy handler (which sleeps
in growing steps); other processes are handled by the busy timeout.

An in-memory SQLite database (``sqlite://``) lives in one connection: the engine uses
``StaticPool`` and the holder serialises every transaction with a lock, so any number of
threads share the one database safely.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from remote_store import Secret
from remote_store.errors import BackendUnavailable, ConfigError
from remote_store_sql._timeouts import engine_kwargs, install_client_timeout, install_server_limits

#: Execution option that marks a connection's next transaction as a writer (SQLite: BEGIN IMMEDIATE).
WRITE_OPTION = "remote_store_write"

_DRIVER_HINTS = {
    "postgresql": "pip install 'remote-store-sql[postgresql]' (psycopg)",
    "mysql": "pip install 'remote-store-sql[mysql]' (pymysql)",
    "mariadb": "pip install 'remote-store-sql[mysql]' (pymysql)",
}


#: One lock per SQLite database file in this process: writers queue on it instead of polling
#: SQLite's busy handler (which sleeps in growing steps and wrecks throughput under threads).
_SQLITE_WRITE_LOCKS: dict[str, threading.Lock] = {}
_SQLITE_WRITE_LOCKS_GUARD = threading.Lock()


def _reset_locks_after_fork() -> None:
    global _SQLITE_WRITE_LOCKS_GUARD
    _SQLITE_WRITE_LOCKS.clear()
    _SQLITE_WRITE_LOCKS_GUARD = threading.Lock()


os.register_at_fork(after_in_child=_reset_locks_after_fork)


def _sqlite_write_lock(database: str) -> threading.Lock:
    path = os.path.realpath(database)
    with _SQLITE_WRITE_LOCKS_GUARD:
        lock = _SQLITE_WRITE_LOCKS.get(path)
        if lock is None:
            lock = _SQLITE_WRITE_LOCKS[path] = threading.Lock()
        return lock


def parse_url(url: str | Secret | sa.URL) -> sa.URL:
    """Parse a SQLAlchemy URL given as text, `Secret` or `sqlalchemy.URL`.

    Raises:
        ConfigError: The text is not a valid SQLAlchemy URL (message never shows a password).
    """
    if isinstance(url, sa.URL):
        return url
    text = url.reveal() if isinstance(url, Secret) else url
    if not isinstance(text, str) or not text:
        raise ConfigError("'url' must be a non-empty SQLAlchemy URL string")
    try:
        return sa.make_url(text)
    except Exception as exc:
        raise ConfigError(f"'url' is not a valid SQLAlchemy URL ({type(exc).__name__})") from None


def is_memory_sqlite(url: sa.URL) -> bool:
    """Whether ``url`` names an in-memory SQLite database (``sqlite://``, ``:memory:``, ``mode=memory``)."""
    if url.get_backend_name() != "sqlite":
        return False
    db = url.database or ""
    return db in ("", ":memory:") or "mode=memory" in db or url.query.get("mode") == "memory"


def _sqlite_on_connect_factory(
    busy_timeout_ms: int, wal: bool, query_only: bool
) -> Any:  # returns the event handler (typed loosely for SQLAlchemy's listener API)
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin handler emits BEGIN
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if wal:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
            if query_only:
                cur.execute("PRAGMA query_only = ON")
        finally:
            cur.close()

    return on_connect


def _sqlite_on_begin(conn: Connection) -> None:
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is not None and getattr(dbapi_connection, "isolation_level", None) is not None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def _readonly_on_connect_factory(dialect: str) -> Any:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cur = dbapi_connection.cursor()
        try:
            if dialect == "postgresql":
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            else:
                cur.execute("SET SESSION TRANSACTION READ ONLY")
        finally:
            cur.close()
        dbapi_connection.commit()

    return on_connect


@contextmanager
def _timed(lock: threading.Lock, timeout: float) -> Iterator[None]:
    """Hold ``lock``, waiting at most ``timeout`` seconds for it.

    Raises:
        BackendUnavailable: Another writer of this process held the lock for ``timeout`` seconds.
    """
    if not lock.acquire(timeout=timeout):
        raise BackendUnavailable(f"another writer held the SQLite database for more than {timeout:g} s (busy_timeout)")
    try:
        yield
    finally:
        lock.release()


class EngineHolder:
    """Creates the engine on first use, recreates its pool after ``fork``, serialises in-memory SQLite.

    Args:
        url: SQLAlchemy URL (text, `Secret` or `sqlalchemy.URL`), or None when ``engine`` is given.
        engine: A ready `sqlalchemy.Engine` to use instead of ``url`` (never disposed by `dispose`).
        engine_options: Extra keyword arguments for `sqlalchemy.create_engine` (``pool_size`` …).
        busy_timeout: SQLite only: seconds a writer waits for the database lock (also for the
            in-process writer queue).
        connect_timeout: Seconds to open a connection, or None (see ``_timeouts``).
        timeout: Seconds one statement / server answer may take, or None (see ``_timeouts``).
        read_only: Make every session read-only (``PRAGMA query_only`` / ``SET SESSION … READ ONLY``).
        pool_recycle: Seconds before a pooled connection is replaced (not SQLite), or None.

    Raises:
        ConfigError: Neither or both of ``url`` and ``engine``; a bad URL; a missing driver.
    """

    def __init__(
        self,
        url: str | Secret | sa.URL | None,
        engine: Engine | None,
        engine_options: Mapping[str, Any] | None = None,
        *,
        busy_timeout: float = 30.0,
        read_only: bool = False,
        connect_timeout: float | None = None,
        timeout: float | None = None,
        pool_recycle: float | None = None,
    ) -> None:
        if (url is None) == (engine is None):
            raise ConfigError("give exactly one of 'url' or 'engine'")
        self._given = engine
        self._url = engine.url if engine is not None else parse_url(url)  # type: ignore[arg-type]
        self._engine_options = dict(engine_options or {})
        self._busy_timeout = float(busy_timeout)
        self._read_only = read_only
        self._connect_timeout = connect_timeout
        self._timeout = timeout
        self._pool_recycle = pool_recycle
        self._engine: Engine | None = None
        self._pid = os.getpid()
        self._create_lock = threading.Lock()
        self._memory = is_memory_sqlite(self._url)
        self._serial: threading.RLock | None = None
        self._file_db: str | None = None
        self._writer_lock: threading.Lock | None = None
        if engine is not None:
            self._setup(engine)
            self._engine = engine
        else:
            self._engine = self._create()

    @property
    def url(self) -> sa.URL:
        """The database URL (may hold a password: render it with ``hide_password=True``)."""
        return self._url

    @property
    def dialect_name(self) -> str:
        """``"sqlite"``, ``"postgresql"``, ``"mysql"``, ``"mariadb"`` …"""
        return self._url.get_backend_name()

    @property
    def is_memory(self) -> bool:
        """Whether the database is an in-memory SQLite database (private to this process)."""
        return self._memory

    @property
    def owns_engine(self) -> bool:
        """Whether the holder created the engine (False when the caller passed one)."""
        return self._given is None

    def _create(self) -> Engine:
        kwargs: dict[str, Any] = {}
        backend = self._url.get_backend_name()
        if backend == "sqlite" and self._memory:
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        elif backend in ("mysql", "mariadb"):
            kwargs["isolation_level"] = "READ COMMITTED"
        if not self._memory:
            kwargs.update(
                engine_kwargs(
                    self._url,
                    self._connect_timeout,
                    self._timeout,
                    self._engine_options,
                    pool_recycle=self._pool_recycle,
                    busy_timeout=self._busy_timeout,
                )
            )
        for name, value in self._engine_options.items():
            if name == "connect_args" and "connect_args" in kwargs:
                value = {**dict(value or {}), **kwargs["connect_args"]}  # already merged with the caller's
            kwargs[name] = value
        try:
            engine = sa.create_engine(self._url, **kwargs)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            hint = _DRIVER_HINTS.get(backend, "install the database driver")
            raise ConfigError(f"no database driver for '{self._url.drivername}': {hint} ({exc})") from None
        except (TypeError, sa.exc.ArgumentError) as exc:
            raise ConfigError(f"invalid engine options: {exc}") from None
        self._setup(engine)
        install_server_limits(engine, self._timeout)
        install_client_timeout(engine, self._timeout)
        return engine

    def file_exists(self) -> bool:
        """False only for a SQLite database file that does not exist (yet); True for everything else."""
        db = self._sqlite_file()
        return db is None or os.path.exists(db)

    def sqlite_file(self) -> str | None:
        """The path of a SQLite database file, or None (in-memory, ``file:`` URI, other databases)."""
        return self._sqlite_file()

    def _sqlite_file(self) -> str | None:
        if self._url.get_backend_name() != "sqlite" or self._memory:
            return None
        db = self._url.database or ""
        return db if db and not db.startswith("file:") else None

    def prepare_file(self) -> None:
        """Before the first write: create the folder of a SQLite database file (like a local store's root)."""
        db = self._sqlite_file()
        folder = os.path.dirname(db) if db else ""
        if folder:
            os.makedirs(folder, exist_ok=True)

    def _setup(self, engine: Engine) -> None:
        name = engine.dialect.name
        if name == "sqlite":
            on_connect = _sqlite_on_connect_factory(
                int(self._busy_timeout * 1000), wal=not self._memory, query_only=self._read_only
            )
            event.listen(engine, "connect", on_connect)
            if not event.contains(engine, "begin", _sqlite_on_begin):
                event.listen(engine, "begin", _sqlite_on_begin)
        elif self._read_only and name in ("postgresql", "mysql", "mariadb"):
            event.listen(engine, "connect", _readonly_on_connect_factory(name))
        if isinstance(engine.pool, StaticPool):
            self._serial = threading.RLock()
        db = engine.url.database or ""
        self._file_db = db if name == "sqlite" and not self._memory and db and not db.startswith("file:") else None
        self._writer_lock = _sqlite_write_lock(self._file_db) if self._file_db else None

    def engine(self) -> Engine:
        """Return the engine, replacing its pool first when this process is a fork of the creator."""
        engine = self._engine
        if engine is not None and self._pid == os.getpid():
            return engine
        with self._create_lock:
            if self._pid != os.getpid():
                if self._engine is not None and not self._memory:
                    self._engine.dispose(close=False)
                if self._file_db:
                    self._writer_lock = _sqlite_write_lock(self._file_db)  # the parent's may be held
                self._pid = os.getpid()
            if self._engine is None:
                self._engine = self._given if self._given is not None else self._create()
            return self._engine

    @contextmanager
    def begin(self, *, write: bool) -> Iterator[Connection]:
        """Yield a connection inside one transaction (committed on a clean exit, else rolled back).

        Args:
            write: The transaction will write (SQLite takes the write lock at ``BEGIN``).
        """
        engine = self.engine()
        writer_lock: Any = nullcontext()
        if write and self._writer_lock is not None:
            writer_lock = _timed(self._writer_lock, self._busy_timeout)
        with writer_lock, self._serial if self._serial is not None else nullcontext(), engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def connect(self) -> AbstractContextManager[Connection]:
        """Return a plain connection for ``with`` (autobegins on first use; rolled back when closed)."""
        engine = self.engine()
        if self._serial is None:
            return engine.connect()
        return self._serial_connect(engine)

    @contextmanager
    def _serial_connect(self, engine: Engine) -> Iterator[Connection]:
        assert self._serial is not None
        with self._serial, engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        """Close pooled connections of an engine this holder created (in-memory databases are kept)."""
        if self._given is None and self._engine is not None and not self._memory:
            self._engine.dispose()
