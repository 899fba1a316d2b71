"""`AsyncBlockUpload`: one streaming upload into a block blob on the async SDK client."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobType, ContentSettings

from remote_store import ContentDigest, WriteResult, WriteSource
from remote_store.aio import AsyncAtomicWriter
from remote_store.errors import AlreadyExists, RemoteStoreError
from remote_store_azure._errors import BACKEND, error_code
from remote_store_azure._metadata import split_metadata
from remote_store_azure._names import Attempts

if TYPE_CHECKING:
    from azure.storage.blob.aio import BlobClient

log = logging.getLogger("remote_store.azure")


def strip_etag(value: str | None) -> str | None:
    """An ETag without its surrounding quotes (None stays None)."""
    return value.strip('"') if value else None


def _hex(value: Any) -> str | None:
    return bytes(value).hex() if value else None


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


class AsyncBlockUpload(AsyncAtomicWriter):
    """An async atomic writer into one block blob: nothing is visible before `commit`.

    Up to ``single_put`` bytes are buffered and sent as one Put Blob at `commit`. Past that,
    every full ``block_size`` piece is staged with Put Block as a task, at most
    ``concurrency`` at once: `write` waits for the oldest when that many are in flight, so
    memory stays below ``single_put + (concurrency + 1) * block_size`` bytes whatever the
    total size. `commit` stages the rest and sends Put Block List.

    `abort` — and cancellation or any failure of `write`/`commit` — cancels the staging
    tasks and commits nothing: the blob keeps its previous content, and the uncommitted
    blocks are garbage the service discards (after a week, or at the blob's next commit).

    ``overwrite=False`` makes the publishing request conditional (``If-None-Match: *``). A
    conditional request resent by azure-core's retry policy that meets an existing blob is
    compared with this upload (the committed block ids, or size and MD5 of a Put Blob): if
    it is this upload's own first attempt, the write succeeded. When another writer's
    commit or delete discarded this upload's staged blocks, the other writer's result is
    final (last commit wins): `commit` then returns a result without an ETag, or raises
    `AlreadyExists` when ``overwrite`` is False.

    As ``async with``: a clean exit commits (the result is then in `result`), an exception
    or cancellation aborts.

    Args:
        blob: The async `BlobClient` of the target.
        key: Backend key (in results and errors).
        overwrite: False sends ``If-None-Match: *`` (→ `AlreadyExists`).
        metadata: User metadata (validated by `split_metadata`; raises `InvalidPath` at once).
        single_put: ``max_single_put_size``, bytes.
        block_size: Staged block size, bytes.
        concurrency: Put Block requests in flight at most.
        compute_md5: Compute the MD5 of a staged upload (in a worker thread) and store it as Content-MD5.
        check: Placement check (hierarchical mode); started now as a task, awaited before publishing.

    Raises:
        InvalidPath: The metadata breaks Azure's rules (see `split_metadata`).
    """

    def __init__(
        self,
        blob: BlobClient,
        key: str,
        *,
        overwrite: bool,
        metadata: Mapping[str, str],
        single_put: int,
        block_size: int,
        concurrency: int,
        compute_md5: bool,
        check: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._blob = blob
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._stored_metadata, self._encoding = split_metadata(metadata, key=key) if metadata else ({}, None)
        self._single = single_put
        self._block = block_size
        self._concurrency = max(1, concurrency)
        self._md5 = hashlib.md5(usedforsecurity=False) if compute_md5 else None
        self._buffer = bytearray()
        self._size = 0
        self._upload_id = ""
        self._block_ids: list[str] = []
        self._pending: list[asyncio.Task[Any]] = []
        self._staging = False
        self._done = False
        self._check: asyncio.Task[None] | None = asyncio.ensure_future(check()) if check is not None else None
        #: The `WriteResult` of a committed upload (set by `commit`).
        self.result: WriteResult | None = None

    @property
    def size(self) -> int:
        """Bytes taken so far."""
        return self._size

    # -- staging
    def _next_block_id(self) -> str:
        if not self._upload_id:
            self._upload_id = uuid.uuid4().hex
        block_id = f"{self._upload_id}-{len(self._block_ids):08d}"
        self._block_ids.append(block_id)
        return block_id

    async def _stage(self, data: bytes) -> None:
        while len(self._pending) >= self._concurrency:
            await self._pending[0]
            self._pending.pop(0)
        if self._md5 is not None:
            await asyncio.to_thread(self._md5.update, data)
        block_id = self._next_block_id()
        self._pending.append(asyncio.ensure_future(self._blob.stage_block(block_id, data, len(data))))

    async def _start_staging(self) -> None:
        self._staging = True
        buffered, self._buffer = bytes(self._buffer), bytearray()
        whole = len(buffered) - len(buffered) % self._block
        for i in range(0, whole, self._block):
            await self._stage(buffered[i : i + self._block])
        self._buffer = bytearray(buffered[whole:])

    async def write(self, data: bytes) -> int:
        """Take ``data`` (bytes); full blocks are staged once the upload is known to be large.

        Returns:
            ``len(data)``.

        Raises:
            RemoteStoreError: The upload was committed or aborted already.
        """
        if self._done:
            raise RemoteStoreError("write on a finished upload", path=self._key, backend=BACKEND)
        n = len(data)
        if not n:
            return 0
        try:
            self._size += n
            if not self._staging:
                self._buffer += data
                if len(self._buffer) > self._single:
                    await self._start_staging()
                return n
            if not self._buffer and n == self._block:
                await self._stage(bytes(data))
                return n
            self._buffer += data
            while len(self._buffer) >= self._block:
                piece = bytes(self._buffer[: self._block])
                del self._buffer[: self._block]
                await self._stage(piece)
            return n
        except BaseException:
            await self.abort()
            raise

    async def _wait_check(self) -> None:
        check, self._check = self._check, None
        if check is not None:
            await check

    def _settings(self) -> ContentSettings:
        md5 = self._md5.digest() if self._md5 is not None and self._staging else None
        return ContentSettings(
            content_type=mimetypes.guess_type(self._key)[0] or "application/octet-stream",
            content_encoding=self._encoding,  # type: ignore[arg-type]
            content_md5=md5,  # type: ignore[arg-type]
        )

    # -- commit
    async def commit(self) -> WriteResult:
        """Publish: Put Blob (small) or the last blocks and Put Block List.

        Returns:
            What the service stored (ETag, last-modified, MD5 or CRC64 digest when known).

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists.
            InvalidPath: The placement check failed (nothing was published).
            RemoteStoreError: The upload was committed or aborted already.
        """
        if self._done:
            raise RemoteStoreError("commit on a finished upload", path=self._key, backend=BACKEND)
        try:
            if not self._staging:
                await self._wait_check()  # never publish before the placement check passed
                response = await self._put_single(bytes(self._buffer))
                digest = _hex(response.get("content_md5"))
            else:
                if self._buffer:
                    await self._stage(bytes(self._buffer))
                    self._buffer = bytearray()
                while self._pending:  # stay in _pending until done, so a cancelled commit's abort cancels them
                    await self._pending[0]
                    self._pending.pop(0)
                await self._wait_check()
                committed = await self._commit_blocks()
                if committed is None:
                    self._done = True
                    self.result = WriteResult(path=self._key, size=self._size, metadata=self._metadata)
                    return self.result
                response = committed
                digest = self._md5.hexdigest() if self._md5 is not None else None
        except BaseException:
            await self.abort()
            raise
        return self._finished(response, digest)

    def _finished(self, response: dict[str, Any], digest: str | None) -> WriteResult:
        self._done = True
        self._buffer = bytearray()
        crc = _hex(response.get("content_crc64"))
        self.result = WriteResult(
            path=self._key,
            size=self._size,
            source=WriteSource.NATIVE,
            digest=ContentDigest("md5", digest) if digest else (ContentDigest("crc64", crc) if crc else None),
            etag=strip_etag(response.get("etag")),
            version_id=response.get("version_id"),
            last_modified=_as_datetime(response.get("last_modified")),
            metadata=self._metadata,
        )
        return self.result

    async def put(self, data: bytes) -> WriteResult:
        """Publish ``data`` as the whole content in one Put Blob (no buffering copy).

        Args:
            data: The complete content, at most ``single_put`` bytes, on an upload nothing
                was written to yet.

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists.
            InvalidPath: The placement check failed (nothing was published).
            RemoteStoreError: The upload was written to, committed or aborted already.
        """
        if self._done or self._size:
            raise RemoteStoreError("put on a used upload", path=self._key, backend=BACKEND)
        try:
            self._size = len(data)
            await self._wait_check()
            response = await self._put_single(data)
        except BaseException:
            await self.abort()
            raise
        return self._finished(response, _hex(response.get("content_md5")))

    async def _put_single(self, data: bytes) -> dict[str, Any]:
        attempts = Attempts()
        try:
            response: dict[str, Any] = await self._blob.upload_blob(
                data,
                blob_type=BlobType.BLOCKBLOB,
                length=len(data),
                overwrite=self._overwrite,
                metadata=self._stored_metadata or None,
                content_settings=self._settings(),
                retry_hook=attempts,
            )
        except (ResourceExistsError, ResourceModifiedError):
            if not (attempts.retried and not self._overwrite):
                raise
            mine = await self._own_single_put(data)
            if mine is None:
                raise
            log.debug("azure upload of %r: a retried create met its own first attempt", self._key)
            return mine
        return response

    async def _own_single_put(self, data: bytes) -> dict[str, Any] | None:
        """The blob's properties if it holds exactly ``data`` (this upload's first attempt), else None."""
        try:
            props = await self._blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        settings = props.content_settings
        stored = bytes(settings.content_md5) if settings and settings.content_md5 else None
        if int(props.size or 0) != len(data) or stored != hashlib.md5(data, usedforsecurity=False).digest():
            return None
        return {
            "etag": props.etag,
            "last_modified": props.last_modified,
            "version_id": props.version_id,
            "content_md5": stored,
        }

    async def _commit_blocks(self) -> dict[str, Any] | None:
        """Put Block List; None when a concurrent commit overtook this upload."""
        conditions: dict[str, Any] = {} if self._overwrite else {"match_condition": MatchConditions.IfMissing}
        attempts = Attempts()
        log.debug("azure upload of %r: committing %d block(s)", self._key, len(self._block_ids))
        try:
            response: dict[str, Any] = await self._blob.commit_block_list(
                [BlobBlock(block_id=b) for b in self._block_ids],
                content_settings=self._settings(),
                metadata=self._stored_metadata or None,
                retry_hook=attempts,
                **conditions,
            )
            return response
        except (ResourceExistsError, ResourceModifiedError):
            if attempts.retried and not self._overwrite and await self._committed_ids() == self._block_ids:
                log.debug("azure upload of %r: a retried create met its own first attempt", self._key)
                props = await self._blob.get_blob_properties()
                return {"etag": props.etag, "last_modified": props.last_modified, "version_id": props.version_id}
            raise
        except HttpResponseError as exc:
            if error_code(exc) != "InvalidBlockList" or not await self._overtaken():
                raise
        log.debug("azure upload of %r was overtaken by a concurrent commit of the same blob", self._key)
        if not self._overwrite:
            raise AlreadyExists("another writer created the file first", path=self._key, backend=BACKEND)
        return None

    async def _committed_ids(self) -> list[str]:
        try:
            committed, _ = await self._blob.get_block_list("committed")
        except ResourceNotFoundError:
            return []
        return [b.id for b in committed]

    async def _overtaken(self) -> bool:
        """Whether some staged blocks of this upload are gone (discarded by another commit or a delete)."""
        try:
            committed, uncommitted = await self._blob.get_block_list("all")
        except ResourceNotFoundError:
            return True
        present = {b.id for b in committed} | {b.id for b in uncommitted}
        return any(b not in present for b in self._block_ids)

    async def abort(self) -> None:
        """Stop without committing (idempotent): cancel staging and the placement check, wait for them.

        The blob is left as it was; staged blocks expire on the service.
        """
        if self._done:
            return
        self._done = True
        if self._block_ids:
            log.debug(
                "azure upload of %r aborted after staging %d block(s); nothing committed",
                self._key,
                len(self._block_ids),
            )
        tasks = [*self._pending, *([self._check] if self._check is not None else [])]
        self._pending, self._check, self._buffer = [], None, bytearray()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
            for task in tasks:
                if not task.cancelled():
                    task.exception()
