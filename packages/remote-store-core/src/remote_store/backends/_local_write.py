"""Publishing writes for `LocalBackend`: temp file in the target's folder, then one rename.

Everything works on folder fds the backend resolved beneath its root: the temp file is
created with ``O_EXCL | O_NOFOLLOW`` and published with ``renameat`` (replace) or
``renameat2(RENAME_NOREPLACE)`` / ``linkat`` (exclusive), so a reader or a killed writer
sees the old file or the new one, never a part.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import secrets
import stat as stat_mod
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

from remote_store._backend import AtomicWriter
from remote_store._models import WriteResult
from remote_store.backends._local_resolve import encode_key
from remote_store.backends._local_sys import RENAME_NOREPLACE, renameat2
from remote_store.backends._local_walk import TMP_PREFIX, TMP_SUFFIX
from remote_store.errors import AlreadyExists, InvalidPath

if TYPE_CHECKING:
    from remote_store.backends._local import LocalBackend

_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1024 * 1024


def make_temp(d: int, name: str, pid: int) -> tuple[str, int]:
    """Create a new temp file for ``name`` in folder ``d`` (``O_EXCL``); return its name and fd."""
    short = name.encode("utf-8", "surrogateescape")[:60].decode("utf-8", "ignore")
    for _ in range(100):
        tmp = f"{TMP_PREFIX}{pid}-{int(time.time())}-{secrets.token_hex(4)}-{short}{TMP_SUFFIX}"
        try:
            return tmp, os.open(tmp, _TEMP_FLAGS, 0o666, dir_fd=d)
        except FileExistsError:
            continue
    raise AlreadyExists("could not create a temp file")  # pragma: no cover


def exists_error(d: int, name: str, key: str) -> Exception:
    """The error for an exclusive publish that met ``name`` in ``d``: a folder is `InvalidPath`."""
    try:
        st = os.stat(name, dir_fd=d, follow_symlinks=False)
    except FileNotFoundError:
        return AlreadyExists("file exists", path=key)
    if stat_mod.S_ISDIR(st.st_mode):
        return InvalidPath("is a folder, not a file", path=key)
    return AlreadyExists("file exists", path=key)


def publish(d: int, tmp: str, name: str, key: str, overwrite: bool) -> None:
    """Move ``tmp`` to ``name`` in folder ``d``: replace, or exclusive create."""
    if overwrite:
        try:
            os.rename(tmp, name, src_dir_fd=d, dst_dir_fd=d)
        except IsADirectoryError as exc:
            raise InvalidPath("is a folder, not a file", path=key) from exc
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise InvalidPath("is a folder, not a file", path=key) from None
            raise
        return
    try:
        if renameat2(d, tmp, d, name, RENAME_NOREPLACE):
            return
    except FileExistsError:
        raise exists_error(d, name, key) from None
    try:
        os.link(tmp, name, src_dir_fd=d, dst_dir_fd=d, follow_symlinks=False)
    except FileExistsError:
        raise exists_error(d, name, key) from None
    except OSError as exc:  # filesystems without hard links: check, then replace
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        with contextlib.suppress(FileNotFoundError):
            os.stat(name, dir_fd=d, follow_symlinks=False)
            raise exists_error(d, name, key) from None
        os.rename(tmp, name, src_dir_fd=d, dst_dir_fd=d)
        return
    os.unlink(tmp, dir_fd=d)


def copy_into(fd: int, stream: IO[bytes]) -> None:
    """Write all of ``stream`` to ``fd`` (a ``BytesIO`` without a copy buffer)."""
    if type(stream) is io.BytesIO:  # bytes content: write it directly, no 1 MiB copy buffer
        pos = stream.tell()
        with stream.getbuffer() as whole, whole[pos:] as view:
            write_all(fd, view)
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
            write_all(fd, view[:n])
    else:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            if isinstance(chunk, str):
                raise TypeError("write() needs a binary stream, got text")
            write_all(fd, chunk)


def sync_dir(d: int) -> None:
    """``fsync`` the folder ``d`` (publishes a rename durably)."""
    fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=d)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: Any) -> None:
    """Write all of ``data`` (a bytes-like object) to ``fd``."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class LocalAtomicWriter(AtomicWriter):
    """Streams into a temp file next to the target; commit = fsync? + rename / exclusive rename."""

    def __init__(self, backend: LocalBackend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._b = backend
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        encode_key(key)
        self._parent, _, self._name = key.rpartition("/")
        self._d, self._owned = backend._parent(key, self._parent, create=True)
        try:
            self._tmp, self._fd = backend._temp(self._d, self._name)
        except BaseException:
            if self._owned:
                os.close(self._d)
            raise
        self._done = False

    def write(self, data: bytes) -> int:
        write_all(self._fd, data)
        return len(data)

    def commit(self) -> WriteResult:
        try:
            if self._b._fsync:
                os.fsync(self._fd)
            st = os.fstat(self._fd)
            os.close(self._fd)
            self._fd = -1
            publish(self._d, self._tmp, self._name, self._key, self._overwrite)
            self._tmp = ""
            if self._b._fsync:
                sync_dir(self._d)
            self._b._maybe_sweep(self._d, self._parent)
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
        if not self._done and self._tmp:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp, dir_fd=self._d)
        self._finish()

    def _finish(self) -> None:
        if not self._done:
            self._done = True
            if self._owned:
                os.close(self._d)
