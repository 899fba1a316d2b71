"""`AsyncMemoryBackend`: the in-process async test double."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, TypeVar

from remote_store._models import WriteResult
from remote_store.aio._streams import AsyncWritableContent, read_content
from remote_store.aio._sync_adapter import SyncBackendAdapter
from remote_store.backends import MemoryBackend

T = TypeVar("T")


class AsyncMemoryBackend(SyncBackendAdapter):
    """Files held in memory in this process, served by coroutines that never block or use threads.

    The semantics are exactly `remote_store.backends.MemoryBackend`'s (it holds one and calls
    it inline: every operation is a short in-memory step under one lock): hierarchical
    folders that stay after their last file is deleted, user metadata, md5 etags, every
    capability except GLOB and LAZY_READ. Write content is collected before the single
    atomic insert, so a cancelled or failing write never leaves a partial file.

    Args:
        name: Optional shared-namespace name: async and sync memory backends with the same
            ``name`` in one process see the same files. None (default) gives a private namespace.
    """

    TYPE = "memory"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(MemoryBackend(name))
        self._name = name

    @property
    def options(self) -> dict[str, Any]:
        """``{"name": name}`` when a shared name was given, else ``{}``."""
        return {"name": self._name} if self._name is not None else {}

    def __repr__(self) -> str:
        return f"AsyncMemoryBackend(name={self._name!r})"

    async def _run(self, fn: Callable[..., T], *args: Any, _held: bool = False, **kwargs: Any) -> T:
        return fn(*args, **kwargs)

    async def _run_to_end(
        self, fn: Callable[..., T], *args: Any, on_cancel: Callable[[], None] | None = None, _held: bool = False
    ) -> T:
        return fn(*args)

    async def _write(
        self, fn: Callable[..., WriteResult], key: str, content: AsyncWritableContent, **kw: Any
    ) -> WriteResult:
        data = await read_content(content)
        return fn(key, io.BytesIO(data), **kw)

    async def aclose(self) -> None:
        """Nothing to release (the files stay, as with `MemoryBackend.close`)."""
        self._sync.close()
