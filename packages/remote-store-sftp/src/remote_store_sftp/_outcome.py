"""Check-after-failure for calls that must not be repeated blindly: exclusive creates and moves.

When the connection drops after the publishing request (``hardlink@openssh.com`` of an
exclusive write, the rename of a move) was sent, the server may or may not have acted on it.
Repeating the call could report `AlreadyExists` for our own file, or `NotFound` for a source
we already moved. Instead the backend looks at the keys on a new connection:

- exclusive write / copy: the key holds a file of our size whose SHA-256 is the one we
  streamed → success; another file → `AlreadyExists`; no file → the request never ran, the
  write is run again (only while its source can be rewound);
- move: the source is gone and the destination has the source's size and modification time
  (a rename keeps both) → success; the source is still there and the destination missing →
  the rename never ran, it is run again; the destination is the source's twin next to a
  source that is still there (hardlink done, ``REMOVE`` lost) → the source is removed;
- anything else, or the check itself fails → `BackendUnavailable` saying the outcome is unknown.
"""

from __future__ import annotations

import hashlib
import logging
import stat as stat_mod
from typing import TYPE_CHECKING

import paramiko

from remote_store.errors import AlreadyExists, BackendUnavailable, RemoteStoreError
from remote_store_sftp import _paths, _pool, _wire
from remote_store_sftp._errors import enoent

if TYPE_CHECKING:
    from remote_store_sftp._backend import SFTPBackend

log = logging.getLogger("remote_store.sftp")
_CHUNK = 1024 * 1024


def unknown(what: str, key: str, exc: BaseException) -> BackendUnavailable:
    """The error for a call whose outcome could not be determined."""
    return BackendUnavailable(
        f"the connection was lost after the {what} request was sent and the outcome could not be checked "
        f"({type(exc).__name__}); {key!r} may or may not have been changed",
        path=key,
    )


def _lstat(b: SFTPBackend, key: str) -> paramiko.SFTPAttributes | None:
    def op(c: _wire.Client, s: _pool.Session) -> paramiko.SFTPAttributes | None:
        try:
            return c.lstat(_paths.abs_path(s.base, key))
        except OSError as exc:
            if enoent(exc):
                return None
            raise

    return b._pool.run(op)


def digest(b: SFTPBackend, key: str) -> str:
    """Hex SHA-256 of the file at ``key`` (read through a stream)."""
    h = hashlib.sha256()
    with b.open_read(key) as stream:
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                return h.hexdigest()
            h.update(chunk)


def created(b: SFTPBackend, key: str, size: int, sha256: str | None, exc: BaseException) -> bool:
    """After a lost answer of an exclusive publish: True when ``key`` now holds our content.

    Args:
        b: The backend.
        key: The target key.
        size: Bytes we wrote.
        sha256: Hex SHA-256 of what we wrote (None: compare sizes only).
        exc: The failure that lost the answer (named in the error).

    Returns:
        True: our file is there (success). False: no file at ``key`` (the request never ran).

    Raises:
        AlreadyExists: Another file is at ``key``.
        BackendUnavailable: The check failed too (outcome unknown).
    """
    try:
        st = _lstat(b, key)
        if st is None:
            return False
        same = stat_mod.S_ISREG(st.st_mode or 0) and int(st.st_size or 0) == size
        if same and sha256 is not None:
            same = digest(b, key) == sha256
    except RemoteStoreError as err:
        raise unknown("publishing", key, exc) from err
    except Exception as err:
        if b.translate_error(err, key) is None:
            raise
        raise unknown("publishing", key, exc) from err
    if not same:
        raise AlreadyExists("file exists (another writer created it while our answer was lost)", path=key)
    log.info("lost answer of an exclusive write of %s: the file is ours, the write succeeded", key)
    return True


def moved(b: SFTPBackend, src: str, dst: str, before: paramiko.SFTPAttributes | None, exc: BaseException) -> bool:
    """After a lost answer of a move's rename: True when the move is done (now or by this check).

    Returns:
        True: done. False: nothing happened (the caller runs the move again).

    Raises:
        BackendUnavailable: The outcome cannot be told (or the check failed too).
    """
    if before is None:
        raise unknown("rename", src, exc)
    try:
        s_now, d_now = _lstat(b, src), _lstat(b, dst)
        twin = d_now is not None and _same(before, d_now)
        if s_now is None and twin:
            return True
        if s_now is not None and d_now is None and _same(before, s_now):
            return False
        if s_now is not None and twin and _same(before, s_now):
            b._pool.run(lambda c, s: c.remove(_paths.abs_path(s.base, src)))  # hardlink landed, REMOVE lost
            return True
    except Exception as err:
        if not isinstance(err, RemoteStoreError) and b.translate_error(err, src) is None:
            raise
        raise unknown("rename", src, exc) from err
    raise unknown("rename", src, exc)


def _same(a: paramiko.SFTPAttributes, b: paramiko.SFTPAttributes) -> bool:
    return (a.st_size, a.st_mtime, a.st_mode) == (b.st_size, b.st_mtime, b.st_mode)
