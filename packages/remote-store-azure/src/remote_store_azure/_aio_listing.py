"""Listings of `AsyncAzureBackend`: List Blobs pages as async iterators, glob, folder deletes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob.aio import BlobPrefix

from remote_store import FileInfo
from remote_store.errors import DirectoryNotEmpty, InvalidPath, NotFound
from remote_store.kit import compile_glob
from remote_store_azure._aio_base import AsyncAzureBase
from remote_store_azure._errors import BACKEND
from remote_store_azure._metadata import is_folder_blob
from remote_store_azure._names import unaddressable

#: Blob metadata comes with every listing (ADLS folder blobs are recognised by it).
_INCLUDE = ["metadata"]
#: Blobs per Blob Batch delete request (the service's limit).
BATCH_DELETE = 256
#: Single Delete Blob requests in flight when a batch cannot be used.
DELETE_CONCURRENCY = 16

log = logging.getLogger("remote_store.azure")


class AsyncAzureListing(AsyncAzureBase):
    """The listing half of `AsyncAzureBackend` (pages are fetched as the caller iterates)."""

    async def _listing(self, start: str, *, flat: bool) -> AsyncIterator[Any]:
        cc = await self._cc()
        pages: AsyncIterator[Any]
        if flat:
            pages = cc.list_blobs(name_starts_with=start or None, include=_INCLUDE)
        else:
            pages = cc.walk_blobs(name_starts_with=start or None, delimiter="/", include=_INCLUDE)
        async for item in pages:
            yield item

    async def iter_files(
        self, prefix: str, *, recursive: bool, max_depth: int | None = None
    ) -> AsyncIterator[FileInfo]:
        """List Blobs below ``prefix`` page by page (``delimiter="/"`` unless recursive), with metadata.

        Folder blobs are skipped; unaddressable names are counted in `unaddressable_count`
        and logged once. A missing prefix yields nothing.
        """
        start = self._root + (prefix + "/" if prefix else "")
        async for item in self._listing(start, flat=recursive and (max_depth is None or max_depth > 1)):
            if isinstance(item, BlobPrefix):
                continue
            key = self._file_key(item, start)
            if key is not None:
                yield self._info(key, item)

    async def iter_folders(self, prefix: str) -> AsyncIterator[str]:
        """Direct subfolders of ``prefix``: List Blobs ``delimiter="/"`` prefixes, plus ADLS folder blobs."""
        start = self._root + (prefix + "/" if prefix else "")
        seen: set[str] = set()  # a folder can be a prefix and a folder blob at once: yield it once
        async for item in self._listing(start, flat=False):
            name: str = item.name
            if not name.startswith(start) or name == start:
                continue
            if isinstance(item, BlobPrefix):
                key = name[len(self._root) : -1]
            elif is_folder_blob(item.metadata):
                key = name[len(self._root) :]
            else:
                continue
            if key in seen:
                continue
            seen.add(key)
            if unaddressable(key):
                self._report(name)
                continue
            yield key

    async def glob(self, pattern: str) -> AsyncIterator[FileInfo]:
        """Match ``pattern`` against keys, listing only blobs that start with its literal prefix.

        The literal part before the first wildcard (``"logs/2024-*"`` lists ``logs/2024-``) is
        the List Blobs prefix; a pattern without ``**`` and without ``/`` after its first
        wildcard is listed with ``delimiter="/"``. Folder blobs never match.
        """
        pattern = pattern.strip("/")
        regex = compile_glob(pattern)
        cut = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=len(pattern))
        literal, rest = pattern[:cut], pattern[cut:]
        async for item in self._listing(self._root + literal, flat="**" in pattern or "/" in rest):
            if isinstance(item, BlobPrefix):
                continue
            key = self._file_key(item, self._root)
            if key is not None and regex.fullmatch(key):
                yield self._info(key, item)

    async def _own_folder_blob(self, key: str) -> str | None:
        """ETag of the ADLS folder blob named ``key`` itself, or None."""
        blob = await self._blob(key)
        try:
            props = await blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        return props.etag if is_folder_blob(props.metadata) else None

    async def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every blob below ``key`` (Blob Batch deletes of up to 256 blobs), folder blobs
        (``name/`` markers, ADLS folder blobs, ``key``'s own) and unaddressable names included;
        folder blobs go last, deepest first.

        Raises:
            NotFound: ``key`` is not a folder.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False and files or subfolders lie below ``key``.
        """
        start = self._root + key + "/"
        own = await self._own_folder_blob(key)
        folders: list[str] = []
        found = own is not None
        if not recursive:
            async for item in self._listing(start, flat=False):
                if isinstance(item, BlobPrefix) or item.name != start:
                    raise DirectoryNotEmpty("folder is not empty", path=key, backend=BACKEND)
                folders.append(item.name)
                found = True
        else:
            batch: list[str] = []
            async for item in self._listing(start, flat=True):
                found = True
                if (item.name.endswith("/") and not item.size) or is_folder_blob(item.metadata):
                    folders.append(item.name)
                    continue
                batch.append(item.name)
                if len(batch) == BATCH_DELETE:
                    await self._delete_names(batch)
                    batch = []
            if batch:
                await self._delete_names(batch)
        if not found:
            if await self.exists(key):
                raise InvalidPath("not a folder", path=key, backend=BACKEND)
            raise NotFound("folder not found", path=key, backend=BACKEND)
        folders.sort(key=lambda n: n.rstrip("/").count("/"), reverse=True)
        for i in range(0, len(folders), BATCH_DELETE):
            await self._delete_names(folders[i : i + BATCH_DELETE])
        if own is not None:
            blob = await self._blob(key)
            try:
                await blob.delete_blob(etag=own, match_condition=MatchConditions.IfNotModified)
            except (ResourceNotFoundError, ResourceModifiedError):
                pass

    async def _delete_names(self, names: list[str]) -> None:
        """Delete ``names`` with one Blob Batch request; every name the batch did not answer with
        202/404 (an emulator may refuse the whole batch with one 400) is deleted on its own,
        `DELETE_CONCURRENCY` at a time."""
        cc = await self._cc()
        left = names
        if len(names) > 1 and not self._clients.hns:  # HNS accounts take no Blob Batch requests
            responses = await cc.delete_blobs(*names, delete_snapshots="include", raise_on_any_failure=False)
            statuses = [response.status_code async for response in responses]
            if len(statuses) == len(names):
                left = [name for name, status in zip(names, statuses) if status not in (202, 404)]
            elif statuses:
                log.debug("azure: Blob Batch answered %d of %d deletes; deleting one by one", len(statuses), len(names))
        gate = asyncio.Semaphore(DELETE_CONCURRENCY)

        async def delete_one(name: str) -> None:
            async with gate:
                try:
                    await cc.delete_blob(name, delete_snapshots="include")
                except ResourceNotFoundError:
                    pass

        await asyncio.gather(*(delete_one(name) for name in left))

    async def exists(self, key: str) -> bool:
        """Whether a blob named ``key`` exists and is a file (Get Blob Properties)."""
        return await self._blob_is(key, folder=False)

    async def is_folder(self, key: str) -> bool:
        """Whether ``key`` is a folder: a blob name starts with ``key/`` (List Blobs, one result),
        or else the blob ``key`` is an ADLS folder blob (one Get Blob Properties more)."""
        if not key:
            return True
        return await self._has_children(key) or await self._blob_is(key, folder=True)
