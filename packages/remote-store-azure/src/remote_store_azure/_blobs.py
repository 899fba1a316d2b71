"""Helpers of `AzureBackend` around azure-storage-blob objects: download bodies, block MD5,
property and result conversion, and the after-the-fact checks of resent non-idempotent calls."""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobProperties, ContainerClient

from remote_store import ContentDigest, FileInfo, WriteResult, WriteSource
from remote_store.errors import ContentChanged, NotFound, RemoteStoreError
from remote_store_azure._metadata import reported_metadata

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

log = logging.getLogger("remote_store.azure")


class Body:
    """A finished download's bytes (or none) as a ``read``/``close`` body."""

    __slots__ = ("_view",)

    def __init__(self, data: bytes | None) -> None:
        self._view = memoryview(data or b"")

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n`` is negative)."""
        view = self._view
        if n is None or n < 0:
            n = len(view)
        out = view[:n].tobytes()
        self._view = view[n:]
        return out

    def close(self) -> None:
        """Drop the bytes."""
        self._view = memoryview(b"")


#: ``fetch(start, length) -> bytes``: one ranged Get Blob pinned to the body's ETag.
RangeFetch = Callable[[int, int], bytes]


class RangedBody:
    """The lazy body of a stream: successive ranged Get Blob calls, each pinned to one ETag.

    Nothing is fetched before the first read. The first range has ``first`` bytes, so reading
    a few bytes of a big blob stays cheap; each further range doubles, up to ``max_chunk``
    bytes. At most one range is held in memory. When the blob was replaced or deleted (a
    range refused with `ContentChanged` / `NotFound`) the body ends early: the kit's
    `PinnedRangeReader` then follows the new version if the caller got no byte yet, and
    raises `ContentChanged` otherwise.

    Args:
        fetch: The ranged GET (raises `ContentChanged` when the blob is another version,
            `NotFound` when it is gone).
        start: Offset of the first byte.
        size: Size of the whole blob in bytes.
        first: Bytes of the first range.
        max_chunk: Largest range in bytes.
    """

    def __init__(self, fetch: RangeFetch, start: int, size: int, first: int, max_chunk: int) -> None:
        self._fetch: RangeFetch | None = fetch
        self._buf = memoryview(b"")
        self._pos = start
        self._size = size
        self._max = max(1, max_chunk)
        self._chunk = max(1, min(first, self._max))
        self._next = self._chunk

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (everything left when ``n`` is negative); ``b""`` at the end."""
        if n is None or n < 0:
            parts = []
            while chunk := self.read(self._max):
                parts.append(chunk)
            return b"".join(parts)
        if not len(self._buf):
            if self._fetch is None or self._pos >= self._size:
                return b""
            try:
                data = self._fetch(self._pos, min(self._next, self._size - self._pos))
            except (ContentChanged, NotFound) as exc:
                log.debug("azure: range at %d refused (%s): ending the body early", self._pos, type(exc).__name__)
                self.close()
                return b""
            self._next = min(self._next * 2, self._max)
            if not data:
                return b""
            self._buf = memoryview(data)
            self._pos += len(data)
        out = self._buf[:n].tobytes()
        self._buf = self._buf[n:]
        return out

    def close(self) -> None:
        """Drop the buffered range; later reads return ``b""``."""
        self._fetch = None
        self._buf = memoryview(b"")


class WholeFirstRead(io.BufferedReader):
    """The `open_read` stream: a buffered `PinnedRangeReader` whose ``read()`` of everything
    from the start is one whole download instead.

    ``read()`` / ``read(-1)`` at position 0 returns nothing to the caller before it ends, so
    it may follow a blob replaced at any time during it: it calls ``whole`` (`AzureBackend.
    read_bytes`: one Get Blob, downloaded again when the blob changes between its ranges) and
    leaves the stream at its end. Every other read is the pinned ranged stream's.

    Args:
        raw: The `PinnedRangeReader`.
        buffer_size: Read buffer in bytes.
        whole: Returns the blob's whole content (one consistent version).
    """

    def __init__(self, raw: Any, buffer_size: int, whole: Callable[[], bytes]) -> None:
        super().__init__(raw, buffer_size)
        self._whole: Callable[[], bytes] | None = whole

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes; everything (one whole version) for a negative ``size`` at the start."""
        whole = self._whole
        if whole is not None and (size is None or size < 0) and self.tell() == 0:
            data = whole()
            self._whole = None
            self.seek(0, io.SEEK_END)
            return data
        return super().read(size)


class OrderedMD5:
    """MD5 of staged blocks hashed in block order while they are uploaded concurrently."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._next = 1
        self._cond = threading.Condition()

    def update(self, number: int, data: bytes | bytearray) -> None:
        """Hash block ``number`` once blocks ``1 .. number - 1`` are hashed (blocks are
        submitted in order, so the earlier ones are running or done)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._next >= number, timeout=600):
                raise RemoteStoreError(f"block {number} waited too long for the MD5 of earlier blocks")
            if self._next == number:
                self._md5.update(data)
                self._next += 1
            self._cond.notify_all()

    def digest(self) -> bytes:
        """The MD5 of every block hashed so far."""
        return self._md5.digest()


def file_info(props: BlobProperties) -> FileInfo:
    settings = props.content_settings
    return FileInfo(
        path=props.name,
        name="",
        size=int(props.size or 0),
        modified_at=props.last_modified,
        etag=etag_of(props.etag),
        version_id=props.version_id,
        content_type=settings.content_type if settings else None,
        metadata=reported_metadata(props.metadata, settings.content_encoding if settings else None),
    )


def write_result(
    key: str, size: int, response: Mapping[str, Any], metadata: Mapping[str, str], md5: str | None
) -> WriteResult:
    crc = hex_of(response.get("content_crc64"))
    modified = response.get("last_modified")
    return WriteResult(
        path=key,
        size=size,
        source=WriteSource.NATIVE,
        digest=ContentDigest("md5", md5) if md5 else (ContentDigest("crc64", crc) if crc else None),
        etag=etag_of(response.get("etag")),
        version_id=response.get("version_id"),
        last_modified=modified if isinstance(modified, datetime) else None,
        metadata=dict(metadata),
    )


def committed_ids(blob: BlobClient) -> list[str]:
    try:
        committed, _ = blob.get_block_list("committed")
    except ResourceNotFoundError:
        return []
    return [b.id for b in committed]


def overtaken(blob: BlobClient, ids: list[str]) -> bool:
    """Whether some of ``ids`` are gone (discarded by another writer's commit, or a delete)."""
    try:
        committed, uncommitted = blob.get_block_list("all")
    except ResourceNotFoundError:
        return True
    present = {b.id for b in committed} | {b.id for b in uncommitted}
    return any(b not in present for b in ids)


def copied_from(target: BlobClient, source: BlobClient, source_url: str) -> bool:
    """Whether ``target`` is a copy of ``source`` (copy source path, size and MD5 agree)."""
    try:
        props = target.get_blob_properties()
        src = source.get_blob_properties()
    except ResourceNotFoundError:
        return False
    copied = props.copy.source if props.copy else None
    if not copied or urllib.parse.urlsplit(copied).path != urllib.parse.urlsplit(source_url).path:
        return False
    md5 = props.content_settings.content_md5 if props.content_settings else None
    src_md5 = src.content_settings.content_md5 if src.content_settings else None
    return int(props.size or 0) == int(src.size or 0) and md5 == src_md5


def detect_hns(cc: ContainerClient) -> bool:
    """Whether the account has a hierarchical namespace (Get Account Information's ``x-ms-is-hns-enabled``).

    False when the service does not report it (older API versions, emulators) or refuses the call.
    """
    try:
        info = cc.get_account_information()
    except Exception as exc:  # detection is best effort: a refused call means "not known to be HNS"
        log.debug("azure: account information unavailable (%s); assuming a flat namespace", type(exc).__name__)
        return False
    return bool(info.get("is_hns_enabled"))


def etag_of(value: str | None) -> str | None:
    return value.strip('"') if value else None


def hex_of(value: Any) -> str | None:
    return bytes(value).hex() if value else None
