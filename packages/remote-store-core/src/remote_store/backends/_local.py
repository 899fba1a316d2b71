"""`LocalBackend`: files in a folder on the local filesystem, confined beneath a held root fd."""

from __future__ import annotations

import contextlib
import errno
import os
import stat as stat_mod
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

from remote_store._backend import AtomicWriter, Backend
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import FileInfo, WriteResult, WriteSource
from remote_store.backends._local_info import file_info
from remote_store.backends._local_list import LocalListing
from remote_store.backends._local_resolve import (
    DIR_PATH_FLAGS,
    MAX_KEY_BYTES,
    MAX_SEGMENT_BYTES,
    MAX_SYMLINKS,
    Resolver,
    SymlinkRefused,
    encode_key,
)
from remote_store.backends._local_sys import RENAME_NOREPLACE, openat2_available, renameat2
from remote_store.backends._local_walk import (
    LIST_FLAGS,
    remove_tree,
    sweep_temps,
)
from remote_store.backends._local_write import LocalAtomicWriter, copy_into, exists_error, make_temp, publish, sync_dir
from remote_store.errors import (
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
)

_ROOT_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_READ_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1024 * 1024
#: A folder's temp files are swept at most once per this many seconds (or `temp_max_age`, if shorter).
TEMP_SWEEP_INTERVAL = 60.0
_RESOLVERS = ("auto", "openat2", "walk")
_NOT_THERE = (FileNotFoundError, NotADirectoryError, SymlinkRefused)

# The current process id, refreshed after fork() by a hook instead of a getpid() system
# call on every operation (the root fd is reopened in a forked child).
_process_id = os.getpid()


def _after_fork_in_child() -> None:
    global _process_id
    _process_id = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class LocalBackend(LocalListing, Backend):
    """A folder on the local filesystem.

    **Confinement.** The root folder is opened once and every key is resolved beneath that
    fd: on Linux >= 5.6 with one ``openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`` call,
    elsewhere by an ``openat(O_NOFOLLOW)`` walk segment by segment in which a symlink is
    followed only by reading its text and resolving that beneath the same root again. No
    key, symlink or concurrent rename can make a call read, stat or write outside the
    root: a symlink leading out is refused (`InvalidPath`; `exists` is False and listings
    leave it out). Renames, unlinks, ``mkdir`` and stats go through the fd of the confined
    parent folder; writing onto a symlink key replaces the link itself.

    **Store scope.** A `Store` with a ``root_path`` works through `scoped`: keys below its
    root are resolved beneath the fd of that folder, so a symlink under the store's root
    that leads out of it (to a sibling folder of the same backend) is refused like one
    that leaves the backend root, under the same `follow_symlinks` policy.

    **Writes.** `write`, `write_atomic` and `open_atomic` all publish whole: the content
    goes to a temp file in the target's folder, then one ``renameat`` puts it in place
    (``overwrite=False``: ``renameat2(RENAME_NOREPLACE)``, or ``link`` where that is
    missing, so an existing file is never replaced). A reader, or a process killed
    mid-write, sees the old file or the new one, never a part. `move` is one ``renameat``
    (ATOMIC_MOVE) and moves files only.

    **Temp files** are named ``.~rs-<pid>-<unix seconds>-<random>-<name>.tmp``, never
    listed, and a write into a folder removes the folder's temp files older than
    ``temp_max_age`` (a scan at most once per folder per `TEMP_SWEEP_INTERVAL` seconds);
    `collect_garbage` sweeps a whole subtree on demand.

    **Limits.** A key segment may be at most 255 bytes (UTF-8) and a key at most 4096
    bytes; longer keys raise `InvalidPath` naming the limit. Listings, recursive deletes
    and sweeps are iterative (any depth) and raise `PermissionDenied` for a folder they
    cannot read. Read-only calls never create anything: a missing root reads as an empty
    store until the first write creates it.

    Args:
        root: Folder (str or path-like) that holds the files; made absolute.
        create_root: Create ``root`` (and parents) on the first write if it is missing;
            with False a missing root raises `BackendUnavailable`.
        fsync: ``fsync`` files (and their folder) before a write is published; slower,
            survives power loss.
        follow_symlinks: ``"inside"`` (default): follow a symlink only when its target
            resolves beneath the root, or beneath a `Store`'s ``root_path`` for keys of
            that store (absolute targets below the root's path count);
            ``"never"``: refuse every symlink on a key's path (symlinked files are not
            listed). Symlinked folders are never descended into by listings.
        temp_max_age: Seconds after which a temp file left by a killed writer is removed
            by the next write into its folder; must exceed your longest write. ``None``
            turns the automatic sweep off.
        resolver: ``"auto"`` (openat2 where the kernel has it, else the walk),
            ``"openat2"`` (require it) or ``"walk"`` (force the portable walk). The
            environment variable ``REMOTE_STORE_LOCAL_RESOLVER`` overrides ``"auto"``.

    Raises:
        ConfigError: ``root`` is empty, an option has an unknown value, or
            ``resolver="openat2"`` on a system without it.
    """

    TYPE = "local"
    CAPABILITIES = CapabilitySet.all() - {Capability.USER_METADATA}
    MAX_SEGMENT_BYTES = MAX_SEGMENT_BYTES
    MAX_KEY_BYTES = MAX_KEY_BYTES
    MAX_SYMLINKS = MAX_SYMLINKS

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        create_root: bool = True,
        fsync: bool = False,
        follow_symlinks: str = "inside",
        temp_max_age: float | None = 3600.0,
        resolver: str = "auto",
    ) -> None:
        root_s = os.fspath(root)
        if not root_s:
            raise ConfigError("LocalBackend needs a non-empty 'root'")
        if follow_symlinks not in ("inside", "never"):
            raise ConfigError(f"follow_symlinks must be 'inside' or 'never', got {follow_symlinks!r}")
        if temp_max_age is not None and not (isinstance(temp_max_age, (int, float)) and temp_max_age > 0):
            raise ConfigError(f"temp_max_age must be a positive number of seconds or None, got {temp_max_age!r}")
        if resolver not in _RESOLVERS:
            raise ConfigError(f"resolver must be one of {_RESOLVERS}, got {resolver!r}")
        effective = resolver
        if resolver == "auto":
            effective = os.environ.get("REMOTE_STORE_LOCAL_RESOLVER", "auto") or "auto"
            if effective not in _RESOLVERS:
                raise ConfigError(f"REMOTE_STORE_LOCAL_RESOLVER must be one of {_RESOLVERS}, got {effective!r}")
        if effective == "openat2" and not openat2_available():
            raise ConfigError("resolver='openat2' needs Linux >= 5.6 with openat2 allowed")
        self._root = os.path.abspath(os.path.expanduser(root_s))
        self._create_root = create_root
        self._fsync = fsync
        self._follow_symlinks = follow_symlinks
        self._temp_max_age = float(temp_max_age) if temp_max_age is not None else None
        self._resolver = resolver
        self._use_openat2 = effective != "walk"
        self._res = self._make_resolver()
        self._fd: int | None = None
        self._lock = threading.Lock()
        self._pid = _process_id
        self._swept: dict[str, float] = {}
        self._views: weakref.WeakValueDictionary[str, Backend] = weakref.WeakValueDictionary()

    def _make_resolver(self) -> Resolver:
        names = (self._root, os.path.realpath(self._root))
        return Resolver(follow=self._follow_symlinks == "inside", use_openat2=self._use_openat2, root_names=names)

    @property
    def root(self) -> str:
        """Absolute path of the root folder."""
        return self._root

    @property
    def uses_openat2(self) -> bool:
        """Whether keys are resolved with ``openat2`` (False: the portable walk)."""
        return self._res.uses_openat2

    @property
    def options(self) -> dict[str, Any]:
        return {
            "root": self._root,
            "create_root": self._create_root,
            "fsync": self._fsync,
            "follow_symlinks": self._follow_symlinks,
            "temp_max_age": self._temp_max_age,
            "resolver": self._resolver,
        }

    # ------------------------------------------------------------------ root fd
    def _root_fd(self, create: bool = False) -> int | None:
        """The root folder's fd; None when it is missing and ``create`` is False (an empty store)."""
        fd = self._fd
        if fd is not None and self._pid == _process_id:
            return fd
        with self._lock:
            if self._fd is None or self._pid != _process_id:
                try:
                    new = os.open(self._root, _ROOT_FLAGS)
                except FileNotFoundError:
                    if not self._create_root:
                        raise BackendUnavailable("root folder does not exist", path=self._root) from None
                    if not create:
                        return None
                    os.makedirs(self._root, exist_ok=True)
                    new = os.open(self._root, _ROOT_FLAGS)
                except NotADirectoryError:
                    raise BackendUnavailable("root is not a folder", path=self._root) from None
                self._res = self._make_resolver()
                self._fd = new
                self._pid = _process_id
            return self._fd

    def scoped(self, prefix: str) -> Backend:
        """Return the view a `Store` rooted at ``prefix`` uses: keys below ``prefix`` resolve
        beneath the folder ``prefix`` itself, so a symlink under the store's root that leads
        out of it (``box/ln -> ../other``) is refused with `InvalidPath` (and left out of
        listings) under the `follow_symlinks` policy, like one that leaves the backend root.

        No I/O: the folder is opened on each call (created by the first write that needs
        it). Views are shared per ``prefix`` while a store uses them and share this
        backend's root fd; closing a view closes this backend.

        Args:
            prefix: Normalised backend key of the store's root; ``""`` returns ``self``.
        """
        if not prefix:
            return self
        view = self._views.get(prefix)
        if view is None:
            from remote_store.backends._local_scope import ScopedLocalBackend

            with self._lock:
                view = self._views.get(prefix)
                if view is None:
                    view = self._views[prefix] = ScopedLocalBackend(self, prefix)
        return view

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None

    def ping(self) -> None:
        """Check the root folder exists, or (``create_root``) could be created by a write.

        Creates nothing. Maps to ``open`` + ``fstat`` of the root (or ``access`` on its
        nearest existing parent).

        Raises:
            BackendUnavailable: The root is missing and cannot be created, or is not a folder.
        """
        fd = self._root_fd()
        if fd is not None:
            os.fstat(fd)
            return
        parent = os.path.dirname(self._root)
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
            raise BackendUnavailable("root folder does not exist and cannot be created", path=self._root)

    # ------------------------------------------------------------------ resolution
    def _open(self, key: str, flags: int) -> int:
        """Open ``key`` beneath the root (queries: a missing root is FileNotFoundError)."""
        kb = encode_key(key)
        root = self._root_fd()
        if root is None:
            raise FileNotFoundError(errno.ENOENT, "root folder does not exist yet", key)
        return self._res.open(root, key, kb, flags)

    def _parent(self, key: str, parent: str, *, create: bool) -> tuple[int, bool]:
        """Return ``(fd, owned)`` of the confined parent folder ``parent`` of ``key``.

        Raises:
            NotFound: The folder is missing (and ``create`` is False).
            InvalidPath: A segment is a file, or a symlink that may not be followed.
        """
        root = self._root_fd(create)
        if root is None:
            raise NotFound("folder not found", path=key)
        if not parent:
            return root, False
        try:
            return self._res.open(root, parent, encode_key(parent), DIR_PATH_FLAGS, create_dirs=create), True
        except FileNotFoundError as exc:
            raise NotFound("folder not found", path=key) from exc
        except NotADirectoryError as exc:
            raise InvalidPath("a parent of the path is a file", path=key) from exc

    def _stat(self, key: str) -> os.stat_result:
        """``stat`` of ``key`` beneath the root, a final symlink followed when allowed (the hot path).

        Raises:
            FileNotFoundError, NotADirectoryError, SymlinkRefused: As `Resolver.open`.
        """
        kb = key.encode("utf-8", "surrogateescape")
        if len(kb) > MAX_SEGMENT_BYTES:
            encode_key(key)  # the limits (InvalidPath naming the one exceeded)
        root = self._fd
        if root is None or self._pid != _process_id:
            root = self._root_fd()
            if root is None:
                raise FileNotFoundError(errno.ENOENT, "root folder does not exist yet", key)
        if "/" not in key:
            # A top-level key has no folder to traverse: one fstatat on the root fd that does
            # not follow the entry is confined as it is; only a symlink needs the resolver.
            st = os.stat(key, dir_fd=root, follow_symlinks=False)
            if not stat_mod.S_ISLNK(st.st_mode):
                return st
        res = self._res
        opath = res.opath
        if opath is not None:  # inlined Resolver.stat: openat2(O_PATH) + fstat
            fd = opath(root, kb)
            if fd >= 0:
                try:
                    return os.fstat(fd)
                finally:
                    os.close(fd)
        return res.stat(root, key, kb)

    def _file_info(self, key: str, st: os.stat_result) -> FileInfo:
        size = st.st_size
        return file_info(
            key, key.rpartition("/")[2], size, datetime.fromtimestamp(st.st_mtime, UTC), f"{st.st_mtime_ns:x}-{size:x}"
        )

    def _result(self, key: str, st: os.stat_result, metadata: Mapping[str, str]) -> WriteResult:
        return WriteResult(
            path=key,
            size=st.st_size,
            source=WriteSource.NATIVE,
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
            last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
            metadata=dict(metadata),
        )

    # ------------------------------------------------------------------ queries
    def native_path(self, key: str) -> str:
        return os.path.join(self._root, *key.split("/")) if key else self._root

    def to_key(self, native: str) -> str:
        full = os.path.abspath(os.path.expanduser(native))
        if full == self._root:
            return ""
        if not full.startswith(self._root + os.sep):
            raise InvalidPath("path is outside the backend root", path=native)
        return full[len(self._root) + 1 :].replace(os.sep, "/")

    def exists(self, key: str) -> bool:
        try:
            return stat_mod.S_ISREG(self._stat(key).st_mode)
        except _NOT_THERE:
            return False

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        try:
            os.close(self._open(key, DIR_PATH_FLAGS))
        except _NOT_THERE:
            return False
        return True

    def stat(self, key: str) -> FileInfo:
        try:
            st = self._stat(key)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound("file not found", path=key) from exc
        if stat_mod.S_ISDIR(st.st_mode):
            raise InvalidPath("is a folder, not a file", path=key)
        if not stat_mod.S_ISREG(st.st_mode):
            raise NotFound("not a regular file", path=key)
        return self._file_info(key, st)

    # ------------------------------------------------------------------ reads
    def _open_read_fd(self, key: str) -> int:
        try:
            if "/" not in key:  # top-level: openat(O_NOFOLLOW) on the root fd; a symlink → resolver
                encode_key(key)
                root = self._root_fd()
                if root is None:
                    raise FileNotFoundError(errno.ENOENT, "root folder does not exist yet", key)
                try:
                    return os.open(key, _READ_NOFOLLOW, dir_fd=root)
                except OSError as exc:
                    if exc.errno != errno.ELOOP:
                        raise
            return self._open(key, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound("file not found", path=key) from exc

    def open_read(self, key: str) -> IO[bytes]:
        fd = self._open_read_fd(key)
        try:
            # FileIO fstat()s the fd and refuses folders with EISDIR (leaving the fd open).
            return open(fd, "rb")
        except IsADirectoryError as exc:
            os.close(fd)
            raise InvalidPath("is a folder, not a file", path=key) from exc
        except BaseException:
            os.close(fd)
            raise

    def read_bytes(self, key: str) -> bytes:
        fd = self._open_read_fd(key)
        try:
            st = os.fstat(fd)
            if stat_mod.S_ISDIR(st.st_mode):
                raise InvalidPath("is a folder, not a file", path=key)
            size = st.st_size
            data = os.read(fd, size + 1)
            if len(data) == size:
                return data
            parts = [data]
            while True:
                chunk = os.read(fd, _CHUNK)
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ writes
    def _temp(self, d: int, name: str) -> tuple[str, int]:
        return make_temp(d, name, _process_id)

    _exists_error = staticmethod(exists_error)
    _publish = staticmethod(publish)
    _copy_into = staticmethod(copy_into)
    _sync_dir = staticmethod(sync_dir)

    def _maybe_sweep(self, d: int, parent: str) -> None:
        """Remove the folder's stale temp files, at most once per folder per interval."""
        max_age = self._temp_max_age
        if max_age is None:
            return
        now = time.monotonic()
        last = self._swept.get(parent)
        if last is not None and now - last < min(max_age, TEMP_SWEEP_INTERVAL):
            return
        if len(self._swept) > 4096:
            self._swept.clear()
        self._swept[parent] = now
        with contextlib.suppress(OSError, PermissionDenied):
            sweep_temps(d, max_age, recursive=False)

    def _write(self, key: str, stream: IO[bytes], overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        encode_key(key)
        parent, _, name = key.rpartition("/")
        d, owned = self._parent(key, parent, create=True)
        try:
            tmp, fd = self._temp(d, name)
            try:
                try:
                    self._copy_into(fd, stream)
                    if self._fsync:
                        os.fsync(fd)
                    st = os.fstat(fd)
                finally:
                    os.close(fd)
                self._publish(d, tmp, name, key, overwrite)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=d)
                raise
            if self._fsync:
                self._sync_dir(d)
            self._maybe_sweep(d, parent)
        finally:
            if owned:
                os.close(d)
        return self._result(key, st, metadata)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Publish ``stream`` whole at ``key`` (temp file in the same folder + ``renameat``).

        Raises:
            AlreadyExists: ``overwrite`` is False and a file (or symlink) is at ``key``.
            InvalidPath: ``key`` is a folder, a parent is a file, a symlink on the way may not
                be followed, or a limit is exceeded.
        """
        return self._write(key, stream, overwrite, metadata)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """The same as `write` (which already publishes whole)."""
        return self._write(key, stream, overwrite, metadata)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        return LocalAtomicWriter(self, key, overwrite=overwrite, metadata=metadata)

    # ------------------------------------------------------------------ delete
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete the file at ``key`` (``unlinkat`` in the confined parent; a symlink itself is removed).

        Raises:
            NotFound: Nothing at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        encode_key(key)
        parent, _, name = key.rpartition("/")
        try:
            d, owned = self._parent(key, parent, create=False)
        except (InvalidPath, NotFound) as exc:
            raise NotFound("file not found", path=key) from exc.__cause__
        try:
            os.unlink(name, dir_fd=d)
        except FileNotFoundError as exc:
            raise NotFound("file not found", path=key) from exc
        except IsADirectoryError as exc:
            raise InvalidPath("is a folder, not a file", path=key) from exc
        except PermissionError:
            st = os.stat(name, dir_fd=d, follow_symlinks=False)
            if stat_mod.S_ISDIR(st.st_mode):  # EPERM for folders on some systems
                raise InvalidPath("is a folder, not a file", path=key) from None
            raise
        finally:
            if owned:
                os.close(d)

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        encode_key(key)
        parent, _, name = key.rpartition("/")
        try:
            d, owned = self._parent(key, parent, create=False)
        except (InvalidPath, NotFound) as exc:
            raise NotFound("folder not found", path=key) from exc.__cause__
        try:
            try:
                st = os.stat(name, dir_fd=d, follow_symlinks=False)
            except FileNotFoundError as exc:
                raise NotFound("folder not found", path=key) from exc
            if not stat_mod.S_ISDIR(st.st_mode):
                raise InvalidPath("not a folder", path=key)
            if recursive:
                try:
                    remove_tree(d, name)
                except PermissionError:
                    raise PermissionDenied("a folder below cannot be read or emptied", path=key) from None
                return
            try:
                os.rmdir(name, dir_fd=d)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    raise DirectoryNotEmpty("folder is not empty", path=key) from None
                raise
        finally:
            if owned:
                os.close(d)

    # ------------------------------------------------------------------ move / copy
    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Rename file ``src`` to ``dst`` with one ``renameat`` between the confined parents.

        Raises:
            NotFound: No file at ``src``.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: ``src`` or ``dst`` is a folder, or a parent of ``dst`` is a file.
        """
        encode_key(src)
        encode_key(dst)
        sp, _, sn = src.rpartition("/")
        dp, _, dn = dst.rpartition("/")
        try:
            sd, s_owned = self._parent(src, sp, create=False)
        except (InvalidPath, NotFound) as exc:
            raise NotFound("source not found", path=src) from exc.__cause__
        try:
            try:
                st = os.stat(sn, dir_fd=sd, follow_symlinks=False)
            except FileNotFoundError as exc:
                raise NotFound("source not found", path=src) from exc
            if stat_mod.S_ISDIR(st.st_mode):
                raise InvalidPath("source is a folder; move moves files", path=src)
            if stat_mod.S_ISLNK(st.st_mode):
                try:
                    st = self._stat(src)
                except _NOT_THERE as exc:
                    raise NotFound("source not found", path=src) from exc
            if not stat_mod.S_ISREG(st.st_mode):
                raise InvalidPath("source is a folder; move moves files", path=src)
            dd, d_owned = self._parent(dst, dp, create=True)
            try:
                if self._rename(sd, sn, dd, dn, dst, overwrite):
                    return
            finally:
                if d_owned:
                    os.close(dd)
        finally:
            if s_owned:
                os.close(sd)
        super().move(src, dst, overwrite=overwrite)  # another filesystem below the root: copy + delete

    def _rename(self, sd: int, sn: str, dd: int, dn: str, dst: str, overwrite: bool) -> bool:
        """Rename; False when the two folders are on different filesystems (``EXDEV``)."""
        try:
            if overwrite:
                os.rename(sn, dn, src_dir_fd=sd, dst_dir_fd=dd)
                return True
            try:
                if renameat2(sd, sn, dd, dn, RENAME_NOREPLACE):
                    return True
            except FileExistsError:
                raise self._exists_error(dd, dn, dst) from None
            try:
                os.link(sn, dn, src_dir_fd=sd, dst_dir_fd=dd, follow_symlinks=False)
            except FileExistsError:
                raise self._exists_error(dd, dn, dst) from None
            except OSError as exc:
                if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                    return False
                raise
            os.unlink(sn, dir_fd=sd)
            return True
        except IsADirectoryError as exc:
            raise InvalidPath("destination is a folder", path=dst) from exc
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return False
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise InvalidPath("destination is a folder", path=dst) from None
            raise

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        with self.open_read(src) as f:
            self._write(dst, f, overwrite, {})

    # ------------------------------------------------------------------ listing
    def _list_fd(self, prefix: str) -> int | None:
        """A readable fd of folder ``prefix``; None when it is missing, a file or refused."""
        root = self._root_fd()
        if root is None:
            return None
        try:
            if not prefix:
                return os.open(".", LIST_FLAGS, dir_fd=root)
            return self._open(prefix, os.O_RDONLY | os.O_DIRECTORY)
        except _NOT_THERE:
            return None
        except PermissionError:
            raise PermissionDenied("folder cannot be read", path=prefix) from None
