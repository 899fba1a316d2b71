"""The remote-store conformance suite for ``sql-blob`` on SQLite (file and in-memory), PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

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

    @pytest.fixture
    def backend(self) -> Iterator[SQLBlobBackend]:
        yield from _fresh("sqlite://")


class TestSqliteSmallChunksConformance(BackendConformance):
    """SQLite with 1 KiB chunk rows, so most suite files span several chunks (lazy ranged reads)."""

    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[SQLBlobBackend]:
        yield from _fresh(f"sqlite:///{tmp_path / 'store.db'}", chunk_size=1024)


class TestPostgresConformance(BackendConformance):
    """PostgreSQL at REMOTE_STORE_TEST_PG_URL, unique tables per test."""

    @pytest.fixture
    def backend(self, postgres_url: str) -> Iterator[SQLBlobBackend]:
        yield from _fresh(postgres_url)


class TestMariaDBConformance(BackendConformance):
    """MariaDB at REMOTE_STORE_TEST_MYSQL_URL, unique tables per test."""

    @pytest.fixture
    def backend(self, mysql_url: str) -> Iterator[SQLBlobBackend]:
        yield from _fresh(mysql_url)
