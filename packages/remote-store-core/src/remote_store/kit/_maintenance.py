"""Maintenance of a `FlatKeyBackend`: dangling multipart uploads and the native-key escape hatch."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from remote_store._models import FileInfo
from remote_store.errors import InvalidPath

if TYPE_CHECKING:
    from remote_store.kit._flat import ListPage
    from remote_store.kit._ranged import FetchResult

__all__ = ["FlatMaintenance", "PendingUpload"]

log = logging.getLogger("remote_store.kit")


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """One multipart upload that was started and neither completed nor aborted.

    Attributes:
        name: Native object key the upload would publish (bucket-level).
        upload_id: The service's upload id.
        initiated: When the upload was started (timezone-aware UTC), or None if unknown.
    """

    name: str
    upload_id: str
    initiated: datetime | None = None


class FlatMaintenance:
    """Mixin of `FlatKeyBackend` (not used on its own): `collect_garbage` of multipart
    uploads and `iter_native` / `read_native` / `delete_native`, on the backend's primitives."""

    _root_prefix: str
    _kit_lock: threading.Lock
    _abandoned: dict[str, str]

    if TYPE_CHECKING:

        @property
        def type_name(self) -> str: ...

        def folder_prefix(self, key: str) -> str: ...

        def abort_multipart(self, name: str, upload_id: str) -> None: ...

        def list_multipart_uploads(self, prefix: str) -> Iterator[PendingUpload]: ...

        def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]: ...

        def get_object(
            self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
        ) -> FetchResult: ...

        def delete_object(self, name: str) -> None: ...

    # ------------------------------------------------------------------ garbage
    @property
    def abandoned_uploads(self) -> dict[str, str]:
        """Uploads of this backend whose abort failed after every retry: upload id -> native key.

        `collect_garbage` aborts them first, whatever their age (their writer gave up)."""
        with self._kit_lock:
            return dict(self._abandoned)

    def _abandon(self, name: str, upload_id: str) -> None:
        with self._kit_lock:
            self._abandoned[upload_id] = name

    def collect_garbage(self, prefix: str, *, older_than: float) -> int:
        """Abort multipart uploads left behind below folder ``prefix``.

        First the uploads this backend recorded in `abandoned_uploads` (an abort that failed);
        then every upload `list_multipart_uploads` reports under the folder's native prefix
        that was initiated more than ``older_than`` seconds ago (S3
        ``ListMultipartUploads`` + ``AbortMultipartUpload``), whoever started it. A live
        upload is safe as long as ``older_than`` exceeds the longest upload.

        Args:
            prefix: Folder key (``""`` = the backend root), swept recursively.
            older_than: Seconds; younger uploads are kept.

        Returns:
            How many uploads were aborted.

        Raises:
            RemoteStoreError: (translated) listing or aborting failed; recorded uploads
                that could not be aborted stay recorded.
        """
        native = self.folder_prefix(prefix) if prefix else (f"{self._root_prefix}/" if self._root_prefix else "")
        removed = 0
        for upload_id, name in self.abandoned_uploads.items():
            if name.startswith(native):
                self.abort_multipart(name, upload_id)
                with self._kit_lock:
                    self._abandoned.pop(upload_id, None)
                removed += 1
        cutoff = time.time() - older_than
        for upload in list(self.list_multipart_uploads(native)):
            if not upload.name.startswith(native):
                continue
            if upload.initiated is None or upload.initiated.timestamp() > cutoff:
                continue
            self.abort_multipart(upload.name, upload.upload_id)
            removed += 1
        if removed:
            log.info("%s: aborted %d multipart uploads left below %r", self.type_name, removed, prefix)
        return removed

    # ------------------------------------------------------------------ native escape hatch
    def _native_inside(self, name: str) -> str:
        root = self._root_prefix
        if not isinstance(name, str) or not name or "\x00" in name:
            raise InvalidPath("not a native object key", path=str(name))
        if root and not name.startswith(root + "/"):
            raise InvalidPath(f"native key is outside the backend prefix {root!r}", path=name)
        return name

    def iter_native(self, prefix: str = "") -> Iterator[FileInfo]:
        """Every object below native ``prefix`` exactly as the service lists it, including the
        keys a `Store` cannot address (``a//b``, ``/x``, ``./x``, ``a/../b``, non-empty ``d/``).

        The escape hatch for data other tools wrote: the yielded `FileInfo.path` is the
        native object key (bucket-level, `root_prefix` included) to pass to `read_native`
        and `delete_native`. Nothing is normalised, skipped or reported.

        Args:
            prefix: Native key prefix *relative to* `root_prefix`, used as given (no ``/``
                added or collapsed; ``""`` = everything below the backend root).

        Raises:
            RemoteStoreError: (translated) the listing failed.
        """
        root = self._root_prefix
        native = f"{root}/{prefix}" if root else prefix
        for page in self.list_objects(native, delimiter=False):
            for obj in page.objects:
                if root and not obj.path.startswith(root + "/"):
                    continue
                yield dataclasses.replace(obj, name=obj.path.rpartition("/")[2])

    def read_native(self, name: str) -> bytes:
        """The bytes of the object with native key ``name`` (as `iter_native` yields it), one GET.

        Raises:
            InvalidPath: ``name`` is empty or outside `root_prefix`.
            NotFound: No such object.
        """
        result = self.get_object(self._native_inside(name))
        try:
            data: bytes = result.body.read()
        finally:
            result.body.close()
        return data

    def delete_native(self, name: str) -> None:
        """Delete the object with native key ``name`` (one delete; a missing key is no error).

        Raises:
            InvalidPath: ``name`` is empty or outside `root_prefix`.
        """
        self.delete_object(self._native_inside(name))
