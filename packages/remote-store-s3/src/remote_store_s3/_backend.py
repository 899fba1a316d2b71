"""`S3Backend`: Amazon S3 and S3-compatible object stores through boto3."""

from __future__ import annotations

import base64
import contextlib
import email.header
import email.utils
import io
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import IO, Any

import boto3
import botocore.config
from botocore.exceptions import ClientError

from remote_store import _path
from remote_store._backend import AtomicWriter, Backend, compile_glob
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._models import ContentDigest, FileInfo, WriteResult, WriteSource
from remote_store._secret import Secret
from remote_store._streams import RangeReader
from remote_store.errors import (
    AlreadyExists,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store_s3 import _errors
from remote_store_s3._options import MAX_PART_SIZE, MAX_PARTS, GiB, MiB, S3Options

log = logging.getLogger("remote_store.s3")

_DELETE_BATCH = 1000
_RFC2047_PREFIX = "=?"


class S3Backend(Backend):
    """Files as objects in an S3 bucket (AWS, MinIO, R2, Ceph, moto …), under an optional key prefix.

    Every argument is a field of `S3Options` (see there for units, defaults and limits);
    ``bucket`` is required. Credentials are kept as `Secret` and never appear in ``repr``,
    `Store.resolve`, logs or error messages.

    Reads are lazy ranged ``GetObject`` calls pinned to the object's ETag (``If-Match``), so a
    stream never mixes two versions of an object. Writes of up to ``multipart_threshold``
    bytes are one ``PutObject``; larger streams use a multipart upload holding at most
    ``part_size x (max_concurrency + 1)`` bytes in memory, aborted (``AbortMultipartUpload``)
    on any exception, so no partial object is ever visible. ``overwrite=False`` is an
    exclusive create with ``If-None-Match: *``. Listings stream ``ListObjectsV2`` pages.

    One boto3 client per backend is created lazily under a lock and rebuilt after ``fork``;
    the backend may be shared by threads and pickles by its options.

    Raises:
        ConfigError: An option is invalid (the message names it).
    """

    TYPE = "s3"
    CAPABILITIES = CapabilitySet.all() - {Capability.ATOMIC_MOVE}

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        access_key_id: str | Secret | None = None,
        secret_access_key: str | Secret | None = None,
        session_token: str | Secret | None = None,
        profile: str | None = None,
        addressing_style: str = "auto",
        verify: bool | str = True,
        retry_mode: str = "standard",
        max_attempts: int = 3,
        max_pool_connections: int = 10,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        multipart_threshold: int = 8 * MiB,
        part_size: int = 8 * MiB,
        max_concurrency: int = 10,
        read_block_size: int = 1 * MiB,
        multipart_copy_threshold: int = 5 * GiB,
        multipart_copy_part_size: int = 512 * MiB,
        sse: str | None = None,
        sse_kms_key_id: str | None = None,
        checksum_algorithm: str | None = None,
        conditional_writes: bool = True,
        path_checks: bool = True,
        client_kwargs: Mapping[str, Any] | None = None,
        config_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        args = dict(locals())
        del args["self"]
        args.pop("__class__", None)
        args["client_kwargs"] = client_kwargs or {}
        args["config_kwargs"] = config_kwargs or {}
        self._opts = S3Options(**args)
        self._init_state()

    @classmethod
    def from_options(cls, options: S3Options) -> S3Backend:
        """Build a backend from an `S3Options` value.

        Raises:
            ConfigError: Never for a valid `S3Options` (validated when it was made).
        """
        return cls(**options.changed())

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._client_obj: Any = None
        self._pid = os.getpid()
        self._check_pool: ThreadPoolExecutor | None = None
        self._check_pid = os.getpid()
        o = self._opts
        self._secrets = [s.reveal() for s in (o.access_key_id, o.secret_access_key, o.session_token) if s is not None]
        sse: dict[str, str] = {}
        if o.sse:
            sse["ServerSideEncryption"] = o.sse
        if o.sse_kms_key_id:
            sse["SSEKMSKeyId"] = o.sse_kms_key_id
        self._sse = sse

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        """Constructor kwargs that rebuild this backend: ``bucket`` plus every non-default
        option (credentials stay `Secret`); used for pickling and, masked, `Store.resolve`."""
        return self._opts.changed()

    @property
    def s3_options(self) -> S3Options:
        """The validated `S3Options` of this backend."""
        return self._opts

    @property
    def bucket(self) -> str:
        """Bucket name."""
        return self._opts.bucket

    @property
    def prefix(self) -> str:
        """Key prefix inside the bucket that is this backend's root (``""`` for the bucket root)."""
        return self._opts.prefix

    def native_path(self, key: str) -> str:
        """``s3://bucket/prefix/key`` for ``key``."""
        return f"s3://{self._opts.bucket}/{self._full(key)}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`; also accepts a plain object key inside the prefix.

        Raises:
            InvalidPath: ``native`` names another bucket or lies outside the prefix.
        """
        text = native
        if text.startswith("s3://"):
            bucket, _, text = text[5:].partition("/")
            if bucket != self._opts.bucket:
                raise InvalidPath(f"object is in bucket {bucket!r}, not {self._opts.bucket!r}", path=native)
        text = text.strip("/")
        prefix = self._opts.prefix
        if not prefix:
            return text
        if text == prefix:
            return ""
        if not text.startswith(prefix + "/"):
            raise InvalidPath("object key is outside the backend prefix", path=native)
        return text[len(prefix) + 1 :]

    # ------------------------------------------------------------------ client
    def _client(self) -> Any:
        client = self._client_obj
        if client is not None and self._pid == os.getpid():
            return client
        if self._pid != os.getpid():
            # After fork: the parent's lock may be held by a thread that does not exist here.
            self._lock = threading.Lock()
        with self._lock:
            if self._client_obj is None or self._pid != os.getpid():
                self._client_obj = self._make_client()
                self._pid = os.getpid()
            return self._client_obj

    def _make_client(self) -> Any:
        o = self._opts
        config = botocore.config.Config(
            retries={"mode": o.retry_mode, "total_max_attempts": o.max_attempts},
            max_pool_connections=o.max_pool_connections,
            connect_timeout=o.connect_timeout,
            read_timeout=o.read_timeout,
            s3={"addressing_style": o.addressing_style},
            **dict(o.config_kwargs),
        )
        session = boto3.session.Session(
            aws_access_key_id=o.access_key_id.reveal() if o.access_key_id else None,
            aws_secret_access_key=o.secret_access_key.reveal() if o.secret_access_key else None,
            aws_session_token=o.session_token.reveal() if o.session_token else None,
            region_name=o.region,
            profile_name=o.profile,
        )
        kwargs: dict[str, Any] = {"config": config, "verify": o.verify}
        if o.endpoint_url:
            kwargs["endpoint_url"] = o.endpoint_url
        kwargs.update(o.client_kwargs)
        log.debug("creating S3 client for bucket %r (endpoint %s)", o.bucket, o.endpoint_url or "AWS")
        return session.client("s3", **kwargs)

    def close(self) -> None:
        """Drop the boto3 client (its connection pool closes); a later call creates a new one."""
        with self._lock:
            client, self._client_obj = self._client_obj, None
            pool, self._check_pool = self._check_pool, None
        if pool is not None and self._check_pid == os.getpid():
            pool.shutdown(wait=False)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def ping(self) -> None:
        """``HeadBucket``.

        Raises:
            ConfigError: The bucket does not exist.
            PermissionDenied: The credentials are refused.
            BackendUnavailable: The service cannot be reached.
        """
        try:
            self._client().head_bucket(Bucket=self._opts.bucket)
        except ClientError as exc:
            if _errors.status_code(exc) == 404:
                raise ConfigError(f"bucket {self._opts.bucket!r} does not exist") from exc
            raise

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map botocore/urllib3 exceptions (see `remote_store_s3._errors.translate`); credentials are scrubbed."""
        return _errors.translate(exc, key, bucket=self._opts.bucket, secrets=self._secrets)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.options))

    # ------------------------------------------------------------------ keys
    def _full(self, key: str) -> str:
        prefix = self._opts.prefix
        if not key:
            return prefix
        return f"{prefix}/{key}" if prefix else key

    def _dir_prefix(self, key: str) -> str:
        full = self._full(key)
        return f"{full}/" if full else ""

    def _strip(self, full: str) -> str | None:
        """Backend key of object key ``full``, or None when the store cannot address it."""
        prefix = self._opts.prefix
        if prefix:
            if not full.startswith(prefix + "/"):
                return None
            full = full[len(prefix) + 1 :]
        if not full or full.startswith("/") or "//" in full or "\x00" in full:
            return None
        if any(seg in (".", "..") for seg in full.rstrip("/").split("/")):
            return None
        return full

    # ------------------------------------------------------------------ helpers
    def _head(self, key: str) -> dict[str, Any] | None:
        """``HeadObject``; None when there is no object at ``key``."""
        try:
            resp: dict[str, Any] = self._client().head_object(Bucket=self._opts.bucket, Key=self._full(key))
        except ClientError as exc:
            if _errors.is_not_found(exc):
                return None
            raise
        return resp

    def _missing(self, key: str) -> RemoteStoreError:
        """The error for a file operation on ``key`` where no object exists."""
        if self.is_folder(key):
            return InvalidPath("is a folder, not a file", path=key)
        return NotFound("file not found", path=key)

    def _check_write_target(self, key: str) -> None:
        """Refuse to write a file where a folder is or below a file (`path_checks`).

        One ``ListObjectsV2`` for ``key + '/'`` plus one ``HeadObject`` per parent folder,
        sent concurrently when there is more than one.
        """
        if not self._opts.path_checks:
            return
        parents: list[str] = []
        parent = _path.parent(key)
        while parent:
            parents.append(parent)
            parent = _path.parent(parent)
        if not parents:
            if self.is_folder(key):
                raise InvalidPath("is a folder, not a file", path=key)
            return
        checks: list[Callable[[], bool]] = [lambda: self.is_folder(key)]
        checks += [lambda p=p: self._head(p) is not None for p in parents]  # type: ignore[misc]
        results = list(self._checker().map(lambda fn: fn(), checks))
        if results[0]:
            raise InvalidPath("is a folder, not a file", path=key)
        if any(results[1:]):
            raise InvalidPath("a parent of the path is a file", path=key)

    def _checker(self) -> ThreadPoolExecutor:
        """Small thread pool for concurrent existence checks (recreated after fork)."""
        pool = self._check_pool
        if pool is not None and self._check_pid == os.getpid():
            return pool
        with self._lock:
            if self._check_pool is None or self._check_pid != os.getpid():
                self._check_pool = ThreadPoolExecutor(4, thread_name_prefix="rs-s3-check")
                self._check_pid = os.getpid()
            return self._check_pool

    def _info(self, key: str, head: Mapping[str, Any]) -> FileInfo:
        return FileInfo(
            path=key,
            name=_path.basename(key),
            size=int(head.get("ContentLength", 0)),
            modified_at=_utc(head.get("LastModified")),
            etag=_etag(head.get("ETag")),
            version_id=_version(head.get("VersionId")),
            content_type=head.get("ContentType"),
            metadata=decode_metadata(head.get("Metadata") or {}),
        )

    # ------------------------------------------------------------------ queries
    def exists(self, key: str) -> bool:
        """``HeadObject``: whether an object (not a folder) is at ``key``."""
        return self._head(key) is not None

    def is_folder(self, key: str) -> bool:
        """``ListObjectsV2`` with ``MaxKeys=1`` below ``key + '/'`` (the root is always a folder)."""
        if not key:
            return True
        resp = self._client().list_objects_v2(Bucket=self._opts.bucket, Prefix=self._dir_prefix(key), MaxKeys=1)
        return bool(resp.get("KeyCount") or resp.get("Contents") or resp.get("CommonPrefixes"))

    def stat(self, key: str) -> FileInfo:
        """``HeadObject`` → `FileInfo` (size, LastModified, ETag, VersionId, ContentType, user metadata).

        Raises:
            NotFound: No object at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        head = self._head(key)
        if head is None:
            raise self._missing(key)
        return self._info(key, head)

    # ------------------------------------------------------------------ reads
    def open_read(self, key: str) -> IO[bytes]:
        """``GetObject``: a lazy, seekable stream; later reads after a seek use ranged GETs
        pinned to the first response's ETag.

        Raises:
            NotFound: No object at ``key``, or it was replaced/deleted while being read.
            InvalidPath: ``key`` is a folder.
        """
        try:
            resp = self._client().get_object(Bucket=self._opts.bucket, Key=self._full(key))
        except ClientError as exc:
            if _errors.is_not_found(exc):
                raise self._missing(key) from None
            raise
        size = int(resp.get("ContentLength", 0))
        fetcher = _RangeFetcher(self, key, _quoted(resp.get("ETag")), resp["Body"])
        raw = RangeReader(fetcher.fetch, size, on_close=fetcher.close)
        return io.BufferedReader(raw, buffer_size=self._opts.read_block_size)  # type: ignore[return-value]

    def read_bytes(self, key: str) -> bytes:
        """One ``GetObject`` read to the end.

        Raises:
            NotFound: No object at ``key``.
            InvalidPath: ``key`` is a folder.
        """
        try:
            resp = self._client().get_object(Bucket=self._opts.bucket, Key=self._full(key))
        except ClientError as exc:
            if _errors.is_not_found(exc):
                raise self._missing(key) from None
            raise
        body = resp["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    # ------------------------------------------------------------------ writes
    def _put_args(self, overwrite: bool, metadata: Mapping[str, str]) -> dict[str, Any]:
        args: dict[str, Any] = dict(self._sse)
        if metadata:
            args["Metadata"] = encode_metadata(metadata)
        return args

    def _exclusive(self, overwrite: bool) -> bool:
        """Whether to send ``If-None-Match: *``."""
        return not overwrite and self._opts.conditional_writes

    def _precheck(self, key: str, overwrite: bool) -> None:
        self._check_write_target(key)
        if not overwrite and not self._opts.conditional_writes and self._head(key) is not None:
            raise AlreadyExists("file exists", path=key)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """``PutObject`` for up to ``multipart_threshold`` bytes, else a streaming multipart upload
        (``CreateMultipartUpload`` / ``UploadPart`` x N / ``CompleteMultipartUpload``), aborted on
        any exception. Atomic either way: readers see the old object or the whole new one.

        Raises:
            AlreadyExists: ``overwrite`` is False and an object exists (HTTP 412 on the
                conditional create, or the ``HeadObject`` check without `conditional_writes`).
            InvalidPath: ``key`` is a folder or below a file (with `path_checks`).
        """
        self._precheck(key, overwrite)
        upload = _Upload(self, key, overwrite=overwrite, metadata=metadata)
        try:
            chunk = self._opts.part_size
            read = stream.read
            while True:
                data = read(chunk)
                if not data:
                    break
                if isinstance(data, str):
                    raise TypeError("write() needs a binary stream, got text")
                upload.write(data)
            return upload.commit()
        except BaseException:
            upload.abort()
            raise

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """A streaming `AtomicWriter`: parts are uploaded while the caller writes; `commit`
        completes the multipart upload (or sends one ``PutObject``), `abort` aborts it.

        Raises:
            InvalidPath: ``key`` is a folder or below a file (with `path_checks`).
            AlreadyExists: Without `conditional_writes`, when an object exists already.
        """
        self._precheck(key, overwrite)
        return _Upload(self, key, overwrite=overwrite, metadata=metadata)

    # ------------------------------------------------------------------ delete
    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """``DeleteObject`` (after a ``HeadObject`` with `path_checks`, since S3 deletes of
        missing keys succeed silently).

        Raises:
            NotFound: No object at ``key`` (with `path_checks`).
            InvalidPath: ``key`` is a folder (with `path_checks`).
        """
        if self._opts.path_checks and self._head(key) is None:
            raise self._missing(key)
        self._client().delete_object(Bucket=self._opts.bucket, Key=self._full(key))

    def _delete_batch(self, keys: list[str]) -> None:
        """``DeleteObjects`` for up to 1,000 object keys (full keys)."""
        if not keys:
            return
        resp = self._client().delete_objects(
            Bucket=self._opts.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
        )
        errors = resp.get("Errors") or []
        if errors:
            first = errors[0]
            raise ClientError(
                {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}},
                "DeleteObjects",
            )

    def delete_folder(self, key: str, *, recursive: bool) -> None:
        """Delete every object below ``key + '/'`` with ``DeleteObjects`` (1,000 keys per call),
        streaming the listing. Without ``recursive`` only a lone folder-marker object is removed.

        Raises:
            NotFound: Nothing is below ``key``.
            InvalidPath: ``key`` is a file.
            DirectoryNotEmpty: ``recursive`` is False and the folder holds objects.
        """
        client = self._client()
        bucket = self._opts.bucket
        lp = self._dir_prefix(key)
        if not recursive:
            resp = client.list_objects_v2(Bucket=bucket, Prefix=lp, MaxKeys=2)
            found = [o["Key"] for o in resp.get("Contents", ())]
            if not found:
                if self.exists(key):
                    raise InvalidPath("not a folder", path=key)
                raise NotFound("folder not found", path=key)
            if found == [lp]:
                client.delete_object(Bucket=bucket, Key=lp)
                return
            raise DirectoryNotEmpty("folder is not empty", path=key)
        batch: list[str] = []
        seen = False
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=lp):
            for obj in page.get("Contents", ()):
                seen = True
                batch.append(obj["Key"])
                if len(batch) >= _DELETE_BATCH:
                    self._delete_batch(batch)
                    batch = []
        self._delete_batch(batch)
        if not seen:
            if self.exists(key):
                raise InvalidPath("not a folder", path=key)
            raise NotFound("folder not found", path=key)

    # ------------------------------------------------------------------ copy / move
    def copy(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Server-side copy: ``CopyObject`` (metadata kept), or ``UploadPartCopy`` parts for
        objects over `multipart_copy_threshold` (S3 refuses single copies over 5 GiB).

        Raises:
            NotFound: No object at ``src``.
            InvalidPath: ``src`` is a folder, or ``dst`` is a folder / below a file.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        head = self._head(src)
        if head is None:
            raise self._missing(src)
        self._check_write_target(dst)
        if not overwrite and self._head(dst) is not None:
            # CopyObject's If-None-Match is not enforced by every S3 implementation.
            raise AlreadyExists("destination exists", path=dst)
        size = int(head.get("ContentLength", 0))
        source = {"Bucket": self._opts.bucket, "Key": self._full(src)}
        etag = _quoted(head.get("ETag"))
        if size > self._opts.multipart_copy_threshold:
            self._multipart_copy(src, dst, head, size, overwrite)
            return
        args: dict[str, Any] = dict(self._sse)
        if etag:
            args["CopySourceIfMatch"] = etag
        if self._exclusive(overwrite):
            args["IfNoneMatch"] = "*"
        try:
            self._client().copy_object(
                Bucket=self._opts.bucket, Key=self._full(dst), CopySource=source, MetadataDirective="COPY", **args
            )
        except ClientError as exc:
            if _errors.is_not_found(exc):
                raise NotFound("source not found", path=src) from None
            if _errors.is_precondition_failed(exc) and not overwrite:
                raise AlreadyExists("destination exists", path=dst) from None
            raise

    def _multipart_copy(self, src: str, dst: str, head: Mapping[str, Any], size: int, overwrite: bool) -> None:
        client = self._client()
        bucket = self._opts.bucket
        part = max(self._opts.multipart_copy_part_size, -(-size // MAX_PARTS))
        if part > MAX_PART_SIZE:
            raise RemoteStoreError(f"object of {size} bytes is too large to copy", path=src)
        create: dict[str, Any] = dict(self._sse)
        if head.get("Metadata"):
            create["Metadata"] = dict(head["Metadata"])
        if head.get("ContentType"):
            create["ContentType"] = head["ContentType"]
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=self._full(dst), **create)["UploadId"]
        source = {"Bucket": bucket, "Key": self._full(src)}
        etag = _quoted(head.get("ETag"))

        def copy_part(number: int, start: int) -> dict[str, Any]:
            end = min(start + part, size) - 1
            extra = {"CopySourceIfMatch": etag} if etag else {}
            resp = client.upload_part_copy(
                Bucket=bucket,
                Key=self._full(dst),
                UploadId=upload_id,
                PartNumber=number,
                CopySource=source,
                CopySourceRange=f"bytes={start}-{end}",
                **extra,
            )
            return {"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]}

        try:
            with ThreadPoolExecutor(self._opts.max_concurrency, thread_name_prefix="rs-s3-copy") as pool:
                futures = [pool.submit(copy_part, n, start) for n, start in enumerate(range(0, size, part), 1)]
                parts = [f.result() for f in futures]
            complete: dict[str, Any] = {}
            if self._exclusive(overwrite):
                complete["IfNoneMatch"] = "*"
            client.complete_multipart_upload(
                Bucket=bucket, Key=self._full(dst), UploadId=upload_id, MultipartUpload={"Parts": parts}, **complete
            )
        except BaseException:
            _abort_quietly(client, bucket, self._full(dst), upload_id)
            raise

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Server-side copy (see `copy`) then ``DeleteObject`` of ``src``; not atomic.

        Raises:
            NotFound: No object at ``src``.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
            InvalidPath: As `copy`.
        """
        self.copy(src, dst, overwrite=overwrite)
        self._client().delete_object(Bucket=self._opts.bucket, Key=self._full(src))

    # ------------------------------------------------------------------ listing
    def _objects(self, list_prefix: str, *, delimiter: bool) -> Iterator[dict[str, Any]]:
        """Stream ``ListObjectsV2`` pages; yield each page."""
        kwargs: dict[str, Any] = {"Bucket": self._opts.bucket, "Prefix": list_prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        paginator = self._client().get_paginator("list_objects_v2")
        yield from paginator.paginate(**kwargs)

    def _file_infos(self, page: Mapping[str, Any]) -> Iterator[FileInfo]:
        for obj in page.get("Contents", ()):
            full = obj["Key"]
            if full.endswith("/"):
                continue  # folder marker made by another tool
            key = self._strip(full)
            if key is None:
                continue
            yield FileInfo(
                path=key,
                name=_path.basename(key),
                size=int(obj.get("Size", 0)),
                modified_at=_utc(obj.get("LastModified")),
                etag=_etag(obj.get("ETag")),
            )

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Stream ``ListObjectsV2`` pages below ``prefix + '/'`` (``Delimiter='/'`` unless
        ``recursive``); folder markers (keys ending in ``/``) are skipped."""
        delimiter = not recursive or max_depth == 1
        for page in self._objects(self._dir_prefix(prefix), delimiter=delimiter):
            yield from self._file_infos(page)

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Stream the ``CommonPrefixes`` of a ``ListObjectsV2`` with ``Delimiter='/'``."""
        for page in self._objects(self._dir_prefix(prefix), delimiter=True):
            for common in page.get("CommonPrefixes", ()):
                key = self._strip(common["Prefix"].rstrip("/"))
                if key is not None:
                    yield key

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """List from the pattern's literal leading part (pushed to the server as ``Prefix``,
        with ``Delimiter='/'`` when the wildcards stay in the last segment) and match client side."""
        pattern = pattern.strip("/")
        regex = compile_glob(pattern)
        cut = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=len(pattern))
        literal, rest = pattern[:cut], pattern[cut:]
        if not rest:
            head = self._head(literal)
            if head is not None:
                yield self._info(literal, head)
            return
        full_literal = self._full(literal) if literal else ""
        if literal.endswith("/"):
            full_literal = self._full(literal.rstrip("/")) + "/"
        elif not literal and self._opts.prefix:
            full_literal = self._opts.prefix + "/"
        one_level = "/" not in rest and "**" not in rest
        for page in self._objects(full_literal, delimiter=one_level):
            for info in self._file_infos(page):
                if regex.fullmatch(info.path):
                    yield info


# ---------------------------------------------------------------------- uploads
class _Upload(AtomicWriter):
    """Buffers writes into parts; small content becomes one ``PutObject``, larger content a
    multipart upload with at most ``max_concurrency`` parts in flight. `abort` (also run on any
    exception inside `commit`) aborts the multipart upload so no parts are left behind."""

    def __init__(self, backend: S3Backend, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> None:
        self._b = backend
        self._key = key
        self._full = backend._full(key)
        self._bucket = backend.s3_options.bucket
        self._client = backend._client()
        self._overwrite = overwrite
        self._metadata = dict(metadata)
        self._put_args = backend._put_args(overwrite, metadata)
        opts = backend.s3_options
        self._part_size = opts.part_size
        self._threshold = max(opts.multipart_threshold, opts.part_size)
        self._concurrency = opts.max_concurrency
        self._checksum = opts.checksum_algorithm
        self._buf = bytearray()
        self._size = 0
        self._upload_id: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: deque[Future[dict[str, Any]]] = deque()
        self._parts: list[dict[str, Any]] = []
        self._next_part = 1
        self._done = False

    # -- writing
    def write(self, data: bytes) -> int:
        if self._done:
            raise ValueError("upload already finished")
        n = len(data)
        self._size += n
        if self._upload_id is not None and not self._buf and n == self._part_size:
            self._submit(bytes(data))
            return n
        self._buf += data
        if self._upload_id is None and len(self._buf) >= self._threshold:
            self._start()
        if self._upload_id is not None:
            while len(self._buf) >= self._part_size:
                part = bytes(self._buf[: self._part_size])
                del self._buf[: self._part_size]
                self._submit(part)
        return n

    def _start(self) -> None:
        args = dict(self._put_args)
        if self._checksum:
            args["ChecksumAlgorithm"] = self._checksum
        resp = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._full, **args)
        self._upload_id = resp["UploadId"]
        self._pool = ThreadPoolExecutor(self._concurrency, thread_name_prefix="rs-s3-upload")
        log.debug("multipart upload started for %r", self._key)

    def _upload_part(self, number: int, data: bytes) -> dict[str, Any]:
        extra = {"ChecksumAlgorithm": self._checksum} if self._checksum else {}
        resp = self._client.upload_part(
            Bucket=self._bucket,
            Key=self._full,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=io.BytesIO(data),
            **extra,
        )
        part = {"PartNumber": number, "ETag": resp["ETag"]}
        if self._checksum:
            name = f"Checksum{self._checksum}"
            if resp.get(name):
                part[name] = resp[name]
        return part

    def _submit(self, data: bytes) -> None:
        if self._next_part > MAX_PARTS:
            raise RemoteStoreError(
                f"object exceeds {MAX_PARTS} parts of {self._part_size} bytes; raise part_size", path=self._key
            )
        assert self._pool is not None
        while len(self._inflight) >= self._concurrency:
            self._reap(FIRST_COMPLETED)
        self._inflight.append(self._pool.submit(self._upload_part, self._next_part, data))
        self._next_part += 1

    def _reap(self, mode: str) -> None:
        done, _ = wait(list(self._inflight), return_when=mode)
        for fut in done:
            self._inflight.remove(fut)
            self._parts.append(fut.result())

    # -- finishing
    def commit(self) -> WriteResult:
        if self._done:
            raise ValueError("upload already finished")
        try:
            if self._upload_id is None:
                return self._put()
            if self._buf:
                part = bytes(self._buf)
                self._buf = bytearray()
                self._submit(part)
            self._reap("ALL_COMPLETED")
            parts = sorted(self._parts, key=lambda p: int(p["PartNumber"]))
            args: dict[str, Any] = {}
            if self._b._exclusive(self._overwrite):
                args["IfNoneMatch"] = "*"
            resp = self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=self._full, UploadId=self._upload_id, MultipartUpload={"Parts": parts}, **args
            )
            self._finish()
            return self._result(resp, digest=None)
        except BaseException as exc:
            self.abort()
            if isinstance(exc, ClientError) and _errors.is_precondition_failed(exc) and not self._overwrite:
                raise AlreadyExists("file exists", path=self._key) from None
            raise

    def _put(self) -> WriteResult:
        args = dict(self._put_args)
        if self._b._exclusive(self._overwrite):
            args["IfNoneMatch"] = "*"
        if self._checksum:
            args["ChecksumAlgorithm"] = self._checksum
        body = bytes(self._buf)
        self._buf = bytearray()
        try:
            resp = self._client.put_object(Bucket=self._bucket, Key=self._full, Body=body, **args)
        except ClientError as exc:
            if _errors.is_precondition_failed(exc) and not self._overwrite:
                raise AlreadyExists("file exists", path=self._key) from None
            raise
        self._done = True
        digest = None
        if self._checksum and resp.get(f"Checksum{self._checksum}"):
            raw = base64.b64decode(resp[f"Checksum{self._checksum}"])
            digest = ContentDigest(self._checksum.lower(), raw.hex())
        return self._result(resp, digest=digest)

    def _result(self, resp: Mapping[str, Any], *, digest: ContentDigest | None) -> WriteResult:
        headers = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        stamp = headers.get("last-modified") or headers.get("date")
        modified = None
        if stamp:
            with contextlib.suppress(TypeError, ValueError):
                modified = email.utils.parsedate_to_datetime(stamp).astimezone(UTC)
        return WriteResult(
            path=self._key,
            size=self._size,
            source=WriteSource.NATIVE,
            digest=digest,
            etag=_etag(resp.get("ETag")),
            version_id=_version(resp.get("VersionId")),
            last_modified=modified,
            metadata={k.lower(): v for k, v in self._metadata.items()},
        )

    def _finish(self) -> None:
        self._done = True
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def abort(self) -> None:
        """Cancel queued parts, wait for running ones, ``AbortMultipartUpload``. Idempotent."""
        if self._done and self._upload_id is None:
            return
        self._done = True
        self._buf = bytearray()
        for fut in self._inflight:
            fut.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._inflight.clear()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            _abort_quietly(self._client, self._bucket, self._full, upload_id)


def _abort_quietly(client: Any, bucket: str, key: str, upload_id: str) -> None:
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception as exc:
        log.warning("could not abort multipart upload of %r: %s", key, type(exc).__name__)


# ---------------------------------------------------------------------- reads
class _RangeFetcher:
    """``fetch(start, length)`` for `RangeReader`: keeps the current ``GetObject`` body open
    while reads are sequential; after a seek it opens ``Range: bytes=start-`` with
    ``If-Match`` on the ETag seen first, so a replaced object raises instead of mixing."""

    def __init__(self, backend: S3Backend, key: str, etag: str | None, body: Any) -> None:
        self._b = backend
        self._key = key
        self._etag = etag
        self._body: Any = body
        self._pos = 0

    def fetch(self, start: int, length: int) -> bytes:
        if self._body is None or self._pos != start:
            self._open(start)
        data: bytes = self._body.read(length)
        if not data and length:
            self.close()
            raise NotFound("object shrank while being read", path=self._key)
        self._pos += len(data)
        return data

    def _open(self, start: int) -> None:
        self.close()
        args: dict[str, Any] = {"Range": f"bytes={start}-"}
        if self._etag:
            args["IfMatch"] = self._etag
        try:
            resp = self._b._client().get_object(Bucket=self._b.bucket, Key=self._b._full(self._key), **args)
        except ClientError as exc:
            if _errors.is_precondition_failed(exc) or _errors.is_not_found(exc):
                raise NotFound("file was replaced or deleted while being read", path=self._key) from None
            raise
        self._body = resp["Body"]
        self._pos = start

    def close(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()


# ---------------------------------------------------------------------- small helpers
def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata → S3 headers: keys lower-cased (S3 does that anyway), non-ASCII values
    RFC 2047 encoded (``=?UTF-8?B?…?=``) as AWS itself returns them.

    Raises:
        InvalidPath: A key is empty or not ASCII (S3 header names must be ASCII tokens).
    """
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not key or not key.isascii() or any(c in key for c in " \t\r\n:=\"'"):
            raise InvalidPath(f"metadata key {key!r} is not a valid S3 metadata name")
        if value.isascii() and not value.startswith(_RFC2047_PREFIX):
            out[key.lower()] = value
        else:
            out[key.lower()] = "=?UTF-8?B?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="
    return out


def decode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Inverse of `encode_metadata` for values S3 returns."""
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if value.startswith(_RFC2047_PREFIX) and value.endswith("?="):
            try:
                parts = email.header.decode_header(value)
                value = "".join(p.decode(c or "utf-8") if isinstance(p, bytes) else p for p, c in parts)
            except (ValueError, LookupError, UnicodeDecodeError):
                pass
        out[key] = value
    return out


def _etag(value: Any) -> str | None:
    if not value:
        return None
    return str(value).strip('"')


def _quoted(value: Any) -> str | None:
    if not value:
        return None
    text = str(value)
    return text if text.startswith('"') else f'"{text}"'


def _version(value: Any) -> str | None:
    if not value or value == "null":
        return None
    return str(value)


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _rebuild(cls: type[S3Backend], options: dict[str, Any]) -> S3Backend:
    return cls(**options)
