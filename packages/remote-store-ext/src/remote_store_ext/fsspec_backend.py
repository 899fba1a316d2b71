"""``type = "fsspec"``: any fsspec file system (gcsfs, webdav, hdfs, memory, local …) as a Store.

Configuration::

    [backends.gcs]
    type = "fsspec"
    options = { protocol = "gcs", root = "my-bucket/data", storage_options = { token = "${GCS_TOKEN}" } }

``storage_options`` go to ``fsspec.filesystem(protocol, **storage_options)``. Every string
value whose option name looks like a credential (``key``, ``secret``, ``token``,
``password``, ``passphrase``, ``credential…``, ``sas…``, ``connection_string``,
``account_key``, ``private_key``, ``session_token``) is wrapped in a `remote_store.Secret`:
it never shows in reprs, ``resolve()`` or error messages, and is revealed only when the
file system is built (lazily, on first use; again in each process a backend is unpickled in).

**What it declares.** READ, WRITE, DELETE, LIST, MOVE, COPY, ATOMIC_WRITE, METADATA,
SEEKABLE_READ and HIERARCHICAL. A write streams into a staging file
(`TEMP_PREFIX` + a random id, in the target's folder, never listed) and is published by
a rename on local disk (``fs.mv``) or ``fs.cp_file`` + ``fs.rm_file`` elsewhere (memory,
object stores: the copy appears whole),
so readers see the old file or the new one, never a partial one; any error removes the
staging file and leaves the old file intact. Placement is enforced
here (a write onto a folder or below a file raises `InvalidPath`), one ``info`` per
parent. GLOB is not declared: `remote_store.Store.glob` needs it, and ``fs.glob``
semantics differ from the Store's; use `remote_store_ext.glob.glob_files`. No user
metadata. ``overwrite=False`` checks and publishes under a lock held by this backend object,
so threads sharing it see exactly one winner; fsspec has no conditional create, so two
*processes* racing on one new key may both succeed (the last commit wins).

Needs ``pip install "remote-store-ext[fsspec]"``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import io
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping
from typing import IO, Any, ClassVar

from remote_store import Backend, Capability, CapabilitySet, FileInfo, Secret, WriteResult
from remote_store.errors import (
    AlreadyExists,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

__all__ = ["FsspecBackend", "SECRET_OPTION_NAMES", "TEMP_PREFIX"]

#: Name prefix of the staging file a write creates next to its target (hidden from listings).
TEMP_PREFIX = ".rs-tmp-"

#: ``fs.ls`` attempts while a concurrent delete keeps breaking the memory file system's listing.
_LS_ATTEMPTS = 20

#: Fragments of ``storage_options`` names whose string values are wrapped in `Secret`.
SECRET_OPTION_NAMES = (
    "secret",
    "password",
    "passphrase",
    "token",
    "credential",
    "sas",
    "connection_string",
    "account_key",
    "private_key",
)
#: Exact ``storage_options`` names that are secrets (s3fs's ``key``/``secret``).
_SECRET_EXACT = {"key", "client_secret", "api_key"}


def _is_secret_name(name: str) -> bool:
    low = name.lower()
    return low in _SECRET_EXACT or any(fragment in low for fragment in SECRET_OPTION_NAMES)


def _wrap(value: Any, name: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _wrap(v, str(k)) for k, v in value.items()}
    if isinstance(value, str) and value and _is_secret_name(name):
        return Secret(value)
    return value


def _reveal(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Mapping):
        return {k: _reveal(v) for k, v in value.items()}
    return value


def _mtime(info: Mapping[str, Any]) -> _dt.datetime | None:
    for name in ("mtime", "LastModified", "last_modified", "modified", "created"):
        value = info.get(name)
        if value is None:
            continue
        if isinstance(value, _dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)
        if isinstance(value, (int, float)):
            return _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC)
    return None


class FsspecBackend(Backend):
    """A `remote_store.Backend` over an ``fsspec.AbstractFileSystem``; see the module docstring.

    Args:
        protocol: fsspec protocol name (``"memory"``, ``"file"``, ``"gcs"``, ``"webdav"`` …).
        root: Folder inside the file system that is this backend's root (``"bucket/prefix"``,
            ``"/srv/data"``; ``""`` = the file system's root).
        storage_options: Keyword arguments of ``fsspec.filesystem(protocol, ...)``;
            credential-like string values are wrapped in `Secret` (see the module docstring).

    Raises:
        ConfigError: ``protocol`` is not a non-empty str, ``root`` not a str, or
            ``storage_options`` not a mapping with str keys. An unknown protocol or a
            missing implementation package raises `ConfigError` on first use.
    """

    TYPE: ClassVar[str] = "fsspec"
    CAPABILITIES: ClassVar[CapabilitySet] = CapabilitySet(
        {
            Capability.READ,
            Capability.WRITE,
            Capability.DELETE,
            Capability.LIST,
            Capability.MOVE,
            Capability.COPY,
            Capability.ATOMIC_WRITE,
            Capability.METADATA,
            Capability.SEEKABLE_READ,
            Capability.HIERARCHICAL,
        }
    )

    def __init__(self, protocol: str, root: str = "", storage_options: Mapping[str, Any] | None = None) -> None:
        if not isinstance(protocol, str) or not protocol:
            raise ConfigError(f"fsspec backend: protocol must be a non-empty str, got {protocol!r}", path="protocol")
        if not isinstance(root, str):
            raise ConfigError(f"fsspec backend: root must be a str, got {type(root).__name__}", path="root")
        opts = storage_options or {}
        if not isinstance(opts, Mapping) or not all(isinstance(k, str) for k in opts):
            raise ConfigError("fsspec backend: storage_options must be a mapping of str keys", path="storage_options")
        self._protocol = protocol
        self._storage_options: dict[str, Any] = {k: _wrap(v, k) for k, v in opts.items()}
        self._root_option = root
        self._fs_obj: Any = None
        self._root = ""
        self._lock = threading.Lock()
        #: Serialises the final "still absent?" check and the publish of exclusive creates.
        self._create_lock = threading.Lock()

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        """``protocol``, ``root`` and ``storage_options`` (credentials as `Secret`)."""
        return {"protocol": self._protocol, "root": self._root_option, "storage_options": dict(self._storage_options)}

    @property
    def fs(self) -> Any:
        """The ``fsspec.AbstractFileSystem`` (built on first use).

        Raises:
            ConfigError: fsspec or the protocol's implementation is not installed, or the
                protocol is unknown.
        """
        if self._fs_obj is None:
            with self._lock:
                if self._fs_obj is None:
                    try:
                        import fsspec
                    except ImportError:
                        raise ConfigError(
                            'type "fsspec" needs fsspec: pip install "remote-store-ext[fsspec]"'
                        ) from None
                    try:
                        fs = fsspec.filesystem(self._protocol, **_reveal(self._storage_options))
                    except (ImportError, ValueError) as exc:
                        # The message names the protocol and the package, never option values.
                        raise ConfigError(f"fsspec protocol {self._protocol!r} unavailable: {exc}") from None
                    self._root = str(fs._strip_protocol(self._root_option)).rstrip("/") if self._root_option else ""
                    self._fs_obj = fs
        return self._fs_obj

    def _path(self, key: str) -> str:
        fs = self.fs
        if not key:
            return self._root or str(getattr(fs, "root_marker", "")) or ""
        return f"{self._root}/{key}" if self._root else f"{getattr(fs, 'root_marker', '')}{key}"

    def _key(self, path: str) -> str:
        fs = self.fs
        p = str(fs._strip_protocol(path)).rstrip("/")
        base = self._root
        if not base:
            return p[len(getattr(fs, "root_marker", "")) :].strip("/") if p.startswith(fs.root_marker) else p
        if p == base:
            return ""
        if not p.startswith(base + "/"):
            raise InvalidPath("path outside the backend root", path=path, backend=self.TYPE)
        return p[len(base) + 1 :]

    def _info(self, key: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self.fs.info(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except KeyError:
            # fsspec's memory file system checks ``path in store`` and then reads
            # ``store[path]``: a delete by another thread in between is a missing file
            return None
        return info

    def _is_dir_info(self, info: Mapping[str, Any] | None) -> bool:
        return info is not None and info.get("type") == "directory"

    def _file_info(self, key: str, info: Mapping[str, Any]) -> FileInfo:
        etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
        return FileInfo(
            path=key,
            name=key.rpartition("/")[2],
            size=int(info.get("size") or 0),
            modified_at=_mtime(info),
            etag=str(etag).strip('"') if etag else None,
        )

    # ------------------------------------------------------------------ required
    def exists(self, key: str) -> bool:
        info = self._info(key)
        return info is not None and not self._is_dir_info(info)

    def is_file(self, key: str) -> bool:
        return self.exists(key)

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        return self._is_dir_info(self._info(key))

    def stat(self, key: str) -> FileInfo:
        info = self._info(key)
        if info is None or self._is_dir_info(info):
            raise NotFound("file not found", path=key, backend=self.TYPE)
        return self._file_info(key, info)

    def open_read(self, key: str) -> IO[bytes]:
        info = self._info(key)
        if info is None:
            raise NotFound("file not found", path=key, backend=self.TYPE)
        if self._is_dir_info(info):
            raise InvalidPath("is a folder", path=key, backend=self.TYPE)
        return self._reader(key)

    def _reader(self, key: str) -> IO[bytes]:
        f: IO[bytes] = self.fs.open(self._path(key), "rb")
        if isinstance(f, io.BytesIO):
            # fsspec's memory file system hands out the stored buffer itself (shared position,
            # close() a no-op): give each reader its own copy.
            return io.BytesIO(f.getvalue())
        return f

    def open_read_seekable(self, key: str) -> IO[bytes]:
        return self.open_read(key)

    def read_bytes(self, key: str) -> bytes:
        try:
            data: bytes = self.fs.cat_file(self._path(key))
        except (FileNotFoundError, IsADirectoryError):
            if self.is_folder(key):
                raise InvalidPath("is a folder", path=key, backend=self.TYPE) from None
            raise NotFound("file not found", path=key, backend=self.TYPE) from None
        return data

    def _check_placement(self, key: str) -> None:
        if self._is_dir_info(self._info(key)):
            raise InvalidPath("a folder exists at this path", path=key, backend=self.TYPE)
        parts = key.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            info = self._info("/".join(parts[:i]))
            if info is None:
                return  # nothing deeper can exist either
            if not self._is_dir_info(info):
                raise InvalidPath("a parent of this path is a file", path=key, backend=self.TYPE)

    def _publish(self, key: str, stream: IO[bytes], overwrite: bool) -> WriteResult:
        self._check_placement(key)
        if not overwrite and self.exists(key):
            raise AlreadyExists("file exists", path=key, backend=self.TYPE)
        fs = self.fs
        path = self._path(key)
        parent, _, name = path.rpartition("/")
        if parent and parent != self._root:
            fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/{TEMP_PREFIX}{uuid.uuid4().hex}-{name}"[: len(parent) + 200]
        try:
            with fs.open(tmp, "wb") as f:
                shutil.copyfileobj(stream, f, 1024 * 1024)
                size = int(f.tell())
            if overwrite:
                self._rename(tmp, path)
            else:
                with self._create_lock:
                    if self.exists(key):
                        raise AlreadyExists("file exists", path=key, backend=self.TYPE)
                    self._rename(tmp, path)
        except BaseException:
            with contextlib.suppress(Exception):
                if fs.exists(tmp):
                    fs.rm_file(tmp)
            raise
        return WriteResult(path=key, size=size)

    def _rename(self, src: str, dst: str) -> None:
        # fs.mv expands glob characters (``*?[``) in names; local disk gets a real rename,
        # other file systems a copy then a delete of the staging file (no pattern expansion).
        fs = self.fs
        if getattr(fs, "local_file", False):
            fs.mv(src, dst)
        else:
            fs.cp_file(src, dst)
            fs.rm_file(src)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Stream into a staging file, then rename/copy it over ``key`` (see the module docstring).

        Raises:
            AlreadyExists: ``overwrite`` is False and the file exists.
            InvalidPath: A folder is at ``key`` or a parent of it is a file.
        """
        return self._publish(key, stream, overwrite)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Same as `write`: every write is staged, then published in one step."""
        return self._publish(key, stream, overwrite)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """``fs.rm_file``.

        Raises:
            NotFound: No file at ``key`` and not ``missing_ok``.
            InvalidPath: ``key`` is a folder.
        """
        info = self._info(key)
        if self._is_dir_info(info):
            raise InvalidPath("is a folder", path=key, backend=self.TYPE)
        if info is None:
            if missing_ok:
                return
            raise NotFound("file not found", path=key, backend=self.TYPE)
        try:
            self.fs.rm_file(self._path(key))
        except FileNotFoundError:
            if not missing_ok:
                raise NotFound("file not found", path=key, backend=self.TYPE) from None

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """``fs.rm(path, recursive=True)``, or ``fs.rmdir`` of an empty folder.

        Raises:
            NotFound: No folder at ``key``. InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: Not ``recursive`` and the folder holds entries.
        """
        info = self._info(key)
        if info is None:
            raise NotFound("folder not found", path=key, backend=self.TYPE)
        if not self._is_dir_info(info):
            raise InvalidPath("not a folder", path=key, backend=self.TYPE)
        path = self._path(key)
        if recursive:
            self.fs.rm(path, recursive=True)
            return
        if self.fs.ls(path, detail=False):
            raise DirectoryNotEmpty("folder not empty", path=key, backend=self.TYPE)
        self.fs.rmdir(path)

    def _entries(self, prefix: str) -> list[dict[str, Any]]:
        if prefix and not self.is_folder(prefix):
            return []
        for _ in range(_LS_ATTEMPTS):
            try:
                entries: list[dict[str, Any]] = self.fs.ls(self._path(prefix), detail=True)
            except FileNotFoundError:
                return []
            except KeyError:
                # fsspec's memory file system lists a snapshot of its keys and then looks each
                # one up: a file another thread deleted meanwhile raises KeyError. List again.
                continue
            return entries
        raise RemoteStoreError("the folder kept changing while it was listed", path=prefix, backend=self.TYPE)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """``fs.ls`` of each folder, depth first in name order (``max_depth`` 1 = direct children)."""
        stack: list[tuple[str, int]] = [(prefix, 1)]
        while stack:
            folder, depth = stack.pop()
            entries = sorted(self._entries(folder), key=lambda e: str(e["name"]))
            subfolders: list[str] = []
            for entry in entries:
                key = self._key(str(entry["name"]))
                if key == folder or key.rpartition("/")[2].startswith(TEMP_PREFIX):
                    continue
                if entry.get("type") == "directory":
                    subfolders.append(key)
                else:
                    yield self._file_info(key, entry)
            if recursive and (max_depth is None or depth < max_depth):
                stack.extend((sub, depth + 1) for sub in reversed(subfolders))

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Keys of the direct subfolders of ``prefix`` (``fs.ls``)."""
        for entry in sorted(self._entries(prefix), key=lambda e: str(e["name"])):
            if entry.get("type") == "directory":
                key = self._key(str(entry["name"]))
                if key != prefix:
                    yield key

    def _transfer(self, src: str, dst: str, *, overwrite: bool, move: bool) -> None:
        info = self._info(src)
        if info is None:
            raise NotFound("source not found", path=src, backend=self.TYPE)
        if self._is_dir_info(info):
            raise InvalidPath("source is a folder", path=src, backend=self.TYPE)
        if src == dst:
            return
        self._check_placement(dst)
        if not overwrite and self.exists(dst):
            raise AlreadyExists("destination exists", path=dst, backend=self.TYPE)
        with self._reader(
            src
        ) as f:  # a private copy on fsspec memory: threads copying one source never share a position
            self._publish(dst, f, overwrite)
        if move:
            self.fs.rm_file(self._path(src))

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Stream ``src`` into a committed write of ``dst`` (the source is untouched)."""
        self._transfer(src, dst, overwrite=overwrite, move=False)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Copy as `copy` (``dst`` appears whole), then ``fs.rm_file(src)``."""
        self._transfer(src, dst, overwrite=overwrite, move=True)

    def ping(self) -> None:
        """``fs.info`` of the root (or ``fs.ls`` when the root has no entry)."""
        if self._root and self._info("") is None:
            self.fs.ls(self._path(""), detail=False)

    def native_path(self, key: str) -> str:
        """``protocol://path`` of ``key``."""
        path = self._path(key)
        return f"{self._protocol}://{path.lstrip('/') if self._protocol == 'memory' else path}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`.

        Raises:
            InvalidPath: ``native`` lies outside this backend's root.
        """
        return self._key(native)

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """fsspec's builtin exceptions → `remote_store.errors` (the message never includes options)."""
        if isinstance(exc, FileNotFoundError):
            return NotFound("not found", path=key, backend=self.TYPE)
        if isinstance(exc, FileExistsError):
            return AlreadyExists("exists", path=key, backend=self.TYPE)
        if isinstance(exc, (IsADirectoryError, NotADirectoryError)):
            return InvalidPath("wrong node type", path=key, backend=self.TYPE)
        if isinstance(exc, PermissionError):
            return PermissionDenied("permission denied", path=key, backend=self.TYPE)
        if isinstance(exc, OSError) and exc.errno == errno.ENOTEMPTY:
            return DirectoryNotEmpty("folder not empty", path=key, backend=self.TYPE)
        return None

    def close(self) -> None:
        """Drop the file system object (rebuilt on next use)."""
        self._fs_obj = None
