"""`AsyncAzureBackend`: Azure Blob Storage (block blobs) on ``azure.storage.blob.aio``."""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError

from remote_store import FileInfo, WriteResult
from remote_store.aio import AsyncAtomicWriter, AsyncReadStream, AsyncWritableContent
from remote_store.errors import BackendUnavailable, ConfigError, ContentChanged, InvalidPath, NotFound, RemoteStoreError
from remote_store_azure._aio_base import parent_key
from remote_store_azure._aio_listing import AsyncAzureListing
from remote_store_azure._aio_reader import MAX_RESTARTS, AsyncBlobReader, VersionChanged
from remote_store_azure._aio_upload import AsyncBlockUpload
from remote_store_azure._errors import BACKEND, error_code, translate
from remote_store_azure._metadata import is_folder_blob
from remote_store_azure._names import Attempts
from remote_store_azure._options import AzureOptions

if TYPE_CHECKING:
    from azure.storage.blob import BlobProperties
    from azure.storage.blob.aio import BlobClient

log = logging.getLogger("remote_store.azure")

#: Seconds between polls of a pending server-side copy (doubling up to `_COPY_POLL_MAX`).
_COPY_POLL_START = 0.05
_COPY_POLL_MAX = 2.0


class AsyncAzureBackend(AsyncAzureListing):
    """Files as block blobs in one Azure Storage container, on the SDK's asyncio clients.

    The async twin of `remote_store_azure.AzureBackend`: same options (see `AzureOptions`),
    same key mapping (``<prefix>/<key>``), same folder rules and the same errors; every
    request runs on the event loop through azure-core's aiohttp transport, so no call
    blocks the loop. Clients are created lazily inside a coroutine, one set per event loop;
    `aclose` closes the running loop's transport.

    * Flat by default; ``hierarchical=True`` enforces "a key is a file or a folder, never
      both" (placement checks run concurrently with the upload and finish before anything
      is published) and declares `Capability.HIERARCHICAL`, which an account with a
      hierarchical namespace also gets (detected with one Get Account Information).
    * Reads (`open_read`) are lazy, seekable ranged Get Blob calls, each ``If-Match`` the
      ETag seen at open: one version per stream. A blob replaced before any byte was
      returned is followed to its new version; after that the stream raises
      `ContentChanged`. Cancelling a read cancels its range downloads (closing their
      responses).
    * Writes up to ``max_single_put_size`` bytes are one Put Blob; larger ones stream in
      ``block_size`` blocks (Put Block, at most ``max_concurrency`` in flight, so memory is
      bounded by about ``max_single_put_size + (max_concurrency + 1) * block_size`` bytes)
      committed by one Put Block List. ``overwrite=False`` sends ``If-None-Match: *``. A
      failed or cancelled write commits nothing: the previous blob stays, and the staged
      blocks are left for the service to discard.
    * Copy is the service's Copy Blob; move is copy + delete (not atomic).

    Credentials never appear in `repr`, `options` (they are `Secret`) or log records.

    Args:
        container: Container name.
        **options: Every option of `AzureOptions`, with the same names, defaults and validation
            as `AzureBackend` (``account_url``, ``account_key``, ``connection_string``,
            ``sas_token``, ``prefix``, ``hierarchical``, ``block_size``,
            ``max_single_put_size``, ``max_concurrency``, ``compute_md5``, timeouts, retries
            …). Differences: ``credential`` must be an *async* token credential
            (``azure.identity.aio.DefaultAzureCredential()``), and ``max_concurrency`` also
            bounds the ranges one read stream downloads ahead.

    Raises:
        ConfigError: An option is invalid (the message names the key), or ``credential`` is
            not an async credential (raised on first use).
    """

    def __init__(self, container: str | None = None, **options: Any) -> None:
        given = dict(options)
        if container is not None:
            given["container"] = container
        try:
            opts = AzureOptions(**given)
        except TypeError as exc:  # an unknown or missing option
            raise ConfigError(f"azure options: {exc}", path="options") from None
        super().__init__(opts)

    @classmethod
    def from_options(cls, options: AzureOptions) -> AsyncAzureBackend:
        """Build a backend from an `AzureOptions` value."""
        return cls(**options.as_kwargs())

    async def ping(self) -> None:
        """Check the container is reachable (Get Container Properties).

        Raises:
            BackendUnavailable: The service is unreachable, refuses the credentials, or the
                container does not exist.
        """
        try:
            cc = await self._cc()
            await cc.get_container_properties()
        except Exception as exc:
            err = translate(exc, None, container=self._opts.container)
            if err is None:
                raise
            raise BackendUnavailable(f"ping failed: {err.message}", backend=BACKEND) from exc

    # ------------------------------------------------------------------ reads
    async def stat(self, key: str) -> FileInfo:
        """Get Blob Properties of ``key``: user metadata as stored, plus ``Content-Encoding`` if set.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        return self._info(key, await self._props(key))

    async def open_read(self, key: str) -> AsyncReadStream:
        """Get Blob Properties now, then lazy ranged Get Blob calls pinned to that ETag (see `AsyncBlobReader`).

        Bytes come as stored (a ``Content-Encoding: gzip`` blob reads compressed).

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: (from the stream) the blob was replaced after bytes were returned.
        """
        blob = await self._blob(key)
        props = await self._props(key)

        async def fetch(start: int, length: int, etag: str) -> bytes:
            try:
                downloader = await blob.download_blob(
                    offset=start,
                    length=length,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                    max_concurrency=1,
                    decompress=False,
                )
                return await downloader.readall()
            except ResourceModifiedError as exc:
                raise VersionChanged() from exc

        async def head() -> tuple[str, int]:
            current = await self._props(key)
            return current.etag, int(current.size or 0)

        return AsyncBlobReader(
            fetch,
            head,
            props.etag,
            int(props.size or 0),
            key=key,
            block_size=self._read_block,
            concurrency=self._opts.max_concurrency,
        )

    async def open_read_seekable(self, key: str) -> AsyncReadStream:
        """Same as `open_read`: its ranged stream is seekable already."""
        return await self.open_read(key)

    async def read_bytes(self, key: str) -> bytes:
        """The whole blob as stored, in one Get Blob (large blobs: parallel ranges pinned to one ETag).

        A blob replaced during a multi-range download is downloaded again (nothing was returned
        yet), at most `MAX_RESTARTS` times.

        Raises:
            NotFound: No blob at ``key``.
            InvalidPath: ``key`` is a folder.
            ContentChanged: The blob changed during every attempt.
        """
        blob = await self._blob(key)
        for _ in range(MAX_RESTARTS + 1):
            try:
                downloader = await blob.download_blob(max_concurrency=self._opts.max_concurrency, decompress=False)
                if is_folder_blob(downloader.properties.metadata):
                    raise InvalidPath("is a folder", path=key, backend=BACKEND)
                data: bytes = await downloader.readall()
                return data
            except ResourceNotFoundError as exc:
                raise await self._missing(key, exc) from exc
            except ResourceModifiedError:
                continue
        raise ContentChanged("the file was replaced during every download attempt; retry", path=key, backend=BACKEND)

    # ------------------------------------------------------------------ writes
    async def _check_target(self, key: str) -> None:
        """Refuse a write where a folder is or below a file (hierarchical mode); parents checked concurrently.

        Raises:
            InvalidPath: A folder is at ``key``, or a parent of ``key`` is a file.
        """
        parents: list[str] = []
        parent = parent_key(key)
        while parent:
            parents.append(parent)
            parent = parent_key(parent)
        folder, *files = await asyncio.gather(self.is_folder(key), *(self.exists(p) for p in parents))
        if folder:
            raise InvalidPath("a folder exists at the path", path=key, backend=BACKEND)
        if any(files):
            raise InvalidPath("a parent of the path is a file", path=key, backend=BACKEND)

    async def _upload(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AsyncBlockUpload:
        o = self._opts
        blob = await self._blob(key)
        hierarchical = self.hierarchical
        return AsyncBlockUpload(
            blob,
            key,
            overwrite=overwrite,
            metadata=metadata,
            single_put=o.max_single_put_size,
            block_size=o.block_size,
            concurrency=o.max_concurrency,
            compute_md5=o.compute_md5,
            check=(lambda: self._check_target(key)) if hierarchical else None,
        )

    async def write(
        self, key: str, content: AsyncWritableContent, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """Upload ``content``: ``bytes`` up to ``max_single_put_size`` as one Put Blob, anything else
        through `AsyncBlockUpload` (Put Block as chunks arrive, then Put Block List).

        The blob appears only when the last request succeeds; a failure or cancellation
        (including one raised by ``content`` itself) commits nothing.

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists (``If-None-Match: *``).
            InvalidPath: Hierarchical mode: a folder is at ``key`` or a parent is a file
                (checked before anything is published); metadata Azure cannot store.
        """
        upload = await self._upload(key, overwrite=overwrite, metadata=metadata)
        try:
            if isinstance(content, (bytes, bytearray, memoryview)):
                data = bytes(content)
                if len(data) <= self._opts.max_single_put_size:
                    return await upload.put(data)
                await _write_blocks(upload, data, self._opts.block_size)
            else:
                async for chunk in content:
                    if chunk:
                        await upload.write(chunk)
            return await upload.commit()
        except BaseException:
            await upload.abort()
            raise

    async def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AsyncAtomicWriter:
        """A streaming `AsyncBlockUpload`: blocks are staged as data arrives, published by `commit`.

        Raises:
            InvalidPath: Metadata Azure cannot store (raised here, before any data).
        """
        return await self._upload(key, overwrite=overwrite, metadata=metadata)

    async def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Delete Blob (with its snapshots).

        Flat mode: one Delete Blob; only a 404 costs one listing more (a folder gives
        `InvalidPath` even with ``missing_ok``). Hierarchical mode: Get Blob Properties first
        (refuses folder blobs), then Delete Blob ``If-Match`` its ETag. A 404 on a request
        azure-core resent means the first attempt deleted the blob: success.

        Raises:
            NotFound: No blob at ``key`` (``missing_ok`` False), or the container is missing.
            InvalidPath: ``key`` is a folder.
        """
        blob = await self._blob(key)
        kwargs: dict[str, Any] = {}
        if self.hierarchical:
            try:
                props = await self._props(key)
            except NotFound:
                if missing_ok:
                    return
                raise
            kwargs = {"etag": props.etag, "match_condition": MatchConditions.IfNotModified}
        attempts = Attempts()
        try:
            await blob.delete_blob(delete_snapshots="include", retry_hook=attempts, **kwargs)
        except ResourceNotFoundError as exc:
            if attempts.retried and error_code(exc) != "ContainerNotFound":
                return
            err = await self._missing(key, exc)
            if missing_ok and isinstance(err, NotFound) and error_code(exc) != "ContainerNotFound":
                return
            raise err from exc
        except ResourceModifiedError:
            if attempts.retried:
                return
            await self.delete(key, missing_ok=missing_ok)  # replaced between check and delete: again

    # ------------------------------------------------------------------ server-side copy
    async def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Server-side Copy Blob (``If-None-Match: *`` without ``overwrite``), awaiting completion.

        A conditional copy resent by azure-core that meets a ``dst`` which is a copy of
        ``src`` (copy source, size and MD5 agree) was this call's own first attempt: success.

        Raises:
            NotFound: ``src`` does not exist.
            InvalidPath: ``src`` is a folder, or (hierarchical mode) ``dst`` breaks the folder rules.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            RemoteStoreError: The service reports the copy failed or was aborted.
        """
        source = await self._blob(src)
        target = await self._blob(dst)
        src_props = await self._props(src)
        if self.hierarchical:
            await self._check_target(dst)
        kwargs: dict[str, Any] = {} if overwrite else {"match_condition": MatchConditions.IfMissing}
        attempts = Attempts()
        try:
            result: dict[str, Any] = await target.start_copy_from_url(source.url, retry_hook=attempts, **kwargs)
        except ResourceNotFoundError as exc:
            raise await self._missing(src, exc) from exc
        except (ResourceExistsError, ResourceModifiedError):
            if not (attempts.retried and not overwrite and await _copied_from(target, source.url, src_props)):
                raise
            log.debug("azure copy %r -> %r: a retried create met its own first attempt", src, dst)
            result = {"copy_status": (await target.get_blob_properties()).copy.status}
        status = result.get("copy_status")
        delay = _COPY_POLL_START
        while status == "pending":
            await asyncio.sleep(delay)
            delay = min(delay * 2, _COPY_POLL_MAX)
            copy = (await target.get_blob_properties()).copy
            status = copy.status
            if status not in ("pending", "success"):
                raise RemoteStoreError(
                    f"server-side copy {status}: {copy.status_description or ''}".strip(), path=dst, backend=BACKEND
                )
        if status not in (None, "success"):
            raise RemoteStoreError(f"server-side copy {status}", path=dst, backend=BACKEND)


async def _copied_from(target: BlobClient, source_url: str, source: BlobProperties) -> bool:
    """Whether ``target`` is a copy of ``source`` (copy source path, size and MD5 agree)."""
    try:
        props = await target.get_blob_properties()
    except ResourceNotFoundError:
        return False
    copied = props.copy.source if props.copy else None
    if not copied or urllib.parse.urlsplit(copied).path != urllib.parse.urlsplit(source_url).path:
        return False
    md5 = props.content_settings.content_md5 if props.content_settings else None
    src_md5 = source.content_settings.content_md5 if source.content_settings else None
    return int(props.size or 0) == int(source.size or 0) and md5 == src_md5


async def _write_blocks(upload: AsyncBlockUpload, data: bytes, block: int) -> None:
    view = memoryview(data)
    for i in range(0, len(data), block):
        await upload.write(bytes(view[i : i + block]))


__all__ = ["AsyncAzureBackend"]
