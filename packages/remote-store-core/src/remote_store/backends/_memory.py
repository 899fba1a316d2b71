"""`MemoryBackend`: a thread-safe in-process backend; the reference test double."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, ClassVar

from remote_store import _path
from remote_store._backend import Backend, read_stream_fully
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import ContentDigest, FileInfo, WriteResult, WriteSource
from remote_store.errors import AlreadyExists, DirectoryNotEmpty, InvalidPath, NotFound


@dataclass(frozen=True, slots=True)
class _Blob:
    data: bytes
    modified_at: datetime
    etag: str
    metadata: Mapping[str, str]


class MemoryBackend(Backend):
    """Files held in a dict in this process; every operation is atomic under one lock.

    Folders are created by writing a file below them and stay after their last file is
    deleted (like a local disk) until `delete_folder` removes them. A key is a file or a
    folder, never both (HIERARCHICAL): writing onto a folder or below a file raises
    `InvalidPath`, and so do file operations on a folder. Pickling sends the
    configuration, not the content: a memory store in another process starts empty unless
    ``name`` is given, in which case stores with the same ``name`` in one process share files.

    **Why this is not a `remote_store.kit.FlatKeyBackend`.** Memory is the in-process
    stand-in for the hierarchical backends (local, SFTP), so it keeps real folders: a
    folder outlives its last file and placement is always enforced. The flat-key base
    models object stores, where a folder is only a shared key prefix and placement is an
    option that costs extra requests; built on it, memory would either lose empty folders
    or need marker objects per parent on every write. So memory implements the
    hierarchical primitives itself, each a dict or set operation under the one lock (the
    folder set *is* the placement state, the way the file system is for local), and takes
    every shared mechanic from core instead of copying it: path normalisation, the
    ``max_depth`` rules and depth filtering, the portable glob (`compile_glob`, memory
    declares no native GLOB), `iter_children`, `folder_info`, the ``NotFound`` vs
    `InvalidPath` probe of `Store` for stat/move/copy, and `read_stream_fully` for writes.
    Listings and folder deletes are flat scans of the key set (no recursion at any depth).

    Args:
        name: Optional shared-namespace name; backends with equal names in one process
            see the same files. None (default) gives a private namespace.
    """

    TYPE = "memory"
    CAPABILITIES = CapabilitySet.all() - {Capability.GLOB, Capability.LAZY_READ}

    _shared: ClassVar[dict[str, tuple[threading.RLock, dict[str, _Blob], set[str]]]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str | None = None) -> None:
        self._name = name
        if name is None:
            self._lock = threading.RLock()
            self._files: dict[str, _Blob] = {}
            self._folders: set[str] = set()
        else:
            with MemoryBackend._shared_lock:
                if name not in MemoryBackend._shared:
                    MemoryBackend._shared[name] = (threading.RLock(), {}, set())
                self._lock, self._files, self._folders = MemoryBackend._shared[name]

    @property
    def options(self) -> dict[str, Any]:
        return {"name": self._name} if self._name is not None else {}

    def native_path(self, key: str) -> str:
        return f"memory://{self._name or ''}/{key}"

    def to_key(self, native: str) -> str:
        prefix = f"memory://{self._name or ''}/"
        if native.startswith(prefix):
            return native[len(prefix) :]
        if "://" in native:
            raise InvalidPath("not a path of this memory backend", path=native)
        return native

    # -- helpers
    def _folder_exists(self, key: str) -> bool:
        return not key or key in self._folders

    def _add_parents(self, key: str) -> None:
        parent = _path.parent(key)
        while parent and parent not in self._folders:
            self._folders.add(parent)
            parent = _path.parent(parent)

    def _info(self, key: str, blob: _Blob) -> FileInfo:
        return FileInfo(
            path=key,
            name=_path.basename(key),
            size=len(blob.data),
            modified_at=blob.modified_at,
            etag=blob.etag,
            metadata=blob.metadata,
        )

    def _get(self, key: str) -> _Blob:
        blob = self._files.get(key)
        if blob is None:
            if self._folder_exists(key):
                raise InvalidPath("is a folder", path=key)
            raise NotFound("file not found", path=key)
        return blob

    def _check_parents(self, key: str) -> None:
        parent = _path.parent(key)
        while parent:
            if parent in self._files:
                raise InvalidPath("a parent of the path is a file", path=key)
            parent = _path.parent(parent)

    # -- contract
    def exists(self, key: str) -> bool:
        return key in self._files

    def is_folder(self, key: str) -> bool:
        with self._lock:
            return self._folder_exists(key)

    def open_read(self, key: str) -> IO[bytes]:
        with self._lock:
            return io.BytesIO(self._get(key).data)

    def read_bytes(self, key: str) -> bytes:
        with self._lock:
            return self._get(key).data

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        data = read_stream_fully(stream)
        digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
        now = datetime.now(UTC)
        blob = _Blob(data=data, modified_at=now, etag=digest, metadata=dict(metadata))
        with self._lock:
            if key in self._files and not overwrite:
                raise AlreadyExists("file exists", path=key)
            if self._folder_exists(key):
                raise InvalidPath("is a folder", path=key)
            self._check_parents(key)
            self._files[key] = blob
            self._add_parents(key)
        return WriteResult(
            path=key,
            size=len(data),
            source=WriteSource.NATIVE,
            digest=ContentDigest("md5", digest),
            etag=digest,
            last_modified=now,
            metadata=dict(metadata),
        )

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Remove the file at ``key``; its folder stays, as on a local disk.

        Raises:
            NotFound: No file at ``key`` and ``missing_ok`` is False.
            InvalidPath: ``key`` is a folder.
        """
        with self._lock:
            if self._files.pop(key, None) is not None:
                return
            if self._folder_exists(key):
                raise InvalidPath("is a folder", path=key)
            if not missing_ok:
                raise NotFound("file not found", path=key)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        p = prefix + "/" if prefix else ""
        with self._lock:
            items = [(k, b) for k, b in self._files.items() if k.startswith(p)]
        levels = 1 if not recursive else max_depth  # a pruning hint; Store filters by depth anyway
        for key, blob in sorted(items):
            if levels is not None and key.count("/", len(p)) >= levels:
                continue
            yield self._info(key, blob)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        p = prefix + "/" if prefix else ""
        with self._lock:
            found = [k for k in self._folders if k.startswith(p) and "/" not in k[len(p) :]]
        yield from sorted(found)

    def stat(self, key: str) -> FileInfo:
        with self._lock:
            return self._info(key, self._get(key))

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        with self._lock:
            blob = self._get(src)
            if dst in self._files and not overwrite:
                raise AlreadyExists("destination exists", path=dst)
            if self._folder_exists(dst):
                raise InvalidPath("destination is a folder", path=dst)
            self._check_parents(dst)
            self._files[dst] = blob
            self._add_parents(dst)
            del self._files[src]

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        with self._lock:
            blob = self._get(src)
            if dst in self._files and not overwrite:
                raise AlreadyExists("destination exists", path=dst)
            if self._folder_exists(dst):
                raise InvalidPath("destination is a folder", path=dst)
            self._check_parents(dst)
            self._files[dst] = _Blob(blob.data, datetime.now(UTC), blob.etag, blob.metadata)
            self._add_parents(dst)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        p = key + "/"
        with self._lock:
            if key not in self._folders:
                if key in self._files:
                    raise InvalidPath("not a folder", path=key)
                raise NotFound("folder not found", path=key)
            files = [k for k in self._files if k.startswith(p)]
            folders = [k for k in self._folders if k.startswith(p)]
            if (files or folders) and not recursive:
                raise DirectoryNotEmpty("folder is not empty", path=key)
            for k in files:
                del self._files[k]
            self._folders.difference_update(folders)
            self._folders.discard(key)
