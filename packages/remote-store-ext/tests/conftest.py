"""Stores for the extension tests: memory, local disk, S3 (moto server) and sql-blob (SQLite).

``store`` is parametrised over all four; ``s3_store`` / ``sql_store`` give one kind. Server
fixtures come from ``testing/servers`` (loaded by the root conftest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store
from remote_store.backends import LocalBackend, MemoryBackend
from testing.servers.s3 import MotoS3Server

KINDS = ["memory", "local", "s3", "sqlite"]


@pytest.fixture
def s3_store(s3_server: MotoS3Server, s3_bucket: str) -> Iterator[Store]:
    """A store on a fresh moto S3 bucket."""
    from remote_store_s3 import S3Backend

    backend = S3Backend(**s3_server.backend_options(s3_bucket))
    yield Store(backend)
    backend.close()


@pytest.fixture
def sql_store(sql_blob_sqlite: Callable[..., Any]) -> Store:
    """A store on a sql-blob backend in a fresh SQLite file."""
    return Store(sql_blob_sqlite())


@pytest.fixture
def local_store(tmp_path: Path) -> Store:
    """A store on a fresh local folder."""
    return Store(LocalBackend(tmp_path / "store"))


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """One store of each kind in turn."""
    kind = request.param
    if kind == "memory":
        return Store(MemoryBackend())
    if kind == "local":
        return Store(LocalBackend(tmp_path / "store"))
    if kind == "s3":
        return request.getfixturevalue("s3_store")  # type: ignore[no-any-return]
    return request.getfixturevalue("sql_store")  # type: ignore[no-any-return]
