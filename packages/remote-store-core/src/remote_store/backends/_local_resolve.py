"""Confined path resolution for `LocalBackend`: every key is opened beneath a held root fd.

Two resolvers give the same answers:

* **openat2** (Linux >= 5.6): one ``openat2(root_fd, key, RESOLVE_BENEATH |
  RESOLVE_NO_MAGICLINKS)`` call; the kernel refuses any step that would leave the root,
  atomically, whatever another process does to the tree meanwhile. Refusals (``EXDEV``,
  ``ELOOP``) and retries (``EAGAIN``) are handed to the walk, which gives the precise
  answer (an absolute symlink whose target lies inside the root is followed there).
* **walk** (everywhere): one ``openat(dir_fd, segment, O_NOFOLLOW)`` per segment from the
  root fd. A symlink is never opened: its text is read with ``readlinkat`` and its
  segments are resolved again beneath the same root (``..`` pops a segment walked so
  far; popping past the root is an escape). At most 40 symlinks per resolution.

Nothing here resolves a real path and then opens it: the fd that is returned was reached
through fds that were themselves reached beneath the root.
"""

from __future__ import annotations

import errno
import os
import stat as stat_mod

from remote_store.backends._local_sys import (
    O_PATH,
    RESOLVE_BENEATH,
    RESOLVE_NO_MAGICLINKS,
    RESOLVE_NO_SYMLINKS,
    openat2_available,
    openat2_opener,
    openat2_opener_for,
)
from remote_store.errors import InvalidPath

#: Longest segment (bytes, UTF-8) a key may have: NAME_MAX on Linux and most filesystems.
MAX_SEGMENT_BYTES = 255
#: Longest key (bytes, UTF-8).
MAX_KEY_BYTES = 4096
#: Symlinks followed while resolving one key before it is refused as a loop (Linux's limit).
MAX_SYMLINKS = 40

DIR_PATH_FLAGS = O_PATH | os.O_DIRECTORY | os.O_CLOEXEC
_WALK_DIR_FLAGS = O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# errno values openat2 reports that are final answers (anything else goes to the walk).
_FINAL_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EEXIST})
_MAX_SPINS = 64


class SymlinkRefused(InvalidPath):
    """A symlink on the path may not be followed: its target is outside the backend root,
    ``follow_symlinks="never"`` is set, or more than `MAX_SYMLINKS` links were chained."""


class _Changed(Exception):
    """The tree changed under the walk in a way that needs a fresh start."""


def encode_key(key: str) -> bytes:
    """Return ``key`` as file-system bytes after checking the documented length limits.

    Raises:
        InvalidPath: A segment is longer than `MAX_SEGMENT_BYTES` or the key longer than
            `MAX_KEY_BYTES` (the message names the limit).
    """
    kb = key.encode("utf-8", "surrogateescape")
    if len(kb) > MAX_SEGMENT_BYTES:
        if len(kb) > MAX_KEY_BYTES:
            raise InvalidPath(f"key is {len(kb)} bytes; the local backend's limit is {MAX_KEY_BYTES} bytes", path=key)
        for seg in kb.split(b"/"):
            if len(seg) > MAX_SEGMENT_BYTES:
                raise InvalidPath(
                    f"path segment is {len(seg)} bytes; the local backend's limit is {MAX_SEGMENT_BYTES} bytes",
                    path=key,
                )
    return kb


class Resolver:
    """Opens keys beneath a root directory fd (see the module docstring).

    Args:
        follow: Follow symlinks whose target resolves beneath the root (False: refuse
            every symlink on the path).
        use_openat2: Try ``openat2`` first (ignored when the kernel lacks it).
        root_names: Absolute spellings of the root folder (as configured and its real
            path); an absolute symlink target below one of them is resolved beneath the
            root fd, any other absolute target is refused.
    """

    def __init__(self, *, follow: bool, use_openat2: bool, root_names: tuple[str, ...]) -> None:
        self.follow = follow
        self.uses_openat2 = use_openat2 and openat2_available()
        self._root_names = tuple(dict.fromkeys(n.rstrip("/") for n in root_names))
        self._resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (0 if follow else RESOLVE_NO_SYMLINKS)
        self._openat2 = openat2_opener(self._resolve) if self.uses_openat2 else None
        #: ``opath(dir_fd, path) -> fd or -errno``: ``openat2(O_PATH)`` with this resolver's
        #: rules (None without openat2); the caller hands a negative result to `stat`/`open`.
        self.opath = openat2_opener_for(self._resolve, O_PATH | os.O_CLOEXEC) if self.uses_openat2 else None

    # ------------------------------------------------------------------ public
    def open(self, root_fd: int, key: str, kb: bytes, flags: int, *, create_dirs: bool = False) -> int:
        """Open ``key`` (non-empty) beneath ``root_fd`` with ``flags``; return the new fd.

        A symlink as the last segment is followed (when allowed) like any other. With
        ``create_dirs`` (only together with ``O_DIRECTORY`` flags) missing folders on the
        way, the last included, are created with ``mkdirat``.

        Raises:
            FileNotFoundError: A segment does not exist.
            NotADirectoryError: A segment before the last is a file.
            SymlinkRefused: A symlink leads outside the root, or may not be followed.
            OSError: Anything else the kernel reports (``EACCES`` …).
        """
        opener = self._openat2
        if opener is not None:
            for _ in range(4):
                fd = opener(root_fd, kb, flags | os.O_CLOEXEC)
                if fd >= 0:
                    return fd
                err = -fd
                if err in _FINAL_ERRNOS and not (create_dirs and err == errno.ENOENT):
                    if err == errno.ENOENT:
                        raise FileNotFoundError(errno.ENOENT, "no such file or folder", key)
                    if err == errno.ENOTDIR:
                        raise NotADirectoryError(errno.ENOTDIR, "a segment is not a folder", key)
                    raise OSError(err, os.strerror(err), key)
                if err != errno.EAGAIN:
                    break
        return self.walk(root_fd, key, flags, create_dirs=create_dirs)

    def stat(self, root_fd: int, key: str, kb: bytes) -> os.stat_result:
        """``stat`` of ``key`` beneath ``root_fd`` (a final symlink followed when allowed).

        openat2: ``openat2(O_PATH)`` + ``fstat``. Walk: the parent folder by the walk, then
        ``fstatat(AT_SYMLINK_NOFOLLOW)`` of the last segment (a symlink: the full walk).

        Raises:
            The same as `open`.
        """
        opath = self.opath
        if opath is not None:
            fd = opath(root_fd, kb)
            if fd >= 0:
                try:
                    return os.fstat(fd)
                finally:
                    os.close(fd)
            # a refusal or an error: `open` below gives the precise answer
        elif "/" in key:
            parent, _, name = key.rpartition("/")
            d = self.walk(root_fd, parent, DIR_PATH_FLAGS)
            try:
                st = os.stat(name, dir_fd=d, follow_symlinks=False)
            finally:
                os.close(d)
            if not stat_mod.S_ISLNK(st.st_mode):
                return st
        fd = self.open(root_fd, key, kb, O_PATH)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def walk(self, root_fd: int, key: str, flags: int, *, create_dirs: bool = False) -> int:
        """`open` by the component walk alone (the fallback; also used for refusals)."""
        for _ in range(_MAX_SPINS):
            try:
                return self._walk_once(root_fd, key, flags, create_dirs)
            except _Changed:
                continue
        raise InvalidPath("the path kept changing while it was being resolved", path=key)

    # ------------------------------------------------------------------ the walk
    def _inside(self, target: str) -> list[str] | None:
        for name in self._root_names:
            if target == name:
                return []
            if target.startswith(name + "/"):
                return target[len(name) + 1 :].split("/")
        return None

    def _walk_once(self, root_fd: int, key: str, flags: int, create_dirs: bool) -> int:
        todo = key.split("/")
        todo.reverse()
        walked: list[str] = []
        cur = root_fd
        links = spins = 0
        final_flags = flags | os.O_NOFOLLOW | os.O_CLOEXEC
        path_only = O_PATH != os.O_RDONLY and flags & O_PATH and not flags & os.O_DIRECTORY
        try:
            while todo:
                part = todo.pop()
                if part in ("", "."):
                    continue
                if part == "..":
                    if not walked:
                        raise SymlinkRefused("symlink points outside the store root", path=key)
                    walked.pop()
                    cur = self._rewalk(root_fd, walked, cur)
                    continue
                last = not todo
                try:
                    fd = os.open(part, final_flags if last else _WALK_DIR_FLAGS, 0o666, dir_fd=cur)
                except FileNotFoundError:
                    if not create_dirs or (last and not flags & os.O_DIRECTORY):
                        raise
                    spins += 1
                    if spins > _MAX_SPINS:
                        raise _Changed from None
                    try:
                        os.mkdir(part, 0o777, dir_fd=cur)
                    except FileExistsError:
                        pass
                    todo.append(part)
                    continue
                except OSError as exc:
                    if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
                        raise
                    try:
                        st = os.stat(part, dir_fd=cur, follow_symlinks=False)
                    except FileNotFoundError:
                        raise _Changed from None
                    if not stat_mod.S_ISLNK(st.st_mode):
                        if stat_mod.S_ISDIR(st.st_mode):
                            raise _Changed from None  # was a link a moment ago
                        raise NotADirectoryError(errno.ENOTDIR, "a segment is not a folder", key) from None
                else:
                    if not (last and path_only and _is_link_fd(fd)):
                        if last:
                            return fd
                        walked.append(part)
                        if cur != root_fd:
                            os.close(cur)
                        cur = fd
                        continue
                    os.close(fd)  # O_PATH | O_NOFOLLOW opened the symlink itself
                # ``part`` is a symlink in ``cur``
                if not self.follow:
                    raise SymlinkRefused("symlinks are not followed (follow_symlinks='never')", path=key)
                links += 1
                if links > MAX_SYMLINKS:
                    raise SymlinkRefused(f"more than {MAX_SYMLINKS} symlinks on the path", path=key)
                try:
                    target = os.readlink(part, dir_fd=cur)
                except FileNotFoundError:
                    raise _Changed from None
                except OSError as exc:
                    if exc.errno == errno.EINVAL:  # no longer a symlink
                        raise _Changed from None
                    raise
                if not target:
                    raise FileNotFoundError(errno.ENOENT, "empty symlink", key)
                segs = target.split("/")
                if target.startswith("/"):
                    inside = self._inside(target)
                    if inside is None:
                        raise SymlinkRefused("symlink points outside the store root", path=key)
                    segs = inside
                    walked.clear()
                    if cur != root_fd:
                        os.close(cur)
                    cur = root_fd
                segs.reverse()
                todo.extend(segs)
            # the key ended on the root itself (a link to the root, or "x/..")
            return os.open(".", flags | os.O_CLOEXEC, dir_fd=cur)
        finally:
            if cur != root_fd:
                os.close(cur)

    def _rewalk(self, root_fd: int, walked: list[str], cur: int) -> int:
        """Reopen the folder ``walked`` (real folder names from the root) after a ``..``."""
        if cur != root_fd:
            os.close(cur)
        fd = root_fd
        try:
            for part in walked:
                nxt = os.open(part, _WALK_DIR_FLAGS, dir_fd=fd)
                if fd != root_fd:
                    os.close(fd)
                fd = nxt
        except OSError:
            if fd != root_fd:
                os.close(fd)
            raise _Changed from None
        return fd


def _is_link_fd(fd: int) -> bool:
    return stat_mod.S_ISLNK(os.fstat(fd).st_mode)
