"""An fsspec file system over remote-store: ``rs://STORE/path`` for pandas, Dask, xarray …

Two ways to use it::

    import pandas as pd
    pd.read_parquet("rs://reports/2024/sales.parquet")      # store "reports" from config

    from remote_store_ext.fsspec import RemoteStoreFileSystem
    fs = RemoteStoreFileSystem(store=my_store)              # any Store instance
    with fs.open("a/b.csv", "wb") as f: ...
    pd.read_csv("a/b.csv", storage_options=None, filesystem=fs)   # or fs.open(...)

Without ``store``, the first path segment names a store, opened once per process with
``remote_store.open_store(name)`` from the installed config sources (``$REMOTE_STORE_CONFIG``,
``./remote-store.toml`` …). With ``store``, paths are relative to that store's root and
``rs://`` URLs are not needed. The ``rs`` protocol is registered through the
``fsspec.specs`` entry point of ``remote-store-ext``.

Reads are lazy: ``fs.open(path, "rb")`` fetches byte ranges through one seekable stream
(``Store.read_seekable``: ranged GETs where the backend has SEEKABLE_READ). Writes go
through ``Store.open_atomic``: the file appears when the file object is closed cleanly;
a ``with`` block that raises, a file dropped without ``close()``, or ``discard()``
publishes nothing and leaves an existing file intact. On flat stores folders are implicit
(``mkdir`` is a no-op; a folder exists while a file is below it); on hierarchical ones
``mkdir``/``makedirs`` create a real, empty folder. Errors surface as the exceptions
fsspec callers expect (``FileNotFoundError``, ``FileExistsError``, ``IsADirectoryError``,
``PermissionError``, ``NotImplementedError``), with the `remote_store.errors` error as
``__cause__``.

Needs the ``fsspec`` extra: ``pip install "remote-store-ext[fsspec]"``.
"""

from __future__ import annotations

import errno
import os
import threading
import uuid
from datetime import datetime
from typing import IO, Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from remote_store import Capability, FileInfo, FolderEntry, Store
from remote_store.errors import AlreadyExists, InvalidPath, NotFound
from remote_store_ext._fsspec_errors import mapped as _mapped

__all__ = ["RemoteStoreFile", "RemoteStoreFileSystem"]

#: Name prefix of the transient marker `RemoteStoreFileSystem.mkdir` writes to create a folder.
MKDIR_MARKER = ".rs-mkdir-"

_NAMED: dict[tuple[int, str], Store] = {}
_NAMED_LOCK = threading.Lock()


def _named_store(name: str) -> Store:
    """``remote_store.open_store(name)``, once per process and name."""
    key = (os.getpid(), name)
    with _NAMED_LOCK:
        store = _NAMED.get(key)
        if store is None:
            import remote_store

            store = remote_store.open_store(name)
            _NAMED[key] = store
        return store


def _file_entry(name: str, info: FileInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "size": info.size, "type": "file"}
    if info.modified_at is not None:
        entry["mtime"] = info.modified_at.timestamp()
    if info.etag:
        entry["etag"] = info.etag
    return entry


def _dir_entry(name: str) -> dict[str, Any]:
    return {"name": name, "size": 0, "type": "directory"}


class RemoteStoreFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """``fsspec.AbstractFileSystem`` over one `Store` (``store=``) or over named stores (``rs://NAME/…``).

    Args:
        store (Store | None): Wrap this store; paths are relative to its root. Without it the
            first path segment is a store name opened with ``remote_store.open_store``.
        **storage_options: Passed to ``AbstractFileSystem`` (e.g. ``skip_instance_cache``).

    Instances are not cached by fsspec (two different stores must never share one
    instance); named stores are opened once per process and reused.
    """

    protocol = ("rs",)
    root_marker = ""
    cachable = False

    def __init__(self, store: Store | None = None, **storage_options: Any) -> None:
        super().__init__(**storage_options)
        self._store = store

    @property
    def store(self) -> Store | None:
        """The wrapped store, or None in named-store mode."""
        return self._store

    # ------------------------------------------------------------------ paths
    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(path)
        if text.startswith("rs://"):
            text = text[len("rs://") :]
        elif text.startswith("rs::"):
            text = text[len("rs::") :]
        return text.strip("/")

    def _split(self, path: str) -> tuple[Store, str]:
        p = self._strip_protocol(path)
        if self._store is not None:
            return self._store, p
        name, _, rel = p.partition("/")
        if not name:
            raise ValueError("rs:// paths name a store first: rs://STORE/path")
        return _named_store(name), rel

    def _full(self, store_path: str, rel: str) -> str:
        """``rel`` (store-relative) as a path of this file system (with the store name in named mode)."""
        if self._store is not None:
            return rel
        name = store_path.partition("/")[0]
        return f"{name}/{rel}" if rel else name

    # ------------------------------------------------------------------ info / listing
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """``Store.get_file_info``, else ``Store.is_folder``.

        Raises:
            FileNotFoundError: Neither a file nor a folder.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        if not key:
            return _dir_entry(p)
        with _mapped(p):
            try:
                return _file_entry(p, store.get_file_info(key))
            except (NotFound, InvalidPath) as exc:
                missing: NotFound | InvalidPath = exc
            if store.is_folder(key):
                return _dir_entry(p)
        raise FileNotFoundError(errno.ENOENT, "no such file or folder", p) from missing

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """``Store.iter_children``; a file lists as itself.

        Raises:
            FileNotFoundError: Neither a file nor a folder.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        out: list[dict[str, Any]] = []
        with _mapped(p):
            for entry in store.iter_children(key):
                if isinstance(entry, FolderEntry):
                    out.append(_dir_entry(self._full(p, entry.path)))
                else:
                    out.append(_file_entry(self._full(p, entry.path), entry))
        if not out and key:
            info = self.info(p)  # raises FileNotFoundError
            if info["type"] == "file":
                out = [info]
        out.sort(key=lambda e: e["name"])
        return out if detail else [e["name"] for e in out]

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """All files below ``path`` with one recursive ``Store.list_files`` (folders derived
        from file paths; ``Store.list_folders`` where folders can be empty or depth-limited)."""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        p = self._strip_protocol(path)
        store, key = self._split(p)
        out: dict[str, dict[str, Any]] = {}
        # fsspec counts maxdepth=1 as the direct children; Store.max_depth counts them as 0.
        depth = None if maxdepth is None else maxdepth - 1
        with _mapped(p):
            dirs: set[str] = set()
            for info in store.list_files(key, recursive=True, max_depth=depth):
                out[self._full(p, info.path)] = _file_entry(self._full(p, info.path), info)
                if withdirs:
                    parent = info.path.rpartition("/")[0]
                    while parent and parent != key and parent not in dirs:
                        dirs.add(parent)
                        parent = parent.rpartition("/")[0]
            if withdirs and (maxdepth is not None or store.supports(Capability.HIERARCHICAL)):
                dirs.update(store.list_folders(key, recursive=True, max_depth=depth))
        for d in dirs:
            name = self._full(p, d)
            out[name] = _dir_entry(name)
        if not out and key:
            try:
                me: dict[str, Any] | None = self.info(p)
            except FileNotFoundError:
                me = None
            if me is not None and me["type"] == "file":
                out[p] = me
        elif withdirs and key:
            out[p] = _dir_entry(p)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def modified(self, path: str) -> datetime:
        """Modification time of a file (``Store.get_file_info``)."""
        p = self._strip_protocol(path)
        store, key = self._split(p)
        with _mapped(p):
            info = store.get_file_info(key)
        if info.modified_at is None:
            raise NotImplementedError("the backend reports no modification time")
        return info.modified_at

    # ------------------------------------------------------------------ folders
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create folder ``path`` where folders are real; a no-op on flat stores (folders are implicit).

        On a store with `Capability.HIERARCHICAL` (local disk, SFTP, memory …) the Store API
        has no "create folder" call, so the folder is made by writing a zero-byte marker
        (`MKDIR_MARKER` + a random id) inside it and deleting it again: the backend creates
        the folder (and its parents) for the write and keeps it after the delete. A listing
        running at that instant may see the marker.

        Args:
            path: Folder path.
            create_parents: When False, the parent folder must exist.

        Raises:
            FileExistsError: A file is at ``path`` (or at a parent).
            FileNotFoundError: ``create_parents`` is False and the parent folder is missing.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        if not key:
            return
        with _mapped(p):
            if store.is_file(key):
                raise FileExistsError(errno.EEXIST, "a file exists at this path", p) from AlreadyExists(
                    "a file exists at this path", path=p
                )
            if not store.supports(Capability.HIERARCHICAL) or store.is_folder(key):
                return
            parent = key.rpartition("/")[0]
            if not create_parents and parent and not store.is_folder(parent):
                raise FileNotFoundError(errno.ENOENT, "parent folder does not exist", p) from NotFound(
                    "folder not found", path=parent
                )
            marker = f"{key}/{MKDIR_MARKER}{uuid.uuid4().hex}"
            try:
                store.write(marker, b"")
            except InvalidPath as exc:  # a parent is a file
                raise FileExistsError(errno.EEXIST, str(exc), p) from exc
            store.delete(marker, missing_ok=True)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """`mkdir` with parents.

        Raises:
            FileExistsError: The folder exists (real folders only) and not ``exist_ok``, or a
                file is at ``path``.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        if key and not exist_ok and store.supports(Capability.HIERARCHICAL):
            with _mapped(p):
                if store.is_folder(key):
                    raise FileExistsError(errno.EEXIST, "folder exists", p) from AlreadyExists("folder exists", path=p)
        self.mkdir(p, create_parents=True)

    def rmdir(self, path: str) -> None:
        """``Store.delete_folder`` (non-recursive) where folders are real; a no-op on flat stores.

        Raises:
            OSError: The folder is not empty (``ENOTEMPTY``).
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        if not key or not store.supports(Capability.HIERARCHICAL):
            return
        with _mapped(p):
            store.delete_folder(key, missing_ok=True)

    # ------------------------------------------------------------------ delete / copy / move
    def rm_file(self, path: str) -> None:
        """``Store.delete``.

        Raises:
            FileNotFoundError: No such file.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        with _mapped(p):
            store.delete(key)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files (and with ``recursive`` folders): ``Store.delete`` per file,
        ``Store.delete_folder`` for folders that remain.

        Raises:
            FileNotFoundError: Nothing matches ``path``.
        """
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        folders = {q.rpartition("/")[0] for q in paths}
        for p in reversed(paths):
            store, key = self._split(p)
            with _mapped(p):
                try:
                    store.delete(key)
                except (NotFound, InvalidPath):
                    if store.is_folder(key):
                        if recursive and key:
                            store.delete_folder(key, recursive=True, missing_ok=True)
                    elif p not in folders:  # an implicit folder vanishes with its last file
                        raise

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """``Store.copy(overwrite=True)`` within one store (server-side where possible), else
        a streamed ``Store.read`` → ``Store.open_atomic``. A folder source is a no-op.

        Raises:
            FileNotFoundError: ``path1`` does not exist.
        """
        p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
        s1, k1 = self._split(p1)
        s2, k2 = self._split(p2)
        with _mapped(p1):
            try:
                if s1 is s2:
                    s1.copy(k1, k2, overwrite=True)
                    return
                with s1.read(k1) as src, s2.open_atomic(k2, overwrite=True) as dst:
                    while chunk := src.read(1 << 20):
                        dst.write(chunk)
            except (NotFound, InvalidPath):
                if not k1 or s1.is_folder(k1):
                    return
                raise

    def mv(self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any) -> None:
        """A single file within one store: ``Store.move(overwrite=True)`` (atomic where
        ATOMIC_MOVE). Otherwise fsspec's copy + delete."""
        if isinstance(path1, str) and isinstance(path2, str):
            p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
            s1, k1 = self._split(p1)
            s2, k2 = self._split(p2)
            if p1 == p2:
                return
            if s1 is s2 and k1 and s1.exists(k1):
                if self.isdir(p2):
                    k2 = f"{k2}/{k1.rpartition('/')[2]}" if k2 else k1.rpartition("/")[2]
                with _mapped(p1):
                    s1.move(k1, k2, overwrite=True)
                return
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    # ------------------------------------------------------------------ whole-file shortcuts
    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """``Store.read_bytes``, or a seek + read on ``Store.read_seekable`` for a byte range.

        Raises:
            FileNotFoundError: No such file.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        with _mapped(p):
            if start is None and end is None:
                return store.read_bytes(key)
            with store.read_seekable(key) as f:
                size = f.seek(0, os.SEEK_END)
                lo = 0 if start is None else (start if start >= 0 else max(0, size + start))
                hi = size if end is None else (end if end >= 0 else max(0, size + end))
                if hi <= lo:
                    return b""
                f.seek(lo)
                return f.read(hi - lo)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """``Store.write_atomic`` (``mode="create"`` → ``overwrite=False``).

        Raises:
            FileExistsError: ``mode="create"`` and the file exists.
        """
        p = self._strip_protocol(path)
        store, key = self._split(p)
        with _mapped(p):
            store.write_atomic(key, value, overwrite=mode != "create")

    # ------------------------------------------------------------------ open
    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | str | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> RemoteStoreFile:
        return RemoteStoreFile(
            self, self._strip_protocol(path), mode, block_size or "default", autocommit, cache_options, **kwargs
        )


class RemoteStoreFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file of `RemoteStoreFileSystem`: ranged reads through one ``Store.read_seekable``
    stream (``rb``), atomic writes through ``Store.open_atomic`` (``wb``; ``xb`` refuses
    to replace an existing file). Append (``ab``) is not supported.

    Raises:
        NotImplementedError: ``mode="ab"``.
        FileNotFoundError: ``rb`` on a missing file.
        IsADirectoryError: ``rb`` on a folder.
        FileExistsError: ``xb`` on an existing file.
    """

    def __init__(
        self,
        fs: RemoteStoreFileSystem,
        path: str,
        mode: str = "rb",
        block_size: int | str = "default",
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if mode == "ab":
            raise NotImplementedError("remote-store files cannot be appended to")
        self._store, self._key = fs._split(path)
        self._reader: IO[bytes] | None = None
        self._cm: Any = None
        self._handle: Any = None
        self._lock = threading.Lock()
        if mode == "rb":
            kwargs["size"] = self._open_reader(path)
            kwargs.setdefault("cache_type", "readahead")
        elif mode == "xb" and self._store.exists(self._key):
            raise FileExistsError(errno.EEXIST, "file exists", path) from AlreadyExists("file exists", path=path)
        super().__init__(fs, path, mode, block_size, autocommit, cache_options=cache_options, **kwargs)

    # reads
    def _open_reader(self, path: str) -> int:
        """Open the read stream now and return the file's size in bytes.

        With SEEKABLE_READ the ``Store.read_seekable`` stream is opened here: its one HEAD
        gives the size, so the file costs no separate ``get_file_info`` request. Without it
        (a seekable read would spool the whole file) only ``Store.get_file_info`` is asked
        and the stream opens on the first read.
        """
        with _mapped(path):
            try:
                if self._store.supports(Capability.SEEKABLE_READ):
                    reader = self._store.read_seekable(self._key)
                    size = reader.seek(0, os.SEEK_END)
                    reader.seek(0)
                    self._reader = reader
                    return size
                return self._store.get_file_info(self._key).size
            except (NotFound, InvalidPath) as exc:
                if self._key and self._store.is_folder(self._key):
                    raise IsADirectoryError(errno.EISDIR, "is a directory", path) from exc
                raise

    def _fetch_range(self, start: int, end: int) -> bytes:
        with self._lock, _mapped(self.path):
            if self._reader is None:
                self._reader = self._store.read_seekable(self._key)
            self._reader.seek(start)
            data: bytes = self._reader.read(end - start)
            return data

    # writes
    def _initiate_upload(self) -> None:
        with _mapped(self.path):
            self._cm = self._store.open_atomic(self._key, overwrite=self.mode != "xb")
            self._handle = self._cm.__enter__()

    def _upload_chunk(self, final: bool = False) -> bool:
        if self._cm is None:
            self._initiate_upload()
        data = self.buffer.getvalue()
        try:
            with _mapped(self.path):
                if data:
                    self._handle.write(data)
        except BaseException as exc:
            self._abort(exc)
            raise
        if final and self.autocommit:
            self.commit()
        return True

    def commit(self) -> None:
        """Publish the written file (``open_atomic`` commit). Called by ``close()`` when autocommit."""
        cm, self._cm = self._cm, None
        if cm is not None:
            with _mapped(self.path):
                cm.__exit__(None, None, None)

    def discard(self) -> None:
        """Throw the written data away; nothing is published."""
        self._abort(RuntimeError("discarded"))

    def _abort(self, exc: BaseException) -> None:
        cm, self._cm = self._cm, None
        if cm is not None:
            try:
                cm.__exit__(type(exc), exc, exc.__traceback__)
            except BaseException:
                pass

    def close(self) -> None:
        """Close: in write mode flush and commit (see `commit`); in read mode close the stream."""
        try:
            super().close()
        finally:
            reader, self._reader = self._reader, None
            if reader is not None:
                reader.close()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc is not None and self.mode != "rb":
            # A failed ``with`` block publishes nothing (fsspec's default would commit).
            self._abort(exc)
            self.closed = True
            return
        self.close()

    def __del__(self) -> None:
        # Never commit from the garbage collector: an unclosed writer is an unfinished write.
        if getattr(self, "closed", True):
            return
        if self.mode != "rb":
            self._abort(RuntimeError("file dropped without close()"))
            self.closed = True
        else:
            self.close()
