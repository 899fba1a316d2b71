"""Folder deletion of a `FlatKeyBackend`: batched deletes of what a streamed listing holds."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from remote_store._models import FileInfo
from remote_store.errors import DirectoryNotEmpty, InvalidPath, NotFound, RemoteStoreError

if TYPE_CHECKING:
    from remote_store.kit._flat import FlatKeyBackend

__all__ = ["delete_folder"]

log = logging.getLogger("remote_store.kit")


def delete_folder(backend: FlatKeyBackend, key: str, *, recursive: bool) -> None:
    """`FlatKeyBackend.delete_folder`: every object below ``key/`` in ``DELETE_BATCH`` batches.

    Raises:
        NotFound: Nothing is below ``key``.
        InvalidPath: ``key`` is a file.
        DirectoryNotEmpty: ``recursive`` is False and the folder holds objects.
    """
    prefix = backend.folder_prefix(backend._checked(key))
    if not recursive:
        found: list[FileInfo] = []
        for page in backend.list_objects(prefix, delimiter=False, max_keys=2):
            found.extend(page.objects)
            found.extend(FileInfo(path=p, name="", size=0) for p in page.prefixes)
        if not found:
            raise _not_a_folder(backend, key)
        if len(found) == 1 and found[0].path == prefix and not found[0].size:
            backend.delete_object(prefix)
            return
        raise DirectoryNotEmpty("folder is not empty", path=key)
    batch: list[str] = []
    total = unreachable = 0
    for page in backend.list_objects(prefix, delimiter=False):
        for obj in page.objects:
            total += 1
            if obj.path != prefix and backend._key_of(obj.path, obj.size) is None:
                unreachable += 1
            batch.append(obj.path)
            if len(batch) >= backend.DELETE_BATCH:
                backend.delete_objects(batch)
                batch = []
    if batch:
        backend.delete_objects(batch)
    if not total:
        raise _not_a_folder(backend, key)
    if unreachable:
        backend._unreachable.count_deleted(unreachable)
        log.warning(
            "%s: delete_folder(%r) deleted %d objects, %d of them not addressable by the store "
            "(see backend.unreachable)",
            backend.type_name,
            key,
            total,
            unreachable,
        )
    else:
        log.debug("%s: delete_folder(%r) deleted %d objects", backend.type_name, key, total)


def _not_a_folder(backend: FlatKeyBackend, key: str) -> RemoteStoreError:
    if backend.exists(key):
        return InvalidPath("not a folder", path=key)
    return NotFound("folder not found", path=key)
