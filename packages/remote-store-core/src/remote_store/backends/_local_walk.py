"""Iterative tree walks for `LocalBackend`: listings, recursive delete, temp-file sweeps.

No walk recurses (a 2,048-folder-deep tree is walked with a constant Python stack) and
none holds one fd per level: `DirChain` keeps at most `KEEP_OPEN` folder fds and reopens
evicted ancestors segment by segment (``O_NOFOLLOW``) from the deepest one still open.
Every folder is opened relative to its parent's fd with ``O_NOFOLLOW``, so a walk never
leaves the folder it started in, whatever is renamed or swapped for a symlink meanwhile.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator

from remote_store.errors import PermissionDenied

#: Folder fds a walk keeps open at most.
KEEP_OPEN = 64
LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
TMP_PREFIX = ".~rs-"
TMP_SUFFIX = ".tmp"
#: errno values meaning "this entry is no longer a folder here" (removed, or swapped for a link/file).
_GONE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})


def is_temp(name: str) -> bool:
    """Whether ``name`` is one of the backend's temp files (``.~rs-*.tmp``)."""
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


def join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


class DirChain:
    """Open folders from ``base_fd`` down one path; at most `KEEP_OPEN` fds are held.

    The open fds always form the deepest part of the chain; an evicted ancestor is
    reopened (each segment with ``O_NOFOLLOW``) when the walk climbs back to it.
    ``base_fd`` belongs to the caller.
    """

    def __init__(self, base_fd: int) -> None:
        self._base = base_fd
        self._names: list[str] = []
        self._fds: list[int] = []
        self._lo = 0  # every index below _lo is closed, every index from it is open

    @property
    def depth(self) -> int:
        return len(self._names)

    def top(self) -> int:
        """The fd of the deepest folder (reopening evicted ancestors if needed)."""
        if not self._names:
            return self._base
        if self._lo >= len(self._fds):
            self._reopen()
        return self._fds[-1]

    def push(self, name: str) -> None:
        """Open subfolder ``name`` of the deepest folder.

        Raises:
            OSError: ``name`` is missing, not a folder, a symlink (``ELOOP``/``ENOTDIR``), unreadable.
        """
        fd = os.open(name, LIST_FLAGS, dir_fd=self.top())
        self._names.append(name)
        self._fds.append(fd)
        self._evict()

    def pop(self) -> str:
        """Close the deepest folder and return its name."""
        fd = self._fds.pop()
        if fd >= 0:
            os.close(fd)
        self._lo = min(self._lo, len(self._fds))
        return self._names.pop()

    def _evict(self) -> None:
        while len(self._fds) - self._lo > KEEP_OPEN:
            os.close(self._fds[self._lo])
            self._fds[self._lo] = -1
            self._lo += 1

    def _reopen(self) -> None:
        # Every fd is closed (open ones are a suffix ending at the top): walk down from the base.
        n = len(self._names)
        keep_from = max(0, n - KEEP_OPEN)
        fd = self._base
        try:
            for i, name in enumerate(self._names):
                nxt = os.open(name, LIST_FLAGS, dir_fd=fd)
                if i > 0 and i - 1 < keep_from:
                    os.close(fd)
                    self._fds[i - 1] = -1
                self._fds[i] = fd = nxt
        except BaseException:
            for j in range(n):
                if self._fds[j] >= 0:
                    os.close(self._fds[j])
                    self._fds[j] = -1
            self._lo = n
            raise
        self._lo = keep_from

    def close(self) -> None:
        for fd in self._fds:
            if fd >= 0:
                os.close(fd)
        self._fds.clear()
        self._names.clear()
        self._lo = 0


def walk_tree(
    base_fd: int,
    base_key: str,
    *,
    max_depth: int | None = None,
    descend: Callable[[int, str], bool] | None = None,
    hide_temp: bool = True,
) -> Iterator[tuple[str, int, int, list[os.DirEntry[str]]]]:
    """Walk the folder ``base_fd`` depth-first, without recursion; close ``base_fd`` at the end.

    Yields ``(folder_key, level, fd, entries)`` for each folder: ``level`` 1 is the base,
    ``entries`` are sorted by name (temp files left out when ``hide_temp``), ``fd`` is the
    folder's open fd, valid until the generator is resumed. Subfolders (real folders, not
    symlinks) are entered while ``level < max_depth`` and ``descend(level, name)`` allows.
    A subfolder that disappears (or turns into a symlink) between listing and opening is
    not in the tree any more and is skipped.

    Raises:
        PermissionDenied: A folder cannot be read (never skipped silently).
    """
    chain = DirChain(base_fd)
    frames: list[tuple[str, int, Iterator[str]]] = []
    key, level = base_key, 1
    try:
        while True:
            fd = chain.top()
            try:
                with os.scandir(fd) as it:
                    entries = sorted(it, key=_name)
            except PermissionError:
                raise PermissionDenied("folder cannot be read", path=key) from None
            if hide_temp:
                entries = [e for e in entries if not is_temp(e.name)]
            yield key, level, fd, entries
            subs: list[str] = []
            if max_depth is None or level < max_depth:
                subs = [
                    e.name
                    for e in entries
                    if _is_real_dir(e) and not is_temp(e.name) and (descend is None or descend(level, e.name))
                ]
            frames.append((key, level, iter(subs)))
            while frames:
                fkey, flevel, names = frames[-1]
                name = next(names, None)
                if name is None:
                    frames.pop()
                    if frames:
                        chain.pop()
                    continue
                try:
                    chain.push(name)
                except PermissionError:
                    raise PermissionDenied("folder cannot be read", path=join(fkey, name)) from None
                except OSError as exc:
                    if exc.errno in _GONE:
                        continue
                    raise
                key, level = join(fkey, name), flevel + 1
                break
            else:
                return
    finally:
        chain.close()
        os.close(base_fd)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def remove_tree(parent_fd: int, name: str) -> None:
    """Delete folder ``name`` of ``parent_fd`` and everything below it, without recursion.

    Symlinks are removed, never followed; every folder is opened with ``O_NOFOLLOW``
    relative to its parent's fd.

    Raises:
        OSError: A folder cannot be read or an entry cannot be removed.
    """
    chain = DirChain(parent_fd)
    try:
        chain.push(name)
        while chain.depth:
            fd = chain.top()
            sub = None
            with os.scandir(fd) as it:
                for entry in it:
                    if _is_real_dir(entry):
                        sub = entry.name
                        break
                    try:
                        os.unlink(entry.name, dir_fd=fd)
                    except FileNotFoundError:
                        pass
            if sub is not None:
                try:
                    chain.push(sub)
                except OSError as exc:
                    if exc.errno not in _GONE:
                        raise
                continue
            done = chain.pop()
            try:
                os.rmdir(done, dir_fd=chain.top())
            except FileNotFoundError:
                pass
    finally:
        chain.close()


def sweep_temps(dir_fd: int, older_than: float, *, recursive: bool, base_key: str = "") -> int:
    """Remove temp files older than ``older_than`` seconds (by mtime) below ``dir_fd``.

    ``dir_fd`` is duplicated (the caller keeps it). Returns how many were removed.

    Raises:
        PermissionDenied: With ``recursive``, a folder below cannot be read.
    """
    cutoff = time.time() - older_than
    removed = 0
    fd = os.open(".", LIST_FLAGS, dir_fd=dir_fd)
    for _key, _level, dfd, entries in walk_tree(fd, base_key, max_depth=None if recursive else 1, hide_temp=False):
        for entry in entries:
            if not is_temp(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if st.st_mtime < cutoff and not _is_real_dir(entry):
                    os.unlink(entry.name, dir_fd=dfd)
                    removed += 1
            except FileNotFoundError:
                continue
    return removed
