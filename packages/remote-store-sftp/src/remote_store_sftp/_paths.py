"""Keys to server paths, and symlink confinement: nothing resolves outside the base folder.

SFTP v3 has no ``openat`` and no inode numbers: a path is checked (``REALPATH`` / ``LSTAT``)
and then used in a separate request. The checks here make every symlink met on the way
resolve inside the base folder at check time; `same_file` compares a handle's ``FSTAT`` with
the checked attributes afterwards. Someone with write access on the server can still swap a
link between the two requests; the account's permissions are the real boundary.
"""

from __future__ import annotations

import stat as stat_mod

import paramiko

from remote_store.errors import InvalidPath, NotFound
from remote_store_sftp import _wire
from remote_store_sftp._errors import enoent
from remote_store_sftp._options import TMP_PREFIX, TMP_SUFFIX


def parent_of(key: str) -> str:
    """The folder key holding ``key`` (``""`` for a top-level key)."""
    return key.rpartition("/")[0]


def name_of(key: str) -> str:
    """The last segment of ``key``."""
    return key.rpartition("/")[2]


def abs_path(base: str, key: str) -> str:
    """The server path of ``key`` below ``base``."""
    if not key:
        return base
    return f"{base.rstrip('/')}/{key}" if base != "/" else f"/{key}"


def within(base: str, real: str) -> bool:
    """Whether the resolved path ``real`` is ``base`` or below it."""
    if base == "/":
        return real.startswith("/")
    return real == base or real.startswith(base.rstrip("/") + "/")


def is_temp(name: str) -> bool:
    """Whether a file name is one of this backend's temp files (``.~rs-<name>.<hex>.tmp``)."""
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


def outside(key: str) -> InvalidPath:
    return InvalidPath("path leads outside the base folder through a symlink", path=key)


def check_real(c: _wire.Client, base: str, path: str, key: str) -> str:
    """``REALPATH`` of ``path``; refuse it when a symlink leads outside ``base``.

    Raises:
        InvalidPath: It resolves outside ``base``.
        IOError: ``ENOENT`` when a parent is missing.
    """
    real = str(c.normalize(path))
    if not within(base, real):
        raise outside(key)
    return real


def check_parent(c: _wire.Client, base: str, key: str) -> None:
    """Refuse ``key`` when its parent folder resolves outside ``base`` (no-op for top-level keys)."""
    parent = parent_of(key)
    if parent:
        check_real(c, base, abs_path(base, parent), key)


def resolve(c: _wire.Client, base: str, key: str) -> tuple[str, paramiko.SFTPAttributes, bool]:
    """Resolve ``key`` to ``(path to use, attributes, link checked)``, following in-base symlinks only.

    Top-level keys cost one ``LSTAT`` (plus ``REALPATH`` + ``STAT`` for a symlink); nested keys
    one round trip of pipelined ``REALPATH`` + ``STAT``. ``link checked`` is True when a
    ``REALPATH`` check was made (the returned path is then the resolved one).

    Raises:
        NotFound: Nothing at ``key`` (or a parent is missing / a file).
        InvalidPath: A symlink on the way leads outside the base folder.
    """
    path = abs_path(base, key)
    if "/" in key:
        return _resolve_checked(c, base, path, key)
    try:
        st = c.lstat(path)
    except OSError as exc:
        if enoent(exc):
            raise NotFound("file not found", path=key) from exc
        raise
    if stat_mod.S_ISLNK(st.st_mode or 0):
        return _resolve_checked(c, base, path, key)
    return path, st, False


def _resolve_checked(c: _wire.Client, base: str, path: str, key: str) -> tuple[str, paramiko.SFTPAttributes, bool]:
    real_reply, st_reply = _wire.pipelined(c, [("realpath", path), ("stat", path)])
    real = _unwrap(real_reply, key)
    st = _unwrap(st_reply, key)
    assert isinstance(real, str) and isinstance(st, paramiko.SFTPAttributes)
    if not within(base, real):
        raise outside(key)
    return real, st, True


def _unwrap(reply: _wire.Reply, key: str) -> paramiko.SFTPAttributes | str | None:
    if isinstance(reply, BaseException):
        if enoent(reply):
            raise NotFound("file not found", path=key) from reply
        raise reply
    return reply


def same_file(a: paramiko.SFTPAttributes, b: paramiko.SFTPAttributes) -> bool:
    """Whether two attribute sets can describe the same file (type+mode, owner, size, mtime).

    SFTP v3 has no inode number, so this is the closest identity check it allows.
    """
    return (
        (a.st_mode or 0) == (b.st_mode or 0)
        and a.st_uid == b.st_uid
        and a.st_gid == b.st_gid
        and (a.st_size or 0) == (b.st_size or 0)
        and a.st_mtime == b.st_mtime
    )


def kind_error(st: paramiko.SFTPAttributes, key: str) -> InvalidPath | NotFound | None:
    """The error for reading something that is not a regular file, or None for a regular file.

    A folder is `InvalidPath`; a FIFO, socket or device is `InvalidPath` too ("not a regular
    file"): opening one could block the server's reply for the whole operation timeout.
    """
    mode = st.st_mode or 0
    if stat_mod.S_ISREG(mode):
        return None
    if stat_mod.S_ISDIR(mode):
        return InvalidPath("is a folder, not a file", path=key)
    return InvalidPath("not a regular file (FIFO, socket or device)", path=key)
