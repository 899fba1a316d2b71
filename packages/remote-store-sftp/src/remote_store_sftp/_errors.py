"""The one place native SFTP/SSH exceptions become `remote_store.errors`."""

from __future__ import annotations

import errno
import socket

import paramiko

from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

#: errno values that mean the connection itself failed.
CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ESHUTDOWN,
        errno.ENOTCONN,
    }
)

_ERRNO = {
    errno.ENOENT: NotFound,
    errno.EACCES: PermissionDenied,
    errno.EPERM: PermissionDenied,
    errno.EEXIST: AlreadyExists,
    errno.EISDIR: InvalidPath,
    errno.ENOTDIR: InvalidPath,
    errno.ENOTEMPTY: DirectoryNotEmpty,
    errno.ENAMETOOLONG: InvalidPath,
    errno.EINVAL: InvalidPath,
}


def is_connection_error(exc: BaseException) -> bool:
    """Whether ``exc`` means the SSH transport or channel failed (not an SFTP status reply).

    SFTP status replies arrive as ``IOError(errno, text)`` / ``IOError(text)``; a dead
    connection shows as ``EOFError``, ``SSHException`` (not authentication), ``socket.timeout``,
    an ``OSError`` with a connection errno, or paramiko's ``OSError("Socket is closed")``.
    """
    if isinstance(exc, paramiko.AuthenticationException):
        return False
    if isinstance(exc, (EOFError, paramiko.SSHException, socket.timeout, TimeoutError, ConnectionError)):
        return True
    if isinstance(exc, OSError):
        if exc.errno in CONNECTION_ERRNOS:
            return True
        return exc.errno is None and str(exc) in ("Socket is closed", "Socket is closed.")
    return False


def translate(exc: BaseException, key: str | None, backend: str = "sftp") -> RemoteStoreError | None:
    """Map a paramiko / socket / SFTP-status exception to a `remote_store.errors` class.

    - ``AuthenticationException`` → `BackendUnavailable` ("authentication failed").
    - ``BadHostKeyException`` → `PermissionDenied` ("host key changed").
    - ``SSHException``, ``EOFError``, socket errors and timeouts → `BackendUnavailable`.
    - SFTP status ``IOError``: ENOENT (``SSH_FX_NO_SUCH_FILE``) → `NotFound`, EACCES
      (``SSH_FX_PERMISSION_DENIED``) → `PermissionDenied`, other errnos by their meaning;
      ``SSH_FX_FAILURE`` without errno → `RemoteStoreError` (the backend diagnoses the common
      cases itself before this mapping is reached).

    Returns:
        The mapped error, or None when ``exc`` is none of these.
    """
    name = type(exc).__name__
    if isinstance(exc, RemoteStoreError):
        return exc
    if isinstance(exc, paramiko.BadHostKeyException):
        return PermissionDenied(f"host key changed for {exc.hostname}: refusing to connect", path=key, backend=backend)
    if isinstance(exc, paramiko.AuthenticationException):
        return BackendUnavailable(f"SSH authentication failed: {exc}", path=key, backend=backend)
    if isinstance(exc, (socket.gaierror, socket.herror)):
        return BackendUnavailable(f"SFTP host cannot be resolved: {exc}", path=key, backend=backend)
    if is_connection_error(exc):
        return BackendUnavailable(f"SFTP connection failed: {name}: {exc}", path=key, backend=backend)
    if isinstance(exc, paramiko.SFTPError):
        return RemoteStoreError(f"SFTP protocol error: {exc}", path=key, backend=backend)
    if isinstance(exc, OSError):
        cls = _ERRNO.get(exc.errno) if exc.errno is not None else None
        text = exc.strerror or (str(exc.args[0]) if exc.args else name)
        if cls is not None:
            return cls(text, path=key, backend=backend)
        if text == "Operation unsupported":
            return RemoteStoreError("the SFTP server does not support this operation", path=key, backend=backend)
        return RemoteStoreError(f"SFTP error: {text}", path=key, backend=backend)
    return None


def enoent(exc: BaseException) -> bool:
    """An SFTP ``NO_SUCH_FILE`` status (not a dead connection)."""
    return isinstance(exc, OSError) and exc.errno == errno.ENOENT and not is_connection_error(exc)


def is_status(exc: BaseException) -> bool:
    """An SFTP status reply: the request failed but the channel is still usable."""
    return isinstance(exc, (OSError, paramiko.SFTPError)) and not is_connection_error(exc)
