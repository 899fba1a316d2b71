"""The conformance suite against `HttpBackend` over a real Range-capable server on 127.0.0.1.

HTTP is read-only: the suite runs its read, metadata, path and error tests plus the
``CapabilityNotSupported`` checks of every undeclared gate. Test content is placed with the
``seed`` fixture, which writes files straight into the folder the server serves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store.backends import HttpBackend
from remote_store_conformance import BackendConformance
from testing.servers.http import HttpSite


class TestHttpConformance(BackendConformance):
    @pytest.fixture
    def backend(self, http_site: HttpSite) -> Iterator[HttpBackend]:
        b = HttpBackend(http_site.url, block_size=64 * 1024, timeout=10)
        yield b
        b.close()

    @pytest.fixture
    def seed(self, http_site: HttpSite) -> object:
        def _seed(key: str, data: bytes) -> None:
            http_site.write(key, data)

        return _seed


class TestHttpNoRangesConformance(BackendConformance):
    """The same suite against a server that ignores ``Range`` (streaming fallback)."""

    @pytest.fixture
    def backend(self, http_site_no_ranges: HttpSite) -> Iterator[HttpBackend]:
        b = HttpBackend(http_site_no_ranges.url, timeout=10)  # ranges=None: detects the server ignores Range
        yield b
        b.close()

    @pytest.fixture
    def seed(self, http_site_no_ranges: HttpSite) -> object:
        def _seed(key: str, data: bytes) -> None:
            http_site_no_ranges.write(key, data)

        return _seed
