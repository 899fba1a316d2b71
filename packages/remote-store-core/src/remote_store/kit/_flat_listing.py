"""Listings of a `FlatKeyBackend`: native pages to backend keys, and glob prefix push-down.

Unaddressable keys are skipped and reported (`UnreachableKeys`) by the backend's key mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING

from remote_store import _path
from remote_store._backend import compile_glob
from remote_store._models import FileInfo
from remote_store.kit._keys import unreachable_reason

if TYPE_CHECKING:
    from remote_store.kit._flat import FlatKeyBackend, ListPage

__all__ = ["files", "glob", "iter_files", "iter_folders"]


def files(backend: FlatKeyBackend, page: ListPage, listed: str) -> Iterator[FileInfo]:
    """The files of one listing page below native prefix ``listed``, as backend keys
    (folder markers and unaddressable keys skipped, the latter reported)."""
    for obj in page.objects:
        native = obj.path
        if native == listed:
            if obj.size:
                backend._key_of(native, obj.size)  # a non-empty "folder/" object: report it
            continue  # the folder's own marker
        key = backend._key_of(native, obj.size)
        if key is None:
            continue
        if key.endswith("/"):
            continue  # zero-byte folder marker
        yield dataclasses.replace(obj, path=key, name=_path.basename(key))


def iter_files(backend: FlatKeyBackend, prefix: str, *, recursive: bool, max_depth: int | None) -> Iterator[FileInfo]:
    """`FlatKeyBackend.iter_files`."""
    listed = backend.folder_prefix(prefix)
    delimiter = not recursive or max_depth == 1
    for page in backend.list_objects(listed, delimiter=delimiter):
        yield from files(backend, page, listed)


def iter_folders(backend: FlatKeyBackend, prefix: str) -> Iterator[str]:
    """`FlatKeyBackend.iter_folders`."""
    listed = backend.folder_prefix(prefix)
    seen: set[str] = set()
    for page in backend.list_objects(listed, delimiter=True):
        for common in page.prefixes:
            key = backend._key_of(common, None)
            if key is None:
                continue
            key = key.rstrip("/")
            if key == prefix or key in seen or not key:
                continue
            seen.add(key)
            yield key


def glob(backend: FlatKeyBackend, pattern: str) -> Iterator[FileInfo]:
    """`FlatKeyBackend.glob`: list from the pattern's literal leading characters, match client side."""
    pattern = pattern.strip("/")
    regex = compile_glob(pattern)
    cut = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=len(pattern))
    literal, rest = pattern[:cut], pattern[cut:]
    if not rest:
        if literal and unreachable_reason(literal) is None:
            info = backend._head(literal)
            if info is not None:
                yield info
        return
    root = backend._root_prefix
    native = f"{root}/{literal}" if root else literal
    folder = literal.rpartition("/")[0]
    listed = backend.folder_prefix(folder) if folder else (f"{root}/" if root else "")
    one_level = "/" not in rest and "**" not in rest
    for page in backend.list_objects(native, delimiter=one_level):
        for info in files(backend, page, listed):
            if regex.fullmatch(info.path):
                yield info
