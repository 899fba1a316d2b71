"""`ListingOps`: the lazy async listings of `AsyncStore` (list_files, list_folders, iter_children, glob)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from remote_store import _path, _policy
from remote_store._capabilities import Capability
from remote_store._models import FileInfo, FolderEntry
from remote_store.aio._store_base import AsyncStoreBase


class ListingOps(AsyncStoreBase):
    """Listing coroutines of `AsyncStore`; each returns an async iterator that fetches lazily."""

    __slots__ = ()

    # ------------------------------------------------------------------ LIST
    def list_files(
        self, path: str = "", *, recursive: bool = False, max_depth: int | None = None, pattern: str | None = None
    ) -> AsyncIterator[FileInfo]:
        """Async-iterate `FileInfo` for the files in folder ``path``, lazily (as `Store.list_files`).

        Gates and argument checks run at once; the backend listing starts on the first ``__anext__``.

        Raises:
            CapabilityNotSupported: No LIST.
            InvalidPath: ``path`` is malformed, or ``max_depth`` is negative.
            TypeError: ``max_depth`` is not an int.
        """
        prefix, recursive, limit = _policy.listing(self._backend, self._root, path, recursive, max_depth)
        return self._list_files(path, prefix, recursive, limit, pattern)

    async def _list_files(
        self, path: str, prefix: str, recursive: bool, limit: int | None, pattern: str | None
    ) -> AsyncIterator[FileInfo]:
        base_depth = _path.depth(prefix)
        it = self._iter(path, lambda: self._backend.iter_files(prefix, recursive=recursive, max_depth=limit))
        try:
            async for fi in it:
                if _policy.keep_file(prefix, base_depth, limit, pattern, fi):
                    yield _policy.info(self._root, fi)
        finally:
            await it.aclose()

    def list_folders(
        self, path: str = "", *, recursive: bool = False, max_depth: int | None = None, pattern: str | None = None
    ) -> AsyncIterator[str]:
        """Async-iterate store-relative subfolder paths of ``path``, lazily and depth-first (as `Store.list_folders`).

        Raises as `list_files`.
        """
        prefix, recursive, limit = _policy.listing(self._backend, self._root, path, recursive, max_depth)
        return self._list_folders(path, prefix, recursive, limit, pattern)

    async def _list_folders(
        self, path: str, prefix: str, recursive: bool, limit: int | None, pattern: str | None
    ) -> AsyncIterator[str]:
        # Depth-first, pre-order, without recursion (as `Store.list_folders`). Before descending,
        # the rest of a folder's direct subfolders is drained into a list, so at most one backend
        # listing is open at a time; an early exit closes it.
        stack: list[tuple[AsyncGenerator[str, None] | list[str], int]] = []
        stack.append((self._iter(path, lambda: self._backend.iter_folders(prefix)), 1))
        try:
            while stack:
                it, lvl = stack[-1]
                if isinstance(it, list):
                    if not it:
                        stack.pop()
                        continue
                    key = it.pop(0)
                else:
                    try:
                        key = await it.__anext__()
                    except StopAsyncIteration:
                        stack.pop()
                        continue
                if _policy.keep_folder(key, pattern):
                    yield _policy.rel(self._root, key)
                if _policy.descend(recursive, limit, lvl):
                    if not isinstance(it, list):
                        stack[-1] = ([k async for k in it], lvl)
                    sub = self._iter(path, lambda k=key: self._backend.iter_folders(k))  # type: ignore[misc]
                    stack.append((sub, lvl + 1))
        finally:
            for it, _ in stack:
                if not isinstance(it, list):
                    await it.aclose()

    def iter_children(self, path: str = "") -> AsyncIterator[FileInfo | FolderEntry]:
        """Async-iterate the direct children of ``path`` (as `Store.iter_children`); raises as `list_files`."""
        return self._children(path, _policy.children_prefix(self._backend, self._root, path))

    async def _children(self, path: str, prefix: str) -> AsyncIterator[FileInfo | FolderEntry]:
        it = self._iter(path, lambda: self._backend.iter_children(prefix))
        try:
            async for entry in it:
                if isinstance(entry, FileInfo):
                    yield _policy.info(self._root, entry)
                else:
                    yield _policy.folder_entry(self._root, entry)
        finally:
            await it.aclose()

    # ------------------------------------------------------------------ GLOB
    def glob(self, pattern: str) -> AsyncIterator[FileInfo]:
        """Async-iterate files whose store-relative path matches ``pattern`` (as `Store.glob`).

        Raises:
            CapabilityNotSupported: No GLOB.
            InvalidPath: ``pattern`` contains ``..`` or NUL.
        """
        self._require(Capability.GLOB, pattern)
        return self._glob(pattern, _policy.glob_pattern(self._root, pattern))

    async def _glob(self, pattern: str, full: str) -> AsyncIterator[FileInfo]:
        it = self._iter(pattern, lambda: self._backend.glob(full))
        try:
            async for fi in it:
                if _policy.keep_glob(self._root, fi):
                    yield _policy.info(self._root, fi)
        finally:
            await it.aclose()
