"""`AzureBackend`: Azure Blob Storage (block blobs) through azure-storage-blob, on `remote_store.kit`."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobPrefix, ContainerClient

from remote_store import Capability, CapabilitySet, FileInfo, WriteResult
from remote_store.errors import (
    BackendUnavailable,
    ContentChanged,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store.kit import FetchResult, FlatKeyBackend, ListPage, MultipartPolicy, unreachable_reason
from remote_store_azure._blobs import (
    Body,
    OrderedMD5,
    RangedBody,
    WholeFirstRead,
    detect_hns,
    file_info,
)
from remote_store_azure._client import build_service
from remote_store_azure._errors import BACKEND, error_code, translate
from remote_store_azure._metadata import is_folder_blob, split_metadata
from remote_store_azure._names import Attempts
from remote_store_azure._options import MAX_BLOCKS, AzureOptions
from remote_store_azure._writes import commit_blocks, copy_blob, put_blob

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("remote_store.azure")

#: Blob metadata is fetched with every listing (ADLS folder blobs are recognised by it).
_INCLUDE = ["metadata"]
#: How many times `read_bytes` downloads again a blob replaced during a multi-range download.
MAX_RESTARTS = 8
#: Bytes of the first ranged GET of a stream (small: reading a little of a big blob stays cheap).
FIRST_RANGE = 256 * 1024


class AzureBackend(FlatKeyBackend):
    """Files as block blobs in one Azure Storage container (optionally below a prefix).

    Every keyword argument is a field of `AzureOptions` (see there for units, defaults and
    limits) or one of its former names (``retry_total``, ``connection_timeout``,
    ``connection_verify``, ``create_container``, ``strict_paths``). Credentials are kept as
    `Secret` and never appear in ``repr``, logs or error messages.

    Built on `remote_store.kit.FlatKeyBackend`, which owns the contract mechanics; this class
    supplies the service calls. At the defaults (flat) a put is one Put Blob, a get one Get
    Blob, a stat one Get Blob Properties and ``delete`` one Delete Blob (only a 404 costs a
    listing more, to tell a folder from a missing file). ``hierarchical=True`` (or an account
    with a hierarchical namespace, detected once with Get Account Information) adds the
    placement checks, all sent before anything is published, and declares
    `Capability.HIERARCHICAL`.

    - **Folders** are virtual (a folder exists while a blob lies below it). Folder blobs other
      tools make — zero-byte ``name/`` markers and ADLS-style blobs with ``hdi_isfolder=true``
      metadata — are folders, never files; `delete_folder` removes them (deepest last).
    - **Writes** shorter than ``max_single_put_size`` are one Put Blob; longer ones go through
      `remote_store.kit.MultipartWriter`: Put Block while the caller writes (bounded memory),
      one Put Block List to publish, so readers never see a partial blob and a failed upload
      commits nothing. ``overwrite=False`` sends ``If-None-Match: *``.
    - **Concurrent writers** of one blob: the last commit wins. Azure discards every
      uncommitted block of a blob when any writer commits it; an upload whose blocks were
      discarded that way was overtaken, and reports success without a version of its own
      (``etag`` None), or `AlreadyExists` when ``overwrite`` is False.
    - **Resent non-idempotent calls**: when azure-core's retry policy resent a conditional
      create (``overwrite=False`` Put Blob / Put Block List / Copy Blob) and the resend met an
      existing blob, the blob is compared with what this call wrote (size and MD5, committed
      block ids, copy source); if it is this call's own first attempt the call succeeded.
      A resent Delete Blob answered 404 deleted the blob the first time: success.
    - **Reads** are lazy `remote_store.kit.PinnedRangeReader` streams over ranged Get Blob
      calls pinned to the first ETag (``If-Match``): a blob replaced before any byte was
      delivered is followed to its new version, after that `ContentChanged`. Bytes come as
      stored (``decompress=False``): a ``Content-Encoding: gzip`` blob reads as its compressed
      bytes and ``FileInfo.metadata["Content-Encoding"]`` reports the encoding.
    - **Metadata** is stored exactly as given (Azure's rules are checked, never worked around:
      see `remote_store_azure._metadata`).
    - **Copy** is the service's Copy Blob (waited for); move is copy + delete (not atomic).
    - Blob names no store path can address are skipped by listings, logged once and counted
      in `unreachable` (`unaddressable_count`); `delete_folder` still deletes them.

    Raises:
        ConfigError: An option is unknown or invalid (the message names it).
    """

    TYPE = "azure"
    CAPABILITIES = CapabilitySet.all() - {Capability.ATOMIC_MOVE, Capability.HIERARCHICAL}
    #: Blobs per Blob Batch delete request (the service's limit).
    DELETE_BATCH = 256

    def __init__(self, container: str | None = None, **options: Any) -> None:
        given = dict(options)
        if container is not None:
            given["container"] = container
        self._setup(AzureOptions.from_mapping(given))

    def _setup(self, opts: AzureOptions) -> None:
        self._opts = opts
        super().__init__(
            root_prefix=opts.prefix,
            hierarchical=opts.hierarchical,
            multipart=MultipartPolicy(
                part_size=opts.block_size,
                threshold=opts.max_single_put_size,
                concurrency=opts.max_concurrency,
                max_parts=MAX_BLOCKS,
            ),
            read_block_size=opts.read_block_size,
        )
        self._lock = threading.Lock()
        self._container: ContainerClient | None = None
        self._service: Any = None
        self._pid = 0
        self._hns = False
        self._md5: dict[str, OrderedMD5] = {}

    @classmethod
    def from_options(cls, options: AzureOptions) -> AzureBackend:
        """Build a backend from an `AzureOptions` value (already validated)."""
        backend = cls.__new__(cls)
        backend._setup(options)
        return backend

    # ------------------------------------------------------------------ identity
    @property
    def azure_options(self) -> AzureOptions:
        """The validated `AzureOptions`."""
        return self._opts

    @property
    def options(self) -> dict[str, Any]:
        """Constructor keyword arguments (``container`` plus non-default options; credentials
        as `Secret`). Pickling rebuilds the backend from these; a ``credential`` object must
        itself be picklable for that."""
        return self._opts.as_kwargs()

    @property
    def unaddressable_count(self) -> int:
        """Distinct blob names listings met that no store path can address (``unreachable.count``)."""
        return self.unreachable.count

    def object_key(self, key: str) -> str:
        """The blob name of backend key ``key`` (``prefix/key``).

        Raises:
            InvalidPath: ``key`` contains a backslash: the service turns ``\\`` into ``/`` in
                blob names, so the blob would be stored (and listed) under another name.
        """
        if "\\" in key:
            raise InvalidPath("'\\' is not allowed in Azure blob names (the service turns it into '/')", path=key)
        return super().object_key(key)

    def native_path(self, key: str) -> str:
        """``az://<container>/<prefix>/<key>``."""
        return f"az://{self._opts.container}/{self.object_key(key)}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`; also accepts a blob name inside the prefix.

        Raises:
            InvalidPath: ``native`` is outside this backend's container/prefix, or a blob name
                no store path can address.
        """
        head = f"az://{self._opts.container}/"
        name = native[len(head) :] if native.startswith(head) else native
        if "://" in name:
            raise InvalidPath("not a blob of this backend's container", path=native)
        root = self._opts.prefix
        if root:
            if name.strip("/") == root:
                return ""
            if not name.startswith(root + "/"):
                raise InvalidPath("outside the backend prefix", path=native)
            name = name[len(root) + 1 :]
        reason = unreachable_reason(name) if name else None
        if reason is not None:
            raise InvalidPath(f"blob name cannot be addressed by a store ({reason})", path=native)
        return name

    # ------------------------------------------------------------------ client
    def _cc(self) -> ContainerClient:
        """The (lazily created, per-process) container client; detects an HNS account once."""
        container = self._container
        if container is not None and self._pid == os.getpid():
            return container
        if self._pid != os.getpid():
            self._lock = threading.Lock()  # after fork the parent's lock may be held
        with self._lock:
            if self._container is None or self._pid != os.getpid():
                service = build_service(self._opts)
                cc = service.get_container_client(self._opts.container)
                if self._opts.create_root:
                    try:
                        cc.create_container()
                    except ResourceExistsError:
                        pass
                if not self._opts.hierarchical and detect_hns(cc):
                    self._hns = True
                    self._hierarchical = True  # the kit's placement switch
                    self.__dict__.pop("_kit_caps", None)
                self._service, self._container, self._pid = service, cc, os.getpid()
            return self._container

    def _blob(self, name: str) -> BlobClient:
        return self._cc().get_blob_client(name)

    @property
    def hierarchical(self) -> bool:
        """Whether placement is enforced: the ``hierarchical`` option, or an HNS account (known
        after the first request)."""
        return self._hierarchical

    def close(self) -> None:
        """Close the HTTP transport; a later call reconnects lazily."""
        super().close()
        with self._lock:
            service, self._service, self._container = self._service, None, None
        if service is not None and self._pid == os.getpid():
            service.close()

    def ping(self) -> None:
        """Check the container is reachable (Get Container Properties).

        Raises:
            BackendUnavailable: The service is unreachable, refuses the credentials, or the
                container does not exist.
        """
        try:
            self._cc().get_container_properties()
        except Exception as exc:
            err = translate(exc, None, container=self._opts.container)
            if err is None:
                raise
            raise BackendUnavailable(f"ping failed: {err.message}", backend=BACKEND) from exc

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map azure exceptions (see `remote_store_azure._errors.translate`)."""
        return translate(exc, key, container=self._opts.container)

    # ------------------------------------------------------------------ kit primitives: reads
    def head_object(self, name: str) -> FileInfo | None:
        """Get Blob Properties; None on 404 and for ADLS folder blobs.

        Raises:
            ResourceNotFoundError: The container does not exist (translated to `NotFound`).
        """
        try:
            props = self._blob(name).get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            return None
        if is_folder_blob(props.metadata):
            return None
        return file_info(props)

    def get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """Get Blob of bytes ``start`` .. ``end - 1`` (``If-Match`` when pinned), bytes as stored.

        To the end of the blob (``end`` None: the streams of `open_read`) this is one Get Blob
        Properties (pinned to ``if_match`` when given), and the body is a lazy `RangedBody`:
        ranged Get Blob calls on read, the first of `FIRST_RANGE` bytes, then doubling up to
        ``block_size``, every one pinned to the ETag of the properties. A blob replaced before
        the caller got any byte is followed to its new version by the kit's reader.

        Raises:
            NotFound: No blob ``name``, or it is an ADLS folder blob.
            ContentChanged: ``if_match`` given and the blob's ETag differs (412).
        """
        if end is not None:
            downloader = self._download(name, start, max(0, end - start), if_match, concurrency=1)
            if downloader is None:
                return FetchResult(Body(None), start, if_match)
            props = downloader.properties
            total = str(props.content_range or "").rpartition("/")[2]
            size = int(total) if total.isdigit() else int(props.size or 0)
            return FetchResult(Body(downloader.readall()), size, props.etag)
        pinned: dict[str, Any] = {}
        if if_match:
            pinned = {"etag": if_match, "match_condition": MatchConditions.IfNotModified}
        try:
            props = self._blob(name).get_blob_properties(**pinned)
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            raise NotFound("file not found", path=name, backend=BACKEND) from exc
        except ResourceModifiedError as exc:
            raise ContentChanged("blob was replaced", path=name, backend=BACKEND) from exc
        if is_folder_blob(props.metadata):
            raise NotFound("is a folder blob", path=name, backend=BACKEND)
        etag = props.etag

        def fetch(offset: int, n: int) -> bytes:
            more = self._download(name, offset, n, etag, concurrency=1)
            data: bytes = more.readall() if more is not None else b""
            return data

        size = int(props.size or 0)
        return FetchResult(RangedBody(fetch, start, size, FIRST_RANGE, self._opts.block_size), size, etag)

    def _download(self, name: str, start: int, length: int | None, if_match: str | None, *, concurrency: int) -> Any:
        """A `StorageStreamDownloader` of ``length`` bytes from ``start`` (None: to the end);
        None for a range past the end.

        Raises:
            NotFound: No blob ``name``, or it is an ADLS folder blob.
            ContentChanged: ``if_match`` given and the blob's ETag differs (412).
        """
        args: dict[str, Any] = {}
        if start or length is not None:
            args["offset"] = start
            if length is not None:
                args["length"] = length
        if if_match:
            args["etag"] = if_match
            args["match_condition"] = MatchConditions.IfNotModified
        try:
            downloader = self._blob(name).download_blob(max_concurrency=concurrency, decompress=False, **args)
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            raise NotFound("file not found", path=name, backend=BACKEND) from exc
        except ResourceModifiedError as exc:
            raise ContentChanged("blob was replaced", path=name, backend=BACKEND) from exc
        except HttpResponseError as exc:
            if exc.status_code == 416:  # a range at or past the end
                return None
            raise
        if is_folder_blob(downloader.properties.metadata):
            raise NotFound("is a folder blob", path=name, backend=BACKEND)
        return downloader

    def is_folder(self, key: str) -> bool:
        """A listing of one blob below ``key/``; if empty, Get Blob Properties for an ADLS
        folder blob named ``key`` (the root is always a folder)."""
        if super().is_folder(key):
            return True
        return bool(key) and self._folder_blob_etag(key) is not None

    def _folder_blob_etag(self, key: str) -> str | None:
        """The ETag of the ADLS folder blob named ``key`` itself, or None."""
        try:
            props = self._blob(self.object_key(key)).get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            return None
        return props.etag if is_folder_blob(props.metadata) else None

    def open_read(self, key: str) -> IO[bytes]:
        """The kit's lazy pinned stream (Get Blob Properties now, ranged Get Blob on read),
        except that ``read()`` of everything from the start is one `read_bytes` (see
        `WholeFirstRead`).

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: (from the stream) the blob was replaced after bytes were returned.
        """
        stream = super().open_read(key)
        raw = stream.detach()  # type: ignore[attr-defined]
        return WholeFirstRead(raw, self._opts.read_block_size, lambda: self.read_bytes(key))  # type: ignore[return-value]

    def read_bytes(self, key: str) -> bytes:
        """The whole blob as stored, in one Get Blob (``max_concurrency`` ranges pinned to one
        ETag when it is larger than one ``block_size``); a blob replaced during the download is
        downloaded again (nothing was returned yet), at most `MAX_RESTARTS` times.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: The blob kept changing during every attempt.
        """
        if self._opts.max_concurrency == 1:
            return super().read_bytes(key)
        if unreachable_reason(key) is not None:
            return super().read_bytes(key)  # the kit refuses it with InvalidPath
        name = self.object_key(key)
        for _ in range(MAX_RESTARTS + 1):
            try:
                data: bytes = self._download(name, 0, None, None, concurrency=self._opts.max_concurrency).readall()
                return data
            except NotFound as exc:
                if self.is_folder(key):
                    raise InvalidPath("is a folder, not a file", path=key) from None
                raise NotFound("file not found", path=key) from exc.__cause__
            except ResourceModifiedError:
                continue
        raise ContentChanged("the file was replaced during every download attempt; retry", path=key, backend=BACKEND)

    # ------------------------------------------------------------------ kit primitives: listing
    def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]:
        """List Blobs pages with metadata (``delimiter="/"`` when asked); ADLS folder blobs are
        returned as prefixes (``name/``), never as objects."""
        cc = self._cc()
        start = prefix or None
        per_page = max_keys if max_keys is not None and max_keys <= 5000 else None
        pager: Any
        if delimiter:
            pager = cc.walk_blobs(name_starts_with=start, include=_INCLUDE, results_per_page=per_page)
        else:
            pager = cc.list_blobs(name_starts_with=start, include=_INCLUDE, results_per_page=per_page)
        for page in pager.by_page():
            objects: list[FileInfo] = []
            prefixes: list[str] = []
            for item in page:
                if isinstance(item, BlobPrefix):
                    prefixes.append(item.name)
                elif is_folder_blob(item.metadata):
                    prefixes.append(item.name + "/")
                else:
                    objects.append(file_info(item))
            yield ListPage(objects, prefixes)
            if per_page is not None:
                return

    def _folder_blobs(self, prefix: str) -> list[str]:
        """Names of the ADLS folder blobs below ``prefix`` (a flat listing)."""
        names: list[str] = []
        for page in self._cc().list_blobs(name_starts_with=prefix or None, include=_INCLUDE).by_page():
            names.extend(item.name for item in page if is_folder_blob(item.metadata))
        return names

    # ------------------------------------------------------------------ kit primitives: writes
    def put_object(
        self, name: str, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """Put Blob (``If-None-Match: *`` unless ``overwrite``), checked after a resend (see `put_blob`).

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists (and is not this call's
                own resent first attempt).
            InvalidPath: Metadata Azure cannot store.
        """
        return put_blob(self._blob(name), data, key=key, overwrite=overwrite, metadata=metadata)

    def create_multipart(self, name: str, *, metadata: Mapping[str, str]) -> str:
        """Start a staged upload: validates the metadata and names the blocks (no request)."""
        if metadata:
            split_metadata(metadata, key=name)
        upload_id = uuid.uuid4().hex
        if self._opts.compute_md5:
            self._md5[upload_id] = OrderedMD5()
        return upload_id

    def upload_part(self, name: str, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        """Put Block of part ``number``; returns its block id."""
        md5 = self._md5.get(upload_id)
        if md5 is not None:
            md5.update(number, data)
        block_id = f"{upload_id}-{number:08d}"
        self._blob(name).stage_block(block_id, data, len(data))  # type: ignore[arg-type]
        return block_id

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
        """Put Block List (``If-None-Match: *`` unless ``overwrite``); see the class docstring
        for overtaken uploads and resent commits.

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists (or another writer created
                it first).
        """
        hasher = self._md5.pop(upload_id, None)
        md5 = hasher.digest() if hasher is not None else None
        return commit_blocks(
            self._blob(name), list(parts), key=key, size=size, overwrite=overwrite, metadata=metadata, md5=md5
        )

    def abort_multipart(self, name: str, upload_id: str) -> None:
        """Nothing to send: uncommitted blocks are never visible and expire on the service."""
        self._md5.pop(upload_id, None)

    # ------------------------------------------------------------------ kit primitives: delete / copy
    def delete_object(self, name: str) -> None:
        """Delete Blob (with its snapshots); a missing blob is no error.

        Raises:
            ResourceNotFoundError: The container does not exist (translated to `NotFound`).
        """
        try:
            self._cc().delete_blob(name, delete_snapshots="include")
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise

    def delete_objects(self, names: Sequence[str]) -> None:
        """One Blob Batch delete of up to 256 blobs (HNS accounts take no batches: one Delete
        Blob each); 404s are no error, other refused entries are retried one by one."""
        cc = self._cc()
        if len(names) == 1 or self._hns:
            for name in names:
                self.delete_object(name)
            return
        responses = cc.delete_blobs(*names, delete_snapshots="include", raise_on_any_failure=False)
        for name, response in zip(names, responses, strict=False):
            if response.status_code not in (202, 404):
                self.delete_object(name)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Flat: one Delete Blob (a 404 costs one listing more, to tell a folder from a missing
        file; a 404 on a resent request means the first attempt deleted it: success).
        Hierarchical: the kit's Get Blob Properties first, then Delete Blob.

        Raises:
            NotFound: No blob at ``key`` and ``missing_ok`` is False.
            InvalidPath: ``key`` is a folder (``missing_ok`` False, or hierarchical).
        """
        if self._hierarchical or missing_ok or unreachable_reason(key) is not None:
            super().delete(key, missing_ok=missing_ok)
            return
        attempts = Attempts()
        try:
            self._cc().delete_blob(self.object_key(key), delete_snapshots="include", retry_hook=attempts)
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            if attempts.retried:
                return
            if super().is_folder(key):  # a folder blob would have been deleted: a listing tells
                raise InvalidPath("is a folder, not a file", path=key) from None
            raise NotFound("file not found", path=key) from exc

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """The kit's `delete_folder` (batched), then the ADLS folder blobs below ``key``
        (deepest first) and the folder blob ``key`` itself.

        Raises:
            NotFound: ``key`` is not a folder.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False and files or subfolders lie below ``key``.
        """
        own = self._folder_blob_etag(key) if key else None
        found = True
        try:
            super().delete_folder(key, recursive=recursive)
        except NotFound:
            found = False
        folders = self._folder_blobs(self.folder_prefix(key)) if recursive else []
        if not found and not folders and own is None:
            raise NotFound("folder not found", path=key)
        folders.sort(key=lambda n: n.count("/"), reverse=True)
        for name in folders:
            self.delete_object(name)
        if own is not None:
            try:
                self._blob(self.object_key(key)).delete_blob(etag=own, match_condition=MatchConditions.IfNotModified)
            except (ResourceNotFoundError, ResourceModifiedError):
                pass

    def copy_object(self, src: str, dst: str, *, source: FileInfo, overwrite: bool, key: str) -> None:
        """Copy Blob (``If-None-Match: *`` without ``overwrite``), waited for until it completes.

        A conditional copy resent by azure-core that meets an existing ``dst`` which is a copy
        of ``src`` (copy source, size and MD5 agree) was this call's own first attempt: success.

        Raises:
            NotFound: ``src`` vanished.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            RemoteStoreError: The service reports the copy failed or was aborted.
        """
        copy_blob(self._blob(src), self._blob(dst), key=key, source_key=source.path, overwrite=overwrite)


__all__ = ["AzureBackend"]
