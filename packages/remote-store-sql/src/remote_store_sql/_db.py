"""Schema and transactions of one sql-blob store: lazy table creation, read / write / snapshot
transactions, retries, and the "nothing stored yet" state.

Queries never create anything: a read on a SQLite file that does not exist, or on tables
that do not exist yet (with ``create_tables=True``), sees an empty store (`NoStore`). The
first write creates the SQLite file (and its folder) and the tables.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from remote_store.errors import BackendUnavailable, RemoteStoreError
from remote_store.kit import RetryPolicy
from remote_store_sql import _errors, _retry
from remote_store_sql._engine import EngineHolder
from remote_store_sql._schema import Tables
from remote_store_sql._statements import Statements

log = logging.getLogger("remote_store.sql-blob")

#: Attempts of one transaction that hit a deadlock or serialization failure.
RETRIES = 5
#: Attempts of one transaction that met a row created or removed concurrently (`Retry`): each
#: such conflict means another transaction committed, so the store as a whole makes progress.
RACE_RETRIES = 25
T = TypeVar("T")


class NoStore(Exception):
    """Internal: the SQLite file or the store's tables do not exist yet; a query sees an empty store."""


class Retry(Exception):
    """Internal: rerun the whole transaction (a row appeared or vanished between two statements)."""


class Db:
    """The engine, tables and statements of one store, and the transactions over them.

    Args:
        holder: The engine holder (connections, SQLite write lock).
        tables: The store's two tables.
        create_tables: Create missing tables on the first write; reads of missing tables see
            an empty store. When False a missing table is an error (`BackendUnavailable`).
        policy: Retries after a lost connection (`remote_store.kit.RetryPolicy`; see ``_retry``).
    """

    def __init__(
        self, holder: EngineHolder, tables: Tables, create_tables: bool, policy: RetryPolicy | None = None
    ) -> None:
        self.holder = holder
        self.policy = policy if policy is not None else RetryPolicy()
        self._local = threading.local()
        self.t = tables
        self.q = Statements(tables)
        self.create = create_tables
        self._ready = False
        self._ready_lock = threading.Lock()
        # In-memory SQLite only (one connection, private to this process): chunk sets that
        # open readers still use, and replaced ones whose rows wait for the last reader.
        self._pins: Counter[str] = Counter()
        self._deferred: set[str] = set()
        self._reclaim: list[str] = []
        self._pin_lock = threading.RLock()  # re-entrant: a reader may be closed by GC anywhere

    # ------------------------------------------------------------------ schema
    def ensure_tables(self) -> None:
        """Before a write: create the SQLite folder and the tables if missing (once per backend)."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            if self.create:
                self.holder.prepare_file()
                for attempt in range(RETRIES):
                    try:
                        with self.holder.begin(write=True) as conn:
                            self.t.metadata.create_all(conn, checkfirst=True)
                        break
                    except (sa_exc.IntegrityError, sa_exc.ProgrammingError, sa_exc.OperationalError) as exc:
                        # Another process created the tables between the check and CREATE.
                        if attempt == RETRIES - 1 or _errors.is_missing_table(exc):
                            raise
                        time.sleep(0.05 * (attempt + 1))
            self._ready = True

    def create_tables(self) -> None:
        """``CREATE TABLE IF NOT EXISTS`` for both tables (creates the SQLite file and folder)."""
        self.holder.prepare_file()
        with self.holder.begin(write=True) as conn:
            self.t.metadata.create_all(conn, checkfirst=True)
        self._ready = True

    def drop_tables(self) -> None:
        """``DROP TABLE`` both tables (a missing SQLite file is left missing)."""
        if not self.holder.file_exists():
            return
        with self.holder.begin(write=True) as conn:
            self.t.metadata.drop_all(conn, checkfirst=True)
        self._ready = False

    # ------------------------------------------------------------------ transactions
    def _check_file(self) -> None:
        if self.holder.file_exists():
            return
        if self.create:
            raise NoStore
        raise BackendUnavailable(
            f"the SQLite database file does not exist: {self.holder.sqlite_file()} "
            "(create its tables with create_tables() or set create_tables=True)"
        )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries; its statements share one transaction, rolled back at the end.

        Raises:
            NoStore: Nothing is stored yet (missing SQLite file, or missing tables with
                ``create_tables``); nothing is created.
        """
        self._check_file()
        try:
            with self.holder.connect() as conn:
                yield conn
        except sa_exc.DBAPIError as exc:
            if self.create and _errors.is_missing_table(exc):
                raise NoStore from None
            raise

    def snapshot(self) -> Connection:
        """Open a connection whose transaction reads one consistent snapshot until it is closed.

        PostgreSQL and MariaDB/MySQL: ``REPEATABLE READ`` (the snapshot is taken by the first
        statement; a read-only transaction never fails because of concurrent writers). SQLite
        (WAL): a deferred transaction's first ``SELECT`` pins the snapshot. The caller closes it.

        Raises:
            NoStore: Nothing is stored yet.
        """
        self._check_file()
        conn = self.holder.engine().connect()
        try:
            name = conn.dialect.name
            if name in ("mysql", "mariadb"):
                # Only for the next transaction: no reset round trip when the connection is returned.
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            elif name != "sqlite":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
        except BaseException:
            conn.close()
            raise
        return conn

    @property
    def cheap_snapshot(self) -> bool:
        """Whether opening a snapshot costs no extra round trip (PostgreSQL, SQLite file)."""
        return not self.holder.is_memory and self.holder.dialect_name not in ("mysql", "mariadb")

    @contextmanager
    def write(self, *, creating: bool = True) -> Iterator[Connection]:
        """One write transaction (committed on a clean exit).

        In-memory SQLite: also deletes the chunk sets released by closed readers.

        Args:
            creating: The transaction may create a file (write, copy): create the SQLite
                file and the tables first if needed. False (delete, move): act on what
                exists and raise `NoStore` when nothing is stored yet, creating nothing.

        Raises:
            NoStore: ``creating`` is False and nothing is stored yet.
        """
        if creating:
            self.ensure_tables()
        elif not self._ready:
            self._check_file()
        try:
            with self.holder.begin(write=True) as conn:
                if self._reclaim:
                    with self._pin_lock:
                        done, self._reclaim = self._reclaim, []
                    for blob_id in done:
                        conn.execute(self.q.delete_chunks, {"blob_id": blob_id})
                yield conn
                self._local.committing = True  # the COMMIT goes out when this block exits
        except sa_exc.DBAPIError as exc:
            if not creating and self.create and _errors.is_missing_table(exc):
                raise NoStore from None
            raise

    # ------------------------------------------------------------------ chunk-set lifetime (in-memory)
    def pin(self, blob_id: str) -> None:
        """Keep ``blob_id``'s chunk rows while a reader uses them (call inside the read that found it)."""
        with self._pin_lock:
            self._pins[blob_id] += 1

    def unpin(self, blob_id: str) -> None:
        """Release a `pin`; a chunk set replaced meanwhile is deleted by the next write."""
        with self._pin_lock:
            self._pins[blob_id] -= 1
            if self._pins[blob_id] <= 0:
                del self._pins[blob_id]
                if blob_id in self._deferred:
                    self._deferred.discard(blob_id)
                    self._reclaim.append(blob_id)

    def drop_blob(self, conn: Connection, blob_id: str | None) -> None:
        """Delete a replaced chunk set now, or (pinned by an open reader) once that reader closes."""
        if blob_id is None:
            return
        if self._pins:
            with self._pin_lock:
                if blob_id in self._pins:
                    self._deferred.add(blob_id)
                    return
        conn.execute(self.q.delete_chunks, {"blob_id": blob_id})

    @property
    def pinning(self) -> bool:
        """Whether open readers pin chunk sets right now (bulk chunk deletes must go one by one)."""
        return bool(self._pins)

    @property
    def committing(self) -> bool:
        """Whether this thread's last write transaction got as far as sending ``COMMIT``."""
        return bool(getattr(self._local, "committing", False))

    def retrying(
        self,
        fn: Callable[[], T],
        can_retry: Callable[[], bool] = lambda: True,
        resolve: Callable[[], tuple[bool, T]] | None = None,
    ) -> T:
        """`_retrying`, with every failure scrubbed of the URL's secrets (`_errors.scrub`).

        Typed errors raised here (outcome unknown, contention) keep the driver error as their
        cause and do not pass through ``translate_error``, so they are cleaned here.
        """
        try:
            return self._retrying(fn, can_retry, resolve)
        except Exception as exc:
            _errors.scrub(exc, _errors.url_secrets(self.holder.url))
            raise

    def _retrying(
        self,
        fn: Callable[[], T],
        can_retry: Callable[[], bool] = lambda: True,
        resolve: Callable[[], tuple[bool, T]] | None = None,
    ) -> T:
        """Run ``fn`` (one whole write transaction), again after a conflict or a lost connection.

        A deadlock, serialization failure or `Retry` reruns it after a random, growing pause
        (so racing writers spread out). A lost connection reruns it through `policy` when
        the ``COMMIT`` was not sent yet (the server rolled it back) and ``can_retry()``
        allows. A connection lost *during* ``COMMIT`` is never rerun blindly: ``resolve()``
        checks the rows and returns ``(True, result)`` when the transaction committed, or
        ``(False, _)`` when it did not (then it is rerun while ``can_retry()``); it may raise
        the typed error itself (`AlreadyExists` …).

        Raises:
            BackendUnavailable: Still conflicting after `RACE_RETRIES` attempts (`Retry`); or
                the connection was lost during ``COMMIT`` and the outcome could not be
                checked (the message says the outcome is unknown).
        """

        def attempt() -> T:
            self._local.committing = False
            return self._contended(fn, can_retry)

        def classify(exc: BaseException) -> str | None:
            if self.committing or not can_retry():
                return None
            return _retry.classify(exc)

        for _ in range(self.policy.retries + 1):
            try:
                return self.policy.call(attempt, classify=classify, idempotent=True, on_retry=_log_retry)
            except sa_exc.DBAPIError as exc:
                if not self.committing or _retry.classify(exc) is None:
                    raise
                if resolve is None:
                    raise outcome_unknown(exc) from exc
                log.info("connection lost during COMMIT (%s); checking whether it committed", _errors.describe(exc))
                try:
                    done, value = resolve()
                except RemoteStoreError:
                    raise
                except Exception as err:
                    if _errors.translate(err, None) is None:
                        raise
                    raise outcome_unknown(exc) from err
                if done:
                    log.info("the transaction had committed before its connection was lost")
                    return value
                if not can_retry():
                    raise BackendUnavailable(
                        f"the connection was lost during COMMIT and the change was not stored: {_errors.describe(exc)}"
                    ) from exc
        raise BackendUnavailable("the connection kept dropping during COMMIT")

    def _contended(self, fn: Callable[[], T], can_retry: Callable[[], bool]) -> T:
        """``fn``, rerun after a deadlock, serialization failure or `Retry` (random growing pauses)."""
        deadlocks = races = 0
        while True:
            try:
                return fn()
            except Retry as exc:
                races += 1
                if races >= RACE_RETRIES or not can_retry():
                    raise _errors.contention(str(exc) or "concurrent change") from None
                log.debug("retrying a transaction after a concurrent change: %s", exc)
                pause = 0.002 * min(races, 10)
            except sa_exc.DBAPIError as exc:
                deadlocks += 1
                if deadlocks >= RETRIES or not _errors.is_retryable(exc) or not can_retry():
                    raise
                log.debug("retrying a transaction after %s", _errors.describe(exc))
                pause = 0.01 * deadlocks
            time.sleep(random.uniform(0, pause))

    def query(self, fn: Callable[[], T]) -> T:
        """Run the idempotent read ``fn`` through `policy` (retried after a lost connection).

        A failure is scrubbed of the URL's secrets (`_errors.scrub`) before it propagates.
        """
        try:
            return self.policy.call(fn, classify=_retry.classify, idempotent=True, on_retry=_log_retry)
        except Exception as exc:
            _errors.scrub(exc, _errors.url_secrets(self.holder.url))
            raise


def _log_retry(number: int, exc: BaseException) -> None:
    log.info("database connection lost (%s); retry %d", _errors.describe(exc), number)


def outcome_unknown(exc: BaseException) -> BackendUnavailable:
    """The error for a transaction whose ``COMMIT`` answer was lost and could not be checked."""
    return BackendUnavailable(
        f"the connection was lost during COMMIT; the change may or may not have been stored "
        f"(outcome unknown): {_errors.describe(exc)}"
    )


def run_query(db: Db, fn: Callable[[Connection], T], empty: Callable[[], T]) -> T:
    """``fn(conn)`` in a read transaction, or ``empty()`` when nothing is stored yet.

    Retried on a new connection after a lost one (`Db.query`).
    """

    def attempt() -> T:
        try:
            with db.read() as conn:
                return fn(conn)
        except NoStore:
            return empty()

    return db.query(attempt)
