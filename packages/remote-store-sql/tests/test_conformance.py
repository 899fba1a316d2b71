"""The remote-store conformance suite for ``sql-blob`` on SQLite (file and in-memory), PostgreSQL and MariaDB."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import make_url

from remote_store.errors import AlreadyExists, BackendUnavailable, RemoteStoreError
from remote_store_conformance import BackendConformance
from remote_store_sql import SQLBlobBackend
from testing.servers.sql import unique_prefix


def _fresh(url: str, **options: object) -> Iterator[SQLBlobBackend]:
    backend = SQLBlobBackend(url, table_prefix=unique_prefix(), **options)  # type: ignore[arg-type]
    yield backend
    try:
        backend.drop_tables()
    finally:
        backend.close()


class TestSqliteFileConformance(BackendConformance):
    """A SQLite file per test (WAL mode; shared by threads and processes)."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLBlobBackend]:
        yield from _fresh(f"sqlite:///{tmp_path / 'store.db'}")


class TestSqliteMemoryConformance(BackendConformance):
    """A private in-memory SQLite database (one connection shared by every thread)."""

    shares_state_across_processes: ClassVar[bool] = False
    rebuilt_backend_shares_files: ClassVar[bool] = False  # anonymous: a rebuild is a new, empty store

    @pytest.fixture
    def backend(self) -> Iterator[SQLBlobBackend]:
        yield from _fresh("sqlite://")


class TestSqliteSmallChunksConformance(BackendConformance):
    """SQLite with 1 KiB chunk rows, so most suite files span several chunks (lazy ranged reads)."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLBlobBackend]:
        yield from _fresh(f"sqlite:///{tmp_path / 'store.db'}", chunk_size=1024)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


#: SQLAlchemy exceptions and what the SQL backends must map them to.
NATIVE_ERRORS: list[tuple[Exception, type[RemoteStoreError]]] = [
    (sa_exc.TimeoutError("QueuePool limit reached"), BackendUnavailable),
    (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key value")), AlreadyExists),
    (sa_exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused")), BackendUnavailable),
]


class TestPostgresConformance(BackendConformance):
    """PostgreSQL at REMOTE_STORE_TEST_PG_URL, unique tables per test."""

    @pytest.fixture
    def backend(self, postgres_url: str) -> Iterator[SQLBlobBackend]:
        yield from _fresh(postgres_url)

    @pytest.fixture
    def native_errors(self) -> list[tuple[Exception, type[RemoteStoreError]]]:
        return NATIVE_ERRORS

    @pytest.fixture
    def unreachable_backend(self, postgres_url: str) -> Iterator[SQLBlobBackend]:
        dead = make_url(postgres_url).set(host="127.0.0.1", port=_closed_port())
        backend = SQLBlobBackend(
            dead.render_as_string(hide_password=False), table_prefix=unique_prefix(), connect_timeout=2
        )
        yield backend
        backend.close()


class TestMariaDBConformance(BackendConformance):
    """MariaDB at REMOTE_STORE_TEST_MYSQL_URL, unique tables per test."""

    @pytest.fixture
    def backend(self, mysql_url: str) -> Iterator[SQLBlobBackend]:
        yield from _fresh(mysql_url)
