"""Hand any `remote_store.Store` to PyArrow: ``pyarrow_fs(store)`` is a ``pyarrow.fs.PyFileSystem``.

::

    import pyarrow.parquet as pq
    from remote_store_ext.arrow import pyarrow_fs

    fs = pyarrow_fs(store)
    table = pq.read_table("sales/2024.parquet", filesystem=fs, columns=["amount"])

Paths are store-relative (``"a/b.parquet"``; a leading ``/`` is ignored). Reads of
``open_input_file`` are lazy and ranged where the backend declares LAZY_READ /
SEEKABLE_READ (S3, Azure, HTTP, SFTP, local): PyArrow fetches the Parquet footer and
the column chunks it needs, not the whole object. Output streams are atomic: the file
appears only when the stream is closed; a stream whose write failed, or that is
dropped without ``close()`` (a crashed writer, a killed process), publishes nothing.

Folders are implicit on object stores: ``create_dir`` is a no-op and a folder exists
while a file exists below it. Errors are mapped to the exceptions PyArrow expects:
`NotFound` → ``FileNotFoundError``, `AlreadyExists` → ``FileExistsError``,
`PermissionDenied` → ``PermissionError``, `DirectoryNotEmpty` → ``OSError(ENOTEMPTY)``,
`CapabilityNotSupported` → ``NotImplementedError``, a file operation on a folder →
``IsADirectoryError``, listing a file → ``NotADirectoryError``; the original
`remote_store.errors` error is the ``__cause__`` (a `NotFound` / `InvalidPath` made by the
handler where the store answered with an empty listing rather than an error). One exception:
``pq.read_table`` / ``ds.dataset`` on a missing path raise PyArrow's own
``FileNotFoundError(path)`` after ``get_file_info`` reported ``FileType.NotFound`` (as the
``FileSystem`` contract requires), and that one has no cause; ``pq.ParquetFile`` and
``open_input_file`` raise the handler's, chained.

Needs the ``arrow`` extra: ``pip install "remote-store-ext[arrow]"``.
"""

from __future__ import annotations

import contextlib
import errno
import io
from typing import IO, Any

import pyarrow
import pyarrow.fs as pafs

from remote_store import Capability, FileInfo, FolderEntry, Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_ext._fsspec_errors import mapped as _mapped

__all__ = ["StoreFileSystemHandler", "pyarrow_fs"]


def _norm(path: str) -> str:
    return path.strip("/")


class _MappedReader(io.RawIOBase):
    """A store read stream whose lazy errors surface as the native exceptions PyArrow expects."""

    def __init__(self, raw: IO[bytes], path: str) -> None:
        self._raw = raw
        self._path = path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._raw.seekable()

    def read(self, size: int | None = -1) -> bytes:
        with _mapped(self._path):
            return self._raw.read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        with _mapped(self._path):
            return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        if not self.closed:
            try:
                with _mapped(self._path):
                    self._raw.close()
            finally:
                super().close()


class _AtomicOutput(io.RawIOBase):
    """Writes through ``store.open_atomic(path, overwrite=True)``; ``close()`` commits.

    A failed ``write`` aborts the atomic write (a later ``close()`` publishes nothing);
    so does garbage collection of a stream that was never closed."""

    def __init__(self, store: Store, path: str, metadata: dict[str, str] | None) -> None:
        self._path = path
        with _mapped(path):
            self._cm = store.open_atomic(path, overwrite=True, metadata=metadata or None)
            self._handle = self._cm.__enter__()
        self._finished = False

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        if self._finished:
            raise ValueError("I/O operation on closed or aborted stream")
        try:
            with _mapped(self._path):
                return self._handle.write(b)
        except BaseException as exc:
            self._abort(exc)
            raise

    def _abort(self, exc: BaseException) -> None:
        if self._finished:
            return
        self._finished = True
        with contextlib.suppress(BaseException):
            self._cm.__exit__(type(exc), exc, exc.__traceback__)

    def abort(self) -> None:
        """Discard everything written; nothing is published and the stream closes."""
        self._abort(RuntimeError("aborted"))
        super().close()

    def close(self) -> None:
        """Commit: publish the file atomically (``open_atomic``'s commit) and close."""
        if self.closed:
            return
        try:
            if not self._finished:
                self._finished = True
                with _mapped(self._path):
                    self._cm.__exit__(None, None, None)
        finally:
            super().close()

    def __del__(self) -> None:
        # Never commit from the garbage collector: an unclosed stream is an unfinished write.
        try:
            if not self._finished:
                self._abort(RuntimeError("output stream dropped without close()"))
        except AttributeError:  # __init__ failed before the fields existed
            pass


class StoreFileSystemHandler(pafs.FileSystemHandler):  # type: ignore[misc]
    """A ``pyarrow.fs.FileSystemHandler`` over a `Store`; wrap it in ``pyarrow.fs.PyFileSystem``
    (or call `pyarrow_fs`).

    Every method maps to public `Store` calls (named per method). The handler never closes
    the store.

    Args:
        store (Store): Any store; paths given to PyArrow are relative to its root.
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def store(self) -> Store:
        """The wrapped store."""
        return self._store

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreFileSystemHandler) and other._store is self._store

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return id(self._store)

    def get_type_name(self) -> str:
        """``"remote-store+<backend type>"``."""
        return f"remote-store+{self._store.backend.type_name}"

    def normalize_path(self, path: str) -> str:
        """Strip leading and trailing ``/`` (store paths are relative)."""
        return _norm(path)

    # ------------------------------------------------------------------ info
    def _info(self, path: str) -> pafs.FileInfo:
        p = _norm(path)
        if not p:
            return pafs.FileInfo("", pafs.FileType.Directory)
        try:
            with _mapped(p):
                info = self._store.get_file_info(p)
            return self._file(info)
        except (FileNotFoundError, OSError) as exc:
            if not isinstance(exc.__cause__, NotFound | InvalidPath):
                raise
        with _mapped(p):
            is_dir = self._store.is_folder(p)
        return pafs.FileInfo(p, pafs.FileType.Directory if is_dir else pafs.FileType.NotFound)

    @staticmethod
    def _file(info: FileInfo) -> pafs.FileInfo:
        return pafs.FileInfo(info.path, pafs.FileType.File, size=info.size, mtime=info.modified_at)

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        """``Store.get_file_info`` per path, then ``Store.is_folder`` for paths that are no file."""
        return [self._info(p) for p in paths]

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        """List below ``selector.base_dir``: ``Store.iter_children``, or with ``recursive``
        ``Store.list_files(recursive=True)`` (folders derived from the file paths, plus
        ``Store.list_folders`` on HIERARCHICAL stores so empty folders show).

        Raises:
            FileNotFoundError: The folder does not exist and ``allow_not_found`` is False.
            NotADirectoryError: ``base_dir`` is a file.
        """
        base = _norm(selector.base_dir)
        out: list[pafs.FileInfo] = []
        with _mapped(base):
            if selector.recursive:
                dirs: set[str] = set()
                for info in self._store.list_files(base, recursive=True):
                    out.append(self._file(info))
                    parent = info.path.rpartition("/")[0]
                    while parent and parent != base and parent not in dirs:
                        dirs.add(parent)
                        parent = parent.rpartition("/")[0]
                if self._store.supports(Capability.HIERARCHICAL):
                    dirs.update(self._store.list_folders(base, recursive=True))
                out.extend(pafs.FileInfo(d, pafs.FileType.Directory) for d in sorted(dirs))
            else:
                for entry in self._store.iter_children(base):
                    if isinstance(entry, FolderEntry):
                        out.append(pafs.FileInfo(entry.path, pafs.FileType.Directory))
                    else:
                        out.append(self._file(entry))
            if out or not base:
                return out
            if self._store.is_file(base):
                raise NotADirectoryError(errno.ENOTDIR, "not a directory", base) from InvalidPath(
                    "is a file, not a folder", path=base
                )
            if selector.allow_not_found or self._store.is_folder(base):
                return out
        raise FileNotFoundError(errno.ENOENT, "no such folder", base) from NotFound("folder not found", path=base)

    # ------------------------------------------------------------------ folders
    def create_dir(self, path: str, recursive: bool) -> None:
        """No-op: folders are implicit (a folder exists while a file is below it)."""

    def delete_dir(self, path: str) -> None:
        """``Store.delete_folder(path, recursive=True)``.

        Raises:
            FileNotFoundError: No such folder.
        """
        p = _norm(path)
        with _mapped(p):
            self._store.delete_folder(p, recursive=True)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        """Delete everything below folder ``path`` (``Store.delete`` / ``Store.delete_folder``
        per child), keeping the folder itself where folders are real.

        Raises:
            FileNotFoundError: No such folder and ``missing_dir_ok`` is False.
        """
        p = _norm(path)
        with _mapped(p):
            children = list(self._store.iter_children(p))
            if not children and p and not missing_dir_ok and not self._store.is_folder(p):
                raise FileNotFoundError(errno.ENOENT, "no such folder", p) from NotFound("folder not found", path=p)
            for entry in children:
                if isinstance(entry, FolderEntry):
                    self._store.delete_folder(entry.path, recursive=True, missing_ok=True)
                else:
                    self._store.delete(entry.path, missing_ok=True)

    def delete_root_dir_contents(self) -> None:
        """Delete everything in the store (as `delete_dir_contents` on the root)."""
        self.delete_dir_contents("", missing_dir_ok=True)

    # ------------------------------------------------------------------ files
    def delete_file(self, path: str) -> None:
        """``Store.delete``.

        Raises:
            FileNotFoundError: No such file.
            IsADirectoryError: ``path`` is a folder.
        """
        p = _norm(path)
        try:
            with _mapped(p):
                self._store.delete(p)
        except OSError as exc:
            self._raise_if_folder(p, exc)
            raise

    def _raise_if_folder(self, p: str, exc: BaseException) -> None:
        if isinstance(exc.__cause__, NotFound | InvalidPath):
            with _mapped(p):
                is_dir = self._store.is_folder(p)
            if is_dir:
                raise IsADirectoryError(errno.EISDIR, "is a directory", p) from exc.__cause__

    def move(self, src: str, dest: str) -> None:
        """``Store.move(src, dest, overwrite=True)``; a folder moves file by file.

        Raises:
            FileNotFoundError: ``src`` does not exist.
        """
        s, d = _norm(src), _norm(dest)
        with _mapped(s):
            try:
                self._store.move(s, d, overwrite=True)
                return
            except (NotFound, InvalidPath) as exc:
                missing: NotFound | InvalidPath = exc
            files = list(self._store.list_files(s, recursive=True))
            if not files:
                raise FileNotFoundError(errno.ENOENT, "no such file or folder", s) from missing
            for info in files:
                self._store.move(info.path, d + info.path[len(s) :], overwrite=True)

    def copy_file(self, src: str, dest: str) -> None:
        """``Store.copy(src, dest, overwrite=True)`` (server-side where the backend can).

        Raises:
            FileNotFoundError: ``src`` does not exist.
        """
        s, d = _norm(src), _norm(dest)
        with _mapped(s):
            self._store.copy(s, d, overwrite=True)

    def _open_read(self, path: str, seekable: bool) -> pyarrow.NativeFile:
        p = _norm(path)
        try:
            with _mapped(p):
                raw = self._store.read_seekable(p) if seekable else self._store.read(p)
        except OSError as exc:
            self._raise_if_folder(p, exc)
            raise
        return pyarrow.PythonFile(_MappedReader(raw, p), mode="r")

    def open_input_stream(self, path: str) -> pyarrow.NativeFile:
        """``Store.read``: a lazy sequential stream.

        Raises:
            FileNotFoundError: No such file.
            IsADirectoryError: ``path`` is a folder.
        """
        return self._open_read(path, seekable=False)

    def open_input_file(self, path: str) -> pyarrow.NativeFile:
        """``Store.read_seekable``: random access with ranged reads where the backend has
        SEEKABLE_READ (else a spooled local copy).

        Raises:
            FileNotFoundError: No such file.
            IsADirectoryError: ``path`` is a folder.
        """
        return self._open_read(path, seekable=True)

    def open_output_stream(self, path: str, metadata: dict[str, str] | None = None) -> pyarrow.NativeFile:
        """``Store.open_atomic(path, overwrite=True)``: the file appears when the stream closes.

        Args:
            path (str): Store-relative file path.
            metadata (dict[str, str] | None): User metadata (needs USER_METADATA if non-empty).

        Raises:
            NotImplementedError: The store has no ATOMIC_WRITE.
            IsADirectoryError: ``path`` is a folder (on HIERARCHICAL stores).
        """
        p = _norm(path)
        meta = {str(k): str(v) for k, v in metadata.items()} if metadata else None
        return pyarrow.PythonFile(_AtomicOutput(self._store, p, meta), mode="w")

    def open_append_stream(self, path: str, metadata: dict[str, str] | None = None) -> pyarrow.NativeFile:
        """Not supported: stores have no append.

        Raises:
            NotImplementedError: Always.
        """
        raise NotImplementedError("remote-store files cannot be appended to")


def pyarrow_fs(store: Store) -> pafs.PyFileSystem:
    """Return ``pyarrow.fs.PyFileSystem(StoreFileSystemHandler(store))``.

    Args:
        store (Store): Any store; it stays open (the file system never closes it).

    Returns:
        A PyArrow file system usable with ``pyarrow.parquet``, ``pyarrow.dataset``, ``pyarrow.csv``.
    """
    return pafs.PyFileSystem(StoreFileSystemHandler(store))
