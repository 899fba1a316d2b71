"""The remote-store conformance suite against JsonDirBackend."""

import pytest

from remote_store_conformance import BackendConformance
from remote_store_jsondir import JsonDirBackend


class TestJsonDirConformance(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path):
        b = JsonDirBackend(root=tmp_path / "docs")
        yield b
        b.close()
