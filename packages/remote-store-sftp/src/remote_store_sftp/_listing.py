"""Listings: one ``READDIR`` walk per folder; in-base symlinks count as what they point to.

Policy for names that are not valid UTF-8 (written by other tools): they are skipped, and
each folder listing that skipped some logs one WARNING on ``remote_store.sftp`` with the
count. Keys are ``str`` and every other operation sends UTF-8 paths, so such a file could
not be read or deleted through its key anyway; the rest of the folder is listed normally.
"""

from __future__ import annotations

import logging
import stat as stat_mod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import paramiko

from remote_store import FileInfo, InvalidPath, NotFound
from remote_store_sftp import _paths, _pool, _wire
from remote_store_sftp._errors import enoent

if TYPE_CHECKING:
    from remote_store_sftp._backend import SFTPBackend

log = logging.getLogger("remote_store.sftp")


def file_info(key: str, st: paramiko.SFTPAttributes) -> FileInfo:
    """`FileInfo` of file ``key`` from its attributes (etag: mtime and size in hex)."""
    mtime = st.st_mtime
    size = st.st_size or 0
    return FileInfo(
        key,
        key.rpartition("/")[2],
        size,
        datetime.fromtimestamp(mtime, UTC) if mtime is not None else None,
        f"{mtime or 0:x}-{size:x}",
    )


@dataclass(slots=True)
class Entry:
    """One listed entry with symlinks resolved: ``kind`` is ``"file"`` or ``"folder"``."""

    name: str
    kind: str
    attrs: paramiko.SFTPAttributes
    real: str


def list_folder(backend: SFTPBackend, key: str) -> tuple[str, list[Entry]] | None:
    """``(real folder path, entries)`` of folder ``key``, or None when it is missing or not a folder.

    Regular files and folders are kept; symlinks are resolved (pipelined ``REALPATH`` +
    ``STAT``, one round trip for all links of the folder) and kept only when they lead to a
    file or folder inside the base; temp files, FIFOs, sockets, devices and undecodable names
    are left out.
    """

    def op(c: _wire.Client, session: _pool.Session) -> tuple[str, list[Entry]] | None:
        base = session.base
        if key:
            try:
                real, st, _ = _paths.resolve(c, base, key)
            except (NotFound, InvalidPath):
                return None
            if not stat_mod.S_ISDIR(st.st_mode or 0):
                return None
        else:
            real = base
        try:
            raw, skipped = _wire.listdir(c, real)
        except OSError as exc:
            if enoent(exc):
                return None
            raise
        if skipped:
            log.warning(
                "skipped %d entr%s with names that are not valid UTF-8 in folder %r",
                len(skipped),
                "y" if len(skipped) == 1 else "ies",
                key,
            )
        return real, _classify(c, base, real, raw)

    return backend._pool.run(op)


def _classify(c: _wire.Client, base: str, folder: str, raw: list[paramiko.SFTPAttributes]) -> list[Entry]:
    out: list[Entry] = []
    links: list[paramiko.SFTPAttributes] = []
    for attr in raw:
        mode = attr.st_mode or 0
        path = f"{folder.rstrip('/')}/{attr.filename}"
        if stat_mod.S_ISDIR(mode):
            out.append(Entry(attr.filename, "folder", attr, path))
        elif stat_mod.S_ISLNK(mode):
            links.append(attr)
        elif stat_mod.S_ISREG(mode) and not _paths.is_temp(attr.filename):
            out.append(Entry(attr.filename, "file", attr, path))
    if links:
        queries: list[tuple[str, str]] = []
        for attr in links:
            path = f"{folder.rstrip('/')}/{attr.filename}"
            queries += [("realpath", path), ("stat", path)]
        replies = _wire.pipelined(c, queries)
        for i, attr in enumerate(links):
            real, st = replies[2 * i], replies[2 * i + 1]
            if not isinstance(real, str) or not isinstance(st, paramiko.SFTPAttributes):
                continue  # dangling, or unreadable
            if not _paths.within(base, real):
                continue
            mode = st.st_mode or 0
            if stat_mod.S_ISDIR(mode):
                out.append(Entry(attr.filename, "folder", st, real))
            elif stat_mod.S_ISREG(mode) and not _paths.is_temp(attr.filename):
                out.append(Entry(attr.filename, "file", st, real))
    out.sort(key=lambda e: e.name)
    return out


def iter_files(backend: SFTPBackend, prefix: str, *, recursive: bool, max_depth: int | None) -> Iterator[FileInfo]:
    """Walk folder ``prefix`` breadth-first, one folder listing at a time.

    Symlinked folders inside the base are walked like folders, except one whose target is a
    folder already on the way down (a link loop), which is skipped.
    """
    queue: deque[tuple[str, int, tuple[str, ...]]] = deque([(prefix, 1, ())])
    while queue:
        folder, depth, ancestors = queue.popleft()
        listing = list_folder(backend, folder)
        if listing is None:
            continue
        real, entries = listing
        chain = (*ancestors, real)
        for e in entries:
            key = f"{folder}/{e.name}" if folder else e.name
            if e.kind == "folder":
                if recursive and (max_depth is None or depth < max_depth) and e.real not in chain:
                    queue.append((key, depth + 1, chain))
                continue
            yield file_info(key, e.attrs)


def iter_folders(backend: SFTPBackend, prefix: str) -> Iterator[str]:
    """Direct subfolders of ``prefix``, symlinked folders inside the base included."""
    listing = list_folder(backend, prefix)
    if listing is None:
        return
    for e in listing[1]:
        if e.kind == "folder":
            yield f"{prefix}/{e.name}" if prefix else e.name
