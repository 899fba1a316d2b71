"""The remote-store conformance suite against JsonDirBackend."""

import json

import pytest

from remote_store import RemoteStoreError
from remote_store_conformance import BackendConformance
from remote_store_jsondir import JsonDirBackend


class TestJsonDirConformance(BackendConformance):
    @pytest.fixture
    def backend(self, tmp_path):
        b = JsonDirBackend(root=tmp_path / "docs")
        yield b
        b.close()

    @pytest.fixture
    def native_errors(self):
        # What translate_error maps: a corrupt document names its key.
        return [(json.JSONDecodeError("Expecting value", "", 0), RemoteStoreError)]
