"""Listings of `LocalBackend`: iterative ``scandir`` walks from a confined folder fd.

`LocalListing` is a mixin of `LocalBackend`; it opens nothing by path. It asks the backend
for the folder fd to start from (`_list_fd`, which resolves beneath the root or the store
scope) and walks below it with `walk_tree` (``O_NOFOLLOW`` per folder, any depth). Listed
symlinks are reported only when they lead to a regular file beneath the root (``_stat``).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat as stat_mod
from collections.abc import Iterator
from typing import TYPE_CHECKING

from remote_store._backend import _segment_regex, compile_glob
from remote_store._models import FileInfo
from remote_store.backends._local_resolve import SymlinkRefused
from remote_store.backends._local_walk import join, sweep_temps, walk_tree
from remote_store.errors import InvalidPath, NotFound, PermissionDenied


class LocalListing:
    """Listing, glob and garbage-collection methods of `LocalBackend` (see the module docstring)."""

    if TYPE_CHECKING:
        _follow_symlinks: str

        def _list_fd(self, prefix: str) -> int | None: ...

        def _stat(self, key: str) -> os.stat_result: ...

        def _file_info(self, key: str, st: os.stat_result) -> FileInfo: ...

        def stat(self, key: str) -> FileInfo: ...

    def _link_info(self, key: str) -> FileInfo | None:
        """FileInfo of the regular file a listed symlink leads to (beneath the root), else None."""
        try:
            st = self._stat(key)
        except (OSError, SymlinkRefused):
            return None
        return self._file_info(key, st) if stat_mod.S_ISREG(st.st_mode) else None

    def _files_in(self, key: str, entries: list[os.DirEntry[str]], match: re.Pattern[str] | None) -> Iterator[FileInfo]:
        follow = self._follow_symlinks == "inside"
        for entry in entries:
            ekey = join(key, entry.name)
            if match is not None and not match.fullmatch(ekey):
                continue
            try:
                if entry.is_symlink():
                    if follow:
                        info = self._link_info(ekey)
                        if info is not None:
                            yield info
                elif entry.is_file(follow_symlinks=False):
                    yield self._file_info(ekey, entry.stat(follow_symlinks=False))
            except FileNotFoundError:
                continue

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Yield the files below ``prefix`` depth-first (``scandir`` + ``fstatat`` per folder).

        Raises:
            PermissionDenied: A folder on the way cannot be read.
        """
        fd = self._list_fd(prefix)
        if fd is None:
            return
        depth = (max_depth if recursive else 1) or None
        for key, _level, _fd, entries in walk_tree(fd, prefix, max_depth=depth):
            yield from self._files_in(key, entries, None)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Yield the direct subfolders of ``prefix`` (symlinks to folders are not listed).

        Raises:
            PermissionDenied: ``prefix`` cannot be read.
        """
        fd = self._list_fd(prefix)
        if fd is None:
            return
        try:
            with os.scandir(fd) as it:
                names = sorted(e.name for e in it if e.is_dir(follow_symlinks=False))
        except PermissionError:
            raise PermissionDenied("folder cannot be read", path=prefix) from None
        finally:
            os.close(fd)
        for name in names:
            yield join(prefix, name)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Native glob: walks from the pattern's literal folder, descending only into folders
        the pattern can match (``**`` walks the whole subtree below it)."""
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
            with contextlib.suppress(NotFound, InvalidPath):
                yield self.stat(join(base, rest[0]))
            return
        fd = self._list_fd(base)
        if fd is None:
            return
        if "**" in rest:
            walk = walk_tree(fd, base)
        else:
            seg_res = [re.compile(_segment_regex(s), re.DOTALL) for s in rest]
            walk = walk_tree(
                fd,
                base,
                max_depth=len(rest),
                descend=lambda level, name: seg_res[level - 1].fullmatch(name) is not None,
            )
        for key, _level, _fd, entries in walk:
            yield from self._files_in(key, entries, regex)

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        """Remove temp files of killed writers below folder ``prefix`` (recursively) whose
        modification time is more than ``older_than`` seconds ago (``scandir`` + ``unlinkat``).

        Returns:
            How many temp files were removed (0 when ``prefix`` is missing).

        Raises:
            PermissionDenied: A folder below ``prefix`` cannot be read.
        """
        fd = self._list_fd(prefix)
        if fd is None:
            return 0
        try:
            return sweep_temps(fd, older_than, recursive=True, base_key=prefix)
        finally:
            os.close(fd)
