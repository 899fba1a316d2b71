"""The async contract of remote-store: `AsyncBackendConformance`.

Subclass it in a test module and provide an ``async_backend`` fixture returning a fresh
`remote_store.aio.AsyncBackend` (a sync backend runs as ``SyncBackendAdapter(b)``)::

    import pytest
    from remote_store.aio import SyncBackendAdapter
    from remote_store_conformance.aio import AsyncBackendConformance

    class TestMyAsyncConformance(AsyncBackendConformance):
        @pytest.fixture
        def async_backend(self, tmp_path):
            return MyAsyncBackend(root=tmp_path)   # fresh, empty; the suite closes it

The class runs the whole sync suite with the async backend behind
`remote_store.aio.AsyncBackendSyncAdapter` (the same behaviours, not a second copy), plus
the async-only tests of `AsyncStoreTests` driven through `remote_store.aio.AsyncStore` on
a fresh event loop each: every verb as a coroutine, concurrent ``gather`` of reads and
writes, lazy listings, and cancellation (a cancelled write leaves no partial file, a
cancelled read closes its stream). `AsyncStoreTests` alone is the quick variant.
No pytest-asyncio is needed.
"""

from __future__ import annotations

from remote_store_conformance._suite import BackendConformance
from remote_store_conformance.aio._base import AsyncSuiteBase, CountingBackend, run
from remote_store_conformance.aio._tests import AsyncStoreTests


class AsyncBackendConformance(AsyncStoreTests, BackendConformance):
    """The sync suite through `AsyncBackendSyncAdapter` plus `AsyncStoreTests`; provide ``async_backend``."""


__all__ = ["AsyncBackendConformance", "AsyncStoreTests", "AsyncSuiteBase", "CountingBackend", "run"]
