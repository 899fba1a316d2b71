"""The publishing calls of `AzureBackend` (Put Blob, Put Block List, Copy Blob) with the
after-the-fact checks of resent non-idempotent requests and of overtaken staged uploads."""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobType, ContentSettings

from remote_store import WriteResult
from remote_store.errors import AlreadyExists, NotFound, RemoteStoreError
from remote_store_azure._blobs import committed_ids, copied_from, hex_of, overtaken, write_result
from remote_store_azure._errors import BACKEND, error_code
from remote_store_azure._metadata import split_metadata
from remote_store_azure._names import Attempts

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("remote_store.azure")

#: Seconds between polls of a pending server-side copy (grows to `COPY_POLL_MAX`).
COPY_POLL_START = 0.05
COPY_POLL_MAX = 2.0


def content_settings(name: str, encoding: str | None, md5: bytes | None = None) -> ContentSettings:
    """Content-Type guessed from the blob name (``application/octet-stream`` otherwise),
    Content-Encoding from the metadata pseudo-entry, and an optional Content-MD5."""
    return ContentSettings(
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        content_encoding=encoding,  # type: ignore[arg-type]
        content_md5=md5,  # type: ignore[arg-type]
    )


def put_blob(
    blob: BlobClient, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
) -> WriteResult:
    """One Put Blob of ``data`` (``If-None-Match: *`` unless ``overwrite``).

    When the storage retry policy resent a conditional create and the resend met an existing
    blob, the blob is compared with ``data`` (size and the service's Content-MD5): equal, it is
    this call's own first attempt and the write succeeded.

    Raises:
        AlreadyExists: ``overwrite`` is False and the blob exists (not this call's own).
        InvalidPath: Metadata Azure cannot store.
    """
    stored, encoding = split_metadata(metadata, key=key) if metadata else ({}, None)
    attempts = Attempts()
    try:
        response: dict[str, Any] = blob.upload_blob(
            bytes(data) if isinstance(data, bytearray) else data,
            blob_type=BlobType.BLOCKBLOB,
            length=len(data),
            overwrite=overwrite,
            metadata=stored or None,
            content_settings=content_settings(blob.blob_name, encoding),
            retry_hook=attempts,
        )
    except (ResourceExistsError, ResourceModifiedError):
        mine = own_put(blob, data) if attempts.retried and not overwrite else None
        if mine is None:
            raise AlreadyExists("file exists", path=key, backend=BACKEND) from None
        log.debug("azure upload of %r: a retried create met its own first attempt", key)
        response = mine
    return write_result(key, len(data), response, metadata, hex_of(response.get("content_md5")))


def own_put(blob: BlobClient, data: bytes | bytearray) -> dict[str, Any] | None:
    """Properties of ``blob`` if it holds exactly ``data`` (size and MD5), else None."""
    try:
        props = blob.get_blob_properties()
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


def commit_blocks(
    blob: BlobClient,
    ids: list[str],
    *,
    key: str,
    size: int,
    overwrite: bool,
    metadata: Mapping[str, str],
    md5: bytes | None,
) -> WriteResult:
    """Put Block List of ``ids`` (``If-None-Match: *`` unless ``overwrite``).

    A resent conditional commit that meets a blob whose committed block ids are ``ids`` was
    this call's own first attempt: success. A commit refused with ``InvalidBlockList`` because
    some of ``ids`` are gone was overtaken by another writer's commit of the blob (Azure
    discards every uncommitted block then): success without a version of its own, or
    `AlreadyExists` when ``overwrite`` is False.

    Raises:
        AlreadyExists: ``overwrite`` is False and the blob exists (or another writer created it first).
    """
    stored, encoding = split_metadata(metadata, key=key) if metadata else ({}, None)
    conditions: dict[str, Any] = {} if overwrite else {"match_condition": MatchConditions.IfMissing}
    attempts = Attempts()
    response: dict[str, Any]
    try:
        response = blob.commit_block_list(
            [BlobBlock(block_id=b) for b in ids],
            content_settings=content_settings(blob.blob_name, encoding, md5),
            metadata=stored or None,
            retry_hook=attempts,
            **conditions,
        )
    except (ResourceExistsError, ResourceModifiedError):
        if not (attempts.retried and not overwrite and committed_ids(blob) == ids):
            raise AlreadyExists("file exists", path=key, backend=BACKEND) from None
        log.debug("azure upload of %r: a retried create met its own first attempt", key)
        props = blob.get_blob_properties()
        response = {"etag": props.etag, "last_modified": props.last_modified, "version_id": props.version_id}
    except HttpResponseError as exc:
        if error_code(exc) != "InvalidBlockList" or not overtaken(blob, ids):
            raise
        log.debug("azure upload of %r was overtaken by a concurrent commit of the same blob", key)
        if not overwrite:
            raise AlreadyExists("another writer created the file first", path=key, backend=BACKEND) from None
        return WriteResult(path=key, size=size, metadata=dict(metadata))
    return write_result(key, size, response, metadata, md5.hex() if md5 else None)


def copy_blob(source: BlobClient, target: BlobClient, *, key: str, source_key: str, overwrite: bool) -> None:
    """Copy Blob of ``source`` onto ``target`` (``If-None-Match: *`` unless ``overwrite``),
    polled until it completes.

    A resent conditional copy that meets a ``target`` which is a copy of ``source`` (copy
    source, size and MD5 agree) was this call's own first attempt: success.

    Raises:
        NotFound: ``source`` vanished.
        AlreadyExists: ``target`` exists and ``overwrite`` is False.
        RemoteStoreError: The service reports the copy failed or was aborted.
    """
    kwargs: dict[str, Any] = {} if overwrite else {"match_condition": MatchConditions.IfMissing}
    attempts = Attempts()
    result: dict[str, Any]
    try:
        result = target.start_copy_from_url(source.url, retry_hook=attempts, **kwargs)
    except ResourceNotFoundError as exc:
        raise NotFound("file not found", path=source_key, backend=BACKEND) from exc
    except (ResourceExistsError, ResourceModifiedError):
        if not (attempts.retried and not overwrite and copied_from(target, source, source.url)):
            raise AlreadyExists("destination exists", path=key, backend=BACKEND) from None
        log.debug("azure copy -> %r: a retried create met its own first attempt", key)
        result = {"copy_status": target.get_blob_properties().copy.status}
    status = result.get("copy_status")
    delay = COPY_POLL_START
    while status == "pending":
        time.sleep(delay)
        delay = min(delay * 2, COPY_POLL_MAX)
        copy = target.get_blob_properties().copy
        status = copy.status
        if status not in ("pending", "success"):
            raise RemoteStoreError(
                f"server-side copy {status}: {copy.status_description or ''}".strip(), path=key, backend=BACKEND
            )
    if status not in (None, "success"):
        raise RemoteStoreError(f"server-side copy {status}", path=key, backend=BACKEND)
