"""The async conformance suite for ``sql-blob`` through SyncBackendAdapter: SQLite (CI), PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from remote_store.aio import AsyncBackend, SyncBackendAdapter
from remote_store_conformance.aio import AsyncBackendConformance, AsyncStoreTests
from remote_store_sql import SQLBlobBackend
from testing.servers.sql import unique_prefix

#: The whole sync suite through both adapters runs by default, in CI too (issue 13);
#: ``REMOTE_STORE_AIO_FULL=0`` skips it in a quick local run.
FULL = os.environ.get("REMOTE_STORE_AIO_FULL", "1") != "0"


def _fresh(url: str) -> Iterator[AsyncBackend]:
    backend = SQLBlobBackend(url, table_prefix=unique_prefix())
    yield SyncBackendAdapter(backend, max_workers=8)
    try:
        backend.drop_tables()
    finally:
        backend.close()


class TestSqliteAsyncConformance(AsyncStoreTests):
    @pytest.fixture
    def async_backend(self, tmp_path: Path) -> Iterator[AsyncBackend]:
        yield from _fresh(f"sqlite:///{tmp_path / 'store.db'}")


class TestPostgresAsyncConformance(AsyncStoreTests):
    @pytest.fixture
    def async_backend(self, postgres_url: str) -> Iterator[AsyncBackend]:
        yield from _fresh(postgres_url)


@pytest.mark.skipif(
    not FULL, reason="full async-adapter run of the sync suite on SQLite skipped by REMOTE_STORE_AIO_FULL=0"
)
class TestSqliteAsyncFullConformance(AsyncBackendConformance):
    @pytest.fixture
    def async_backend(self, tmp_path: Path) -> Iterator[AsyncBackend]:
        yield from _fresh(f"sqlite:///{tmp_path / 'store.db'}")
