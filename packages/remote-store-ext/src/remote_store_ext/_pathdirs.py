"""Folder creation and removal for `remote_store_ext.path.StorePath` (``mkdir`` / ``rmdir``).

The Store API has no "create folder" call. On a store with `Capability.HIERARCHICAL` a
folder is made by writing a zero-byte marker (``MKDIR_MARKER`` + a random id, the name
`remote_store_ext.fsspec` uses) inside it and deleting it again: stores that keep empty
folders (local disk, SFTP, memory) keep the folder and its parents after the delete. Where
folders exist only while a file lies below them (flat object stores, where nothing is
written, and sql-blob) the folder made is gone again at once: `StorePath.exists` stays
False until a file is written below it, and `remove_folder` then raises `NotFound`, as
pathlib would for a folder that is not there. Create nested folders there with ``parents``.

pathlib's errors map to the typed errors this way: ``FileExistsError`` → `AlreadyExists`,
``FileNotFoundError`` → `NotFound`, ``NotADirectoryError`` → `InvalidPath`, ``OSError``
``ENOTEMPTY`` → `DirectoryNotEmpty`.
"""

from __future__ import annotations

import uuid

from remote_store import Capability, Store
from remote_store.errors import AlreadyExists, InvalidPath, NotFound

#: Name prefix of the transient marker written to create a folder (as `remote_store_ext.fsspec`).
MKDIR_MARKER = ".rs-mkdir-"


def make_folder(store: Store, path: str, *, parents: bool, exist_ok: bool) -> None:
    """Create folder ``path`` of ``store`` with `pathlib.Path.mkdir`'s rules.

    Args:
        store: The store.
        path: Normalized store-relative folder path (``""``: the root, which always exists).
        parents: Create missing parent folders too (else the parent must exist).
        exist_ok: Accept a folder already at ``path``.

    Raises:
        AlreadyExists: A file is at ``path`` (whatever ``exist_ok``), or a folder is and
            ``exist_ok`` is False.
        NotFound: ``parents`` is False and the parent folder does not exist.
        InvalidPath: The parent (or, with ``parents``, an ancestor) is a file.
        BackendUnavailable, PermissionDenied: As `Store.write` / `Store.delete`.
    """
    backend = store.backend.type_name
    if not path:
        if exist_ok:
            return
        raise AlreadyExists("the store root always exists", path="/", backend=backend)
    if store.is_file(path):
        raise AlreadyExists("a file exists at this path", path=path, backend=backend)
    if store.is_folder(path):
        if exist_ok:
            return
        raise AlreadyExists("the folder exists", path=path, backend=backend)
    parent = path.rpartition("/")[0]
    if parent and not parents:
        if store.is_file(parent):
            raise InvalidPath("the parent is a file, not a folder", path=path, backend=backend)
        if not store.is_folder(parent):
            raise NotFound("the parent folder does not exist", path=path, backend=backend)
    if not store.supports(Capability.HIERARCHICAL):
        return
    marker = f"{path}/{MKDIR_MARKER}{uuid.uuid4().hex}"
    store.write(marker, b"")
    store.delete(marker, missing_ok=True)


def remove_folder(store: Store, path: str) -> None:
    """Remove the empty folder ``path`` with `pathlib.Path.rmdir`'s rules (`Store.delete_folder`).

    Raises:
        InvalidPath: ``path`` is the store root or a file.
        DirectoryNotEmpty: The folder has entries.
        NotFound: No folder at ``path`` (also one `make_folder` made on a store that keeps no
            empty folders).
        CapabilityNotSupported: The store has no DELETE.
    """
    if not path:
        raise InvalidPath("the store root cannot be removed", path="/", backend=store.backend.type_name)
    store.delete_folder(path, recursive=False)
