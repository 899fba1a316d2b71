"""``remote_store.aio``: the asyncio API of remote-store.

Import it explicitly (``import remote_store`` never loads it)::

    from remote_store.aio import AsyncMemoryBackend, AsyncStore

    async with AsyncStore(AsyncMemoryBackend()) as store:
        await store.write("a.txt", b"hi")
        async with store.read("a.txt") as f:
            data = await f.read()

`AsyncBackend` is the contract native async backends implement; `SyncBackendAdapter`
runs any sync `remote_store.Backend` in async code (a bounded thread pool) and
`AsyncBackendSyncAdapter` runs an `AsyncBackend` from sync code (a dedicated loop thread).
`open_store_async` opens a store by name or URL, natively async where the backend's
plugin registers an async class. ``AsyncAzureBackend`` is importable from here when
remote-store-azure provides it.
"""

from __future__ import annotations

from typing import Any

from remote_store.aio._async_adapter import AsyncBackendSyncAdapter
from remote_store.aio._backend import AsyncBackend, SpooledAsyncAtomicWriter
from remote_store.aio._handles import AsyncAtomicWriteHandle, ReadOpener
from remote_store.aio._memory import AsyncMemoryBackend
from remote_store.aio._store import AsyncStore
from remote_store.aio._streams import (
    CHUNK_SIZE,
    AsyncAtomicWriter,
    AsyncReadStream,
    AsyncWritableContent,
    BytesAsyncReadStream,
)
from remote_store.aio._sync_adapter import SyncBackendAdapter, WriteCancelled

#: Names from modules of this package loaded on first access (they import the plugin host).
_LAZY = {
    "build_async_backend": "remote_store.aio._open:build_async_backend",
    "open_store_async": "remote_store.aio._open:open_store_async",
}
#: Native async backends of plugin wheels, reachable here by class name → backend type.
_PLUGIN_CLASSES = {"AsyncAzureBackend": "azure"}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is not None:
        import importlib

        module_name, _, attr = target.partition(":")
        value = getattr(importlib.import_module(module_name), attr)
    elif name in _PLUGIN_CLASSES:
        # Found through the plugin host (`BackendSpec.async_target`), never by a hard-coded module.
        from remote_store._plugins._host import get_plugin_host
        from remote_store.errors import ConfigError

        try:
            value = get_plugin_host().backend_spec(_PLUGIN_CLASSES[name]).load_async()
        except ConfigError as exc:
            raise ImportError(f"cannot import {name} from remote_store.aio: {exc.message}") from None
        if value is None:
            raise ImportError(
                f"cannot import {name}: the installed '{_PLUGIN_CLASSES[name]}' plugin registers no async class"
            )
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


__all__ = [
    "AsyncAtomicWriteHandle",
    "AsyncAtomicWriter",
    "AsyncBackend",
    "AsyncBackendSyncAdapter",
    "AsyncMemoryBackend",
    "AsyncReadStream",
    "AsyncStore",
    "AsyncWritableContent",
    "BytesAsyncReadStream",
    "CHUNK_SIZE",
    "ReadOpener",
    "SpooledAsyncAtomicWriter",
    "SyncBackendAdapter",
    "WriteCancelled",
    "build_async_backend",
    "open_store_async",
]
