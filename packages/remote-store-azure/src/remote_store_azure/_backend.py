"""`AzureBackend`: Azure Blob Storage (block blobs) through azure-storage-blob."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import (
    BlobBlock,
    BlobPrefix,
    BlobProperties,
    BlobServiceClient,
    BlobType,
    ContainerClient,
    ContentSettings,
    ExponentialRetry,
)

from remote_store import _path
from remote_store._backend import AtomicWriter, Backend, compile_glob
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import ContentDigest, FileInfo, WriteResult, WriteSource
from remote_store._secret import Secret
from remote_store.errors import (
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store_azure._errors import BACKEND, error_code, translate
from remote_store_azure._metadata import decode_metadata, encode_metadata
from remote_store_azure._options import (
    ENV_ACCOUNT_KEY,
    ENV_ACCOUNT_NAME,
    ENV_CONNECTION_STRING,
    ENV_SAS_TOKEN,
    AzureOptions,
    MiB,
    _env,
)
from remote_store_azure._reader import BlobReader

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("remote_store.azure")

#: Seconds between polls of a pending server-side copy (grows to `_COPY_POLL_MAX`).
_COPY_POLL_START = 0.05
_COPY_POLL_MAX = 2.0
#: Blobs per Blob Batch delete request (the service's limit).
_BATCH_DELETE = 256


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


def _hex(value: Any) -> str | None:
    return bytes(value).hex() if value else None


def _content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class AzureBackend(Backend):
    """Files as block blobs in one Azure Storage container (optionally below a prefix).

    Keys map to blob names ``<prefix>/<key>``; folders are virtual (a folder exists while a
    blob lies below it; ``name/`` marker blobs from other tools count as folders and never
    show up as files). Writes up to ``max_single_put_size`` bytes are one Put Blob; larger
    ones are staged blocks (Put Block, ``max_concurrency`` in flight, bounded memory)
    committed by one Put Block List, so readers never see a partial blob and a failed upload
    commits nothing. ``overwrite=False`` sends ``If-None-Match: *``. Reads are lazy and
    seekable ranged GETs pinned to the blob's ETag. Copy is the service's Copy Blob; move is
    copy + delete (not atomic: ATOMIC_MOVE is not declared).

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
        strict_paths: Enforce the file-vs-folder rules on writes (extra requests; see `AzureOptions`).
        compute_md5: Store a client-computed Content-MD5 on staged uploads (off by default).

    Raises:
        ConfigError: An option is invalid (the message names the key).

    See `AzureOptions` for every option in detail.
    """

    TYPE = "azure"
    CAPABILITIES = CapabilitySet.all() - {Capability.ATOMIC_MOVE}

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
        strict_paths: bool = True,
        compute_md5: bool = False,
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
            strict_paths=strict_paths,
            compute_md5=compute_md5,
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
    def _info(self, key: str, props: BlobProperties, *, with_metadata: bool) -> FileInfo:
        settings = props.content_settings
        return FileInfo(
            path=key,
            name=_path.basename(key),
            size=int(props.size or 0),
            modified_at=props.last_modified,
            etag=_etag(props.etag),
            version_id=props.version_id,
            content_type=settings.content_type if settings else None,
            metadata=decode_metadata(props.metadata) if with_metadata else {},
        )

    def _missing(self, key: str, exc: BaseException) -> RemoteStoreError:
        """The error for a 404 on ``key``: InvalidPath for a folder, NotFound otherwise."""
        if error_code(exc) == "ContainerNotFound":
            return NotFound(f"container {self._opts.container!r} does not exist", path=key, backend=BACKEND)
        if self.is_folder(key):
            return InvalidPath("is a folder", path=key, backend=BACKEND)
        return NotFound("file not found", path=key, backend=BACKEND)

    def _check_target(self, key: str) -> None:
        """Refuse a write where a folder is or below a file (only with ``strict_paths``)."""
        if not self._opts.strict_paths:
            return
        if self.is_folder(key):
            raise InvalidPath("a folder exists at the path", path=key, backend=BACKEND)
        parent = _path.parent(key)
        while parent:
            if self.exists(parent):
                raise InvalidPath("a parent of the path is a file", path=key, backend=BACKEND)
            parent = _path.parent(parent)

    def _check_target_async(self, key: str) -> Future[None] | None:
        """Run `_check_target` on the backend's helper thread (None without ``strict_paths``)."""
        if not self._opts.strict_paths:
            return None
        with self._lock:
            if self._helper is None or self._helper_pid != os.getpid():
                self._helper = ThreadPoolExecutor(
                    max(8, 2 * self._opts.max_concurrency), thread_name_prefix="rs-azure-check"
                )
                self._helper_pid = os.getpid()
            helper = self._helper
        return helper.submit(self._check_target, key)

    def _key_of(self, name: str) -> str:
        return name[len(self._root) :]

    # ------------------------------------------------------------------ required
    def exists(self, key: str) -> bool:
        """Whether a blob named ``key`` exists (Get Blob Properties)."""
        try:
            self._blob(key).get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                raise
            return False
        return True

    def is_folder(self, key: str) -> bool:
        """Whether some blob name starts with ``key/`` (List Blobs, one result)."""
        if not key:
            return True
        pages = self._cc().list_blobs(name_starts_with=self._root + key + "/", results_per_page=1).by_page()
        for page in pages:
            for _ in page:
                return True
            break
        return False

    def stat(self, key: str) -> FileInfo:
        """Get Blob Properties of ``key``, with decoded user metadata.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        try:
            props = self._blob(key).get_blob_properties()
        except ResourceNotFoundError as exc:
            raise self._missing(key, exc) from exc
        return self._info(key, props, with_metadata=True)

    def open_read(self, key: str) -> IO[bytes]:
        """Lazy, seekable stream: Get Blob Properties now, ranged Get Blob calls on read (see `BlobReader`).

        Every range is pinned to the ETag seen at open (``If-Match``), so a blob replaced
        while it is read raises instead of mixing two versions.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            RemoteStoreError: The blob changed while it was being read.
        """
        blob = self._blob(key)
        try:
            props = blob.get_blob_properties()
        except ResourceNotFoundError as exc:
            raise self._missing(key, exc) from exc
        etag = props.etag
        size = int(props.size or 0)

        def fetch(start: int, length: int) -> bytes:
            try:
                downloader = blob.download_blob(
                    offset=start,
                    length=length,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                    max_concurrency=1,
                )
                return downloader.readall()
            except ResourceModifiedError as exc:
                raise RemoteStoreError("file changed while it was being read", path=key, backend=BACKEND) from exc

        reader = BlobReader(fetch, size, block_size=self._read_block, concurrency=self._opts.max_concurrency)
        return reader  # type: ignore[return-value]

    def read_bytes(self, key: str) -> bytes:
        """The whole blob in one Get Blob (parallel ranges when it is large).

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        try:
            return self._blob(key).download_blob(max_concurrency=self._opts.max_concurrency).readall()
        except ResourceNotFoundError as exc:
            raise self._missing(key, exc) from exc

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Upload everything readable from ``stream``: Put Blob when it fits in
        ``max_single_put_size``, else Put Block (n times) + Put Block List. Memory stays below
        ``max_single_put_size + (max_concurrency + 1) * block_size``. The blob appears only
        when the last request succeeds; a failure commits nothing.

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists (``If-None-Match: *``).
            InvalidPath: A folder is at ``key`` or a parent is a file (``strict_paths``).
        """
        upload = _BlockUpload(self, key, overwrite=overwrite, metadata=metadata)
        block = self._opts.block_size
        try:
            while True:
                data = _read_exactly(stream, block)
                if data:
                    upload.write(data)
                if len(data) < block:
                    break
            return upload.commit()
        except BaseException:
            upload.abort()
            raise

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """A streaming writer staging blocks as data arrives; committed by Put Block List."""
        return _BlockUpload(self, key, overwrite=overwrite, metadata=metadata)

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete Blob (with its snapshots).

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        try:
            self._blob(key).delete_blob(delete_snapshots="include")
        except ResourceNotFoundError as exc:
            raise self._missing(key, exc) from exc

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """List Blobs below ``prefix`` page by page (``delimiter="/"`` when not recursive)."""
        start = self._root + (prefix + "/" if prefix else "")
        cc = self._cc()
        items: Iterator[Any]
        if recursive and (max_depth is None or max_depth > 1):
            items = iter(cc.list_blobs(name_starts_with=start or None))
        else:
            items = iter(cc.walk_blobs(name_starts_with=start or None, delimiter="/"))
        for item in items:
            if isinstance(item, BlobPrefix):
                continue
            name: str = item.name
            if name.endswith("/") or not name.startswith(start) or name == start:
                continue
            key = self._key_of(name)
            if key.startswith("/") or "//" in key:
                continue  # names with empty segments (other tools) are not addressable keys
            yield self._info(key, item, with_metadata=False)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Direct subfolders of ``prefix`` from List Blobs with ``delimiter="/"``."""
        start = self._root + (prefix + "/" if prefix else "")
        for item in self._cc().walk_blobs(name_starts_with=start or None, delimiter="/"):
            if not isinstance(item, BlobPrefix):
                continue
            name = item.name.rstrip("/")
            if len(name) <= len(start.rstrip("/")) or not name.startswith(start):
                continue
            yield self._key_of(name)

    # ------------------------------------------------------------------ native overrides
    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Server-side Copy Blob (``If-None-Match: *`` without ``overwrite``), waiting until it completes.

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder, or ``dst`` breaks the folder rules.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            RemoteStoreError: The service reports the copy failed or was aborted.
        """
        source = self._blob(src)
        target = self._blob(dst)
        try:
            source.get_blob_properties()
        except ResourceNotFoundError as exc:
            raise self._missing(src, exc) from exc
        self._check_target(dst)
        kwargs: dict[str, Any] = {}
        if not overwrite:
            kwargs["match_condition"] = MatchConditions.IfMissing
        try:
            result = target.start_copy_from_url(source.url, **kwargs)
        except ResourceNotFoundError as exc:
            raise self._missing(src, exc) from exc
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

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every blob below ``key`` with Blob Batch deletes of up to 256 blobs.

        Raises:
            NotFound: ``key`` is not a folder.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False and files or subfolders lie below ``key``.
        """
        start = self._root + key + "/"
        cc = self._cc()
        if not recursive:
            names = []
            for item in cc.walk_blobs(name_starts_with=start, delimiter="/"):
                if isinstance(item, BlobPrefix) or item.name != start:
                    raise DirectoryNotEmpty("folder is not empty", path=key, backend=BACKEND)
                names.append(item.name)
            if not names:
                if self.exists(key):
                    raise InvalidPath("not a folder", path=key, backend=BACKEND)
                raise NotFound("folder not found", path=key, backend=BACKEND)
            self._delete_names(names)
            return
        batch: list[str] = []
        found = False
        for item in cc.list_blobs(name_starts_with=start):
            found = True
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

    def _delete_names(self, names: list[str]) -> None:
        cc = self._cc()
        if len(names) == 1:
            try:
                cc.delete_blob(names[0], delete_snapshots="include")
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
        without ``/`` after its first wildcard is listed with ``delimiter="/"``.
        """
        pattern = pattern.strip("/")
        regex = compile_glob(pattern)
        cut = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=len(pattern))
        literal, rest = pattern[:cut], pattern[cut:]
        start = self._root + literal
        cc = self._cc()
        items: Iterator[Any]
        if "**" in pattern or "/" in rest:
            items = iter(cc.list_blobs(name_starts_with=start or None))
        else:
            items = iter(cc.walk_blobs(name_starts_with=start or None, delimiter="/"))
        for item in items:
            if isinstance(item, BlobPrefix) or item.name.endswith("/"):
                continue
            key = self._key_of(item.name)
            if not key.startswith("/") and "//" not in key and regex.fullmatch(key):
                yield self._info(key, item, with_metadata=False)


def _account_from_url(url: str) -> str | None:
    """Account name from ``https://<name>.blob…`` or path-style ``http://host:port/<name>``."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ".blob." in host:
        return host.split(".", 1)[0]
    segment = parts.path.strip("/").split("/", 1)[0]
    return segment or None


class _BlockUpload(AtomicWriter):
    """Streams data into one block blob.

    Data is buffered until it exceeds ``max_single_put_size`` (then sent as one Put Blob at
    `commit`); past that, full ``block_size`` blocks are staged with Put Block on a thread
    pool with at most ``max_concurrency`` blocks in flight, and `commit` sends Put Block
    List. `abort` (or any failure) stops without committing, so the blob never changes;
    staged blocks that were never committed are discarded by the service.

    With ``strict_paths`` the folder rules are checked on a worker thread while the data
    is sent: before Put Block List for staged uploads; for a single Put Blob the check runs
    alongside the request, and a blob written where a folder is (or below a file) is
    deleted again (``If-Match`` its new ETag) before `InvalidPath` is raised.
    """

    def __init__(self, backend: AzureBackend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        opts = backend.azure_options
        self._backend = backend
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._stored_metadata = encode_metadata(metadata, key=key)
        self._single = opts.max_single_put_size
        self._block = opts.block_size
        self._concurrency = opts.max_concurrency
        self._md5 = hashlib.md5(usedforsecurity=False) if opts.compute_md5 else None
        self._hashing: list[Future[None]] = []
        self._buffer = bytearray()
        self._size = 0
        self._blob = backend._blob(key)
        self._upload_id = uuid.uuid4().hex
        self._block_ids: list[str] = []
        self._pending: list[Future[Any]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._hasher: ThreadPoolExecutor | None = None
        self._staging = False
        self._done = False
        self._check: Future[None] | None = backend._check_target_async(key)

    # -- staging
    def _next_block_id(self) -> str:
        block_id = f"{self._upload_id}-{len(self._block_ids):08d}"
        self._block_ids.append(block_id)
        return block_id

    def _stage(self, data: bytes) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="rs-azure-upload")
        if self._md5 is not None:
            if self._hasher is None:
                self._hasher = ThreadPoolExecutor(1, thread_name_prefix="rs-azure-md5")
            self._hashing.append(self._hasher.submit(self._md5.update, data))
        while len(self._pending) >= self._concurrency:
            self._pending.pop(0).result()
        while len(self._hashing) > self._concurrency:
            self._hashing.pop(0).result()
        block_id = self._next_block_id()
        self._pending.append(self._pool.submit(self._blob.stage_block, block_id, data, len(data)))

    def _start_staging(self) -> None:
        self._staging = True
        buffered, self._buffer = self._buffer, bytearray()
        view = memoryview(buffered)
        for i in range(0, len(buffered) - len(buffered) % self._block, self._block):
            self._stage(bytes(view[i : i + self._block]))
        self._buffer = bytearray(view[len(buffered) - len(buffered) % self._block :])
        view.release()

    def write(self, data: bytes) -> int:
        """Append ``data``; full blocks are staged as soon as the upload is known to be large."""
        if self._done:
            raise ValueError("write to a finished upload")
        n = len(data)
        if not n:
            return 0
        self._size += n
        if not self._staging:
            self._buffer += data
            if len(self._buffer) > self._single:
                self._start_staging()
            return n
        if not self._buffer and n == self._block:
            self._stage(data)
            return n
        self._buffer += data
        while len(self._buffer) >= self._block:
            piece = bytes(self._buffer[: self._block])
            del self._buffer[: self._block]
            self._stage(piece)
        return n

    def _wait_check(self) -> None:
        check, self._check = self._check, None
        if check is not None:
            check.result()

    def _settings(self) -> ContentSettings:
        md5 = self._md5.digest() if self._md5 is not None and self._staging else None
        return ContentSettings(content_type=_content_type(self._key), content_md5=md5)  # type: ignore[arg-type]

    def commit(self) -> WriteResult:
        """Send Put Blob (small) or the last blocks and Put Block List; return the service's answer."""
        if self._done:
            raise ValueError("upload already finished")
        try:
            if not self._staging:
                response = self._put_single()
                digest = _hex(response.get("content_md5"))
            else:
                if self._buffer:
                    self._stage(bytes(self._buffer))
                    self._buffer = bytearray()
                for future in self._pending:
                    future.result()
                self._pending = []
                for hashed in self._hashing:
                    hashed.result()
                self._wait_check()
                conditions: dict[str, Any] = {} if self._overwrite else {"match_condition": MatchConditions.IfMissing}
                log.debug("azure upload of %r: committing %d block(s)", self._key, len(self._block_ids))
                response = self._blob.commit_block_list(
                    [BlobBlock(block_id=b) for b in self._block_ids],
                    content_settings=self._settings(),
                    metadata=self._stored_metadata or None,
                    **conditions,
                )
                digest = self._md5.hexdigest() if self._md5 is not None else None
        finally:
            self._finish()
        crc = _hex(response.get("content_crc64"))
        return WriteResult(
            path=self._key,
            size=self._size,
            source=WriteSource.NATIVE,
            digest=ContentDigest("md5", digest) if digest else (ContentDigest("crc64", crc) if crc else None),
            etag=_etag(response.get("etag")),
            version_id=response.get("version_id"),
            last_modified=_as_datetime(response.get("last_modified")),
            metadata=self._metadata,
        )

    def _put_single(self) -> dict[str, Any]:
        try:
            response: dict[str, Any] = self._blob.upload_blob(
                bytes(self._buffer),
                blob_type=BlobType.BLOCKBLOB,
                length=len(self._buffer),
                overwrite=self._overwrite,
                metadata=self._stored_metadata or None,
                content_settings=self._settings(),
            )
        except BaseException:
            try:
                self._wait_check()  # a folder-rule violation explains the failure better
            finally:
                self._check = None
            raise
        try:
            self._wait_check()
        except InvalidPath:
            try:
                self._blob.delete_blob(etag=response.get("etag"), match_condition=MatchConditions.IfNotModified)
            except (ResourceNotFoundError, ResourceModifiedError):
                pass
            raise
        return response

    def abort(self) -> None:
        """Stop without committing (idempotent); uncommitted blocks expire on the service."""
        if self._done:
            return
        if self._block_ids:
            log.debug(
                "azure upload of %r aborted after staging %d block(s); nothing committed",
                self._key,
                len(self._block_ids),
            )
        for future in self._pending:
            future.cancel()
        self._finish()

    def _finish(self) -> None:
        self._done = True
        self._buffer = bytearray()
        if self._check is not None:
            self._check.cancel()
            self._check = None
        for name in ("_pool", "_hasher"):
            pool = getattr(self, name)
            setattr(self, name, None)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pending = []
        self._hashing = []


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


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


__all__ = ["AzureBackend"]
