"""``remote_store.aio``: the asyncio API of remote-store.

Import it explicitly (``import remote_store`` never loads it)::

    from remote_store.aio import AsyncStore, AsyncMemoryBackend

    async with AsyncStore(AsyncMemoryBackend()) as store:
        await store.write("a.txt", b"hi")

`AsyncBackend` is the contract native async backends implement; `SyncBackendAdapter`
runs any sync `remote_store.Backend` in async code and `AsyncBackendSyncAdapter` runs an
`AsyncBackend` from sync code.
"""

from __future__ import annotations

from remote_store.aio._backend import AsyncBackend, SpooledAsyncAtomicWriter
from remote_store.aio._streams import (
    CHUNK_SIZE,
    AsyncAtomicWriter,
    AsyncReadStream,
    AsyncWritableContent,
    BytesAsyncReadStream,
)

__all__ = [
    "AsyncAtomicWriter",
    "AsyncBackend",
    "AsyncReadStream",
    "AsyncWritableContent",
    "BytesAsyncReadStream",
    "CHUNK_SIZE",
    "SpooledAsyncAtomicWriter",
]
