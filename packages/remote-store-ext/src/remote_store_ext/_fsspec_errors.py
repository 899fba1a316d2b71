"""remote-store errors as the native exceptions fsspec and PyArrow callers expect (shared by
``fsspec`` and ``arrow``; imports neither library)."""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator

from remote_store.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)


def native_error(exc: RemoteStoreError, path: str) -> Exception:
    """The native exception PyArrow expects for ``exc`` (raised ``from exc`` by callers)."""
    msg = str(exc)
    if isinstance(exc, NotFound):
        return FileNotFoundError(errno.ENOENT, msg, path)
    if isinstance(exc, AlreadyExists):
        return FileExistsError(errno.EEXIST, msg, path)
    if isinstance(exc, PermissionDenied):
        return PermissionError(errno.EACCES, msg, path)
    if isinstance(exc, DirectoryNotEmpty):
        return OSError(errno.ENOTEMPTY, msg, path)
    if isinstance(exc, CapabilityNotSupported):
        return NotImplementedError(msg)
    if isinstance(exc, InvalidPath):
        return OSError(errno.EINVAL, msg, path)
    return OSError(errno.EIO, msg, path)


@contextlib.contextmanager
def mapped(path: str) -> Iterator[None]:
    try:
        yield
    except RemoteStoreError as exc:
        raise native_error(exc, path) from exc
