"""The remote-store conformance suite against Azurite (a fresh container per test), in both modes.

Flat (the default: no placement requests, `Capability.HIERARCHICAL` not declared) and
hierarchical (``hierarchical=True``: "a key is a file or a folder, never both" enforced and
declared). The suite gates its placement tests on the flag, so each mode runs the tests that
describe it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store import Capability
from remote_store_azure import AzureBackend
from remote_store_conformance import BackendConformance
from testing.servers.azure import AzuriteServer


class TestAzureConformance(BackendConformance):
    """Flat mode at the defaults, whole-container root: keys are blob names."""

    @pytest.fixture
    def backend(self, azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
        b = AzureBackend(
            azure_container,
            account_url=azurite.account_url,
            account_key=azurite.account_key,
            retries=1,
            retry_backoff=0.1,
        )
        assert Capability.HIERARCHICAL not in b.capabilities
        yield b
        b.close()


class TestAzureHierarchicalConformance(BackendConformance):
    """Hierarchical mode, whole-container root."""

    @pytest.fixture
    def backend(self, azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
        b = AzureBackend(
            azure_container,
            account_url=azurite.account_url,
            account_key=azurite.account_key,
            hierarchical=True,
            retry_total=1,
            retry_backoff=0.1,
        )
        assert Capability.HIERARCHICAL in b.capabilities
        yield b
        b.close()


class TestAzurePrefixStagedConformance(BackendConformance):
    """Hierarchical mode (through the former option names ``strict_paths`` / ``retry_total``) below a prefix, with
    small blocks so every write above 64 KiB — the racing-overwrites test's 256 KiB payloads
    included — is a staged upload (Put Block + Put Block List)."""

    @pytest.fixture
    def backend(self, azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
        b = AzureBackend(
            azure_container,
            prefix="base/dir",
            connection_string=azurite.connection_string,
            max_single_put_size=64 * 1024,
            block_size=64 * 1024,
            max_concurrency=3,
            strict_paths=True,
            retry_total=1,
            retry_backoff=0.1,
        )
        assert b.hierarchical and b.options.get("hierarchical") is True and "strict_paths" not in b.options
        yield b
        b.close()
