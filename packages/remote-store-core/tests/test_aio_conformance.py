"""The async conformance suite on AsyncMemoryBackend and on LocalBackend / MemoryBackend through SyncBackendAdapter."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest

from remote_store.aio import AsyncBackend, AsyncMemoryBackend, SyncBackendAdapter
from remote_store.backends import LocalBackend
from remote_store_conformance.aio import AsyncBackendConformance


class TestAsyncMemoryConformance(AsyncBackendConformance):
    shares_state_across_processes: ClassVar[bool] = False
    rebuilt_backend_shares_files: ClassVar[bool] = False

    @pytest.fixture
    def async_backend(self) -> AsyncBackend:
        return AsyncMemoryBackend()


class TestLocalThroughSyncAdapterConformance(AsyncBackendConformance):
    @pytest.fixture
    def async_backend(self, tmp_path: Path) -> AsyncBackend:
        return SyncBackendAdapter(LocalBackend(root=tmp_path / "root"), max_workers=8)
