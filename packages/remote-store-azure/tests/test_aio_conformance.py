"""The async conformance suite on `AsyncAzureBackend` against Azurite (a fresh container per test).

Two variants keep CI short while covering both modes: flat at the defaults on the whole
container, and hierarchical below a prefix with 64 KiB blocks, so every write above 64 KiB is
a staged upload (Put Block + Put Block List). The suite runs the sync
contract through `AsyncBackendSyncAdapter` and the async-only tests through `AsyncStore`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError, ServiceRequestError

from remote_store import Capability
from remote_store.aio import AsyncBackend
from remote_store.errors import AlreadyExists, BackendUnavailable, NotFound, RemoteStoreError
from remote_store_azure._aio_backend import AsyncAzureBackend
from remote_store_conformance.aio import AsyncBackendConformance
from testing.servers._common import free_port
from testing.servers.azure import AzuriteServer


class TestAsyncAzureConformance(AsyncBackendConformance):
    """Flat mode at the defaults, whole-container root."""

    @pytest.fixture
    def async_backend(self, azurite: AzuriteServer, azure_container: str) -> AsyncBackend:
        b = AsyncAzureBackend(
            azure_container,
            account_url=azurite.account_url,
            account_key=azurite.account_key,
            retry_total=1,
            retry_backoff=0.1,
        )
        assert Capability.HIERARCHICAL not in b.capabilities
        return b

    @pytest.fixture
    def native_errors(self) -> list[tuple[Exception, type[RemoteStoreError]]]:
        return [
            (ServiceRequestError("connection refused"), BackendUnavailable),
            (ResourceNotFoundError("gone"), NotFound),
            (ResourceExistsError("taken"), AlreadyExists),
        ]

    @pytest.fixture
    def unreachable_async_backend(self, azurite: AzuriteServer) -> Iterator[AsyncBackend]:
        port = free_port()  # nothing listens there
        yield AsyncAzureBackend(
            "unreachable",
            account_url=f"http://127.0.0.1:{port}/{azurite.account_name}",
            account_key=azurite.account_key,
            retry_total=0,
            connection_timeout=2,
        )


class TestAsyncAzurePrefixStagedConformance(AsyncBackendConformance):
    """Hierarchical mode below a prefix, with small blocks: writes above 64 KiB are staged uploads."""

    @pytest.fixture
    def async_backend(self, azurite: AzuriteServer, azure_container: str) -> AsyncBackend:
        b = AsyncAzureBackend(
            azure_container,
            prefix="base/dir",
            connection_string=azurite.connection_string,
            max_single_put_size=64 * 1024,
            block_size=64 * 1024,
            max_concurrency=3,
            hierarchical=True,
            retry_total=1,
            retry_backoff=0.1,
        )
        assert Capability.HIERARCHICAL in b.capabilities
        return b
