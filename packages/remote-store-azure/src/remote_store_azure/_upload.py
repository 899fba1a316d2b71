"""`BlockUpload`: one streaming upload into a block blob (Put Blob, or Put Block + Put Block List)."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobType, ContentSettings

from remote_store import AtomicWriter, ContentDigest, WriteResult, WriteSource
from remote_store.errors import AlreadyExists
from remote_store_azure._errors import BACKEND, error_code
from remote_store_azure._metadata import split_metadata
from remote_store_azure._names import Attempts

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("remote_store.azure")


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None


def _hex(value: Any) -> str | None:
    return bytes(value).hex() if value else None


def _content_type(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


class BlockUpload(AtomicWriter):
    """Streams data into one block blob.

    Data is buffered until it exceeds ``max_single_put_size`` (then sent as one Put Blob at
    `commit`); past that, full ``block_size`` blocks are staged with Put Block on a thread
    pool with at most ``max_concurrency`` blocks in flight, and `commit` sends Put Block
    List. `abort` (or any failure) stops without committing, so the blob never changes;
    staged blocks that were never committed are discarded by the service.

    Placement check (``check``, given in hierarchical mode): it runs on a helper thread while
    data arrives, and nothing is published before it has passed — a failed check leaves the
    previous content of the key untouched.

    Concurrent writers of one blob: Azure's Put Blob and Put Block List discard every
    uncommitted block of the blob, whoever staged it. An upload whose staged blocks were
    discarded that way was overtaken by a later commit (or delete) of the same blob, which
    the service already made the final state: the upload then reports success without a
    version of its own (``etag`` None, source BASIC) — last commit wins, as on S3 — or
    `AlreadyExists` when ``overwrite`` is False.

    Retried commits: when azure-core resent a conditional commit (``overwrite=False``) and the
    resend met an existing blob, the blob is compared with this upload (the committed block
    ids, or size and MD5 of a single Put Blob); if it is this upload's own first attempt,
    the write succeeded and is reported so.

    Args:
        blob: The target `BlobClient`.
        key: Backend key (for results and errors).
        overwrite: False sends ``If-None-Match: *`` (→ `AlreadyExists`).
        metadata: User metadata (validated by `split_metadata`).
        single_put: ``max_single_put_size`` in bytes.
        block_size: Staged block size in bytes.
        concurrency: Blocks in flight.
        compute_md5: Compute and store the MD5 of staged uploads.
        check: Optional placement check started now; must pass before anything is published.
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
        check: Callable[[], Future[None] | None] | None = None,
    ) -> None:
        self._key = key
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._stored_metadata, self._encoding = split_metadata(metadata, key=key) if metadata else ({}, None)
        self._single = single_put
        self._block = block_size
        self._concurrency = concurrency
        self._md5 = hashlib.md5(usedforsecurity=False) if compute_md5 else None
        self._hashing: list[Future[None]] = []
        self._buffer = bytearray()
        self._size = 0
        self._blob = blob
        self._upload_id = ""
        self._block_ids: list[str] = []
        self._pending: list[Future[Any]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._hasher: ThreadPoolExecutor | None = None
        self._staging = False
        self._done = False
        self._check: Future[None] | None = check() if check is not None else None

    # -- staging
    def _next_block_id(self) -> str:
        if not self._upload_id:
            self._upload_id = uuid.uuid4().hex
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
        """Append ``data`` (bytes); full blocks are staged as soon as the upload is known to be large."""
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
        return ContentSettings(
            content_type=_content_type(self._key),
            content_encoding=self._encoding,  # type: ignore[arg-type]
            content_md5=md5,  # type: ignore[arg-type]
        )

    # -- commit
    def commit(self) -> WriteResult:
        """Send Put Blob (small) or the last blocks and Put Block List; return the service's answer.

        Raises:
            AlreadyExists: ``overwrite`` is False and the blob exists.
            InvalidPath: The placement check failed (nothing was published).
        """
        if self._done:
            raise ValueError("upload already finished")
        try:
            if not self._staging:
                self._wait_check()  # never publish before the placement check has passed
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
                committed = self._commit_blocks()
                if committed is None:
                    return WriteResult(path=self._key, size=self._size, metadata=self._metadata)
                response = committed
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
        attempts = Attempts()
        data = bytes(self._buffer)
        try:
            response: dict[str, Any] = self._blob.upload_blob(
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
            mine = self._own_single_put(data)
            if mine is None:
                raise
            log.debug("azure upload of %r: a retried create met its own first attempt", self._key)
            return mine
        return response

    def _own_single_put(self, data: bytes) -> dict[str, Any] | None:
        """Properties of the blob if it holds exactly ``data`` (our own first attempt), else None."""
        try:
            props = self._blob.get_blob_properties()
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

    def _commit_blocks(self) -> dict[str, Any] | None:
        """Put Block List; None when a concurrent commit overtook this upload (see the class docstring)."""
        conditions: dict[str, Any] = {} if self._overwrite else {"match_condition": MatchConditions.IfMissing}
        attempts = Attempts()
        log.debug("azure upload of %r: committing %d block(s)", self._key, len(self._block_ids))
        try:
            response: dict[str, Any] = self._blob.commit_block_list(
                [BlobBlock(block_id=b) for b in self._block_ids],
                content_settings=self._settings(),
                metadata=self._stored_metadata or None,
                retry_hook=attempts,
                **conditions,
            )
            return response
        except (ResourceExistsError, ResourceModifiedError):
            if attempts.retried and not self._overwrite and self._committed_ids() == self._block_ids:
                log.debug("azure upload of %r: a retried create met its own first attempt", self._key)
                props = self._blob.get_blob_properties()
                return {"etag": props.etag, "last_modified": props.last_modified, "version_id": props.version_id}
            raise
        except HttpResponseError as exc:
            if error_code(exc) != "InvalidBlockList" or not self._overtaken():
                raise
        log.debug("azure upload of %r was overtaken by a concurrent commit of the same blob", self._key)
        if not self._overwrite:
            raise AlreadyExists("another writer created the file first", path=self._key, backend=BACKEND)
        return None

    def _committed_ids(self) -> list[str]:
        try:
            committed, _ = self._blob.get_block_list("committed")
        except ResourceNotFoundError:
            return []
        return [b.id for b in committed]

    def _overtaken(self) -> bool:
        """Whether some of this upload's staged blocks are gone (discarded by another commit or a delete)."""
        try:
            committed, uncommitted = self._blob.get_block_list("all")
        except ResourceNotFoundError:
            return True
        present = {b.id for b in committed} | {b.id for b in uncommitted}
        return any(b not in present for b in self._block_ids)

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
