"""SQL test databases: PostgreSQL and MariaDB on 127.0.0.1, and SQLite files.

PostgreSQL and MariaDB are system services on this project's machines (not started per
test run); their DSNs come from environment variables:

* ``REMOTE_STORE_TEST_PG_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``,
  trust authentication). Restart a stopped server with
  ``pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start``.
* ``REMOTE_STORE_TEST_MYSQL_URL`` (default ``mysql+pymysql://root@127.0.0.1:3306/test``).
  Restart with ``start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd``.

When a server is unreachable the fixtures skip with the reason, or fail under
``REMOTE_STORE_TEST_REQUIRE_SERVERS=1`` (see ``_common.server_missing``).

Every test gets its own table prefix (`sql_table_prefix`); backends made by the
``sql_blob_*`` factories drop their tables when the test ends. SQLAlchemy is imported
inside the fixtures, so loading this plugin costs nothing when it is not used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.servers._common import server_missing

PG_ENV = "REMOTE_STORE_TEST_PG_URL"
MYSQL_ENV = "REMOTE_STORE_TEST_MYSQL_URL"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def pg_url_from_env() -> str:
    """The PostgreSQL SQLAlchemy URL for tests and benchmarks."""
    return os.environ.get(PG_ENV) or DEFAULT_PG_URL


def mysql_url_from_env() -> str:
    """The MariaDB/MySQL SQLAlchemy URL for tests and benchmarks."""
    return os.environ.get(MYSQL_ENV) or DEFAULT_MYSQL_URL


def unique_prefix() -> str:
    """A table prefix no other test uses (``t<12 hex>_``)."""
    return f"t{uuid.uuid4().hex[:12]}_"


def probe(url: str, timeout: float = 3.0) -> str | None:
    """Connect to ``url`` and run ``SELECT 1``; return None when that works, else the reason."""
    try:
        import sqlalchemy as sa
    except ImportError as exc:  # pragma: no cover - sqlalchemy is a workspace dependency
        return f"sqlalchemy not installed: {exc}"
    connect_args: dict[str, Any] = {}
    backend = sa.make_url(url).get_backend_name()
    if backend == "postgresql" or backend in ("mysql", "mariadb"):
        connect_args["connect_timeout"] = int(timeout)
    try:
        engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    except Exception as exc:
        return f"cannot create an engine for {sa.make_url(url).render_as_string(hide_password=True)}: {exc}"
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()
        safe = sa.make_url(url).render_as_string(hide_password=True)
        return f"{safe} unreachable: {type(exc).__name__}: {first[0] if first else ''}"
    finally:
        engine.dispose()
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the PostgreSQL URL when the server answers.

    Raises:
        RuntimeError: The server is unreachable (message says why and how to restart it).
    """
    url = pg_url_from_env()
    reason = probe(url)
    if reason is not None:
        raise RuntimeError(f"PostgreSQL: {reason} (set {PG_ENV} or start the server)")
    yield url


@contextmanager
def mariadb_server() -> Iterator[str]:
    """Yield the MariaDB/MySQL URL when the server answers.

    Raises:
        RuntimeError: The server is unreachable.
    """
    url = mysql_url_from_env()
    reason = probe(url)
    if reason is not None:
        raise RuntimeError(f"MariaDB: {reason} (set {MYSQL_ENV} or start the server)")
    yield url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL database (skips/fails when unreachable)."""
    url = pg_url_from_env()
    reason = probe(url)
    if reason is not None:
        server_missing(f"PostgreSQL: {reason} (set {PG_ENV})")
    return url


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """SQLAlchemy URL of the test MariaDB/MySQL database (skips/fails when unreachable)."""
    url = mysql_url_from_env()
    reason = probe(url)
    if reason is not None:
        server_missing(f"MariaDB: {reason} (set {MYSQL_ENV})")
    return url


@pytest.fixture
def sql_table_prefix() -> str:
    """A table prefix unique to this test."""
    return unique_prefix()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a fresh SQLite file in the test's temp folder."""
    return f"sqlite:///{tmp_path / 'store.db'}"


SqlBlobFactory = Callable[..., Any]


def _blob_factory(url: str) -> Iterator[SqlBlobFactory]:
    from remote_store_sql import SQLBlobBackend

    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("table_prefix", unique_prefix())
        backend = SQLBlobBackend(url, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        try:
            backend.drop_tables()
        finally:
            backend.close()


@pytest.fixture
def sql_blob_sqlite(sqlite_url: str) -> Iterator[SqlBlobFactory]:
    """``make(**options)`` → `SQLBlobBackend` on a fresh SQLite file (unique tables, dropped after)."""
    yield from _blob_factory(sqlite_url)


@pytest.fixture
def sql_blob_memory() -> Iterator[SqlBlobFactory]:
    """``make(**options)`` → `SQLBlobBackend` on a private in-memory SQLite database."""
    yield from _blob_factory("sqlite://")


@pytest.fixture
def sql_blob_postgres(postgres_url: str) -> Iterator[SqlBlobFactory]:
    """``make(**options)`` → `SQLBlobBackend` on the test PostgreSQL (unique tables, dropped after)."""
    yield from _blob_factory(postgres_url)


@pytest.fixture
def sql_blob_mysql(mysql_url: str) -> Iterator[SqlBlobFactory]:
    """``make(**options)`` → `SQLBlobBackend` on the test MariaDB (unique tables, dropped after)."""
    yield from _blob_factory(mysql_url)


class StallingProxy:
    """A TCP proxy on 127.0.0.1 in front of a database server that can stall on demand.

    While stalled it keeps every socket open (TCP keepalives are still answered by the
    kernel) but forwards no byte in either direction, like a hung middlebox; new
    connections are accepted and then starved too. Use as a context manager.

    Args:
        upstream_host: The server's host.
        upstream_port: The server's port.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        import socket
        import threading

        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stalled = threading.Event()
        self._closing = threading.Event()
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def url_for(self, url: str) -> str:
        """``url`` with its host and port replaced by this proxy's."""
        import sqlalchemy as sa

        return sa.make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def stall(self) -> None:
        """Stop forwarding (sockets stay open)."""
        self._stalled.set()

    def resume(self) -> None:
        """Forward again."""
        self._stalled.clear()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                t = threading.Thread(target=self._pump, args=(a, b), daemon=True)
                t.start()
                self._threads.append(t)

    def _pump(self, src: Any, dst: Any) -> None:
        src.settimeout(0.1)
        while not self._closing.is_set():
            if self._stalled.is_set():
                self._closing.wait(0.05)
                continue
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass

    def close(self) -> None:
        """Close the listener and every proxied socket; join the threads."""
        self._closing.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                try:
                    s.close()
                except OSError:
                    pass
        for t in self._threads:
            t.join(timeout=2)

    def __enter__(self) -> StallingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def proxied_url(url: str, port: int) -> str:
    """``url`` pointing at ``127.0.0.1:<port>`` (a proxy in front of its server)."""
    import sqlalchemy as sa

    return sa.make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


@dataclass
class ProxiedDatabase:
    """A database behind a `testing.tcpfaults.FaultProxy`.

    Attributes:
        name: ``"postgresql"`` or ``"mariadb"``.
        proxy: The fault proxy.
        url: SQLAlchemy URL that reaches the database through the proxy.
        direct_url: SQLAlchemy URL of the database itself.
    """

    name: str
    proxy: Any
    url: str
    direct_url: str


def _fault_proxy(url: str, name: str) -> Iterator[ProxiedDatabase]:
    import sqlalchemy as sa

    from testing.tcpfaults import FaultProxy

    parsed = sa.make_url(url)
    with FaultProxy((parsed.host or "127.0.0.1", parsed.port or 0), name=name) as proxy:
        yield ProxiedDatabase(name, proxy, proxied_url(url, proxy.port), url)


@pytest.fixture
def pg_fault_proxy(postgres_url: str) -> Iterator[ProxiedDatabase]:
    """The test PostgreSQL behind a fresh `testing.tcpfaults.FaultProxy` (`ProxiedDatabase`)."""
    yield from _fault_proxy(postgres_url, "postgresql")


@pytest.fixture
def mysql_fault_proxy(mysql_url: str) -> Iterator[ProxiedDatabase]:
    """The test MariaDB behind a fresh `testing.tcpfaults.FaultProxy` (`ProxiedDatabase`)."""
    yield from _fault_proxy(mysql_url, "mariadb")
