"""Writes: a temp file next to the target, published by rename; moves; stale-temp sweeps.

Every write (plain and atomic) streams into ``.~rs-<name>.<12 hex>.tmp`` in the target's
folder and publishes it with ``posix-rename@openssh.com`` (replace) or ``hardlink@openssh.com``
+ ``REMOVE`` (exclusive create), so no reader ever sees a partial file under the key and a
failed write leaves the old file intact.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import stat as stat_mod
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paramiko

from remote_store import AlreadyExists, InvalidPath, NotFound, RemoteStoreError
from remote_store_sftp import _paths, _pool, _wire
from remote_store_sftp._errors import enoent, is_connection_error
from remote_store_sftp._options import SWEEP_INTERVAL, TMP_PREFIX, TMP_SUFFIX

log = logging.getLogger("remote_store.sftp")

#: Attempts of a `move` whose rename failed while the situation kept changing.
_MOVE_ATTEMPTS = 4


def tmp_name(name: str) -> str:
    """A fresh temp file name for target name ``name``."""
    return f"{TMP_PREFIX}{name[:80]}.{secrets.token_hex(6)}{TMP_SUFFIX}"


# ---------------------------------------------------------------------- folders
def makedirs(c: _wire.Client, base: str, folder: str, key: str) -> None:
    """Create folder key ``folder`` and its parents below ``base`` (``mkdir -p``), symlink-safe.

    Raises:
        InvalidPath: A parent is a file, or a symlink on the way leads outside ``base``.
    """
    if not folder:
        return
    try:
        real = _paths.check_real(c, base, _paths.abs_path(base, folder), key)
        st = c.stat(real)
        if stat_mod.S_ISDIR(st.st_mode or 0):
            return
        raise InvalidPath("a parent of the path is a file", path=key)
    except OSError as exc:
        if not enoent(exc):
            raise
    walked: list[str] = []
    for part in folder.split("/"):
        walked.append(part)
        path = _paths.abs_path(base, "/".join(walked))
        try:
            c.mkdir(path)
            continue
        except OSError as exc:
            if is_connection_error(exc):
                raise
        try:
            st = c.lstat(path)
        except OSError as exc:
            if enoent(exc):
                raise InvalidPath("a parent of the path is a file", path=key) from None
            raise
        if stat_mod.S_ISLNK(st.st_mode or 0):
            st = c.stat(_paths.check_real(c, base, path, key))
        if not stat_mod.S_ISDIR(st.st_mode or 0):
            raise InvalidPath("a parent of the path is a file", path=key)


def diagnose_target(c: _wire.Client, base: str, key: str, overwrite: bool) -> bool:
    """Raise the right error for the target ``key``, or return whether a file exists there.

    Raises:
        InvalidPath: ``key`` is a folder.
        AlreadyExists: A file exists and ``overwrite`` is False.
    """
    try:
        st = c.lstat(_paths.abs_path(base, key))
    except OSError as exc:
        if enoent(exc):
            return False
        raise
    if stat_mod.S_ISDIR(st.st_mode or 0):
        raise InvalidPath("is a folder, not a file", path=key)
    if not overwrite:
        raise AlreadyExists("file exists", path=key)
    return True


# ---------------------------------------------------------------------- temp + publish
@dataclass(slots=True)
class Progress:
    """How far a write or move got, for judging a failure (``publishing``: the rename was sent).

    Attributes:
        publishing: The publishing rename / hardlink request was (about to be) sent: a lost
            answer from here on leaves the outcome unknown until it is checked.
        source: ``LSTAT`` attributes of a move's source before the rename (None otherwise).
    """

    publishing: bool = False
    source: paramiko.SFTPAttributes | None = None


@dataclass(slots=True)
class Target:
    """A write in progress: the open temp file and what publishing it needs."""

    key: str
    path: str
    tmp: str
    file: paramiko.SFTPFile
    overwrite: bool
    #: permission bits of the file being replaced (kept on the new file), None for a new file
    mode: int | None


def _old_mode(c: _wire.Client, base: str, key: str, st: paramiko.SFTPAttributes) -> int | None:
    mode = st.st_mode or 0
    if stat_mod.S_ISREG(mode):
        return stat_mod.S_IMODE(mode)
    if stat_mod.S_ISLNK(mode):  # the link is replaced by a file; keep its in-base target's mode
        with contextlib.suppress(NotFound, InvalidPath, OSError):
            _path, target, _ = _paths.resolve(c, base, key)
            if stat_mod.S_ISREG(target.st_mode or 0):
                return stat_mod.S_IMODE(target.st_mode or 0)
    return None


def begin(c: _wire.Client, session: _pool.Session, key: str, overwrite: bool) -> Target:
    """Check the target and its folder (creating it), then create the temp file exclusively.

    A top-level key costs one round trip: ``LSTAT`` of the target and ``OPEN`` of the temp go
    together (their folder is the base, checked at connect; a temp made for a write that is
    then refused is removed at once). A nested key first checks its folder (``REALPATH``,
    refused outside the base) with the target's ``LSTAT``, then opens the temp. The temp is
    registered on ``session`` before its ``OPEN`` so a lost connection cannot orphan it unseen.

    Raises:
        AlreadyExists: ``overwrite`` is False and a file exists at ``key``.
        InvalidPath: ``key`` is a folder, a parent is a file, or a symlink leads outside the base.
    """
    base = session.base
    parent, name = _paths.parent_of(key), _paths.name_of(key)
    path = _paths.abs_path(base, key)
    tmp = _paths.abs_path(base, f"{parent}/{tmp_name(name)}" if parent else tmp_name(name))
    session.temps.add(tmp)
    try:
        if parent:
            return _begin_nested(c, session, key, overwrite, path, tmp)
        st, created = _wire.lstat_and_create(c, path, tmp)  # top level: the folder is the checked base
        if isinstance(created, BaseException):
            raise created
        try:
            mode = _check_target(c, base, key, overwrite, st)
        except BaseException:
            with contextlib.suppress(Exception):
                _wire.close_async(c, created)
                c.remove(tmp)
            raise
        _wire.tune_file(c, created)
        return Target(key, path, tmp, created, overwrite, mode)
    except BaseException as exc:
        if not is_connection_error(exc):  # a lost connection keeps it registered: the OPEN may have landed
            session.temps.discard(tmp)
        raise


def _check_target(c: _wire.Client, base: str, key: str, overwrite: bool, st: _wire.Reply) -> int | None:
    """Judge the target's ``LSTAT`` reply; return the mode to keep (None for a new file)."""
    if isinstance(st, paramiko.SFTPAttributes):
        if stat_mod.S_ISDIR(st.st_mode or 0):
            raise InvalidPath("is a folder, not a file", path=key)
        if not overwrite:
            raise AlreadyExists("file exists", path=key)
        return _old_mode(c, base, key, st)
    if isinstance(st, BaseException) and not enoent(st):
        raise st
    return None


def _begin_nested(c: _wire.Client, session: _pool.Session, key: str, overwrite: bool, path: str, tmp: str) -> Target:
    base = session.base
    parent = _paths.parent_of(key)
    queries = [("realpath", _paths.abs_path(base, parent)), ("lstat", path)]
    replies = _wire.pipelined(c, queries)
    if parent:
        real = replies[0]
        if isinstance(real, BaseException):
            if not enoent(real):
                raise real
            makedirs(c, base, parent, key)
        elif not _paths.within(base, str(real)):
            raise _paths.outside(key)
    mode = _check_target(c, base, key, overwrite, replies[-1])
    try:
        f = c.open(tmp, "wbx")
    except OSError as exc:
        if not enoent(exc):
            raise
        makedirs(c, base, parent, key)  # the folder vanished or a parent is a file
        f = c.open(tmp, "wbx")
    _wire.tune_file(c, f)
    return Target(key, path, tmp, f, overwrite, mode)


def publish(c: _wire.Client, base: str, src: str, key: str, overwrite: bool, *, temp: bool) -> None:
    """Rename ``src`` (a temp file, or a `move` source) to ``key``.

    ``overwrite``: ``posix-rename@openssh.com`` (atomic replace; without it: ``REMOVE`` +
    ``RENAME``, not atomic). Exclusive: ``hardlink@openssh.com`` then ``REMOVE src`` (pipelined
    for temp files), else plain SFTP ``RENAME`` (never replaces a file).

    Raises:
        IOError: The rename failed (the caller diagnoses why).
    """
    path = _paths.abs_path(base, key)
    exts = c.extensions or {}
    if overwrite:
        if "posix-rename@openssh.com" in exts:
            c.posix_rename(src, path)
        else:
            with contextlib.suppress(OSError):
                c.remove(path)
            c.rename(src, path)
        return
    if "hardlink@openssh.com" not in exts:
        c.rename(src, path)
        return
    if temp:
        _wire.link_then_remove(c, src, path)
        return
    _wire.extended(c, "hardlink@openssh.com", src, path)
    try:
        c.remove(src)
    except OSError as exc:
        if not enoent(exc):
            raise
        # someone else moved or deleted the source meanwhile: their move wins, undo ours
        with contextlib.suppress(OSError):
            c.remove(path)
        raise NotFound("source was moved or deleted meanwhile", path=key) from exc


def finish(
    c: _wire.Client, session: _pool.Session, t: Target, sent: int, *, fsync: bool, progress: Progress | None = None
) -> None:
    """Close the temp file (checking every write), publish it, forget it.

    ``progress.publishing`` is set just before the publishing request is sent.

    Raises:
        AlreadyExists: Exclusive publish found a file at the key (also when that file was
            removed again before the diagnosis could see it).
        InvalidPath: The key became a folder.
    """
    _wire.finish_write(c, t.file, sent=sent, fsync=fsync and "fsync@openssh.com" in c.extensions, mode=t.mode)
    if progress is not None:
        progress.publishing = True
    try:
        publish(c, session.base, t.tmp, t.key, t.overwrite, temp=True)
    except OSError as exc:
        if is_connection_error(exc):
            raise
        diagnose_target(c, session.base, t.key, t.overwrite)
        if not t.overwrite and exc.errno is None:
            # An exclusive publish's bare FAILURE is the link's (or RENAME's) EEXIST: a file was
            # at the key at that moment and another client deleted or moved it away before the
            # LSTAT above. This write did not happen, as for any lost exclusive create.
            raise AlreadyExists("a file was at this path when the write was published", path=t.key) from None
        raise
    session.temps.discard(t.tmp)


def discard(c: _wire.Client, session: _pool.Session, t: Target) -> bool:
    """Best effort: close and remove the temp file; return False when the channel seems broken."""
    with contextlib.suppress(Exception):
        _wire.close_async(c, t.file)
    try:
        c.remove(t.tmp)
    except Exception as exc:
        if enoent(exc):
            session.temps.discard(t.tmp)
            return True
        return not is_connection_error(exc)
    session.temps.discard(t.tmp)
    return True


def write_via_temp(
    c: _wire.Client,
    session: _pool.Session,
    key: str,
    fill: Callable[[_wire.Client, paramiko.SFTPFile], int],
    overwrite: bool,
    *,
    fsync: bool,
    progress: Progress | None = None,
) -> int:
    """`begin`, ``fill`` the temp file (returns bytes written), `finish`; on failure `discard`."""
    t = begin(c, session, key, overwrite)
    try:
        size = fill(c, t.file)
        finish(c, session, t, size, fsync=fsync, progress=progress)
    except BaseException:
        discard(c, session, t)
        raise
    return size


# ---------------------------------------------------------------------- move
def move(c: _wire.Client, base: str, src: str, dst: str, overwrite: bool, progress: Progress | None = None) -> None:
    """Rename file ``src`` to ``dst``; every failure is diagnosed into a typed error.

    ``progress`` records the source's attributes and when the rename is sent.

    A bare SFTP ``FAILURE`` (OpenSSH's answer to ``EEXIST`` and more) is followed by
    ``LSTAT``s of both keys: a missing source is `NotFound`, an existing destination without
    ``overwrite`` `AlreadyExists`, a folder `InvalidPath`; when neither explains it (the keys
    changed meanwhile) the rename is tried again, up to `_MOVE_ATTEMPTS` times.

    Raises:
        NotFound: ``src`` is not a file (or was moved away meanwhile).
        AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        InvalidPath: ``dst`` is a folder or below a file; a symlink leads outside the base.
    """
    src_path = _source(c, base, src, progress)
    dst_parent = _paths.parent_of(dst)
    last: BaseException | None = None
    for _ in range(_MOVE_ATTEMPTS):
        if dst_parent:
            try:
                _paths.check_parent(c, base, dst)
            except OSError as exc:
                if not enoent(exc):
                    raise
                makedirs(c, base, dst_parent, dst)
        if progress is not None:
            progress.publishing = True
        try:
            publish(c, base, src_path, dst, overwrite, temp=False)
            return
        except OSError as exc:
            if is_connection_error(exc):
                raise
            last = exc
        _source(c, base, src)  # NotFound when the source is gone
        diagnose_target(c, base, dst, overwrite)  # InvalidPath / AlreadyExists
        if enoent(last) and dst_parent:
            makedirs(c, base, dst_parent, dst)  # the destination folder is missing (or vanished)
    raise RemoteStoreError(f"move failed repeatedly while the keys kept changing: {last}", path=src)


def _source(c: _wire.Client, base: str, src: str, progress: Progress | None = None) -> str:
    try:
        _real, st, _ = _paths.resolve(c, base, src)
    except (InvalidPath, NotFound) as exc:
        raise NotFound("source not found", path=src) from exc.__cause__
    if not stat_mod.S_ISREG(st.st_mode or 0):
        raise NotFound("source is not a file", path=src)
    if progress is not None and progress.source is None:
        progress.source = st
    return _paths.abs_path(base, src)


# ---------------------------------------------------------------------- stale temps
class Sweeper:
    """Removes temp files of dead writers: once per folder per `SWEEP_INTERVAL`, after a write there.

    Args:
        max_age: A temp file whose modification time is more than this many seconds old is
            stale (None disables sweeping on writes). The server's modification time is
            compared with this machine's clock.
    """

    _MAX_FOLDERS = 4096

    def __init__(self, max_age: float | None) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def due(self, folder_path: str) -> bool:
        """Whether ``folder_path`` should be swept now (and mark it swept)."""
        if self.max_age is None:
            return False
        now = time.monotonic()
        with self._lock:
            last = self._last.get(folder_path)
            if last is not None and now - last < SWEEP_INTERVAL:
                return False
            if len(self._last) >= self._MAX_FOLDERS:
                self._last.clear()
            self._last[folder_path] = now
        return True

    def after_write(self, c: _wire.Client, base: str, key: str) -> None:
        """Sweep the folder of ``key`` when due; errors are logged, never raised (the write succeeded)."""
        folder = _paths.abs_path(base, _paths.parent_of(key))
        if self.max_age is None or not self.due(folder):
            return
        try:
            removed = sweep_folder(c, folder, self.max_age)
        except Exception as exc:  # a dead connection is noticed by the next call
            log.debug("stale temp sweep of %s failed: %s", folder, type(exc).__name__)
            return
        if removed:
            log.info("removed %d stale temp file(s) in %s", removed, folder)


def sweep_folder(c: _wire.Client, folder: str, older_than: float, *, recursive: bool = False) -> int:
    """Remove temp files below ``folder`` not modified for ``older_than`` seconds; return the count.

    Symlinked folders are not followed.
    """
    cutoff = time.time() - older_than
    removed = 0
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries, _skipped = _wire.listdir(c, current)
        except OSError as exc:
            if enoent(exc):
                continue
            raise
        stale = []
        for attr in entries:
            mode = attr.st_mode or 0
            if stat_mod.S_ISDIR(mode):
                if recursive:
                    stack.append(f"{current.rstrip('/')}/{attr.filename}")
            elif stat_mod.S_ISREG(mode) and _paths.is_temp(attr.filename) and (attr.st_mtime or 0) < cutoff:
                stale.append(f"{current.rstrip('/')}/{attr.filename}")
        if stale:
            removed += sum(1 for r in _wire.pipelined(c, [("remove", p) for p in stale]) if r is None)
    return removed
