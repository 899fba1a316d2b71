"""`LocalBackend`: files in a folder on the local filesystem.

Every path is opened relative to a directory file descriptor of the root, component by
component with ``O_NOFOLLOW``, so no key, symlink or race can reach outside the root:
a symlink is followed only when its resolved target lies inside the root.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import shutil
import stat as stat_mod
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from remote_store import _path
from remote_store._backend import AtomicWriter, Backend, _segment_regex, compile_glob
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import FileInfo, WriteResult, WriteSource
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_TMP_PREFIX = ".~rs-"
_TMP_SUFFIX = ".tmp"
_CHUNK = 1024 * 1024


# The current process id, refreshed after fork() by a hook instead of a getpid() system
# call on every operation (the root fd is reopened in a forked child).
_process_id = os.getpid()


def _after_fork_in_child() -> None:
    global _process_id
    _process_id = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _is_temp(name: str) -> bool:
    return name.startswith(_TMP_PREFIX) and name.endswith(_TMP_SUFFIX)


class LocalBackend(Backend):
    """A folder on the local filesystem.

    Writes with ``overwrite=False`` create the file exclusively (``O_EXCL``); writes that
    replace a file go through a temp file in the same folder and ``os.replace``, so a
    failed write never truncates the old file. `write_atomic` always uses temp + rename
    (``os.link`` for exclusive create), `move` is a single ``rename`` (ATOMIC_MOVE).

    Args:
        root: Folder (str or path-like) that holds the files; made absolute.
        create_root: Create ``root`` (and parents) on first use if it is missing.
        fsync: ``fsync`` files (and their folder) before an atomic write is published;
            slower, survives power loss.

    Raises:
        ConfigError: ``root`` is empty.
    """

    TYPE = "local"
    CAPABILITIES = CapabilitySet.all() - {Capability.USER_METADATA}

    def __init__(self, root: str | os.PathLike[str], *, create_root: bool = True, fsync: bool = False) -> None:
        from remote_store.errors import ConfigError

        root_s = os.fspath(root)
        if not root_s:
            raise ConfigError("LocalBackend needs a non-empty 'root'")
        self._root = os.path.abspath(os.path.expanduser(root_s))
        self._create_root = create_root
        self._fsync = fsync
        self._fd: int | None = None
        self._real_root: str | None = None
        self._lock = threading.Lock()
        self._pid = _process_id

    @property
    def root(self) -> str:
        """Absolute path of the root folder."""
        return self._root

    @property
    def options(self) -> dict[str, Any]:
        return {"root": self._root, "create_root": self._create_root, "fsync": self._fsync}

    # ------------------------------------------------------------------ fd plumbing
    def _root_fd(self) -> int:
        fd = self._fd
        if fd is not None and self._pid == _process_id:
            return fd
        with self._lock:
            if self._fd is None or self._pid != _process_id:
                if self._create_root:
                    os.makedirs(self._root, exist_ok=True)
                try:
                    self._fd = os.open(self._root, _DIR_FLAGS)
                except FileNotFoundError as exc:
                    raise BackendUnavailable("root folder does not exist", path=self._root) from exc
                self._real_root = os.path.realpath(self._root)
                self._pid = _process_id
            return self._fd

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._fd)
                self._fd = None

    def ping(self) -> None:
        os.fstat(self._root_fd())

    def _resolve_link(self, dir_fd: int, name: str, key: str) -> str:
        """Return the real path of symlink ``name`` in ``dir_fd`` if it stays inside the root."""
        target = os.path.realpath(os.path.join(self._root, key))
        real_root = self._real_root or os.path.realpath(self._root)
        if target != real_root and not target.startswith(real_root + os.sep):
            raise InvalidPath("symlink points outside the store root", path=key)
        return target

    def _open_child_dir(self, dir_fd: int, name: str, key: str, create: bool) -> int:
        try:
            return os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=dir_fd)
        except FileNotFoundError:
            if not create:
                raise NotFound("folder not found", path=key) from None
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, dir_fd=dir_fd)
            return self._open_child_dir(dir_fd, name, key, False)
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat_mod.S_ISLNK(st.st_mode):
                target = self._resolve_link(dir_fd, name, key)
                try:
                    return os.open(target, _DIR_FLAGS)
                except FileNotFoundError:
                    raise NotFound("folder not found", path=key) from None
                except NotADirectoryError:
                    raise InvalidPath("a parent of the path is a file", path=key) from None
            raise InvalidPath("a parent of the path is a file", path=key) from None

    @contextlib.contextmanager
    def _dir(self, key: str, *, create: bool = False) -> Iterator[int]:
        """Yield an fd of folder ``key`` (``""`` = root)."""
        fd = self._root_fd()
        if not key:
            yield fd
            return
        walked: list[str] = []
        cur = fd
        try:
            for part in key.split("/"):
                walked.append(part)
                nxt = self._open_child_dir(cur, part, "/".join(walked), create)
                if cur != fd:
                    os.close(cur)
                cur = nxt
            yield cur
        finally:
            if cur != fd:
                os.close(cur)

    def _open_file(self, dir_fd: int, name: str, key: str, flags: int, mode: int = 0o666) -> int:
        try:
            return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            target = self._resolve_link(dir_fd, name, key)
            return os.open(target, flags | os.O_CLOEXEC, mode)

    def _stat(self, key: str) -> os.stat_result:
        if "/" not in key:  # top-level file: no folder walk
            return self._stat_in(self._root_fd(), key, key)
        parent, name = _path.parent(key), _path.basename(key)
        with self._dir(parent) as d:
            return self._stat_in(d, name, key)

    def _stat_in(self, d: int, name: str, key: str) -> os.stat_result:
        st = os.stat(name, dir_fd=d, follow_symlinks=False)
        if stat_mod.S_ISLNK(st.st_mode):
            st = os.stat(self._resolve_link(d, name, key))
        return st

    def _file_info(self, key: str, st: os.stat_result) -> FileInfo:
        return FileInfo(
            path=key,
            name=_path.basename(key),
            size=st.st_size,
            modified_at=datetime.fromtimestamp(st.st_mtime, UTC),
            etag=f"{st.st_mtime_ns:x}-{st.st_size:x}",
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
        except (NotFound, InvalidPath, FileNotFoundError, NotADirectoryError):
            return False

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        try:
            with self._dir(key):
                return True
        except (NotFound, InvalidPath, FileNotFoundError, NotADirectoryError):
            return False

    def stat(self, key: str) -> FileInfo:
        try:
            st = self._stat(key)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("file not found", path=key) from None
        if stat_mod.S_ISDIR(st.st_mode):
            raise InvalidPath("is a folder, not a file", path=key)
        return self._file_info(key, st)

    # ------------------------------------------------------------------ reads
    def _open_reader(self, key: str) -> IO[bytes]:
        parent, name = _path.parent(key), _path.basename(key)
        try:
            if not parent:  # top-level file: no folder walk
                fd = self._open_file(self._root_fd(), name, key, os.O_RDONLY)
            else:
                with self._dir(parent) as d:
                    fd = self._open_file(d, name, key, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("file not found", path=key) from None
        except InvalidPath as exc:
            raise NotFound("file not found", path=key) from exc
        try:
            # FileIO fstat()s the fd and refuses folders with EISDIR (leaving the fd open).
            return open(fd, "rb")
        except IsADirectoryError:
            os.close(fd)
            raise InvalidPath("is a folder, not a file", path=key) from None
        except BaseException:
            os.close(fd)
            raise

    def open_read(self, key: str) -> IO[bytes]:
        return self._open_reader(key)

    def read_bytes(self, key: str) -> bytes:
        with self._open_reader(key) as f:
            return f.read()

    # ------------------------------------------------------------------ writes
    def _temp(self, d: int, name: str) -> tuple[str, int]:
        for _ in range(100):
            tmp = f"{_TMP_PREFIX}{name[:80]}.{secrets.token_hex(6)}{_TMP_SUFFIX}"
            try:
                return tmp, os.open(
                    tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=d
                )
            except FileExistsError:
                continue
        raise AlreadyExists("could not create a temp file")  # pragma: no cover

    def _publish(self, d: int, tmp: str, name: str, key: str, overwrite: bool) -> None:
        """Move ``tmp`` to ``name`` in folder ``d``: replace, or exclusive link."""
        try:
            st = os.stat(name, dir_fd=d, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and stat_mod.S_ISDIR(st.st_mode):
            raise InvalidPath("is a folder, not a file", path=key)
        if overwrite:
            os.replace(tmp, name, src_dir_fd=d, dst_dir_fd=d)
            return
        try:
            os.link(tmp, name, src_dir_fd=d, dst_dir_fd=d, follow_symlinks=False)
        except FileExistsError:
            raise AlreadyExists("file exists", path=key) from None
        except OSError as exc:  # filesystems without hard links
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if st is not None:
                raise AlreadyExists("file exists", path=key) from None
            os.replace(tmp, name, src_dir_fd=d, dst_dir_fd=d)
            return
        os.unlink(tmp, dir_fd=d)

    def _copy_into(self, fd: int, stream: IO[bytes]) -> None:
        if type(stream) is io.BytesIO:  # bytes content: write it directly, no 1 MiB copy buffer
            pos = stream.tell()
            with stream.getbuffer() as whole, whole[pos:] as view:
                _write_all(fd, view)
            stream.seek(0, io.SEEK_END)
            return
        readinto = getattr(stream, "readinto", None)
        if readinto is not None:
            buf = bytearray(_CHUNK)
            view = memoryview(buf)
            while True:
                n = readinto(view)
                if not n:
                    break
                _write_all(fd, view[:n])
        else:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                if isinstance(chunk, str):
                    raise TypeError("write() needs a binary stream, got text")
                _write_all(fd, chunk)

    def _write_via_temp(
        self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        parent, name = _path.parent(key), _path.basename(key)
        with self._dir(parent, create=True) as d:
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
                os.fsync(d)
        return self._result(key, st, metadata)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        parent, name = _path.parent(key), _path.basename(key)
        with self._dir(parent, create=True) as d:
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=d)
            except FileExistsError:
                st = os.stat(name, dir_fd=d, follow_symlinks=False)
                if stat_mod.S_ISDIR(st.st_mode):
                    raise InvalidPath("is a folder, not a file", path=key) from None
                if not overwrite:
                    raise AlreadyExists("file exists", path=key) from None
                fd = -1
            if fd >= 0:
                try:
                    try:
                        self._copy_into(fd, stream)
                        if self._fsync:
                            os.fsync(fd)
                        st = os.fstat(fd)
                    finally:
                        os.close(fd)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(name, dir_fd=d)
                    raise
                return self._result(key, st, metadata)
        return self._write_via_temp(key, stream, overwrite=True, metadata=metadata)

    def write_atomic(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        return self._write_via_temp(key, stream, overwrite=overwrite, metadata=metadata)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        return _LocalAtomicWriter(self, key, overwrite=overwrite, metadata=metadata)

    # ------------------------------------------------------------------ delete
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        parent, name = _path.parent(key), _path.basename(key)
        try:
            with self._dir(parent) as d:
                st = os.stat(name, dir_fd=d, follow_symlinks=False)
                if stat_mod.S_ISDIR(st.st_mode):
                    raise InvalidPath("is a folder, not a file", path=key)
                os.unlink(name, dir_fd=d)
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("file not found", path=key) from None
        except InvalidPath as exc:
            if "folder" in exc.message and exc.path == key:
                raise
            raise NotFound("file not found", path=key) from exc

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        parent, name = _path.parent(key), _path.basename(key)
        try:
            with self._dir(parent) as d:
                st = os.stat(name, dir_fd=d, follow_symlinks=False)
                if not stat_mod.S_ISDIR(st.st_mode):
                    raise InvalidPath("not a folder", path=key)
                if recursive:
                    shutil.rmtree(name, dir_fd=d)
                else:
                    try:
                        os.rmdir(name, dir_fd=d)
                    except OSError as exc:
                        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                            raise DirectoryNotEmpty("folder is not empty", path=key) from None
                        raise
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound("folder not found", path=key) from None

    # ------------------------------------------------------------------ move / copy
    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        if not self.exists(src):
            raise NotFound("source not found", path=src)
        sp, sn = _path.parent(src), _path.basename(src)
        dp, dn = _path.parent(dst), _path.basename(dst)
        with self._dir(sp) as sd, self._dir(dp, create=True) as dd:
            try:
                st = os.stat(dn, dir_fd=dd, follow_symlinks=False)
            except FileNotFoundError:
                st = None
            if st is not None and stat_mod.S_ISDIR(st.st_mode):
                raise InvalidPath("destination is a folder", path=dst)
            if overwrite:
                try:
                    os.replace(sn, dn, src_dir_fd=sd, dst_dir_fd=dd)
                    return
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
            else:
                try:
                    os.link(sn, dn, src_dir_fd=sd, dst_dir_fd=dd, follow_symlinks=False)
                except FileExistsError:
                    raise AlreadyExists("destination exists", path=dst) from None
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                        raise
                else:
                    os.unlink(sn, dir_fd=sd)
                    return
        super().move(src, dst, overwrite=overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        with self._open_reader(src) as f:
            self._write_via_temp(dst, f, overwrite=overwrite, metadata={})

    # ------------------------------------------------------------------ listing
    def _scan(self, fd: int, prefix: str, recursive: bool, depth: int, max_depth: int | None) -> Iterator[FileInfo]:
        subdirs: list[str] = []
        with os.scandir(fd) as it:
            entries = list(it)
        for entry in sorted(entries, key=lambda e: e.name):
            key = f"{prefix}/{entry.name}" if prefix else entry.name
            if _is_temp(entry.name):
                continue
            try:
                if entry.is_symlink():
                    try:
                        target = self._resolve_link(fd, entry.name, key)
                        st = os.stat(target)
                    except (InvalidPath, OSError):
                        continue
                    if stat_mod.S_ISREG(st.st_mode):
                        yield self._file_info(key, st)
                    continue
                if entry.is_dir(follow_symlinks=False):
                    subdirs.append(entry.name)
                elif entry.is_file(follow_symlinks=False):
                    yield self._file_info(key, entry.stat(follow_symlinks=False))
            except FileNotFoundError:
                continue
        if recursive and (max_depth is None or depth < max_depth):
            for name in subdirs:
                try:
                    sub = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                except OSError:
                    continue
                try:
                    yield from self._scan(sub, f"{prefix}/{name}" if prefix else name, True, depth + 1, max_depth)
                finally:
                    os.close(sub)

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        try:
            ctx = self._dir(prefix)
            d = ctx.__enter__()
        except (NotFound, InvalidPath, FileNotFoundError, NotADirectoryError):
            return
        try:
            yield from self._scan(d, prefix, recursive, 1, max_depth)
        finally:
            ctx.__exit__(None, None, None)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        try:
            with self._dir(prefix) as d, os.scandir(d) as it:
                names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
        except (NotFound, InvalidPath, FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            yield f"{prefix}/{name}" if prefix else name

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Native glob: walks the tree segment by segment, descending only into folders the
        pattern can match (``**`` walks the whole subtree below it)."""
        segments = [s for s in pattern.strip("/").split("/") if s not in ("", ".")]
        if not segments:
            return
        regex = compile_glob(pattern)
        literal: list[str] = []
        for seg in segments[:-1]:
            if any(ch in seg for ch in "*?["):
                break
            literal.append(seg)
        base = "/".join(literal)
        rest = segments[len(literal) :]
        if len(rest) == 1 and not any(ch in rest[0] for ch in "*?["):
            key = f"{base}/{rest[0]}" if base else rest[0]
            with contextlib.suppress(NotFound, InvalidPath):
                yield self.stat(key)
            return
        try:
            ctx = self._dir(base)
            d = ctx.__enter__()
        except (NotFound, InvalidPath, FileNotFoundError, NotADirectoryError):
            return
        try:
            yield from self._glob_walk(d, base, rest, regex)
        finally:
            ctx.__exit__(None, None, None)

    def _glob_walk(self, fd: int, prefix: str, rest: list[str], regex: re.Pattern[str]) -> Iterator[FileInfo]:
        if "**" in rest:
            for info in self._scan(fd, prefix, True, 1, None):
                if regex.fullmatch(info.path):
                    yield info
            return
        seg_re = re.compile(_segment_regex(rest[0]), re.DOTALL)
        last = len(rest) == 1
        with os.scandir(fd) as it:
            entries = sorted((e for e in it if seg_re.fullmatch(e.name) and not _is_temp(e.name)), key=lambda e: e.name)
        for entry in entries:
            key = f"{prefix}/{entry.name}" if prefix else entry.name
            if last:
                if entry.is_symlink():
                    try:
                        st = os.stat(self._resolve_link(fd, entry.name, key))
                    except (InvalidPath, OSError):
                        continue
                    if stat_mod.S_ISREG(st.st_mode):
                        yield self._file_info(key, st)
                elif entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        yield self._file_info(key, entry.stat(follow_symlinks=False))
            elif entry.is_dir(follow_symlinks=False):
                try:
                    sub = os.open(entry.name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
                except OSError:
                    continue
                try:
                    yield from self._glob_walk(sub, key, rest[1:], regex)
                finally:
                    os.close(sub)


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _LocalAtomicWriter(AtomicWriter):
    """Streams into a temp file next to the target; commit = fsync? + link/replace."""

    def __init__(self, backend: LocalBackend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._b = backend
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._parent, self._name = _path.parent(key), _path.basename(key)
        self._dirctx = backend._dir(self._parent, create=True)
        self._d = self._dirctx.__enter__()
        try:
            self._tmp, self._fd = backend._temp(self._d, self._name)
        except BaseException:
            self._dirctx.__exit__(None, None, None)
            raise
        self._done = False

    def write(self, data: bytes) -> int:
        _write_all(self._fd, data)
        return len(data)

    def commit(self) -> WriteResult:
        try:
            if self._b._fsync:
                os.fsync(self._fd)
            st = os.fstat(self._fd)
            os.close(self._fd)
            self._fd = -1
            self._b._publish(self._d, self._tmp, self._name, self._key, self._overwrite)
            return self._b._result(self._key, st, self._metadata)
        except BaseException:
            self.abort()
            raise
        finally:
            self._finish()

    def abort(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if not self._done:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp, dir_fd=self._d)
        self._finish()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            self._dirctx.__exit__(None, None, None)
