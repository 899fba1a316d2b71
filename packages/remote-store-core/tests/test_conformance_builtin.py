"""The conformance suite on the built-in LocalBackend and MemoryBackend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from remote_store import Backend
from remote_store.backends import LocalBackend, MemoryBackend
from remote_store_conformance import BackendConformance


class TestLocalConformance(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path: Path) -> Iterator[Backend]:
        b = LocalBackend(root=tmp_path / "root")
        yield b
        b.close()


class TestMemoryConformance(BackendConformance):
    shares_state_across_processes: ClassVar[bool] = False
    rebuilt_backend_shares_files: ClassVar[bool] = False  # anonymous: a rebuild is a new, empty store

    @pytest.fixture
    def backend(self) -> Iterator[Backend]:
        b = MemoryBackend()
        yield b
        b.close()
