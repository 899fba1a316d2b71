"""`AsyncStore`: the portable, folder-scoped file API over one `AsyncBackend`, as coroutines."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, NoReturn, TypeVar

from remote_store import _path, _policy
from remote_store._backend import FolderTally
from remote_store._capabilities import Capability
from remote_store._models import FileInfo, FolderInfo, ResolutionPlan, WriteResult
from remote_store._streams import error_cause
from remote_store.aio._guard import GuardedAsyncStream
from remote_store.aio._handles import AsyncAtomicWriteHandle, ReadOpener
from remote_store.aio._store_list import ListingOps
from remote_store.aio._streams import AsyncReadStream, AsyncWritableContent
from remote_store.errors import NotFound

B = TypeVar("B")


class AsyncStore(ListingOps):
    """A folder of files on an async backend; every path is relative to ``root_path``.

    The asyncio twin of `remote_store.Store`: the same methods with the same arguments,
    gates, errors and path policy (both call one shared policy module), as coroutines.
    Listings (`list_files`, `list_folders`, `iter_children`, `glob`) return async
    iterators and fetch lazily; `read` gives an `AsyncReadStream`; `open_atomic` is an
    ``async with`` block.

    Args:
        backend: An `AsyncBackend` (shared by `child` stores). A sync `remote_store.Backend`
            is accepted and wrapped in a `SyncBackendAdapter` (its calls run in a bounded
            thread pool, never on the event loop).
        root_path: Folder inside the backend this store is rooted at (``""`` = backend root).

    Raises:
        InvalidPath: ``root_path`` contains ``..`` or NUL.
        TypeError: ``backend`` is neither an `AsyncBackend` nor a `Backend`.

    Every coroutine raises only `remote_store.errors` classes (plus ``TypeError`` for a
    wrong argument type, and ``asyncio.CancelledError`` when cancelled). ``..`` segments
    are refused, so no path reaches outside ``root_path``; returned paths are store-relative.
    """

    __slots__ = ()

    # ------------------------------------------------------------------ ungated
    async def exists(self, path: str) -> bool:
        """Whether a file exists at ``path`` (False for folders and the store root ``""``).

        Raises:
            InvalidPath: ``path`` is malformed.
            BackendUnavailable: The service cannot be reached.
        """
        key = _policy.probe_key(self._root, path)
        return key is not None and bool(await self._call(path, self._backend.exists(key)))

    async def is_file(self, path: str) -> bool:
        """Whether ``path`` is a file (False for the store root). Raises as `exists`."""
        key = _policy.probe_key(self._root, path)
        return key is not None and bool(await self._call(path, self._backend.is_file(key)))

    async def is_folder(self, path: str) -> bool:
        """Whether ``path`` is a folder; the store root ``""`` always is (no I/O). Raises as `exists`."""
        key = _policy.probe_key(self._root, path)
        return key is None or bool(await self._call(path, self._backend.is_folder(key)))

    async def ping(self) -> None:
        """Check the backend is reachable.

        Raises:
            BackendUnavailable: It is not (network, credentials, service down).
        """
        await self._call(None, self._backend.ping())

    async def aclose(self) -> None:
        """Release the backend's connections (shared with `child` stores). Idempotent."""
        await self._call(None, self._backend.aclose())

    def child(self, subpath: str) -> AsyncStore:
        """Return a store rooted at ``subpath`` below this one, sharing the backend. No I/O.

        Raises:
            InvalidPath: ``subpath`` is malformed, has ``..``, or is the root itself.
        """
        return AsyncStore(self._backend, _policy.child_root(self._root, subpath), strict_keys=self.strict_keys)

    def unwrap(self, type_hint: type[B]) -> B:
        """Return the backend if it is an instance of ``type_hint``, else raise `CapabilityNotSupported` (as `Store.unwrap`)."""
        backend = self._backend.unscoped
        return _policy.unwrap(backend, type_hint, backend.type_name)

    def resolve(self, path: str) -> ResolutionPlan:
        """Describe how ``path`` maps onto the backend (secrets masked); no I/O. As `Store.resolve`."""
        return _policy.resolution_plan(self._backend, self._root, path)

    def native_path(self, path: str) -> str:
        """The backend-native name of ``path``. No I/O. As `Store.native_path`."""
        return self._backend.native_path(self._key(path, allow_root=True))

    def to_key(self, native: str) -> str:
        """Turn a backend-native path back into a store-relative path. No I/O. As `Store.to_key`."""
        translate = self._translator(native)
        try:
            key = self._backend.to_key(native)
        except Exception as exc:
            raise translate(exc) from error_cause(exc)
        return _policy.rel(self._root, _path.normalize_path(key))

    # ------------------------------------------------------------------ READ
    def read(self, path: str) -> ReadOpener:
        """Open ``path`` for reading: ``async with store.read(p) as f`` or ``f = await store.read(p)``.

        Gates and path checks run at once; the backend ``open_read`` runs when awaited.

        Raises:
            CapabilityNotSupported: No READ.
            NotFound: No such file (when awaited).
            InvalidPath: ``path`` is malformed or (when awaited) a folder.
        """
        return self._opener(path, self._backend.open_read)

    async def read_bytes(self, path: str) -> bytes:
        """Return the whole file as bytes. Raises as `read`."""
        self._require(Capability.READ, path)
        return await self._call(path, self._backend.read_bytes(self._key(path)))

    async def read_text(self, path: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Return the whole file decoded with ``encoding``.

        Raises:
            UnicodeDecodeError: The bytes are not valid ``encoding`` (with ``errors="strict"``).
            RemoteStoreError: Otherwise as `read` (the same `remote_store.errors` classes).
        """
        return (await self.read_bytes(path)).decode(encoding, errors)

    def read_seekable(self, path: str) -> ReadOpener:
        """Open ``path`` as a seekable `AsyncReadStream` (native where SEEKABLE_READ, else a copy).

        Raises as `read`.
        """
        return self._opener(path, self._backend.open_read_seekable)

    def _opener(self, path: str, open_raw: Callable[[str], Awaitable[AsyncReadStream]]) -> ReadOpener:
        self._require(Capability.READ, path)
        key = self._key(path)

        async def opener() -> AsyncReadStream:
            raw = await self._call(path, open_raw(key))
            return GuardedAsyncStream(raw, self._translator(path))

        return ReadOpener(opener)

    # ------------------------------------------------------------------ WRITE
    async def write(
        self,
        path: str,
        content: AsyncWritableContent | bytearray | memoryview | AsyncIterable[bytes],
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write ``content`` (bytes-like, or an async iterable of byte chunks, consumed lazily) to ``path``.

        A failed or cancelled write leaves any previous file intact.

        Raises:
            CapabilityNotSupported: No WRITE, or non-empty ``metadata`` without USER_METADATA.
            AlreadyExists: A file exists and ``overwrite`` is False.
            InvalidPath: ``path`` is malformed, the root, a folder, or below a file.
            TypeError: ``content`` is a str or not bytes / async iterable of bytes.
        """
        return await self._write_with(Capability.WRITE, self._backend.write, path, content, overwrite, metadata)

    async def write_text(
        self,
        path: str,
        text: str,
        *,
        encoding: str = "utf-8",
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Encode ``text`` with ``encoding`` and write it. Raises as `write` (and ``UnicodeEncodeError``)."""
        if not isinstance(text, str):
            raise TypeError("write_text() takes a str")
        return await self.write(path, text.encode(encoding), overwrite=overwrite, metadata=metadata)

    async def write_atomic(
        self,
        path: str,
        content: AsyncWritableContent | bytearray | memoryview | AsyncIterable[bytes],
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write so that no reader sees a partial file; a failure or cancellation leaves nothing behind.

        Raises:
            CapabilityNotSupported: No ATOMIC_WRITE (or metadata without USER_METADATA).
            RemoteStoreError: Otherwise as `write` (the same `remote_store.errors` classes).
        """
        return await self._write_with(
            Capability.ATOMIC_WRITE, self._backend.write_atomic, path, content, overwrite, metadata
        )

    async def _write_with(
        self,
        cap: Capability,
        op: Callable[..., Awaitable[WriteResult]],
        path: str,
        content: object,
        overwrite: bool,
        metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        self._require(cap, path)
        key = self._key(path)
        meta = _policy.check_metadata(self._backend, metadata, path)
        data, source = self._content(content)
        result = await self._write_call(path, source, op(key, data, overwrite=overwrite, metadata=meta))
        return _policy.result(self._root, result, meta)

    def open_atomic(
        self, path: str, *, overwrite: bool = False, metadata: Mapping[str, str] | None = None
    ) -> AsyncAtomicWriteHandle:
        """Stream an atomic write: ``async with store.open_atomic("a.bin") as f: await f.write(b"...")``.

        The file appears only when the block exits cleanly; then ``f.result`` is the
        `WriteResult`. If the block raises or is cancelled, the writer is aborted.

        Raises:
            CapabilityNotSupported: No ATOMIC_WRITE (or metadata without USER_METADATA), at once.
            AlreadyExists: ``overwrite`` is False and the file exists (on entry or at commit).
            InvalidPath: As `write`.
        """
        self._require(Capability.ATOMIC_WRITE, path)
        key = self._key(path)
        meta = _policy.check_metadata(self._backend, metadata, path)
        return AsyncAtomicWriteHandle(self, path, key, overwrite=overwrite, metadata=meta)

    # ------------------------------------------------------------------ DELETE
    async def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Delete the file at ``path``. Raises as `Store.delete` (`NotFound` only when not ``missing_ok``)."""
        self._require(Capability.DELETE, path)
        key = self._key(path)
        try:
            await self._call(path, self._backend.delete(key, missing_ok=missing_ok))
        except NotFound:
            if not missing_ok:
                raise

    async def delete_folder(self, path: str, *, recursive: bool = False, missing_ok: bool = False) -> None:
        """Delete the folder at ``path`` (with everything below it when ``recursive``).

        Raises as `Store.delete_folder`: `DirectoryNotEmpty` without ``recursive``, `InvalidPath`
        for the store root or a file, `NotFound` only when not ``missing_ok``.
        """
        key = _policy.delete_folder_key(self._backend, self._root, path)
        try:
            await self._call(path, self._backend.delete_folder(key, recursive=recursive))
        except NotFound:
            if not missing_ok:
                raise

    # ------------------------------------------------------------------ MOVE / COPY
    async def _not_a_file(self, exc: NotFound, path: str, key: str) -> NoReturn:
        if key:
            is_dir: bool = await self._call(path, self._backend.is_folder(key))
            if is_dir:
                raise _policy.folder_not_file(self._backend, path) from exc
        raise exc

    async def _same_file(self, src: str, key: str) -> None:
        if not await self._call(src, self._backend.exists(key)):
            await self._not_a_file(_policy.source_missing(self._backend, src), src, key)

    async def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Move (rename) a file within this store; onto itself is a no-op.

        Raises:
            CapabilityNotSupported: No MOVE.
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: A path is malformed or the root, or ``src`` is a folder.
            ContentChanged: ``src`` was replaced during the move (backends that pin the source
                version, e.g. GCS); ``dst`` is not written and ``src`` is kept.
        """
        await self._transfer(Capability.MOVE, self._backend.move, src, dst, overwrite)

    async def copy(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Copy a file within this store (server-side where the backend can); onto itself is a no-op.

        Raises:
            CapabilityNotSupported: No COPY.
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: A path is malformed or the root, or ``src`` is a folder.
            ContentChanged: ``src`` was replaced during the copy (backends that pin the source
                version, e.g. GCS); ``dst`` is not written.
        """
        await self._transfer(Capability.COPY, self._backend.copy, src, dst, overwrite)

    async def _transfer(
        self, cap: Capability, op: Callable[..., Awaitable[None]], src: str, dst: str, overwrite: bool
    ) -> None:
        self._require(cap, src)
        s, d = self._key(src), self._key(dst)
        if s == d:
            await self._same_file(src, s)
            return
        try:
            await self._call(src, op(s, d, overwrite=overwrite))
        except NotFound as exc:
            await self._not_a_file(exc, src, s)

    # ------------------------------------------------------------------ METADATA
    async def head(self, path: str) -> WriteResult:
        """Return the file's metadata as a `WriteResult` without reading content. Raises as `get_file_info`."""
        return _policy.head_result(await self.get_file_info(path))

    async def get_file_info(self, path: str) -> FileInfo:
        """Return the file's `FileInfo` (one backend ``stat``; one ``is_folder`` probe only on `NotFound`).

        Raises as `Store.get_file_info` (`NotFound` for no such file, `InvalidPath` for a folder).
        """
        self._require(Capability.METADATA, path)
        key = self._key(path)
        try:
            fi = await self._call(path, self._backend.stat(key))
        except NotFound as exc:
            await self._not_a_file(exc, path, key)
        return _policy.info(self._root, fi)

    async def get_folder_info(self, path: str = "", *, max_depth: int | None = None) -> FolderInfo:
        """Return file count, total bytes and newest modification time below folder ``path``.

        Arguments, result and errors as `Store.get_folder_info`.
        """
        self._require(Capability.METADATA, path)
        limit = _policy.levels(max_depth, path)
        rel = _policy.norm(self._root, path)
        key = _path.join_key(self._root, rel)
        try:
            if limit is None:
                fi = await self._call(path, self._backend.folder_info(key))
            else:
                self._require(Capability.LIST, path)
                fi = await self._depth_info(path, key, limit)
        except NotFound as exc:
            if not rel:
                return _policy.empty_folder_info()
            if await self._call(path, self._backend.exists(key)):
                raise _policy.file_not_folder(self._backend, path) from exc
            raise
        return _policy.folder_result(self._root, fi)

    async def _depth_info(self, path: str, key: str, limit: int) -> FolderInfo:
        tally = FolderTally()
        async for fi in self._list_files(path, key, True, limit, None):
            tally.add(fi)
        if tally.count == 0 and not await self._call(path, self._backend.is_folder(key)):
            raise _policy.folder_missing(self._backend, path)
        return tally.result(key)

    # ------------------------------------------------------------------ maintenance
    async def collect_garbage(self, path: str = "", *, older_than: float = 3600.0) -> int:
        """Remove leftovers of killed atomic writers below folder ``path``; return how many.

        Arguments and errors as `Store.collect_garbage`.
        """
        self._require(Capability.DELETE, path)
        seconds = _policy.older_than_seconds(older_than, path)
        key = self._key(path, allow_root=True)
        return int(await self._call(path, self._backend.collect_garbage(key, older_than=seconds)))

    # ------------------------------------------------------------------ protocol
    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        strict = ", strict_keys=True" if self.strict_keys else ""
        return f"AsyncStore({self._backend!r}, root_path={str(self._root)!r}{strict})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AsyncStore)
            and other._backend.unscoped is self._backend.unscoped
            and other._root == self._root
            and other.strict_keys == self.strict_keys
        )

    def __hash__(self) -> int:
        return hash((id(self._backend.unscoped), self._root))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_policy.rebuild_store, (AsyncStore, self._backend.unscoped, str(self._root), self.strict_keys))
