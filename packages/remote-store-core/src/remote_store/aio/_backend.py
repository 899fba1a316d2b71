"""The `AsyncBackend` ABC: the contract a native asyncio storage adapter implements.

It mirrors `remote_store.Backend` method for method — same names, same keyword
arguments, same key rules, same errors — with ``async def`` for every call that does
I/O. Listings (`iter_files`, `iter_folders`, `iter_children`, `glob`) are plain methods
returning an `AsyncIterator`; `open_read` returns an `AsyncReadStream`; writes take
`AsyncWritableContent` (``bytes`` or an async iterator of chunks); `open_atomic`
returns an `AsyncAtomicWriter`. `capabilities`, `type_name`, `options` and
`translate_error` stay synchronous. `AsyncStore` applies all the portable policy
(paths, root prefix, capability gates, error translation) before a key arrives here.

Third-party authors subclass `AsyncBackend`, set `TYPE` and `CAPABILITIES`, implement
the abstract methods, and run the async suite of ``remote-store-conformance``.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import IO, Any

from remote_store import _path
from remote_store._backend import SPOOL_MAX_MEMORY, BackendIdentity, FolderTally, compile_glob, glob_base
from remote_store._models import FileInfo, FolderEntry, FolderInfo, WriteResult
from remote_store.aio._streams import (
    CHUNK_SIZE,
    AsyncAtomicWriter,
    AsyncReadStream,
    AsyncWritableContent,
    BytesAsyncReadStream,
)
from remote_store.errors import AlreadyExists, DirectoryNotEmpty, InvalidPath, NotFound, RemoteStoreError


class SpooledAsyncAtomicWriter(AsyncAtomicWriter):
    """Portable `AsyncAtomicWriter`: spools chunks, then calls `AsyncBackend.write_atomic`.

    Up to `SPOOL_MAX_MEMORY` bytes stay in memory; beyond that the spool is a local temp
    file written and read in a worker thread, so the event loop never waits on disk.
    """

    def __init__(self, backend: AsyncBackend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._backend = backend
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._chunks: list[bytes] = []
        self._size = 0
        self._file: IO[bytes] | None = None
        self._done = False

    async def write(self, data: bytes) -> int:
        """Append ``data`` to the spool; return ``len(data)``.

        Raises:
            RemoteStoreError: The writer was already committed or aborted.
        """
        if self._done:
            raise RemoteStoreError("write on a finished atomic writer", path=self._key)
        data = bytes(data)
        if self._file is None and self._size + len(data) > SPOOL_MAX_MEMORY:
            import tempfile  # lazily: keeps `import remote_store.aio` cheap

            self._file = await asyncio.to_thread(tempfile.TemporaryFile)
            chunks, self._chunks = self._chunks, []
            await asyncio.to_thread(self._file.writelines, chunks)
        if self._file is not None:
            await asyncio.to_thread(self._file.write, data)
        else:
            self._chunks.append(data)
        self._size += len(data)
        return len(data)

    async def _replay(self) -> AsyncIterator[bytes]:
        if self._file is None:
            for chunk in self._chunks:
                yield chunk
            return
        await asyncio.to_thread(self._file.seek, 0)
        while chunk := await asyncio.to_thread(self._file.read, 1024 * 1024):
            yield chunk

    async def commit(self) -> WriteResult:
        """Send the spooled content through `AsyncBackend.write_atomic` and return its result."""
        if self._done:
            raise RemoteStoreError("commit on a finished atomic writer", path=self._key)
        try:
            return await self._backend.write_atomic(
                self._key, self._replay(), overwrite=self._overwrite, metadata=self._metadata
            )
        finally:
            await self.abort()

    async def abort(self) -> None:
        """Drop the spool (memory and temp file). Idempotent."""
        self._done = True
        self._chunks = []
        if self._file is not None:
            self._file.close()
            self._file = None


class AsyncBackend(BackendIdentity):
    """Base class of every native async storage backend.

    **Keys, folders, errors, capabilities** follow `remote_store.Backend` exactly: keys
    are validated, ``/``-separated and relative to the backend root (``""`` only for
    folder operations); raise `remote_store.errors` classes where the meaning is known and
    put native mapping in `translate_error`; `AsyncStore` refuses gated calls before any
    I/O, so a method for an undeclared capability is never called.

    **Pickling.** An instance pickles by configuration: `__reduce__` rebuilds it from
    `options` (clients are recreated lazily in the new process).

    **Concurrency.** One instance serves every `AsyncStore` built on it and many
    concurrent tasks on one event loop. Create clients lazily inside a coroutine (they
    bind to the running loop) and release them in `aclose`. Never block the loop: wrap
    any blocking call in ``asyncio.to_thread``.

    **Cancellation.** A cancelled `write`/`write_atomic` or an aborted
    `AsyncAtomicWriter` leaves no partial file and no staged upload or temp file behind;
    a cancelled read releases its connection.

    Subclasses must set `TYPE` and implement: `exists`, `is_folder`, `open_read`,
    `write`, `delete`, `iter_files`, `iter_folders`, `stat`, and `options`.
    Everything else has a portable default built on those.
    """

    # ------------------------------------------------------------------ identity (sync)
    # `TYPE`, `CAPABILITIES`, `type_name`, `capabilities`, `options` (abstract), the default
    # `native_path` / `to_key`, pickling and repr come from `remote_store._backend.BackendIdentity`, shared with `Backend`.

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map a native exception to a `remote_store.errors` class, or return None (portable mapping).

        Called by `AsyncStore` for every non-remote-store exception raised by this backend,
        including from streams and iterators it returned. Never put credentials in the message.
        """
        return None

    def scoped(self, prefix: str) -> AsyncBackend:
        """Return the backend an `AsyncStore` rooted at folder ``prefix`` does its I/O through.

        The async twin of `remote_store.Backend.scoped`: a view whose keys below ``prefix``
        resolve beneath ``prefix`` itself (so a link under the store's root cannot reach a
        sibling folder). No I/O. Default: ``self``. `SyncBackendAdapter` returns an adapter
        over the sync backend's own view, sharing its thread pools.

        Args:
            prefix: Normalised backend key of the store's root folder; ``""`` = the backend root.
        """
        return self

    @property
    def unscoped(self) -> AsyncBackend:
        """The backend a `scoped` view was made from (``self`` for a backend that is no view)."""
        return self

    # ------------------------------------------------------------------ required
    @abc.abstractmethod
    async def exists(self, key: str) -> bool:
        """Whether a *file* exists at ``key`` (False for folders and missing keys)."""

    @abc.abstractmethod
    async def is_folder(self, key: str) -> bool:
        """Whether ``key`` is a folder; ``""`` (the root) always is."""

    @abc.abstractmethod
    async def open_read(self, key: str) -> AsyncReadStream:
        """Open the file for reading; return an `AsyncReadStream` positioned at 0.

        Raises:
            NotFound: No file at ``key``.
            InvalidPath: ``key`` is a folder.
        """

    @abc.abstractmethod
    async def write(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """Store ``content`` (``bytes`` or an async iterator of chunks) at ``key``.

        Intermediate folders are created as needed. A failure or cancellation part-way
        leaves the previous content intact.

        Args:
            key: Target file key (never ``""``).
            content: The bytes, or an async iterator of ``bytes`` chunks (consume it lazily).
            overwrite: When False, raise `AlreadyExists` if a file exists at ``key``.
            metadata: User metadata (empty unless USER_METADATA is declared).

        Returns and raises as `remote_store.Backend.write`.
        """

    @abc.abstractmethod
    async def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete the file at ``key`` (see `Backend.delete` for the ``missing_ok`` contract).

        Raises:
            NotFound: No file at ``key`` and ``missing_ok`` is False.
            InvalidPath: ``key`` is a folder (on HIERARCHICAL backends).
        """

    @abc.abstractmethod
    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> AsyncIterator[FileInfo]:
        """Yield the files below folder ``prefix`` lazily (an async generator).

        Same contract as `Backend.iter_files`: backend keys in ``FileInfo.path``;
        ``max_depth`` counts segments below ``prefix`` (1 = direct children) and is only a
        pruning hint; a missing prefix or a file prefix yields nothing; stream pages.
        """

    @abc.abstractmethod
    def iter_folders(self, prefix: str) -> AsyncIterator[str]:
        """Yield the keys of the direct subfolders of folder ``prefix`` lazily (nothing if missing)."""

    @abc.abstractmethod
    async def stat(self, key: str) -> FileInfo:
        """Return the metadata of the file at ``key`` (``path`` = ``key``).

        Raises:
            NotFound: No file at ``key`` (also fine for a folder; `AsyncStore` then probes
                `is_folder` and reports `InvalidPath`).
        """

    # ------------------------------------------------------------------ optional, portable defaults
    async def is_file(self, key: str) -> bool:
        """Whether ``key`` is a file. Defaults to `exists`."""
        return await self.exists(key)

    async def ping(self) -> None:
        """Check the service is reachable.

        Raises:
            BackendUnavailable: The service cannot be reached or refuses the credentials.
        """
        await self.is_folder("")

    async def aclose(self) -> None:
        """Release clients, connections and pools. Idempotent; a later call may reconnect lazily."""
        return None

    async def read_bytes(self, key: str) -> bytes:
        """Return the whole file. Default: `open_read` and read to the end."""
        async with await self.open_read(key) as stream:
            return await stream.read()

    async def open_read_seekable(self, key: str) -> AsyncReadStream:
        """Return a seekable stream. Default: `open_read` if seekable, else a copy in memory.

        The default copy holds the whole file in memory; backends serving large files
        should return a ranged seekable stream instead.
        """
        stream = await self.open_read(key)
        if stream.seekable():
            return stream
        async with stream:
            data = await stream.read()
        return BytesAsyncReadStream(data)

    async def write_atomic(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """Like `write`, but no reader sees a partial file and a failure leaves nothing behind.

        Default: `write` (correct where single-object writes are all-or-nothing); backends
        whose `write` is not atomic must override this (temp + rename).
        """
        return await self.write(key, content, overwrite=overwrite, metadata=metadata)

    async def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AsyncAtomicWriter:
        """Return an `AsyncAtomicWriter` for streaming atomic writes. Default: `SpooledAsyncAtomicWriter`."""
        return SpooledAsyncAtomicWriter(self, key, overwrite=overwrite, metadata=metadata)

    async def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete the folder ``key`` (never ``""``), as `Backend.delete_folder`.

        Raises:
            NotFound: ``key`` is not a folder.
            DirectoryNotEmpty: ``recursive`` is False and the folder holds entries.
            InvalidPath: ``key`` is a file.
        """
        if not await self.is_folder(key):
            if await self.exists(key):
                raise InvalidPath("not a folder", path=key)
            raise NotFound("folder not found", path=key)
        if not recursive:
            async for _ in self.iter_children(key):
                raise DirectoryNotEmpty("folder is not empty", path=key)
            return
        keys = [info.path async for info in self.iter_files(key, recursive=True)]
        for file_key in keys:
            await self.delete(file_key, missing_ok=True)

    async def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Move a file. Default: `copy` then `delete` (declare ATOMIC_MOVE only for a real rename).

        Raises:
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        await self.copy(src, dst, overwrite=overwrite)
        await self.delete(src)

    async def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Copy a file. Default: stream `open_read` into `write_atomic`.

        Raises:
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        info = await self.stat(src)
        if not overwrite and await self.exists(dst):
            raise AlreadyExists("destination exists", path=dst)
        async with await self.open_read(src) as stream:
            await self.write_atomic(dst, _chunks(stream), overwrite=overwrite, metadata=dict(info.metadata))

    async def glob(self, pattern: str) -> AsyncIterator[FileInfo]:
        """Yield files whose key matches ``pattern`` (same syntax as `Backend.glob`).

        Default: list recursively from the pattern's literal leading folder and match client side.
        """
        regex = compile_glob(pattern)
        base = glob_base(pattern)
        rest = pattern.strip("/").count("/") - (base.count("/") + 1 if base else 0)
        recursive = "**" in pattern or rest > 0
        async for info in self.iter_files(base, recursive=recursive):
            if regex.fullmatch(info.path):
                yield info

    async def iter_children(self, prefix: str) -> AsyncIterator[FileInfo | FolderEntry]:
        """Yield direct subfolders (`FolderEntry`) then files (`FileInfo`) of ``prefix``."""
        async for folder in self.iter_folders(prefix):
            yield FolderEntry(path=folder, name=_path.basename(folder))
        async for info in self.iter_files(prefix, recursive=False):
            yield info

    async def folder_info(self, key: str) -> FolderInfo:
        """Aggregate file count, total bytes and newest modification time below ``key``.

        Raises:
            NotFound: ``key`` is not a folder.
        """
        if not await self.is_folder(key):
            raise NotFound("folder not found", path=key)
        tally = FolderTally()
        async for info in self.iter_files(key, recursive=True):
            tally.add(info)
        return tally.result(key)

    async def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        """Remove this backend's own leftovers below ``prefix`` older than ``older_than`` seconds.

        Returns:
            How many leftovers were removed (default: nothing to collect, 0).
        """
        return 0

    async def __aenter__(self) -> AsyncBackend:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


# Pickles now name `remote_store._backend._rebuild_backend`; this one stays so older pickles load.
def _rebuild_backend(cls: type[AsyncBackend], options: dict[str, Any]) -> AsyncBackend:
    return cls(**options)


async def _chunks(stream: AsyncReadStream) -> AsyncIterator[bytes]:
    while chunk := await stream.read(CHUNK_SIZE):
        yield chunk
