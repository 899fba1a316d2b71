"""Fixtures and helpers of the async conformance suite."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from typing import Any, TypeVar

import pytest

from remote_store import Backend, FileInfo, FolderEntry, FolderInfo, WriteResult
from remote_store.aio import (
    AsyncAtomicWriter,
    AsyncBackend,
    AsyncBackendSyncAdapter,
    AsyncReadStream,
    AsyncStore,
    AsyncWritableContent,
)
from remote_store_conformance._base import SuiteBase

T = TypeVar("T")

#: Type of an async test body: ``body(store) -> None`` awaited on a fresh event loop.
AsyncBody = Callable[[AsyncStore], Coroutine[Any, Any, None]]


def run(coro: Awaitable[T]) -> T:
    """Run ``coro`` to completion on a fresh event loop (the suite needs no pytest-asyncio)."""

    async def main() -> T:
        return await coro

    return asyncio.run(main())


class CountingBackend(AsyncBackend):
    """Delegates to ``inner`` and counts what the store pulled: listing items and stream closes.

    Used by the laziness and resource tests; every method forwards to the wrapped backend.
    """

    def __init__(self, inner: AsyncBackend) -> None:
        self.inner = inner
        self.listings_started = 0
        self.items_pulled = 0
        self.listings_closed = 0
        self.streams_opened = 0
        self.streams_closed = 0

    TYPE = "counting"

    @property
    def type_name(self) -> str:
        return self.inner.type_name

    @property
    def capabilities(self) -> Any:
        return self.inner.capabilities

    @property
    def options(self) -> dict[str, Any]:
        return {"inner": self.inner}

    def translate_error(self, exc: Exception, key: str | None) -> Any:
        return self.inner.translate_error(exc, key)

    async def exists(self, key: str) -> bool:
        return await self.inner.exists(key)

    async def is_folder(self, key: str) -> bool:
        return await self.inner.is_folder(key)

    async def open_read(self, key: str) -> AsyncReadStream:
        stream = await self.inner.open_read(key)
        self.streams_opened += 1
        outer = self

        class Counted(AsyncReadStream):
            async def read(self, n: int = -1) -> bytes:
                return await stream.read(n)

            async def aclose(self) -> None:
                outer.streams_closed += 1
                await stream.aclose()

        return Counted()

    async def write(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        return await self.inner.write(key, content, overwrite=overwrite, metadata=metadata)

    async def write_atomic(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        return await self.inner.write_atomic(key, content, overwrite=overwrite, metadata=metadata)

    async def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AsyncAtomicWriter:
        return await self.inner.open_atomic(key, overwrite=overwrite, metadata=metadata)

    async def delete(self, key: str, *, missing_ok: bool = False) -> None:
        await self.inner.delete(key, missing_ok=missing_ok)

    async def stat(self, key: str) -> FileInfo:
        return await self.inner.stat(key)

    async def folder_info(self, key: str) -> FolderInfo:
        return await self.inner.folder_info(key)

    async def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        return await self.inner.collect_garbage(prefix, older_than=older_than)

    async def _count(self, it: AsyncIterator[T]) -> AsyncIterator[T]:
        self.listings_started += 1
        try:
            async for item in it:
                self.items_pulled += 1
                yield item
        finally:
            self.listings_closed += 1
            aclose = getattr(it, "aclose", None)
            if aclose is not None:
                await aclose()

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> AsyncIterator[FileInfo]:
        return self._count(self.inner.iter_files(prefix, recursive=recursive, max_depth=max_depth))

    def iter_folders(self, prefix: str) -> AsyncIterator[str]:
        return self._count(self.inner.iter_folders(prefix))

    def iter_children(self, prefix: str) -> AsyncIterator[FileInfo | FolderEntry]:
        return self._count(self.inner.iter_children(prefix))

    def glob(self, pattern: str) -> AsyncIterator[FileInfo]:
        return self._count(self.inner.glob(pattern))

    async def aclose(self) -> None:
        await self.inner.aclose()


class AsyncSuiteBase(SuiteBase):
    """Fixtures of the async suite. Authors subclass `AsyncBackendConformance`.

    Fixture an author provides:
        async_backend: **Required.** Return (or yield) a fresh `remote_store.aio.AsyncBackend`
            whose root is empty and unique to the test. Do not close it: the suite closes it
            on the event loop that used it. A sync backend runs as ``SyncBackendAdapter(b)``.
        unreachable_async_backend: Optional. Yield an async backend whose service cannot be reached.

    Class attributes of the sync suite (``xfail_tests``, ``shares_state_across_processes``,
    ``rebuilt_backend_shares_files``) apply as documented on `SuiteBase`.
    """

    @pytest.fixture
    def async_backend(self) -> Iterator[AsyncBackend]:
        """Abstract: the subclass must override this fixture."""
        pytest.fail(
            f"{type(self).__name__} must define an `async_backend` fixture returning a fresh remote_store.aio.AsyncBackend",
            pytrace=False,
        )
        yield  # pragma: no cover

    @pytest.fixture
    def backend(self, async_backend: AsyncBackend) -> Iterator[Backend]:
        """The sync suite's ``backend``: the async backend behind `AsyncBackendSyncAdapter`."""
        adapter = AsyncBackendSyncAdapter(async_backend)
        yield adapter
        adapter.close()

    @pytest.fixture
    def unreachable_async_backend(self) -> Iterator[AsyncBackend | None]:
        """Optional: yield an async backend whose service cannot be reached; the sync suite's
        unreachable-service tests then run on it through `AsyncBackendSyncAdapter`. None skips them."""
        yield None

    @pytest.fixture
    def unreachable_backend(self, unreachable_async_backend: AsyncBackend | None) -> Iterator[Backend | None]:
        """The sync suite's ``unreachable_backend``: ``unreachable_async_backend`` behind the adapter."""
        if unreachable_async_backend is None:
            yield None
            return
        adapter = AsyncBackendSyncAdapter(unreachable_async_backend)
        yield adapter
        adapter.close()

    @pytest.fixture
    def arun(self, async_backend: AsyncBackend, store_root: str) -> Callable[[AsyncBody], None]:
        """``arun(body)``: await ``body(AsyncStore(async_backend, store_root))`` on a fresh loop, then aclose."""

        def _run(body: AsyncBody, backend: AsyncBackend | None = None) -> None:
            target = backend or async_backend

            async def main() -> None:
                store = AsyncStore(target, store_root)
                try:
                    await body(store)
                finally:
                    await target.aclose()

            asyncio.run(main())

        return _run


def unique() -> str:
    """A short unique name for a test file."""
    return uuid.uuid4().hex[:10]
