"""The full remote-store conformance suite against fake-gcs-server (fresh bucket per test).

Both placement modes run: the default flat mode (no extra requests; the placement tests skip
because Capability.HIERARCHICAL is not declared) and ``hierarchical=True`` (every placement test
runs), plus the flat mode below a name prefix with a foreign object outside it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store_conformance import BackendConformance
from remote_store_gcs import GCSBackend
from testing.servers.gcs import FakeGCSServer


class TestGCSConformance(BackendConformance):
    """Default options: flat keys."""

    @pytest.fixture
    def backend(self, gcs_server: FakeGCSServer, gcs_bucket: str) -> Iterator[GCSBackend]:
        b = GCSBackend(**gcs_server.backend_options(gcs_bucket))
        assert not b.hierarchical
        yield b
        b.close()


class TestGCSHierarchicalConformance(BackendConformance):
    """``hierarchical=True``: the file/folder placement rules are enforced."""

    @pytest.fixture
    def backend(self, gcs_server: FakeGCSServer, gcs_bucket: str) -> Iterator[GCSBackend]:
        b = GCSBackend(**gcs_server.backend_options(gcs_bucket, hierarchical=True))
        yield b
        b.close()


class TestGCSPrefixedConformance(BackendConformance):
    """A name prefix as the backend root (objects outside it must stay invisible)."""

    @pytest.fixture
    def backend(self, gcs_server: FakeGCSServer, gcs_bucket: str) -> Iterator[GCSBackend]:
        gcs_server.client().bucket(gcs_bucket).blob("outside/other.txt").upload_from_string(b"not ours")
        b = GCSBackend(**gcs_server.backend_options(gcs_bucket, prefix="tenant/a"))
        yield b
        b.close()
