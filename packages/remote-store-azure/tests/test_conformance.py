"""The remote-store conformance suite against Azurite (a fresh container per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store_azure import AzureBackend
from remote_store_conformance import BackendConformance
from testing.servers.azure import AzuriteServer


class TestAzureConformance(BackendConformance):
    """Whole-container root: keys are blob names."""

    @pytest.fixture
    def backend(self, azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
        b = AzureBackend(
            azure_container,
            account_url=azurite.account_url,
            account_key=azurite.account_key,
            retry_total=1,
            retry_backoff=0.1,
        )
        yield b
        b.close()


class TestAzurePrefixConformance(BackendConformance):
    """Backend rooted at a prefix inside the container, with small blocks so the suite's larger
    files (1 MiB and up) go through staged uploads (Put Block + Put Block List).

    ``max_single_put_size`` stays above the 256 KiB payload of the racing-overwrites test:
    on Azure, committing a block list discards every other uncommitted block of that blob,
    so two *staged* uploads racing on one blob name can make the later commit fail with
    ``InvalidBlockList`` (documented in the README). Single Put Blob writes are unaffected.
    """

    @pytest.fixture
    def backend(self, azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
        b = AzureBackend(
            azure_container,
            prefix="base/dir",
            connection_string=azurite.connection_string,
            max_single_put_size=512 * 1024,
            block_size=128 * 1024,
            max_concurrency=3,
            retry_total=1,
            retry_backoff=0.1,
        )
        yield b
        b.close()
