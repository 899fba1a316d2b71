"""Local-filesystem helpers for transfers: typed errors and atomic file replacement."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from remote_store.errors import AlreadyExists, InvalidPath, NotFound, PermissionDenied, RemoteStoreError

_MAP: tuple[tuple[type[OSError], type[RemoteStoreError]], ...] = (
    (FileNotFoundError, NotFound),
    (FileExistsError, AlreadyExists),
    (PermissionError, PermissionDenied),
    (IsADirectoryError, InvalidPath),
    (NotADirectoryError, InvalidPath),
)


def translate(exc: OSError, path: str) -> RemoteStoreError:
    """Map an ``OSError`` from local I/O to a `remote_store.errors` class naming ``path``."""
    for native, typed in _MAP:
        if isinstance(exc, native):
            return typed(exc.strerror or type(exc).__name__, path=path, backend="local-fs")
    return RemoteStoreError(f"{type(exc).__name__}: {exc.strerror or exc}", path=path, backend="local-fs")


@contextlib.contextmanager
def local_errors(path: str) -> Iterator[None]:
    """Re-raise ``OSError`` raised in the block as its typed counterpart."""
    try:
        yield
    except OSError as exc:
        raise translate(exc, path) from exc


def write_local_atomic(target: str, fill: Callable[[IO[bytes]], None], *, overwrite: bool) -> None:
    """Create ``target`` by calling ``fill(temp_file)`` and renaming the temp file into place.

    Parent folders are created. A failure (also inside ``fill``) removes the temp file and
    leaves any previous ``target`` intact.

    Raises:
        AlreadyExists: ``target`` exists and ``overwrite`` is False (checked before and at rename).
        InvalidPath: ``target`` is a folder, or a parent is a file.
        PermissionDenied: The folder is not writable.
    """
    with local_errors(target):
        if os.path.isdir(target):
            raise InvalidPath("local target is a folder", path=target)
        if not overwrite and os.path.lexists(target):
            raise AlreadyExists("local file exists", path=target)
        folder = os.path.dirname(os.path.abspath(target))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~rs-", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                fill(f)
            if overwrite:
                os.replace(tmp, target)
            else:
                try:
                    os.link(tmp, target)  # fails with EEXIST if someone created it meanwhile
                except FileExistsError:
                    raise
                except OSError:  # no hard links on this filesystem: best effort
                    if os.path.lexists(target):
                        raise FileExistsError(17, "File exists", target) from None
                    os.replace(tmp, target)
                else:
                    os.unlink(tmp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def walk_files(root: str) -> Iterator[tuple[str, str, int]]:
    """Yield ``(absolute_path, relative_posix_path, size)`` for regular files below ``root``, sorted.

    Symbolic links to files are followed; links to folders are not descended into.
    """
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            yield full, rel, st.st_size
