"""`Store`: the portable, folder-scoped file API over one backend."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import IO, Any, NoReturn, TypeVar

from remote_store import _path, _policy
from remote_store._backend import AtomicWriter, Backend, FolderTally
from remote_store._capabilities import Capability
from remote_store._content import SourceReader, WritableContent, source_stream
from remote_store._models import FileInfo, FolderEntry, FolderInfo, ResolutionPlan, WriteResult
from remote_store._streams import GuardedStream, error_cause, guard_iter
from remote_store.errors import (
    AlreadyExists,
    NotFound,
    RemoteStoreError,
)

T = TypeVar("T")
B = TypeVar("B", bound=Backend)


class AtomicWriteHandle(io.RawIOBase):
    """The writable stream `Store.open_atomic` yields. After a clean exit, `result` holds the `WriteResult`."""

    def __init__(self, writer: AtomicWriter, translate: Callable[[Exception], RemoteStoreError]) -> None:
        self._writer = writer
        self._translate = translate
        self.result: WriteResult | None = None
        self.bytes_written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        """Append ``data`` (bytes-like); returns its length in bytes.

        Raises:
            TypeError: ``data`` is a str.
        """
        if isinstance(data, str):
            raise TypeError("open_atomic() streams take bytes; encode text first")
        chunk = bytes(data)
        try:
            self._writer.write(chunk)
        except RemoteStoreError:
            raise
        except Exception as exc:
            raise self._translate(exc) from exc
        self.bytes_written += len(chunk)
        return len(chunk)


class Store(_policy.PolicyStore):
    """A folder of files on some backend; every path is relative to ``root_path``.

    Args:
        backend: The `Backend` doing the I/O (shared by `child` stores).
        root_path: Folder inside the backend this store is rooted at (``""`` = backend root).
        strict_keys: Refuse non-canonical paths (``a//b``, ``/a``, ``./a``, ``a/.``) with
            `InvalidPath` instead of normalising them, for buckets that hold such keys natively
            (where ``a//b`` and ``a/b`` are two objects). Inherited by `child` stores.

    Raises:
        InvalidPath: ``root_path`` contains ``..`` or NUL.

    Every method raises only `remote_store.errors` classes (plus ``TypeError`` for a wrong
    argument type). Paths are ``/``-separated and relative; ``..`` segments are refused, so
    no path can reach outside ``root_path``. Every path a method returns is store-relative
    and can be passed straight back in.
    """

    __slots__ = ("_backend", "_root")

    _backend: Backend

    def __init__(self, backend: Backend, root_path: str = "", *, strict_keys: bool = False) -> None:
        if not isinstance(backend, Backend):
            raise TypeError(f"Store needs a remote_store.Backend, got {type(backend).__name__}")
        self._root = _policy.store_root(root_path, strict_keys)
        # Links met under root_path resolve beneath it (see Backend.scoped; default: backend itself).
        self._backend = backend.scoped(self._root)

    # ------------------------------------------------------------------ plumbing
    @property
    def backend(self) -> Backend:
        """The underlying backend (shared with child stores)."""
        return self._backend.unscoped

    def _rel(self, key: str) -> str:
        return _policy.rel(self._root, key)

    def _translate(self, exc: Exception, path: str | None) -> RemoteStoreError:
        return _policy.translate(self._backend, self._root, exc, path)

    def _call(self, path: str | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise self._translate(exc, path) from error_cause(exc)

    def _write_call(self, path: str, source: SourceReader | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`_call` for writes: an error raised by the caller's own content stream is re-raised unchanged."""
        try:
            return self._call(path, fn, *args, **kwargs)
        except RemoteStoreError:
            if source is not None and source.error is not None:
                raise source.error from None
            raise

    def _iter(self, path: str | None, it_factory: Callable[[], Iterator[T]]) -> Iterator[T]:
        def translate(exc: Exception) -> RemoteStoreError:
            return self._translate(exc, path)

        it = self._call(path, it_factory)
        return guard_iter(it, translate)

    def _check_metadata(self, metadata: Mapping[str, str] | None, path: str) -> dict[str, str]:
        return _policy.check_metadata(self._backend, metadata, path)

    def _result(self, result: WriteResult, metadata: Mapping[str, str]) -> WriteResult:
        return _policy.result(self._root, result, metadata)

    def _info(self, info: FileInfo) -> FileInfo:
        return _policy.info(self._root, info)

    # ------------------------------------------------------------------ ungated
    def exists(self, path: str) -> bool:
        """Whether a file exists at ``path`` (False for folders and for the store root ``""``).

        Raises:
            InvalidPath: ``path`` is malformed.
            BackendUnavailable: The service cannot be reached.
        """
        key = _policy.probe_key(self._root, path)
        return key is not None and bool(self._call(path, self._backend.exists, key))

    def is_file(self, path: str) -> bool:
        """Whether ``path`` is a file (False for the store root ``""``). Raises as `exists`."""
        key = _policy.probe_key(self._root, path)
        return key is not None and bool(self._call(path, self._backend.is_file, key))

    def is_folder(self, path: str) -> bool:
        """Whether ``path`` is a folder. Raises as `exists`.

        The store root ``""`` always is one, also for a `child` store whose folder holds
        nothing yet (no I/O is done for it).
        """
        key = _policy.probe_key(self._root, path)
        return key is None or bool(self._call(path, self._backend.is_folder, key))

    def ping(self) -> None:
        """Check the backend is reachable.

        Raises:
            BackendUnavailable: It is not (network, credentials, service down).
        """
        self._call(None, self._backend.ping)

    def close(self) -> None:
        """Release the backend's connections. The backend is shared with `child` stores."""
        self._call(None, self._backend.close)

    def child(self, subpath: str) -> Store:
        """Return a store rooted at ``subpath`` below this one, sharing the backend. No I/O.

        Raises:
            InvalidPath: ``subpath`` is malformed, has ``..`` (it can never leave this root),
                or is the root itself (``""``, ``"/"``): use this store.
        """
        return Store(self._backend, _policy.child_root(self._root, subpath), strict_keys=self.strict_keys)

    def unwrap(self, type_hint: type[B]) -> B:
        """Return the backend if it is an instance of ``type_hint``.

        Raises:
            CapabilityNotSupported: The backend is of another type.
        """
        backend = self._backend.unscoped
        return _policy.unwrap(backend, type_hint, backend.type_name)

    def resolve(self, path: str) -> ResolutionPlan:
        """Describe how ``path`` maps onto the backend; no I/O.

        Secrets are masked in ``options`` and ``native_path``: `Secret` values, URL/DSN
        passwords, credential query parameters and credential header values.

        Raises:
            InvalidPath: ``path`` is malformed.
        """
        return _policy.resolution_plan(self._backend, self._root, path)

    def native_path(self, path: str) -> str:
        """The backend-native name of ``path`` (filesystem path, ``s3://bucket/key`` …). No I/O.

        Raises:
            InvalidPath: ``path`` is malformed.
        """
        return self._backend.native_path(self._key(path, allow_root=True))

    def to_key(self, native: str) -> str:
        """Turn a backend-native path back into a store-relative path.

        Raises:
            InvalidPath: ``native`` lies outside this store's root.
        """
        key = self._call(native, self._backend.to_key, native)
        key = _path.normalize_path(key)
        return self._rel(key)

    # ------------------------------------------------------------------ READ
    def read(self, path: str) -> IO[bytes]:
        """Open ``path`` for reading; lazy where the backend declares LAZY_READ. Close it after use.

        Raises:
            CapabilityNotSupported: No READ.
            NotFound: No such file.
            InvalidPath: ``path`` is malformed or a folder.
        """
        self._require(Capability.READ, path)
        key = self._key(path)
        raw = self._call(path, self._backend.open_read, key)
        return GuardedStream(raw, lambda exc: self._translate(exc, path))  # type: ignore[return-value]

    def read_bytes(self, path: str) -> bytes:
        """Return the whole file as bytes. Raises as `read`."""
        self._require(Capability.READ, path)
        return self._call(path, self._backend.read_bytes, self._key(path))

    def read_text(self, path: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Return the whole file decoded with ``encoding``.

        Raises:
            UnicodeDecodeError: The bytes are not valid ``encoding`` (with ``errors="strict"``).
            RemoteStoreError: Otherwise as `read` (the same `remote_store.errors` classes).
        """
        return self.read_bytes(path).decode(encoding, errors)

    def read_seekable(self, path: str) -> IO[bytes]:
        """Open ``path`` as a seekable stream (native where SEEKABLE_READ, else spooled to a temp file).

        Raises as `read`.
        """
        self._require(Capability.READ, path)
        key = self._key(path)
        raw = self._call(path, self._backend.open_read_seekable, key)
        return GuardedStream(raw, lambda exc: self._translate(exc, path))  # type: ignore[return-value]

    # ------------------------------------------------------------------ WRITE
    def write(
        self,
        path: str,
        content: WritableContent,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write ``content`` (bytes-like, a binary stream read from its current position,
        or an iterable of byte chunks) to ``path``. Streams are never loaded whole.

        A failed write leaves any previous file intact.

        Raises:
            CapabilityNotSupported: No WRITE, or non-empty ``metadata`` without USER_METADATA.
            AlreadyExists: A file exists and ``overwrite`` is False.
            InvalidPath: ``path`` is malformed, the root, a folder, or below a file.
            TypeError: ``content`` is a str or not bytes/stream/iterable.
        """
        self._require(Capability.WRITE, path)
        key = self._key(path)
        meta = self._check_metadata(metadata, path)
        stream, source = source_stream(content)
        result = self._write_call(path, source, self._backend.write, key, stream, overwrite=overwrite, metadata=meta)
        return self._result(result, meta)

    def write_text(
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
        return self.write(path, text.encode(encoding), overwrite=overwrite, metadata=metadata)

    # ------------------------------------------------------------------ ATOMIC_WRITE
    def write_atomic(
        self,
        path: str,
        content: WritableContent,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write so that no reader sees a partial file; if ``content`` raises part-way,
        nothing is left behind and the previous file stays intact.

        Raises:
            CapabilityNotSupported: No ATOMIC_WRITE (or metadata without USER_METADATA).
            RemoteStoreError: Otherwise as `write` (the same `remote_store.errors` classes).
        """
        self._require(Capability.ATOMIC_WRITE, path)
        key = self._key(path)
        meta = self._check_metadata(metadata, path)
        stream, source = source_stream(content)
        result = self._write_call(
            path, source, self._backend.write_atomic, key, stream, overwrite=overwrite, metadata=meta
        )
        return self._result(result, meta)

    @contextmanager
    def open_atomic(
        self,
        path: str,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> Iterator[AtomicWriteHandle]:
        """Stream an atomic write: ``with store.open_atomic("a.bin") as f: f.write(b"...")``.

        The file appears only when the block exits cleanly; then ``f.result`` is the
        `WriteResult`. If the block raises, nothing is published and the exception propagates.

        Raises:
            CapabilityNotSupported: No ATOMIC_WRITE (or metadata without USER_METADATA).
            AlreadyExists: ``overwrite`` is False and the file exists (at open or at commit).
            InvalidPath: As `write`.
        """
        self._require(Capability.ATOMIC_WRITE, path)
        key = self._key(path)
        meta = self._check_metadata(metadata, path)
        if not overwrite and self.exists(path):
            raise AlreadyExists("file exists", path=path, backend=self._backend.type_name)
        writer = self._call(path, self._backend.open_atomic, key, overwrite=overwrite, metadata=meta)
        handle = AtomicWriteHandle(writer, lambda exc: self._translate(exc, path))
        try:
            yield handle
        except BaseException:
            try:
                writer.abort()
            except Exception:
                pass
            raise
        result = self._call(path, writer.commit)
        handle.result = self._result(result, meta)

    # ------------------------------------------------------------------ DELETE
    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Delete the file at ``path``.

        Raises:
            CapabilityNotSupported: No DELETE.
            NotFound: No such file and ``missing_ok`` is False.
            InvalidPath: ``path`` is malformed, the root, or a folder.
        """
        self._require(Capability.DELETE, path)
        key = self._key(path)
        try:
            self._call(path, self._backend.delete, key, missing_ok=missing_ok)
        except NotFound:
            if not missing_ok:
                raise

    def delete_folder(self, path: str, *, recursive: bool = False, missing_ok: bool = False) -> None:
        """Delete the folder at ``path`` (with everything below it when ``recursive``).

        Raises:
            CapabilityNotSupported: No DELETE.
            InvalidPath: ``path`` is the store root or a file.
            DirectoryNotEmpty: It holds entries and ``recursive`` is False.
            NotFound: No such folder and ``missing_ok`` is False.
        """
        key = _policy.delete_folder_key(self._backend, self._root, path)
        try:
            self._call(path, self._backend.delete_folder, key, recursive=recursive)
        except NotFound:
            if not missing_ok:
                raise

    # ------------------------------------------------------------------ LIST
    def list_files(
        self,
        path: str = "",
        *,
        recursive: bool = False,
        max_depth: int | None = None,
        pattern: str | None = None,
    ) -> Iterator[FileInfo]:
        """Yield `FileInfo` for the files in folder ``path``, lazily.

        Args:
            path: Folder to list (``""`` = store root). A missing folder yields nothing.
            recursive: Descend into subfolders.
            max_depth: How many folder levels to descend below the immediate children:
                ``0`` = only the files directly in ``path``, ``N`` = also files down to
                ``N`` subfolder levels below it (inclusive: ``1`` reaches ``path/a/x``).
                Giving it implies ``recursive``; None = no limit.
            pattern: fnmatch pattern applied to the file's name (basename), case-sensitive.

        Raises:
            CapabilityNotSupported: No LIST.
            InvalidPath: ``path`` is malformed, or ``max_depth`` is negative (`InvalidPath`
                is also a ``ValueError``).
            TypeError: ``max_depth`` is not an int.

        Maps to the backend's listing call (S3 ``ListObjectsV2``, ``os.scandir`` …) with a
        depth hint, so a shallow listing need not walk the whole tree.
        """
        prefix, recursive, limit = _policy.listing(self._backend, self._root, path, recursive, max_depth)
        return self._list_files(path, prefix, recursive, limit, pattern)

    @staticmethod
    def _levels(max_depth: int | None, path: str) -> int | None:
        return _policy.levels(max_depth, path)

    def _list_files(
        self, path: str, prefix: str, recursive: bool, levels: int | None, pattern: str | None
    ) -> Iterator[FileInfo]:
        base_depth = _path.depth(prefix)
        it = self._iter(path, lambda: self._backend.iter_files(prefix, recursive=recursive, max_depth=levels))
        for info in it:
            if _policy.keep_file(prefix, base_depth, levels, pattern, info):
                yield self._info(info)

    def list_folders(
        self,
        path: str = "",
        *,
        recursive: bool = False,
        max_depth: int | None = None,
        pattern: str | None = None,
    ) -> Iterator[str]:
        """Yield store-relative paths of the subfolders of ``path``, lazily.

        Args:
            path: Folder to list (``""`` = store root).
            recursive: Also yield folders below the immediate subfolders (depth-first).
            max_depth: Levels to descend below the immediate subfolders: ``0`` = only
                them, ``N`` = down to ``N`` levels below them (inclusive). Implies
                ``recursive``; None = no limit.
            pattern: fnmatch pattern applied to the folder's name.

        Raises:
            CapabilityNotSupported: No LIST.
            InvalidPath: ``path`` is malformed, or ``max_depth`` is negative (also a ``ValueError``).
            TypeError: ``max_depth`` is not an int.

        One backend folder listing (S3 ``ListObjectsV2`` with ``Delimiter='/'`` …) per folder visited.
        """
        prefix, recursive, limit = _policy.listing(self._backend, self._root, path, recursive, max_depth)
        return self._list_folders(path, prefix, recursive, limit, pattern, 1)

    def _list_folders(
        self, path: str, prefix: str, recursive: bool, levels: int | None, pattern: str | None, level: int
    ) -> Iterator[str]:
        # Depth-first, pre-order, without recursion (a 1,000-deep tree must not hit Python's
        # recursion limit). Before descending, the rest of a folder's direct subfolders is read
        # into a list, so no backend iterator (a directory fd, an SFTP handle) stays open per level.
        first = self._iter(path, lambda: self._backend.iter_folders(prefix))
        stack: list[tuple[Iterator[str], int, bool]] = [(first, level, False)]
        while stack:
            it, lvl, drained = stack[-1]
            key = next(it, None)
            if key is None:
                stack.pop()
                continue
            if _policy.keep_folder(key, pattern):
                yield self._rel(key)
            if _policy.descend(recursive, levels, lvl):
                if not drained:
                    stack[-1] = (iter(list(it)), lvl, True)
                sub = self._iter(path, lambda k=key: self._backend.iter_folders(k))  # type: ignore[misc]
                stack.append((sub, lvl + 1, False))

    def iter_children(self, path: str = "") -> Iterator[FileInfo | FolderEntry]:
        """Yield the direct children of folder ``path``: `FolderEntry` for folders, `FileInfo` for files.

        Raises:
            CapabilityNotSupported: No LIST.
            InvalidPath: ``path`` is malformed.
        """
        return self._children(path, _policy.children_prefix(self._backend, self._root, path))

    def _children(self, path: str, prefix: str) -> Iterator[FileInfo | FolderEntry]:
        for entry in self._iter(path, lambda: self._backend.iter_children(prefix)):
            yield self._info(entry) if isinstance(entry, FileInfo) else _policy.folder_entry(self._root, entry)

    # ------------------------------------------------------------------ GLOB
    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Yield files whose store-relative path matches ``pattern``: ``*`` (within a
        segment), ``**`` (any number of segments), ``?`` (one character), ``[abc]``.

        Raises:
            CapabilityNotSupported: No GLOB (use ``remote_store_ext.glob`` as a portable fallback).
            InvalidPath: ``pattern`` contains ``..`` or NUL.
        """
        self._require(Capability.GLOB, pattern)
        return self._glob(pattern, _policy.glob_pattern(self._root, pattern))

    def _glob(self, pattern: str, full: str) -> Iterator[FileInfo]:
        for info in self._iter(pattern, lambda: self._backend.glob(full)):
            if _policy.keep_glob(self._root, info):
                yield self._info(info)

    # ------------------------------------------------------------------ MOVE / COPY
    def _not_a_file(self, exc: NotFound, path: str, key: str) -> NoReturn:
        """Error path of a file operation that got `NotFound`: one `is_folder` probe tells a
        missing file (``exc`` is re-raised) from a folder given where a file is needed."""
        if key and self._call(path, self._backend.is_folder, key):
            raise _policy.folder_not_file(self._backend, path) from exc
        raise exc

    def _same_file(self, src: str, key: str) -> None:
        """Self move/copy: succeed without I/O beyond one existence check."""
        if not self._call(src, self._backend.exists, key):
            missing = _policy.source_missing(self._backend, src)
            self._not_a_file(missing, src, key)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Move (rename) a file within this store. Moving a file onto itself is a no-op.

        Atomic where the backend declares ATOMIC_MOVE, else copy + delete (backend ``move``:
        ``os.replace``, SFTP ``posix-rename``, S3 ``CopyObject`` + ``DeleteObject`` …).

        Raises:
            CapabilityNotSupported: No MOVE.
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: A path is malformed or the root, or ``src`` is a folder.
            ContentChanged: ``src`` was replaced during the move (backends that pin the source
                version, e.g. GCS); ``dst`` is not written and ``src`` is kept.
        """
        self._require(Capability.MOVE, src)
        s, d = self._key(src), self._key(dst)
        if s == d:
            self._same_file(src, s)
            return
        try:
            self._call(src, self._backend.move, s, d, overwrite=overwrite)
        except NotFound as exc:
            self._not_a_file(exc, src, s)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Copy a file within this store (server-side where the backend can: S3 ``CopyObject``,
        Azure ``Copy Blob``). Copying a file onto itself is a no-op, whatever ``overwrite``.

        Raises:
            CapabilityNotSupported: No COPY.
            NotFound: ``src`` does not exist.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: A path is malformed or the root, or ``src`` is a folder.
            ContentChanged: ``src`` was replaced during the copy (backends that pin the source
                version, e.g. GCS); ``dst`` is not written.
        """
        self._require(Capability.COPY, src)
        s, d = self._key(src), self._key(dst)
        if s == d:
            self._same_file(src, s)
            return
        try:
            self._call(src, self._backend.copy, s, d, overwrite=overwrite)
        except NotFound as exc:
            self._not_a_file(exc, src, s)

    # ------------------------------------------------------------------ METADATA
    def head(self, path: str) -> WriteResult:
        """Return the file's metadata as a `WriteResult` without reading content.

        Raises:
            CapabilityNotSupported: No METADATA.
            NotFound: No such file.
            InvalidPath: ``path`` is malformed, the root, or a folder.
        """
        return _policy.head_result(self.get_file_info(path))

    def get_file_info(self, path: str) -> FileInfo:
        """Return the file's `FileInfo` (size, modification time, etag, metadata).

        One backend ``stat`` (S3 ``HeadObject``, ``os.stat`` …); only when it reports a
        missing file does one ``is_folder`` probe decide between `NotFound` and `InvalidPath`.

        Raises:
            CapabilityNotSupported: No METADATA.
            NotFound: No such file.
            InvalidPath: ``path`` is malformed, the root, or a folder.
        """
        self._require(Capability.METADATA, path)
        key = self._key(path)
        try:
            info = self._call(path, self._backend.stat, key)
        except NotFound as exc:
            self._not_a_file(exc, path, key)
        return self._info(info)

    def get_folder_info(self, path: str = "", *, max_depth: int | None = None) -> FolderInfo:
        """Return file count, total bytes and newest modification time below folder ``path``.

        Args:
            path: Folder to aggregate (``""`` = the store root, which always exists: an
                empty store gives zero counts).
            max_depth: Count only files down to this many levels below the immediate
                children, as in `list_files` (``0`` = files directly in ``path``); None =
                the whole subtree.

        Raises:
            CapabilityNotSupported: No METADATA (or, with ``max_depth``, no LIST).
            NotFound: No such folder.
            InvalidPath: ``path`` is malformed or a file; ``max_depth`` is negative.
            TypeError: ``max_depth`` is not an int.

        Maps to the backend's ``folder_info`` (a recursive listing, or one SQL aggregate);
        with ``max_depth``, to a depth-limited `list_files`.
        """
        self._require(Capability.METADATA, path)
        levels = self._levels(max_depth, path)
        rel = _policy.norm(self._root, path)
        key = _path.join_key(self._root, rel)
        try:
            if levels is None:
                info = self._call(path, self._backend.folder_info, key)
            else:
                self._require(Capability.LIST, path)
                info = self._depth_info(path, key, levels)
        except NotFound as exc:
            if not rel:
                return _policy.empty_folder_info()
            if self._call(path, self._backend.exists, key):
                raise _policy.file_not_folder(self._backend, path) from exc
            raise
        return _policy.folder_result(self._root, info)

    def _depth_info(self, path: str, key: str, levels: int) -> FolderInfo:
        tally = FolderTally()
        for info in self._list_files(path, key, True, levels, None):
            tally.add(info)
        if tally.count == 0 and not self._call(path, self._backend.is_folder, key):
            raise _policy.folder_missing(self._backend, path)
        return tally.result(key)

    # ------------------------------------------------------------------ maintenance
    def collect_garbage(self, path: str = "", *, older_than: float = 3600.0) -> int:
        """Remove leftovers of killed atomic writers (temp files) below folder ``path``.

        Backends that publish through temp files (local, SFTP) sweep their own recognisable
        temp names; others have nothing to collect and return 0. Live writers are safe as
        long as ``older_than`` exceeds the longest write.

        Args:
            path: Folder to sweep recursively (``""`` = the store root).
            older_than: Only remove leftovers last modified more than this many seconds ago.

        Returns:
            How many leftovers were removed.

        Raises:
            CapabilityNotSupported: No DELETE.
            InvalidPath: ``path`` is malformed; ``older_than`` is negative or not a number.
        """
        self._require(Capability.DELETE, path)
        seconds = _policy.older_than_seconds(older_than, path)
        key = self._key(path, allow_root=True)
        return int(self._call(path, self._backend.collect_garbage, key, older_than=seconds))

    # ------------------------------------------------------------------ protocol
    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        strict = ", strict_keys=True" if self.strict_keys else ""
        return f"Store({self._backend!r}, root_path={str(self._root)!r}{strict})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Store)
            and other._backend.unscoped is self._backend.unscoped
            and other._root == self._root
            and other.strict_keys == self.strict_keys
        )

    def __hash__(self) -> int:
        return hash((id(self._backend.unscoped), self._root))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_policy.rebuild_store, (Store, self._backend.unscoped, str(self._root), self.strict_keys))
