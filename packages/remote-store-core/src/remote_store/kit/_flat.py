"""`FlatKeyBackend`: the `Backend` contract over the primitives of a flat key (object) store."""

from __future__ import annotations

import abc
import dataclasses
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from remote_store import _path
from remote_store._backend import AtomicWriter, Backend
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import FileInfo, WriteResult
from remote_store.errors import AlreadyExists, InvalidPath, NotFound, RemoteStoreError
from remote_store.kit import _flat_folders, _flat_listing, _flat_placement, _flat_reads
from remote_store.kit._flat_writes import ObjectTarget, open_writer
from remote_store.kit._keys import UnreachableKeys, unreachable_reason
from remote_store.kit._maintenance import FlatMaintenance, PendingUpload
from remote_store.kit._multipart import MultipartPolicy
from remote_store.kit._ranged import FetchResult

__all__ = ["FlatKeyBackend", "ListPage", "ObjectTarget"]


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of a listing, in the service's own (native, bucket-level) keys.

    Attributes:
        objects: Entries of the page: `FileInfo` whose ``path`` is the native object key
            (``name`` is ignored; ``size`` must be set).
        prefixes: With a delimiter: the native common prefixes, each ending in ``/``.
    """

    objects: Sequence[FileInfo] = ()
    prefixes: Sequence[str] = field(default_factory=tuple)


class FlatKeyBackend(FlatMaintenance, Backend):
    """Base class for flat key stores (S3, Azure Blob, GCS, R2 …): subclasses supply primitives.

    A subclass implements only the service calls, each on *native object keys* (bucket-level,
    the `root_prefix` already applied): `head_object`, `get_object`, `put_object`,
    `list_objects`, `delete_object` and, where the service has them, `delete_objects`,
    `copy_object` and the multipart steps (`create_multipart`, `upload_part`,
    `complete_multipart`, `abort_multipart`). It also implements `options` (and usually
    `translate_error`, `close`, `native_path`).

    This base owns the contract mechanics, written once:

    - **Placement** (one option, ``hierarchical``): off (default), a key may be a file and a
      folder prefix at once and no extra request is sent; on, writes onto a folder or below a
      file raise `InvalidPath` (one listing + one ``head`` per parent, sent concurrently, all
      *before* anything is published, so a refused write leaves the old content intact) and
      `Capability.HIERARCHICAL` is declared.
    - **Missing files**: a read/stat of a missing key raises `InvalidPath` when the key is a
      folder, else `NotFound` (the extra listing is spent only on that error path).
    - **Requests**: `exists`/`stat` = one ``head``; `read_bytes`/`open_read` = one GET;
      `write` below the threshold = one put; `delete(key, missing_ok=True)` = one delete (with
      ``missing_ok=False`` one ``head`` more, to report `NotFound`).
    - **Folders**: `is_folder` = a listing of one key; zero-byte ``key/`` markers are folders,
      never files; `delete_folder` deletes in batches of `DELETE_BATCH`.
    - **glob**: the pattern's literal prefix (up to the first wildcard, even mid-segment) is
      pushed to the service, with a delimiter when wildcards stay in the last segment.
    - **Unaddressable keys** (``a//b``, a leading ``/``, ``.``/``..`` segments, NUL, a
      non-empty object whose key ends in ``/``): listings skip them, log each once at WARNING
      and count them in `unreachable`; `list_folders` never yields the folder itself or a
      duplicate; `delete_folder` removes what the listing showed *and* those keys, and logs
      how many of them it removed.
    - **Streams**: reads are `PinnedRangeReader` streams (pinned to the first ETag; a replaced
      object raises `ContentChanged` once bytes were delivered; a seek sends one bounded
      ranged GET; `open_read_seekable` starts with a ``head`` and fetches nothing until
      read); writes go through one
      `MultipartWriter` (bounded memory, parts uploaded while the caller writes, aborted on
      any error).

    Args:
        root_prefix: Native key prefix that is this backend's root (``"a/b"``, no surrounding
            ``/``; ``""`` for the bucket root).
        hierarchical: Enforce placement (see above).
        multipart: Part size / threshold / concurrency for writes.
        read_block_size: Read buffer of `open_read` streams, and the read-ahead of each
            ranged GET after a seek, in bytes.
    """

    #: Capabilities of the class without HIERARCHICAL (added per instance when ``hierarchical``).
    CAPABILITIES: ClassVar[CapabilitySet] = CapabilitySet(
        {
            Capability.READ,
            Capability.WRITE,
            Capability.DELETE,
            Capability.LIST,
            Capability.GLOB,
            Capability.MOVE,
            Capability.COPY,
            Capability.ATOMIC_WRITE,
            Capability.METADATA,
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
        }
    )
    #: Most keys one `delete_objects` call takes (S3 ``DeleteObjects``: 1,000).
    DELETE_BATCH: ClassVar[int] = 1000
    #: Whether the subclass implements the multipart primitives (else every write is one put).
    MULTIPART: ClassVar[bool] = True

    def __init__(
        self,
        *,
        root_prefix: str = "",
        hierarchical: bool = False,
        multipart: MultipartPolicy | None = None,
        read_block_size: int = 1024 * 1024,
    ) -> None:
        self._root_prefix = root_prefix.strip("/")
        self._hierarchical = bool(hierarchical)
        self._multipart = multipart or MultipartPolicy()
        self._read_block_size = read_block_size
        self._unreachable = UnreachableKeys(self.type_name)
        self._kit_lock = threading.Lock()
        self._check_pool: ThreadPoolExecutor | None = None
        self._check_pid = os.getpid()
        self._abandoned: dict[str, str] = {}  # upload id -> native key, aborts that failed

    # ================================================================== primitives (subclass)
    @abc.abstractmethod
    def head_object(self, name: str) -> FileInfo | None:
        """Metadata of the object named ``name``, or None when there is none (S3 ``HeadObject``).

        Args:
            name: Native object key.

        Returns:
            A `FileInfo` (``path`` may be anything: the base replaces it) or None.
        """

    @abc.abstractmethod
    def get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """Open a streaming GET of bytes ``start`` .. ``end - 1`` (S3 ``GetObject`` with ``Range``).

        Args:
            name: Native object key.
            start: First byte offset.
            end: End offset (exclusive), or None for the end of the object.
            if_match: Only return the object if its etag is this one.

        Returns:
            A `FetchResult`: the body stream, the *whole* object's size and its etag.

        Raises:
            NotFound: No object ``name``.
            ContentChanged: ``if_match`` is set and the object's etag differs (HTTP 412).
        """

    @abc.abstractmethod
    def put_object(
        self, name: str, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """Store ``data`` as object ``name`` in one request (S3 ``PutObject``).

        Args:
            name: Native object key.
            data: The whole content.
            key: Backend key (for `WriteResult.path` and error messages).
            overwrite: When False, create only if absent (``If-None-Match: *``).
            metadata: User metadata.

        Raises:
            AlreadyExists: ``overwrite`` is False and the object exists.
        """

    @abc.abstractmethod
    def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]:
        """Stream the listing of native keys starting with ``prefix`` page by page (S3 ``ListObjectsV2``).

        Args:
            prefix: Native key prefix (usually ends in ``/``; ``""`` = whole bucket).
            delimiter: Group keys below the next ``/`` into `ListPage.prefixes`.
            max_keys: Stop after this many entries in total (None = everything).
        """

    @abc.abstractmethod
    def delete_object(self, name: str) -> None:
        """Delete object ``name``; succeed when it does not exist (S3 ``DeleteObject``)."""

    def delete_objects(self, names: Sequence[str]) -> None:
        """Delete up to `DELETE_BATCH` objects (S3 ``DeleteObjects``). Default: `delete_object` each."""
        for name in names:
            self.delete_object(name)

    def copy_object(self, src: str, dst: str, *, source: FileInfo, overwrite: bool, key: str) -> None:
        """Server-side copy of ``src`` to ``dst`` (native keys; S3 ``CopyObject``), metadata kept.

        Default: stream a GET of ``src`` into a write of ``dst`` (pinned to ``source.etag``).

        Args:
            src: Native source key.
            dst: Native destination key.
            source: The source's `FileInfo` (from ``head``): its etag pins the copy.
            overwrite: When False, create ``dst`` only if absent.
            key: Destination backend key (for messages and results).

        Raises:
            NotFound: ``src`` vanished.
            AlreadyExists: ``dst`` exists and not ``overwrite``.
        """
        result = self.get_object(src, if_match=source.etag)
        body = result.body
        try:
            writer = open_writer(self, dst, key, overwrite=overwrite, metadata=dict(source.metadata))
            writer.write_from(body)
            writer.commit()
        finally:
            body.close()

    def create_multipart(self, name: str, *, metadata: Mapping[str, str]) -> str:
        """Start a multipart upload of ``name``; return its id (S3 ``CreateMultipartUpload``)."""
        raise NotImplementedError

    def upload_part(self, name: str, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        """Upload part ``number`` (1-based); return the token `complete_multipart` needs (S3 ``UploadPart``)."""
        raise NotImplementedError

    def complete_multipart(
        self,
        name: str,
        upload_id: str,
        parts: Sequence[Any],
        *,
        key: str,
        size: int,
        overwrite: bool,
        metadata: Mapping[str, str],
    ) -> WriteResult:
        """Publish the upload (S3 ``CompleteMultipartUpload``; ``If-None-Match: *`` unless ``overwrite``).

        Raises:
            AlreadyExists: ``overwrite`` is False and the object exists.
        """
        raise NotImplementedError

    def abort_multipart(self, name: str, upload_id: str) -> None:
        """Discard an upload and its parts (S3 ``AbortMultipartUpload``)."""
        raise NotImplementedError

    def list_multipart_uploads(self, prefix: str) -> Iterator[PendingUpload]:
        """Stream the uploads in progress whose native key starts with ``prefix``
        (S3 ``ListMultipartUploads``). Default: none (services without listable uploads)."""
        return iter(())

    # ================================================================== kit state
    @property
    def capabilities(self) -> CapabilitySet:
        """`CAPABILITIES`, plus `Capability.HIERARCHICAL` when ``hierarchical`` is on."""
        caps: CapabilitySet | None = self.__dict__.get("_kit_caps")
        if caps is None:
            caps = self.CAPABILITIES - {Capability.HIERARCHICAL}
            caps = caps | {Capability.HIERARCHICAL} if self._hierarchical else caps
            self.__dict__["_kit_caps"] = caps
        return caps

    @property
    def hierarchical(self) -> bool:
        """Whether placement is enforced (the ``hierarchical`` option)."""
        return self._hierarchical

    @property
    def root_prefix(self) -> str:
        """Native key prefix of the backend root (``""`` = bucket root)."""
        return self._root_prefix

    @property
    def unreachable(self) -> UnreachableKeys:
        """Keys met by listings that a `Store` cannot address (see `UnreachableKeys`)."""
        return self._unreachable

    @property
    def multipart_policy(self) -> MultipartPolicy:
        """How writes are split into parts."""
        return self._multipart

    def close(self) -> None:
        """Stop the placement-check threads (recreated on demand). Subclasses call ``super().close()``."""
        _flat_placement.close_checks(self)

    # ================================================================== keys
    def object_key(self, key: str) -> str:
        """The native key of backend key ``key`` (``root_prefix/key``)."""
        root = self._root_prefix
        if not key:
            return root
        return f"{root}/{key}" if root else key

    def folder_prefix(self, key: str) -> str:
        """The native listing prefix of folder ``key`` (``root_prefix/key/``; ``""`` for a bucket-root backend)."""
        full = self.object_key(key)
        return f"{full}/" if full else ""

    def _relative(self, native: str) -> str | None:
        root = self._root_prefix
        if not root:
            return native
        if native.startswith(root + "/"):
            return native[len(root) + 1 :]
        return None

    def _key_of(self, native: str, size: int | None) -> str | None:
        """Backend key of a listed native key; None (reported) when it cannot be addressed."""
        rel = self._relative(native)
        if rel is None:
            return None
        reason = unreachable_reason(rel, size=size)
        if reason is not None:
            self._unreachable.report(native, reason)
            return None
        return rel

    def _checked(self, key: str) -> str:
        """Refuse a key the Store's path rules would never produce (direct backend use)."""
        reason = unreachable_reason(key)
        if reason is not None or key.endswith("/"):
            raise InvalidPath(f"not a valid key ({reason or 'trailing /'}); the store cannot address it", path=key)
        return key

    # ================================================================== queries
    def _head(self, key: str) -> FileInfo | None:
        info = self.head_object(self.object_key(self._checked(key)))
        if info is None:
            return None
        return dataclasses.replace(info, path=key, name=_path.basename(key))

    def _missing(self, key: str) -> RemoteStoreError:
        """The error for a file operation on ``key`` where no object exists."""
        if self.is_folder(key):
            return InvalidPath("is a folder, not a file", path=key)
        return NotFound("file not found", path=key)

    def exists(self, key: str) -> bool:
        """One ``head``: whether an object (a file) is at ``key``."""
        return self._head(key) is not None

    def is_folder(self, key: str) -> bool:
        """A listing of one key below ``key/`` (the root is always a folder)."""
        if not key:
            return True
        for page in self.list_objects(self.folder_prefix(self._checked(key)), delimiter=False, max_keys=1):
            if page.objects or page.prefixes:
                return True
        return False

    def stat(self, key: str) -> FileInfo:
        """One ``head``.

        Raises:
            NotFound: No object at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        info = self._head(key)
        if info is None:
            raise self._missing(key)
        return info

    # ================================================================== reads
    def _get(self, key: str) -> FetchResult:
        try:
            return self.get_object(self.object_key(self._checked(key)))
        except NotFound as exc:
            raise self._missing(key) from exc.__cause__

    def open_read(self, key: str) -> IO[bytes]:
        """One streaming GET; sequential reads use its body, a seek opens a ranged GET pinned to its etag.

        Raises:
            NotFound: No object at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: (while reading) the object was replaced after bytes were delivered.
        """
        return _flat_reads.open_pinned(self, key, self._get(key))

    def open_read_seekable(self, key: str) -> IO[bytes]:
        """One ``head``, then bounded ranged GETs as the caller reads (`PinnedRangeReader`):
        a seek costs one GET of what is read plus ``read_block_size`` bytes of read-ahead,
        never a download of the rest of the object.

        Raises:
            NotFound: No object at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: (while reading) the object was replaced after bytes were delivered.
        """
        info = self._head(key)
        if info is None:
            raise self._missing(key)
        return _flat_reads.open_seekable(self, key, info)

    def pin_token(self, info: FileInfo) -> str | None:
        """The version token ranged reads of a HEAD-opened object are pinned to: what the
        service's ``get_object(..., if_match=...)`` accepts. Default: ``info.etag`` (S3,
        Azure). A service that pins by another token overrides this (GCS: the generation,
        ``info.version_id``).

        Args:
            info: What `head_object` returned for the object.
        """
        return info.etag

    def read_bytes(self, key: str) -> bytes:
        """One GET read to the end.

        Raises:
            NotFound: No object at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        body = self._get(key).body
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    # ================================================================== writes
    def check_placement(self, key: str) -> None:
        """With ``hierarchical``: refuse a file write where a folder is or below a file.

        One listing for ``key/`` plus one ``head`` per parent folder, sent concurrently.
        Without ``hierarchical``: no request.

        Raises:
            InvalidPath: ``key`` is a folder, or a parent of ``key`` is a file.
        """
        _flat_placement.check_placement(self, key)

    def before_write(self, key: str, *, overwrite: bool) -> None:
        """Run before anything of a write is sent. Default: `check_placement`.

        Subclasses extend it (e.g. a ``head`` check for services without conditional create).
        """
        self.check_placement(key)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """One put below the multipart threshold, else a streaming multipart upload; atomic either way.

        Raises:
            AlreadyExists: ``overwrite`` is False and an object exists.
            InvalidPath: With ``hierarchical``: ``key`` is a folder or below a file.
        """
        self.before_write(self._checked(key), overwrite=overwrite)
        writer = open_writer(self, self.object_key(key), key, overwrite=overwrite, metadata=metadata)
        writer.write_from(stream)
        return writer.commit()

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """A streaming `MultipartWriter`: parts are uploaded while the caller writes.

        Raises:
            InvalidPath: With ``hierarchical``: ``key`` is a folder or below a file.
        """
        self.before_write(self._checked(key), overwrite=overwrite)
        return open_writer(self, self.object_key(key), key, overwrite=overwrite, metadata=metadata)

    # ================================================================== delete
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """One delete request when ``missing_ok`` and not ``hierarchical``; else a ``head`` first.

        Raises:
            NotFound: No object at ``key`` and ``missing_ok`` is False.
            InvalidPath: ``key`` is a folder (``missing_ok`` False, or ``hierarchical``).
        """
        self._checked(key)
        if (not missing_ok or self._hierarchical) and self._head(key) is None:
            err = self._missing(key)
            if missing_ok and isinstance(err, NotFound):
                return
            raise err
        self.delete_object(self.object_key(key))

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every object below ``key/`` in `DELETE_BATCH` batches, streaming the listing.

        Deletes exactly what a recursive listing holds, unaddressable keys included (each is
        reported in `unreachable` and the total is logged). Without ``recursive`` only a lone
        zero-byte ``key/`` marker is removed.

        Raises:
            NotFound: Nothing is below ``key``.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False and the folder holds objects.
        """
        _flat_folders.delete_folder(self, key, recursive=recursive)

    # ================================================================== copy / move
    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """``head`` of ``src``, placement check of ``dst``, then `copy_object` (server-side where it exists).

        Raises:
            NotFound: No object at ``src``.
            InvalidPath: ``src`` is a folder; with ``hierarchical``, ``dst`` is a folder / below a file.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        info = self._head(src)
        if info is None:
            raise self._missing(src)
        self.before_write(self._checked(dst), overwrite=overwrite)
        if not overwrite and self._head(dst) is not None:
            raise AlreadyExists("destination exists", path=dst)
        self.copy_object(self.object_key(src), self.object_key(dst), source=info, overwrite=overwrite, key=dst)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """`copy`, then one delete of ``src``; not atomic.

        Raises:
            NotFound: No object at ``src``.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: As `copy`.
        """
        self.copy(src, dst, overwrite=overwrite)
        self.delete_object(self.object_key(src))

    # ================================================================== listing
    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Stream the listing below ``prefix/`` (with a delimiter unless ``recursive``).

        Folder markers are skipped; unaddressable keys are skipped and reported (`unreachable`).
        """
        return _flat_listing.iter_files(self, prefix, recursive=recursive, max_depth=max_depth)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Stream the common prefixes below ``prefix/``: never ``prefix`` itself, never twice."""
        return _flat_listing.iter_folders(self, prefix)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """List from the pattern's literal leading characters (pushed to the service as the
        prefix, with a delimiter when the wildcards stay in the last segment); match client side.
        A pattern without wildcards is one ``head``."""
        return _flat_listing.glob(self, pattern)
