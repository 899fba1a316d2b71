"""`AzureBackend`: Azure Blob Storage (block blobs) through azure-storage-blob."""

from __future__ import annotations

import io
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import (
    BlobPrefix,
    BlobProperties,
    BlobServiceClient,
    ContainerClient,
    ExponentialRetry,
)

from remote_store import AtomicWriter, Backend, Capability, CapabilitySet, FileInfo, Secret, WriteResult
from remote_store.errors import (
    BackendUnavailable,
    ConfigError,
    ContentChanged,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store.kit import compile_glob
from remote_store_azure._errors import BACKEND, error_code, translate
from remote_store_azure._metadata import is_folder_blob, reported_metadata
from remote_store_azure._names import Attempts, unaddressable
from remote_store_azure._options import (
    ENV_ACCOUNT_KEY,
    ENV_ACCOUNT_NAME,
    ENV_CONNECTION_STRING,
    ENV_SAS_TOKEN,
    AzureOptions,
    MiB,
    _env,
)
from remote_store_azure._reader import MAX_RESTARTS, BlobReader, VersionChanged
from remote_store_azure._upload import BlockUpload, _etag

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("remote_store.azure")

#: Seconds between polls of a pending server-side copy (grows to `_COPY_POLL_MAX`).
_COPY_POLL_START = 0.05
_COPY_POLL_MAX = 2.0
#: Blobs per Blob Batch delete request (the service's limit).
_BATCH_DELETE = 256


#: Blob metadata is fetched with every listing (ADLS folder blobs are recognised by it).
_INCLUDE = ["metadata"]
#: Distinct unaddressable blob names warned about per backend (later ones are only counted).
_WARN_LIMIT = 1000


def _basename(key: str) -> str:
    return key.rsplit("/", 1)[-1]


def _parent(key: str) -> str:
    return key.rsplit("/", 1)[0] if "/" in key else ""


class AzureBackend(Backend):
    """Files as block blobs in one Azure Storage container (optionally below a prefix).

    Keys map to blob names ``<prefix>/<key>``; folders are virtual (a folder exists while a
    blob lies below it). Folder blobs made by other tools — ``name/`` markers and ADLS-style
    blobs with ``hdi_isfolder=true`` metadata — are folders, never files. Blob names no store
    path can address (an empty, ``.`` or ``..`` segment, or a non-empty name ending in ``/``)
    are skipped by listings but never silently: each is logged once at WARNING with its
    native name and counted in `unaddressable_count`. Writes up to ``max_single_put_size`` bytes are one Put Blob; larger
    ones are staged blocks (Put Block, ``max_concurrency`` in flight, bounded memory)
    committed by one Put Block List, so readers never see a partial blob and a failed upload
    commits nothing. ``overwrite=False`` sends ``If-None-Match: *``. Reads are lazy and
    seekable ranged GETs pinned to the blob's ETag (a blob replaced before any byte was
    returned is followed to its new version; after that, `ContentChanged`). Blobs are read
    as stored: a blob with ``Content-Encoding: gzip`` reads as its compressed bytes, its size
    agrees with what reads return, and ``FileInfo.metadata["Content-Encoding"]`` reports the
    encoding. Copy is the service's Copy Blob; move is copy + delete (not atomic:
    ATOMIC_MOVE is not declared).

    Flat (the default) or hierarchical: see ``hierarchical``. `Capability.HIERARCHICAL` is
    declared only when the option is on or the account has a hierarchical namespace
    (detected with one Get Account Information request when the client is first created).

    Attributes:
        unaddressable_count: How many times a listing skipped a blob name that no store path
            can address (see above); `delete_folder` still deletes such blobs.

    Args:
        container: Container name.
        account_name: Storage account name.
        account_url: Blob endpoint URL (e.g. Azurite's ``http://127.0.0.1:10000/devstoreaccount1``).
        prefix: Folder inside the container used as the backend root.
        connection_string: Connection string (str or `Secret`).
        account_key: Shared key (str or `Secret`).
        sas_token: SAS token (str or `Secret`).
        credential: Token credential object (e.g. ``azure.identity.DefaultAzureCredential()``).
        anonymous: Use no credential at all (public containers).
        retry_total: Retries per request (azure-core retry policy).
        retry_backoff: First retry delay, seconds.
        max_single_put_size: Largest single Put Blob upload, bytes.
        block_size: Staged block size and ranged-read size, bytes.
        max_concurrency: Parallel block uploads / range downloads per call.
        connection_verify: TLS verification (bool or CA bundle path).
        api_version: Storage API version to pin (emulators).
        connection_timeout: TCP connect timeout, seconds.
        read_timeout: Socket read timeout, seconds.
        create_container: Create the container on first use if it is missing.
        hierarchical: Enforce "a key is a file or a folder, never both" (extra requests; see `AzureOptions`).
        compute_md5: Store a client-computed Content-MD5 on staged uploads (off by default).
        strict_paths: Former name of ``hierarchical`` (still accepted).

    Raises:
        ConfigError: An option is invalid (the message names the key).

    See `AzureOptions` for every option in detail.
    """

    TYPE = "azure"
    CAPABILITIES = CapabilitySet.all() - {Capability.ATOMIC_MOVE, Capability.HIERARCHICAL}

    def __init__(
        self,
        container: str,
        *,
        account_name: str | None = None,
        account_url: str | None = None,
        prefix: str = "",
        connection_string: str | Secret | None = None,
        account_key: str | Secret | None = None,
        sas_token: str | Secret | None = None,
        credential: Any = None,
        anonymous: bool = False,
        retry_total: int = 3,
        retry_backoff: float = 0.5,
        max_single_put_size: int = 8 * MiB,
        block_size: int = 8 * MiB,
        max_concurrency: int = 4,
        connection_verify: bool | str = True,
        api_version: str | None = None,
        connection_timeout: float = 20.0,
        read_timeout: float = 60.0,
        create_container: bool = False,
        hierarchical: bool = False,
        compute_md5: bool = False,
        strict_paths: bool | None = None,
    ) -> None:
        self._opts = AzureOptions(
            container=container,
            account_name=account_name,
            account_url=account_url,
            prefix=prefix,
            connection_string=connection_string,  # type: ignore[arg-type]
            account_key=account_key,  # type: ignore[arg-type]
            sas_token=sas_token,  # type: ignore[arg-type]
            credential=credential,
            anonymous=anonymous,
            retry_total=retry_total,
            retry_backoff=retry_backoff,
            max_single_put_size=max_single_put_size,
            block_size=block_size,
            max_concurrency=max_concurrency,
            connection_verify=connection_verify,
            api_version=api_version,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
            create_container=create_container,
            hierarchical=hierarchical,
            compute_md5=compute_md5,
            strict_paths=strict_paths,
        )
        self._lock = threading.Lock()
        self._service: BlobServiceClient | None = None
        self._container: ContainerClient | None = None
        self._pid = 0
        self._helper: ThreadPoolExecutor | None = None
        self._helper_pid = 0
        self._root = self._opts.prefix + "/" if self._opts.prefix else ""
        #: Largest ranged GET of a streaming read: ``block_size``, capped at 32 MiB.
        self._read_block = min(self._opts.block_size, 32 * MiB)
        #: Whether the account has a hierarchical namespace (set when the client is created).
        self._hns = False
        self._warned: set[str] = set()
        self.unaddressable_count = 0

    @property
    def hierarchical(self) -> bool:
        """Whether "a key is a file or a folder, never both" is enforced (option or HNS account)."""
        return self._opts.hierarchical or self._hns

    @property
    def capabilities(self) -> CapabilitySet:
        """The class's capabilities, plus `Capability.HIERARCHICAL` when `hierarchical` is True."""
        if self.hierarchical:
            return self.CAPABILITIES | {Capability.HIERARCHICAL}
        return self.CAPABILITIES

    @classmethod
    def from_options(cls, options: AzureOptions) -> AzureBackend:
        """Build a backend from an `AzureOptions` value."""
        return cls(**options.as_kwargs())

    # ------------------------------------------------------------------ identity
    @property
    def azure_options(self) -> AzureOptions:
        """The validated `AzureOptions`."""
        return self._opts

    @property
    def options(self) -> dict[str, Any]:
        """Constructor keyword arguments (non-default options; credentials as `Secret`).

        Pickling rebuilds the backend from these; a ``credential`` object must itself be
        picklable for that to work.
        """
        return self._opts.as_kwargs()

    def native_path(self, key: str) -> str:
        """``az://<container>/<prefix>/<key>``."""
        return f"az://{self._opts.container}/{self._root}{key}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`; also accepts a blob name inside the prefix.

        Raises:
            InvalidPath: ``native`` is outside this backend's container/prefix.
        """
        head = f"az://{self._opts.container}/"
        name = native[len(head) :] if native.startswith(head) else native
        if "://" in name:
            raise InvalidPath("not a blob of this backend's container", path=native)
        if self._root:
            if not name.startswith(self._root):
                raise InvalidPath("outside the backend prefix", path=native)
            name = name[len(self._root) :]
        return name

    # ------------------------------------------------------------------ clients
    def _client_kwargs(self) -> dict[str, Any]:
        o = self._opts
        kwargs: dict[str, Any] = {
            "retry_policy": ExponentialRetry(
                initial_backoff=int(o.retry_backoff) if o.retry_backoff >= 1 else o.retry_backoff,  # type: ignore[arg-type]
                increment_base=2,
                retry_total=o.retry_total,
                random_jitter_range=max(1, int(o.retry_backoff)),
            ),
            "connection_verify": o.connection_verify,
            "connection_timeout": o.connection_timeout,
            "read_timeout": o.read_timeout,
            "max_single_put_size": o.max_single_put_size,
            "max_block_size": o.block_size,
            "max_chunk_get_size": o.block_size,
            "max_single_get_size": max(o.block_size, 32 * MiB),
        }
        if o.api_version:
            kwargs["api_version"] = o.api_version
        return kwargs

    def _credential(self, account_name: str | None, account_url: str) -> Any:
        o = self._opts
        key = o.account_key.reveal() if o.account_key else _env(ENV_ACCOUNT_KEY)
        if key:
            name = account_name or _account_from_url(account_url)
            if not name:
                raise ConfigError("account_name: needed with account_key", path="account_name")
            return {"account_name": name, "account_key": key}
        sas = o.sas_token.reveal() if o.sas_token else _env(ENV_SAS_TOKEN)
        if sas:
            return sas.lstrip("?")
        if o.credential is not None:
            return o.credential
        if o.anonymous:
            return None
        try:
            from azure.identity import DefaultAzureCredential  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise ConfigError(
                "credential: no credentials given (connection_string, account_key, sas_token, credential "
                "or anonymous=true) and azure-identity is not installed: pip install remote-store-azure[identity]",
                path="credential",
            ) from None
        return DefaultAzureCredential()

    def _build_service(self) -> BlobServiceClient:
        o = self._opts
        kwargs = self._client_kwargs()
        conn = o.connection_string.reveal() if o.connection_string else None
        if conn is None and not (o.account_url or o.account_name):
            conn = _env(ENV_CONNECTION_STRING)
        if conn:
            explicit = None
            if o.account_key or o.sas_token or o.credential is not None:
                explicit = self._credential(o.account_name, o.account_url or "")
            try:
                return BlobServiceClient.from_connection_string(conn, credential=explicit, **kwargs)
            except ValueError:
                raise ConfigError("connection_string: malformed connection string", path="connection_string") from None
        account_name = o.account_name or (None if o.account_url else _env(ENV_ACCOUNT_NAME))
        url = o.account_url or f"https://{account_name}.blob.core.windows.net"
        return BlobServiceClient(url, credential=self._credential(account_name, url), **kwargs)

    def _cc(self) -> ContainerClient:
        """The (lazily created, per-process) container client."""
        container = self._container
        if container is not None and self._pid == os.getpid():
            return container
        with self._lock:
            if self._container is None or self._pid != os.getpid():
                service = self._build_service()
                cc = service.get_container_client(self._opts.container)
                if self._opts.create_container:
                    try:
                        cc.create_container()
                    except ResourceExistsError:
                        pass
                if not self._opts.hierarchical:
                    self._hns = _detect_hns(cc)
                self._service, self._container, self._pid = service, cc, os.getpid()
            return self._container

    def _blob(self, key: str) -> BlobClient:
        return self._cc().get_blob_client(self._root + key)

    def close(self) -> None:
        """Close the HTTP transport; a later call reconnects lazily."""
        with self._lock:
            service, self._service, self._container = self._service, None, None
            helper, self._helper = self._helper, None
        if helper is not None and self._helper_pid == os.getpid():
            helper.shutdown(wait=False)
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

    # ------------------------------------------------------------------ helpers
    def _info(self, key: str, props: BlobProperties) -> FileInfo:
        settings = props.content_settings
        return FileInfo(
            path=key,
            name=_basename(key),
            size=int(props.size or 0),
            modified_at=props.last_modified,
            etag=_etag(props.etag),
            version_id=props.version_id,
            content_type=settings.content_type if settings else None,
            metadata=reported_metadata(props.metadata, settings.content_encoding if settings else None),
        )

    def _report(self, name: str) -> None:
        """Count (and warn once about) a blob name no store path can address."""
        with self._lock:
            self.unaddressable_count += 1
            first = name not in self._warned and len(self._warned) < _WARN_LIMIT
            if first:
                self._warned.add(name)
        if first:
            log.warning(
                "azure: blob %r in container %r has a name no store path can address (an empty, '.' or "
                "'..' segment, or a non-empty name ending in '/'); listings skip it, delete_folder removes it "
                "(counted in AzureBackend.unaddressable_count)",
                name,
                self._opts.container,
            )

    def _file_key(self, item: BlobProperties, start: str) -> str | None:
        """The key of a listed blob if it is a file below ``start``; None for folder blobs and others."""
        name: str = item.name
        if not name.startswith(start) or name == start:
            return None
        if name.endswith("/") and not item.size:
            return None  # "name/" folder marker
        if is_folder_blob(item.metadata):
            return None  # ADLS-style folder blob
        key = name[len(self._root) :]
        if unaddressable(key):
            self._report(name)
            return None
        return key

    def _has_children(self, key: str) -> bool:
        pages = self._cc().list_blobs(name_starts_with=self._root + key + "/", results_per_page=1).by_page()
        for page in pages:
            for _ in page:
                return True
            break
        return False

    def _missing(self, key: str, exc: BaseException) -> RemoteStoreError:
        """The error for a 404 on ``key``: InvalidPath for a folder, NotFound otherwise (one listing)."""
        if error_code(exc) == "ContainerNotFound":
            return NotFound(f"container {self._opts.container!r} does not exist", path=key, backend=BACKEND)
        if self._has_children(key):
            return InvalidPath("is a folder", path=key, backend=BACKEND)
        return NotFound("file not found", path=key, backend=BACKEND)

    def _props(self, key: str) -> BlobProperties:
        """Get Blob Properties of the *file* ``key``.

        Raises:
            NotFound: No blob (and no folder) at ``key``.
            InvalidPath: ``key`` is a folder (an ADLS folder blob, or blobs below it).
        """
        try:
            props = self._blob(key).get_blob_properties()
        except ResourceNotFoundError as exc:
            raise self._missing(key, exc) from exc
        if is_folder_blob(props.metadata):
            raise InvalidPath("is a folder", path=key, backend=BACKEND)
        return props

    def _check_target(self, key: str) -> None:
        """Refuse a write where a folder is or below a file (hierarchical mode only)."""
        if not self.hierarchical:
            return
        if self.is_folder(key):
            raise InvalidPath("a folder exists at the path", path=key, backend=BACKEND)
        parent = _parent(key)
        while parent:
            if self.exists(parent):
                raise InvalidPath("a parent of the path is a file", path=key, backend=BACKEND)
            parent = _parent(parent)

    def _check_target_async(self, key: str) -> Future[None] | None:
        """Run `_check_target` on the backend's helper thread (None in flat mode)."""
        if not self.hierarchical:
            return None
        with self._lock:
            if self._helper is None or self._helper_pid != os.getpid():
                self._helper = ThreadPoolExecutor(
                    max(8, 2 * self._opts.max_concurrency), thread_name_prefix="rs-azure-check"
                )
                self._helper_pid = os.getpid()
            helper = self._helper
        return helper.submit(self._check_target, key)

    def _upload(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> BlockUpload:
        o = self._opts
        blob = self._blob(key)
        return BlockUpload(
            blob,
            key,
            overwrite=overwrite,
            metadata=metadata,
            single_put=o.max_single_put_size,
            block_size=o.block_size,
            concurrency=o.max_concurrency,
            compute_md5=o.compute_md5,
            check=(lambda: self._check_target_async(key)) if self.hierarchical else None,
        )

    # ------------------------------------------------------------------ required
    def exists(self, key: str) -> bool:
        """Whether a blob named ``key`` exists and is a file (Get Blob Properties)."""
        try:
            props = self._blob(key).get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            return False
        return not is_folder_blob(props.metadata)

    def is_folder(self, key: str) -> bool:
        """Whether ``key`` is a folder: some blob name starts with ``key/`` (List Blobs, one
        result), or else the blob ``key`` is an ADLS folder blob (one Get Blob Properties more)."""
        if not key:
            return True
        if self._has_children(key):
            return True
        try:
            props = self._blob(key).get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            return False
        return is_folder_blob(props.metadata)

    def stat(self, key: str) -> FileInfo:
        """Get Blob Properties of ``key``: user metadata as stored, plus ``Content-Encoding`` if set.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        return self._info(key, self._props(key))

    def open_read(self, key: str) -> IO[bytes]:
        """Lazy, seekable stream: Get Blob Properties now, ranged Get Blob calls on read (see `BlobReader`).

        Every range is pinned to one version (``If-Match``); bytes come as stored (no
        transparent decompression of ``Content-Encoding: gzip`` blobs).

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: (from the stream) the blob was replaced after bytes were returned.
        """
        blob = self._blob(key)
        props = self._props(key)

        def fetch(start: int, length: int, etag: str) -> bytes:
            try:
                downloader = blob.download_blob(
                    offset=start,
                    length=length,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                    max_concurrency=1,
                    decompress=False,
                )
                return downloader.readall()
            except ResourceModifiedError as exc:
                raise VersionChanged() from exc

        def head() -> tuple[str, int]:
            current = self._props(key)
            return current.etag, int(current.size or 0)

        return BlobReader(  # type: ignore[return-value]
            fetch,
            head,
            props.etag,
            int(props.size or 0),
            key=key,
            block_size=self._read_block,
            concurrency=self._opts.max_concurrency,
        )

    def read_bytes(self, key: str) -> bytes:
        """The whole blob as stored, in one Get Blob (parallel ranges pinned to one ETag when large).

        A blob replaced during a multi-range download is downloaded again (nothing was
        returned yet), at most `MAX_RESTARTS` times.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: The blob kept changing during every attempt.
        """
        blob = self._blob(key)
        for _ in range(MAX_RESTARTS + 1):
            try:
                downloader = blob.download_blob(max_concurrency=self._opts.max_concurrency, decompress=False)
                if is_folder_blob(downloader.properties.metadata):
                    raise InvalidPath("is a folder", path=key, backend=BACKEND)
                return downloader.readall()
            except ResourceNotFoundError as exc:
                raise self._missing(key, exc) from exc
            except ResourceModifiedError:
                continue
        raise ContentChanged("the file was replaced during every download attempt; retry", path=key, backend=BACKEND)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Upload everything readable from ``stream``: Put Blob when it fits in
        ``max_single_put_size``, else Put Block (n times) + Put Block List. Memory stays below
        ``max_single_put_size + (max_concurrency + 1) * block_size``. The blob appears only
        when the last request succeeds; a failure commits nothing. Concurrent writers of one
        key: the last commit wins (see `BlockUpload`).

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists (``If-None-Match: *``).
            InvalidPath: Hierarchical mode: a folder is at ``key`` or a parent is a file
                (checked before anything is published). Metadata Azure cannot store
                (names must be C# identifiers, values printable ASCII).
        """
        upload = self._upload(key, overwrite=overwrite, metadata=metadata)
        block = self._opts.block_size
        try:
            if isinstance(stream, io.BytesIO) and not stream.tell():
                data = stream.getbuffer()
                try:
                    if len(data) <= self._opts.max_single_put_size:
                        upload.write(data)  # type: ignore[arg-type]
                        return upload.commit()
                finally:
                    data.release()
            while True:
                chunk = _read_exactly(stream, block)
                if chunk:
                    upload.write(chunk)
                if len(chunk) < block:
                    break
            return upload.commit()
        except BaseException:
            upload.abort()
            raise

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """A streaming writer staging blocks as data arrives; committed by Put Block List."""
        return self._upload(key, overwrite=overwrite, metadata=metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete Blob (with its snapshots).

        Flat mode: one Delete Blob; only a 404 costs one listing more (to tell a folder,
        `InvalidPath` even with ``missing_ok``, from a missing file). Hierarchical mode: one Get Blob
        Properties first (refuses folder blobs), then Delete Blob ``If-Match`` its ETag. A
        404 on a resent request (the first attempt's response was lost) means the first
        attempt deleted the blob: success, not `NotFound`.

        Raises:
            NotFound: No blob at ``key`` (``missing_ok`` False).
            InvalidPath: ``key`` is a folder.
        """
        blob = self._blob(key)
        kwargs: dict[str, Any] = {}
        if self.hierarchical:
            try:
                props = self._props(key)
            except NotFound:
                if missing_ok:
                    return
                raise
            kwargs = {"etag": props.etag, "match_condition": MatchConditions.IfNotModified}
        attempts = Attempts()
        try:
            blob.delete_blob(delete_snapshots="include", retry_hook=attempts, **kwargs)
        except ResourceNotFoundError as exc:
            if attempts.retried and error_code(exc) != "ContainerNotFound":
                return
            raise self._missing(key, exc) from exc
        except ResourceModifiedError:
            if attempts.retried:
                return
            self.delete(key, missing_ok=missing_ok)  # replaced between the check and the delete: check again

    def _listing(self, start: str, *, flat: bool) -> Iterator[Any]:
        cc = self._cc()
        if flat:
            return iter(cc.list_blobs(name_starts_with=start or None, include=_INCLUDE))
        return iter(cc.walk_blobs(name_starts_with=start or None, delimiter="/", include=_INCLUDE))

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """List Blobs below ``prefix`` page by page (``delimiter="/"`` when not recursive), with metadata.

        Folder blobs are skipped; unaddressable names are reported (see the class docstring).
        """
        start = self._root + (prefix + "/" if prefix else "")
        for item in self._listing(start, flat=recursive and (max_depth is None or max_depth > 1)):
            if isinstance(item, BlobPrefix):
                continue
            key = self._file_key(item, start)
            if key is not None:
                yield self._info(key, item)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Direct subfolders of ``prefix``: List Blobs with ``delimiter="/"`` prefixes, plus ADLS folder blobs."""
        start = self._root + (prefix + "/" if prefix else "")
        seen: set[str] = set()  # a folder can be a prefix and a folder blob: yield it once
        for item in self._listing(start, flat=False):
            name: str = item.name
            if not name.startswith(start) or name == start:
                continue
            if isinstance(item, BlobPrefix):
                key = name[len(self._root) : -1]
            elif is_folder_blob(item.metadata):
                key = name[len(self._root) :]
            else:
                continue
            if key in seen:
                continue
            seen.add(key)
            if unaddressable(key):
                self._report(name)
                continue
            yield key

    # ------------------------------------------------------------------ native overrides
    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Server-side Copy Blob (``If-None-Match: *`` without ``overwrite``), waiting until it
        completes. The copy is of the source's state when the service starts it.

        A conditional copy resent by azure-core that meets an existing ``dst`` which is a copy
        of ``src`` (copy source, size and MD5 agree) was this call's own first attempt: success.

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder, or (hierarchical mode) ``dst`` breaks the folder rules.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            RemoteStoreError: The service reports the copy failed or was aborted.
        """
        source = self._blob(src)
        target = self._blob(dst)
        src_props = self._props(src)  # NotFound / InvalidPath for a folder
        self._check_target(dst)
        kwargs: dict[str, Any] = {}
        if not overwrite:
            kwargs["match_condition"] = MatchConditions.IfMissing
        attempts = Attempts()
        result: dict[str, Any]
        try:
            result = target.start_copy_from_url(source.url, retry_hook=attempts, **kwargs)
        except ResourceNotFoundError as exc:
            raise self._missing(src, exc) from exc
        except (ResourceExistsError, ResourceModifiedError):
            if not (attempts.retried and not overwrite and self._copied_from(target, source.url, src_props)):
                raise
            log.debug("azure copy %r -> %r: a retried create met its own first attempt", src, dst)
            result = {"copy_status": target.get_blob_properties().copy.status}
        status = result.get("copy_status")
        if status == "pending":
            log.debug("azure copy %r -> %r pending; polling", src, dst)
        delay = _COPY_POLL_START
        while status == "pending":
            time.sleep(delay)
            delay = min(delay * 2, _COPY_POLL_MAX)
            copy = target.get_blob_properties().copy
            status = copy.status
            if status not in ("pending", "success"):
                raise RemoteStoreError(
                    f"server-side copy {status}: {copy.status_description or ''}".strip(), path=dst, backend=BACKEND
                )
        if status not in (None, "success"):
            raise RemoteStoreError(f"server-side copy {status}", path=dst, backend=BACKEND)

    @staticmethod
    def _copied_from(target: BlobClient, source_url: str, source: BlobProperties) -> bool:
        """Whether ``target`` is a copy of ``source`` (copy source path, size and MD5 agree)."""
        try:
            props = target.get_blob_properties()
        except ResourceNotFoundError:
            return False
        copied = props.copy.source if props.copy else None
        if not copied or urllib.parse.urlsplit(copied).path != urllib.parse.urlsplit(source_url).path:
            return False
        md5 = props.content_settings.content_md5 if props.content_settings else None
        src_md5 = source.content_settings.content_md5 if source.content_settings else None
        return int(props.size or 0) == int(source.size or 0) and md5 == src_md5

    def _own_folder_blob(self, key: str) -> str | None:
        """The ETag of the ADLS folder blob named ``key`` itself, or None."""
        try:
            props = self._blob(key).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return props.etag if is_folder_blob(props.metadata) else None

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every blob below ``key`` (Blob Batch deletes of up to 256 blobs), folder
        blobs included — ``name/`` markers, ADLS folder blobs (below ``key`` and ``key``
        itself) — and blobs listings skip as unaddressable. Folder blobs go last, deepest first.

        Raises:
            NotFound: ``key`` is not a folder.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False and files or subfolders lie below ``key``.
        """
        start = self._root + key + "/"
        own = self._own_folder_blob(key)
        folders: list[str] = []
        found = own is not None
        if not recursive:
            for item in self._listing(start, flat=False):
                if isinstance(item, BlobPrefix) or item.name != start:
                    raise DirectoryNotEmpty("folder is not empty", path=key, backend=BACKEND)
                folders.append(item.name)
                found = True
        else:
            batch: list[str] = []
            for item in self._listing(start, flat=True):
                found = True
                if (item.name.endswith("/") and not item.size) or is_folder_blob(item.metadata):
                    folders.append(item.name)
                    continue
                batch.append(item.name)
                if len(batch) == _BATCH_DELETE:
                    self._delete_names(batch)
                    batch = []
            if batch:
                self._delete_names(batch)
        if not found:
            if self.exists(key):
                raise InvalidPath("not a folder", path=key, backend=BACKEND)
            raise NotFound("folder not found", path=key, backend=BACKEND)
        folders.sort(key=lambda n: n.rstrip("/").count("/"), reverse=True)
        for i in range(0, len(folders), _BATCH_DELETE):
            self._delete_names(folders[i : i + _BATCH_DELETE])
        if own is not None:
            try:
                self._blob(key).delete_blob(etag=own, match_condition=MatchConditions.IfNotModified)
            except (ResourceNotFoundError, ResourceModifiedError):
                pass

    def _delete_names(self, names: list[str]) -> None:
        cc = self._cc()
        if len(names) == 1 or self._hns:  # HNS accounts take no Blob Batch requests
            for name in names:
                try:
                    cc.delete_blob(name, delete_snapshots="include")
                except ResourceNotFoundError:
                    pass
            return
        responses = cc.delete_blobs(*names, delete_snapshots="include", raise_on_any_failure=False)
        for name, response in zip(names, responses):
            if response.status_code not in (202, 404):
                cc.delete_blob(name, delete_snapshots="include")

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Match ``pattern`` against keys, listing only blobs that start with its literal prefix.

        The literal part before the first wildcard (even inside a segment: ``"logs/2024-*"``
        lists ``logs/2024-``) is sent as the List Blobs prefix; a pattern without ``**`` and
        without ``/`` after its first wildcard is listed with ``delimiter="/"``. Folder blobs
        never match; unaddressable names are reported.
        """
        pattern = pattern.strip("/")
        regex = compile_glob(pattern)
        cut = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=len(pattern))
        literal, rest = pattern[:cut], pattern[cut:]
        start = self._root + literal
        for item in self._listing(start, flat="**" in pattern or "/" in rest):
            if isinstance(item, BlobPrefix):
                continue
            key = self._file_key(item, self._root)
            if key is not None and regex.fullmatch(key):
                yield self._info(key, item)


def _detect_hns(cc: ContainerClient) -> bool:
    """Whether the account has a hierarchical namespace (Get Account Information's ``x-ms-is-hns-enabled``).

    False when the service does not report it (older API versions, emulators) or refuses the call.
    """
    try:
        info = cc.get_account_information()
    except Exception as exc:  # detection is best effort: a refused call means "not known to be HNS"
        log.debug("azure: account information unavailable (%s); assuming a flat namespace", type(exc).__name__)
        return False
    return bool(info.get("is_hns_enabled"))


def _account_from_url(url: str) -> str | None:
    """Account name from ``https://<name>.blob…`` or path-style ``http://host:port/<name>``."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    segment = parts.path.strip("/").split("/", 1)[0]
    return segment or None


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads; fewer only at end of stream."""
    data = stream.read(size)
    if not data or len(data) == size:
        return data or b""
    parts = [data]
    got = len(data)
    while got < size:
        more = stream.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


__all__ = ["AzureBackend"]
