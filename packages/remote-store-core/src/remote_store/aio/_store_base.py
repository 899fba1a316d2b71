"""`AsyncStoreBase`: the plumbing of `AsyncStore` (construction, key policy, error translation)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TypeVar

from remote_store import _policy
from remote_store._backend import Backend
from remote_store._streams import error_cause
from remote_store.aio._backend import AsyncBackend
from remote_store.aio._guard import SourceIter, guarded, guarded_iter
from remote_store.aio._streams import AsyncWritableContent
from remote_store.errors import RemoteStoreError

T = TypeVar("T")


class AsyncStoreBase(_policy.PolicyStore):
    """The state and plumbing `AsyncStore` is built on; see `AsyncStore` for the API."""

    __slots__ = ("_backend", "_root")

    _backend: AsyncBackend

    def __init__(self, backend: AsyncBackend | Backend, root_path: str = "", *, strict_keys: bool = False) -> None:
        if isinstance(backend, Backend):
            from remote_store.aio._sync_adapter import SyncBackendAdapter

            backend = SyncBackendAdapter(backend)
        if not isinstance(backend, AsyncBackend):
            raise TypeError(f"AsyncStore needs a remote_store.aio.AsyncBackend, got {type(backend).__name__}")
        self._backend = backend
        self._root = _policy.store_root(root_path, strict_keys)

    # ------------------------------------------------------------------ plumbing
    @property
    def backend(self) -> AsyncBackend:
        """The underlying async backend (shared with child stores)."""
        return self._backend

    def _translator(self, path: str | None) -> Callable[[Exception], RemoteStoreError]:
        return lambda exc: _policy.translate(self._backend, self._root, exc, path)

    async def _call(self, path: str | None, awaitable: Awaitable[T]) -> T:
        return await guarded(self._translator(path), awaitable)

    async def _write_call(self, path: str, source: SourceIter | None, awaitable: Awaitable[T]) -> T:
        try:
            return await self._call(path, awaitable)
        except RemoteStoreError:
            if source is not None and source.error is not None:
                raise source.error from None
            raise

    def _iter(self, path: str | None, factory: Callable[[], AsyncIterator[T]]) -> AsyncGenerator[T, None]:
        translate = self._translator(path)
        try:
            it = factory()
        except Exception as exc:
            raise translate(exc) from error_cause(exc)
        return guarded_iter(translate, it)

    @staticmethod
    def _content(content: object) -> tuple[AsyncWritableContent, SourceIter | None]:
        if isinstance(content, (bytes, bytearray, memoryview)):
            return bytes(content), None
        if isinstance(content, str):
            raise TypeError("write() takes bytes or an async iterator of bytes; use write_text() for str")
        if isinstance(content, AsyncIterable):
            source = SourceIter(content)
            return source.chunks(), source
        raise TypeError(f"AsyncStore.write() takes bytes or an async iterable of bytes, got {type(content).__name__}")
