"""`S3Backend`: Amazon S3 and S3-compatible object stores through boto3, on `remote_store.kit`."""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import email.header
import email.utils
import hashlib
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.config
import botocore.session
from botocore.exceptions import ClientError

from remote_store import Capability, ContentDigest, FileInfo, WriteResult, WriteSource
from remote_store.errors import (
    AlreadyExists,
    ConfigError,
    ContentChanged,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store.kit import (
    BufferReader,
    FetchResult,
    FlatKeyBackend,
    ListPage,
    MultipartPolicy,
    PendingUpload,
    RetryPolicy,
    budget_per_operation,
    resuming,
    unreachable_reason,
)
from remote_store_s3 import _errors, _retries
from remote_store_s3._options import MAX_PART_SIZE, MAX_PARTS, S3Options

log = logging.getLogger("remote_store.s3")

_RFC2047_PREFIX = "=?"
_B_WORD = re.compile(r"^=\?utf-8\?b\?([A-Za-z0-9+/=]*)\?=$", re.IGNORECASE)
#: Characters allowed in an HTTP header name (RFC 9110 token), which S3 metadata names are.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9a-z]+$")
#: S3 limit on the user-defined metadata of one object (bytes, names and values, as sent).
_METADATA_LIMIT = 2048


_LOADER_LOCK = threading.Lock()
_LOADER: Any = None


def _botocore_session() -> Any:
    """A new botocore session (own credentials and config) sharing one process-wide data loader.

    Creating a client from a fresh session parses botocore's S3 service model again
    (about 0.1-0.2 s of JSON per client); the loader only caches that read-only model data,
    so sharing it between sessions makes every backend after the first cheap to build.
    """
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.session.get_session().get_component("data_loader")
        loader = _LOADER
    session = botocore.session.Session()
    session.register_component("data_loader", loader)
    return session


@budget_per_operation(lambda backend: backend.s3_options.retry_budget)
class S3Backend(FlatKeyBackend):
    """Files as objects in an S3 bucket (AWS, MinIO, R2, Ceph, moto …), under an optional key prefix.

    Every keyword argument is a field of `S3Options` (see there for units, defaults and
    limits) or one of its aliases (``access_key``, ``secret_key``, ``path_checks`` …);
    ``bucket`` is required. Credentials are kept as `Secret` and never appear in ``repr``,
    `Store.resolve`, logs or error messages.

    Built on `remote_store.kit.FlatKeyBackend`: at the defaults every ``put`` / ``get`` /
    ``head`` / ``delete(missing_ok=True)`` is exactly one S3 request (``PutObject``,
    ``GetObject``, ``HeadObject``, ``DeleteObject``); ``hierarchical=True`` (alias
    ``path_checks``) adds the placement checks of the contract and declares
    `Capability.HIERARCHICAL`. Reads are lazy ``GetObject`` streams pinned to the first ETag
    (``If-Match``): a replaced object raises `ContentChanged` once bytes were delivered.
    Writes of up to ``multipart_threshold`` bytes are one ``PutObject``; larger streams use a
    multipart upload holding at most ``part_size x (max_concurrency + 1)`` bytes in memory,
    aborted on any exception, so no partial object is ever visible. ``overwrite=False`` is an
    exclusive create with ``If-None-Match: *``. New objects get a ``Content-Type`` guessed
    from the file name unless ``guess_content_type=False``. Keys other tools wrote that a
    `Store` cannot address (``a//b``, ``./x`` …) are reported in `unreachable` and reachable
    through the kit's native escape hatch (`iter_native`, `read_native`, `delete_native`).
    ``open_read_seekable`` is one ``HeadObject`` followed by bounded ranged ``GetObject``
    requests as the caller reads. `collect_garbage` aborts dangling multipart uploads
    (``ListMultipartUploads`` + ``AbortMultipartUpload``): the ones whose abort failed, and
    any under the prefix initiated more than ``older_than`` seconds ago.

    One boto3 client per backend is created lazily under a lock and rebuilt after ``fork``;
    the backend may be shared by threads and pickles by its options.

    Raises:
        ConfigError: An option is unknown or invalid (the message names it).
    """

    TYPE = "s3"
    CAPABILITIES = FlatKeyBackend.CAPABILITIES | {Capability.WRITE_RESULT_NATIVE, Capability.USER_METADATA}

    def __init__(self, bucket: str | None = None, **options: Any) -> None:
        given = dict(options)
        if bucket is not None:
            given["bucket"] = bucket
        opts = S3Options.from_mapping(given)
        self._setup(opts)

    def _setup(self, opts: S3Options) -> None:
        self._opts = opts
        super().__init__(
            root_prefix=opts.prefix,
            hierarchical=opts.hierarchical,
            multipart=MultipartPolicy(
                part_size=opts.part_size,
                threshold=opts.multipart_threshold,
                concurrency=opts.max_concurrency,
                max_parts=MAX_PARTS,
            ),
            read_block_size=opts.read_block_size,
        )
        self._lock = threading.Lock()
        self._client_obj: Any = None
        self._retry_handler: _retries.BudgetedRetry | None = None
        self._policy = RetryPolicy.from_options(opts)
        self._pid = os.getpid()
        self._secrets = [
            s.reveal() for s in (opts.access_key_id, opts.secret_access_key, opts.session_token) if s is not None
        ]
        sse: dict[str, str] = {}
        if opts.sse:
            sse["ServerSideEncryption"] = opts.sse
        if opts.sse_kms_key_id:
            sse["SSEKMSKeyId"] = opts.sse_kms_key_id
        self._sse = sse
        self._bucket = opts.bucket

    @classmethod
    def from_options(cls, options: S3Options) -> S3Backend:
        """Build a backend from an `S3Options` value (already validated)."""
        backend = cls.__new__(cls)
        backend._setup(options)
        return backend

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
        return f"s3://{self._bucket}/{self.object_key(key)}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`; also accepts a plain object key inside the prefix.

        Raises:
            InvalidPath: ``native`` names another bucket, lies outside the prefix, or is an
                object key a `Store` cannot address (``a//b``, ``./x`` …; the message names it).
        """
        text = native
        if text.startswith("s3://"):
            bucket, _, text = text[5:].partition("/")
            if bucket != self._bucket:
                raise InvalidPath(f"object is in bucket {bucket!r}, not {self._bucket!r}", path=native)
        prefix = self._opts.prefix
        if prefix:
            if text.strip("/") == prefix:
                return ""
            if not text.startswith(prefix + "/"):
                raise InvalidPath("object key is outside the backend prefix", path=native)
            text = text[len(prefix) + 1 :]
        reason = unreachable_reason(text.rstrip("/") if text.endswith("/") and text.strip("/") else text)
        if text and reason is not None:
            raise InvalidPath(f"object key {native!r} cannot be addressed by a store ({reason})", path=native)
        return text.strip("/")

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
            retries={"mode": o.retry_mode, "total_max_attempts": o.retries + 1},
            max_pool_connections=max(o.max_pool_connections, o.max_concurrency + 1),
            connect_timeout=o.connect_timeout,
            read_timeout=o.read_timeout,
            s3={"addressing_style": o.addressing_style},
            **dict(o.config_kwargs),
        )
        session = boto3.session.Session(
            botocore_session=_botocore_session(),
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
        client = session.client("s3", **kwargs)
        if client.meta.config.retries.get("mode") in ("standard", "adaptive"):
            self._retry_handler = _retries.install(client, RetryPolicy.from_options(o))
        return client

    def close(self) -> None:
        """Drop the boto3 client (its connection pool closes); a later call creates a new one."""
        super().close()
        with self._lock:
            client, self._client_obj = self._client_obj, None
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
            self._client().head_bucket(Bucket=self._bucket)
        except ClientError as exc:
            if _errors.status_code(exc) == 404:
                raise ConfigError(f"bucket {self._bucket!r} does not exist") from exc
            raise

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map botocore/urllib3 exceptions (see `remote_store_s3._errors.translate`); credentials are scrubbed."""
        return _errors.translate(exc, key, bucket=self._bucket, secrets=self._secrets)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.options))

    # ------------------------------------------------------------------ kit primitives
    def head_object(self, name: str) -> FileInfo | None:
        """``HeadObject``; None on 404."""
        try:
            head: dict[str, Any] = self._client().head_object(Bucket=self._bucket, Key=name)
        except ClientError as exc:
            if _errors.is_not_found(exc):
                return None
            raise
        return FileInfo(
            path=name,
            name="",
            size=int(head.get("ContentLength", 0)),
            modified_at=_utc(head.get("LastModified")),
            etag=_etag(head.get("ETag")),
            version_id=_version(head.get("VersionId")),
            content_type=head.get("ContentType"),
            metadata=decode_metadata(head.get("Metadata") or {}),
        )

    def get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """``GetObject`` (``Range: bytes=start-[end-1]`` unless the whole object; ``IfMatch``)
        whose body resumes after a cut (`remote_store.kit.ResumingBody`: a ranged
        ``GetObject`` from the byte reached, ``IfMatch`` the ETag read so far).

        Raises:
            NotFound: No object ``name`` (404).
            ContentChanged: ``if_match`` given and the ETag differs (412).
        """
        return resuming(
            self._get_object(name, start, end, if_match=if_match),
            lambda s, e, tag: self._get_object(name, s, e, if_match=tag),
            start=start,
            end=end,
            policy=self._policy,
            classify=_retries.classify_exception,
            key=name,
        )

    def _get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """One ``GetObject`` (``Range: bytes=start-[end-1]`` unless the whole object; ``IfMatch``).

        Raises:
            NotFound: No object ``name`` (404).
            ContentChanged: ``if_match`` given and the ETag differs (412).
        """
        args: dict[str, Any] = {}
        if start or end is not None:
            args["Range"] = f"bytes={start}-" + (str(end - 1) if end is not None else "")
        if if_match:
            args["IfMatch"] = _quoted(if_match)
        try:
            resp = self._client().get_object(Bucket=self._bucket, Key=name, **args)
        except ClientError as exc:
            if _errors.is_not_found(exc):
                raise NotFound("file not found", path=name) from exc
            if if_match and _errors.is_precondition_failed(exc):
                raise ContentChanged("object was replaced", path=name) from exc
            if _errors.error_code(exc) == "InvalidRange":
                return FetchResult(_Empty(), start, _etag(if_match))
            raise
        size = int(resp.get("ContentLength", 0))
        content_range = resp.get("ContentRange")
        if content_range and "/" in content_range:
            total = content_range.rsplit("/", 1)[1]
            if total.isdigit():
                size = int(total)
        return FetchResult(resp["Body"], size, _etag(resp.get("ETag")))

    def _content_type(self, name: str) -> dict[str, str]:
        if not self._opts.guess_content_type:
            return {}
        guessed = mimetypes.guess_type(name.rpartition("/")[2], strict=False)[0]
        return {"ContentType": guessed} if guessed else {}

    def _create_args(self, name: str, metadata: Mapping[str, str]) -> dict[str, Any]:
        args: dict[str, Any] = dict(self._sse)
        args.update(self._content_type(name))
        if metadata:
            args["Metadata"] = encode_metadata(metadata)
        if self._opts.checksum_algorithm:
            args["ChecksumAlgorithm"] = self._opts.checksum_algorithm
        return args

    def _exclusive(self, overwrite: bool) -> bool:
        """Whether to send ``If-None-Match: *``."""
        return not overwrite and self._opts.conditional_writes

    def before_write(self, key: str, *, overwrite: bool) -> None:
        """Placement check (``hierarchical``), and a ``HeadObject`` for ``overwrite=False``
        without `conditional_writes` (that check leaves a race window).

        Raises:
            InvalidPath: See `check_placement`.
            AlreadyExists: Without `conditional_writes`: an object exists already.
        """
        super().before_write(key, overwrite=overwrite)
        if not overwrite and not self._opts.conditional_writes and self.head_object(self.object_key(key)):
            raise AlreadyExists("file exists", path=key)

    def put_object(
        self, name: str, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """``PutObject`` (``If-None-Match: *`` unless ``overwrite``).

        Raises:
            AlreadyExists: HTTP 412 on the conditional create.
        """
        args = self._create_args(name, metadata)
        if self._exclusive(overwrite):
            args["IfNoneMatch"] = "*"
        try:
            resp = self._client().put_object(Bucket=self._bucket, Key=name, Body=data, **args)
        except ClientError as exc:
            if _errors.is_precondition_failed(exc) and not overwrite:
                resp = self._ours_after_resend(
                    exc, name, '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'
                )
                if resp is None:
                    raise AlreadyExists("file exists", path=key) from exc
            else:
                raise
        digest = None
        algo = self._opts.checksum_algorithm
        if algo and resp.get(f"Checksum{algo}"):
            with contextlib.suppress(binascii.Error, ValueError):
                digest = ContentDigest(algo.lower(), base64.b64decode(resp[f"Checksum{algo}"]).hex())
        return _result(key, len(data), resp, metadata, digest)

    def _ours_after_resend(self, exc: ClientError, name: str, etag: str) -> dict[str, Any] | None:
        """Check after a refused exclusive create that botocore had resent (its first answer
        was lost): the ``HeadObject`` response when the object now holds our bytes (its ETag
        is ``etag``, so the lost first attempt created it), else None (someone else's object).

        A 412 on the first attempt (no resend) is a real conflict and returns None unread.
        """
        if not exc.response.get("ResponseMetadata", {}).get("RetryAttempts"):
            return None
        try:
            head: dict[str, Any] = self._client().head_object(Bucket=self._bucket, Key=name)
        except ClientError:
            return None
        return head if head.get("ETag") == etag else None

    def _part_checksum(self) -> str | None:
        """Checksum algorithm of multipart uploads: the configured one, else ``CRC32`` when
        botocore computes request checksums anyway (``request_checksum_calculation`` is
        ``"when_supported"``, its default), as boto3's TransferManager does.

        Declaring it on ``CreateMultipartUpload`` makes the object's checksum a composite of
        the part checksums already sent; without it the service derives a full-object
        checksum on ``CompleteMultipartUpload`` (moto re-reads the whole object for it).
        """
        algo = self._opts.checksum_algorithm
        if algo:
            return algo
        calc = getattr(self._client().meta.config, "request_checksum_calculation", None)
        return "CRC32" if calc in (None, "when_supported") else None

    def create_multipart(self, name: str, *, metadata: Mapping[str, str]) -> str:
        """``CreateMultipartUpload`` (``ChecksumAlgorithm``: see `S3Options.checksum_algorithm`)."""
        args = self._create_args(name, metadata)
        algo = self._part_checksum()
        if algo:
            args["ChecksumAlgorithm"] = algo
        resp = self._client().create_multipart_upload(Bucket=self._bucket, Key=name, **args)
        return str(resp["UploadId"])

    def upload_part(self, name: str, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        """``UploadPart``; returns the part entry (ETag, checksum) for ``CompleteMultipartUpload``."""
        algo = self._part_checksum()
        extra = {"ChecksumAlgorithm": algo} if algo else {}
        resp = self._client().upload_part(
            Bucket=self._bucket, Key=name, UploadId=upload_id, PartNumber=number, Body=BufferReader(data), **extra
        )
        part = {"PartNumber": number, "ETag": resp["ETag"]}
        if algo and resp.get(f"Checksum{algo}"):
            part[f"Checksum{algo}"] = resp[f"Checksum{algo}"]
        return part

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
        """``CompleteMultipartUpload`` (``If-None-Match: *`` unless ``overwrite``).

        Raises:
            AlreadyExists: HTTP 412 on the conditional create.
        """
        args: dict[str, Any] = {}
        if self._exclusive(overwrite):
            args["IfNoneMatch"] = "*"
        try:
            resp = self._client().complete_multipart_upload(
                Bucket=self._bucket, Key=name, UploadId=upload_id, MultipartUpload={"Parts": list(parts)}, **args
            )
        except ClientError as exc:
            if _errors.is_precondition_failed(exc) and not overwrite:
                resp = self._ours_after_resend(exc, name, _multipart_etag(parts))
                if resp is None:
                    raise AlreadyExists("file exists", path=key) from exc
            else:
                raise
        return _result(key, size, resp, metadata, None)

    def abort_multipart(self, name: str, upload_id: str) -> None:
        """``AbortMultipartUpload`` (an upload that is already gone counts as aborted)."""
        try:
            self._client().abort_multipart_upload(Bucket=self._bucket, Key=name, UploadId=upload_id)
        except ClientError as exc:
            if _errors.error_code(exc) != "NoSuchUpload":
                raise

    def list_multipart_uploads(self, prefix: str) -> Iterator[PendingUpload]:
        """``ListMultipartUploads`` pages (``Prefix``): the uploads in progress under ``prefix``."""
        paginator = self._client().get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for upload in page.get("Uploads") or ():
                yield PendingUpload(str(upload["Key"]), str(upload["UploadId"]), _utc(upload.get("Initiated")))

    def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]:
        """``ListObjectsV2`` pages (``Delimiter='/'`` when asked; ``MaxKeys`` when small)."""
        client = self._client()
        if max_keys is not None and max_keys <= 1000:
            resp = client.list_objects_v2(
                Bucket=self._bucket, Prefix=prefix, MaxKeys=max_keys, **({"Delimiter": "/"} if delimiter else {})
            )
            yield _page(resp)
            return
        kwargs: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        if delimiter:
            kwargs["Delimiter"] = "/"
        for resp in client.get_paginator("list_objects_v2").paginate(**kwargs):
            yield _page(resp)

    def delete_object(self, name: str) -> None:
        """``DeleteObject`` (succeeds for a missing key)."""
        self._client().delete_object(Bucket=self._bucket, Key=name)

    def delete_objects(self, names: Sequence[str]) -> None:
        """``DeleteObjects`` for up to 1,000 keys (``Quiet``); the first per-key error is raised."""
        resp = self._client().delete_objects(
            Bucket=self._bucket, Delete={"Objects": [{"Key": k} for k in names], "Quiet": True}
        )
        errors = resp.get("Errors") or []
        if errors:
            first = errors[0]
            raise ClientError(
                {"Error": {"Code": first.get("Code", ""), "Message": first.get("Message", "")}}, "DeleteObjects"
            )

    def copy_object(self, src: str, dst: str, *, source: FileInfo, overwrite: bool, key: str) -> None:
        """``CopyObject`` (metadata kept, ``CopySourceIfMatch`` on the source ETag), or
        ``UploadPartCopy`` parts above `multipart_copy_threshold` (S3 refuses single copies over 5 GiB).

        Raises:
            NotFound: The source vanished.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False (conditional create).
        """
        if source.size > self._opts.multipart_copy_threshold:
            self._multipart_copy(src, dst, source, overwrite)
            return
        args: dict[str, Any] = dict(self._sse)
        if source.etag:
            args["CopySourceIfMatch"] = _quoted(source.etag)
        if self._exclusive(overwrite):
            args["IfNoneMatch"] = "*"
        try:
            self._client().copy_object(
                Bucket=self._bucket,
                Key=dst,
                CopySource={"Bucket": self._bucket, "Key": src},
                MetadataDirective="COPY",
                **args,
            )
        except ClientError as exc:
            if _errors.is_not_found(exc):
                raise NotFound("source not found", path=source.path) from exc
            if _errors.is_precondition_failed(exc) and not overwrite:
                raise AlreadyExists("destination exists", path=key) from exc
            raise

    def _multipart_copy(self, src: str, dst: str, source: FileInfo, overwrite: bool) -> None:
        client = self._client()
        bucket = self._bucket
        size = source.size
        part = max(self._opts.multipart_copy_part_size, -(-size // MAX_PARTS))
        if part > MAX_PART_SIZE:
            raise RemoteStoreError(f"object of {size} bytes is too large to copy", path=source.path)
        create: dict[str, Any] = dict(self._sse)
        if source.metadata:
            create["Metadata"] = encode_metadata(source.metadata)
        if source.content_type:
            create["ContentType"] = source.content_type
        upload_id = client.create_multipart_upload(Bucket=bucket, Key=dst, **create)["UploadId"]
        copy_source = {"Bucket": bucket, "Key": src}
        extra = {"CopySourceIfMatch": _quoted(source.etag)} if source.etag else {}

        def copy_part(number: int, start: int) -> dict[str, Any]:
            end = min(start + part, size) - 1
            resp = client.upload_part_copy(
                Bucket=bucket,
                Key=dst,
                UploadId=upload_id,
                PartNumber=number,
                CopySource=copy_source,
                CopySourceRange=f"bytes={start}-{end}",
                **extra,
            )
            return {"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]}

        try:
            with ThreadPoolExecutor(self._opts.max_concurrency, thread_name_prefix="rs-s3-copy") as pool:
                futures = [
                    pool.submit(contextvars.copy_context().run, copy_part, n, start)
                    for n, start in enumerate(range(0, size, part), 1)
                ]
                parts = [f.result() for f in futures]
            complete: dict[str, Any] = {}
            if self._exclusive(overwrite):
                complete["IfNoneMatch"] = "*"
            client.complete_multipart_upload(
                Bucket=bucket, Key=dst, UploadId=upload_id, MultipartUpload={"Parts": parts}, **complete
            )
        except BaseException:
            try:
                client.abort_multipart_upload(Bucket=bucket, Key=dst, UploadId=upload_id)
            except Exception as exc:
                log.error("could not abort multipart copy upload %s of %r: %s", upload_id, dst, type(exc).__name__)
            raise


class _Empty:
    """Body of an empty range (a read past the end of a zero-byte object)."""

    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        return None


def _page(resp: Mapping[str, Any]) -> ListPage:
    objects = [
        FileInfo(
            path=obj["Key"],
            name="",
            size=int(obj.get("Size", 0)),
            modified_at=_utc(obj.get("LastModified")),
            etag=_etag(obj.get("ETag")),
        )
        for obj in resp.get("Contents", ())
    ]
    prefixes = [c["Prefix"] for c in resp.get("CommonPrefixes", ())]
    return ListPage(objects, prefixes)


def _multipart_etag(parts: Sequence[Any]) -> str:
    """The ETag S3 gives a completed multipart upload: MD5 of the parts' binary MD5s, ``-N``."""
    digests = b"".join(bytes.fromhex(str(p["ETag"]).strip('"')) for p in parts)
    return f'"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(parts)}"'


def _result(
    key: str, size: int, resp: Mapping[str, Any], metadata: Mapping[str, str], digest: ContentDigest | None
) -> WriteResult:
    headers = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    stamp = headers.get("last-modified") or headers.get("date")
    modified = None
    if stamp:
        with contextlib.suppress(TypeError, ValueError):
            modified = email.utils.parsedate_to_datetime(stamp).astimezone(UTC)
    return WriteResult(
        path=key,
        size=size,
        source=WriteSource.NATIVE,
        digest=digest,
        etag=_etag(resp.get("ETag")),
        version_id=_version(resp.get("VersionId")),
        last_modified=modified,
        metadata=dict(metadata),
    )


# ---------------------------------------------------------------------- metadata
def encode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata → ``x-amz-meta-*`` headers, so that every accepted pair round-trips exactly.

    Names are sent as given and must already be what S3 stores: S3 lower-cases metadata
    names (they are HTTP header names, case-insensitive) and allows only HTTP token
    characters, so an upper-case or otherwise invalid name is refused rather than silently
    changed. Values that S3 would alter (non-ASCII, control characters, leading/trailing
    whitespace, which HTTP trims) or that look encoded (``=?``) are sent RFC 2047 encoded
    (``=?UTF-8?B?…?=``, as AWS itself returns non-ASCII values) and decoded on read.

    Raises:
        InvalidPath: A name breaks the S3 rule above, or the metadata exceeds S3's 2 KB limit
            (the message names the rule).
    """
    out: dict[str, str] = {}
    total = 0
    for name, value in metadata.items():
        if not name or not _TOKEN.match(name):
            hint = f"; use {name.lower()!r}" if name and _TOKEN.match(name.lower()) else ""
            raise InvalidPath(
                f"metadata name {name!r} is refused: S3 stores user metadata names lower-cased and allows only "
                f"HTTP token characters (a-z, 0-9, !#$%&'*+-.^_`|~), so it would not round-trip{hint}"
            )
        if value.isascii() and value.isprintable() and value == value.strip() and not value.startswith(_RFC2047_PREFIX):
            sent = value
        else:
            sent = "=?UTF-8?B?" + base64.b64encode(value.encode("utf-8")).decode("ascii") + "?="
        out[name] = sent
        total += len(name) + len(sent)
    if total > _METADATA_LIMIT:
        raise InvalidPath(
            f"user metadata is {total} bytes as sent; S3 allows at most {_METADATA_LIMIT} bytes "
            "(names and values) per object"
        )
    return out


def decode_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """Inverse of `encode_metadata` for values S3 returns (RFC 2047 words decoded)."""
    out: dict[str, str] = {}
    for key, value in metadata.items():
        match = _B_WORD.match(value)
        if match:
            try:
                value = base64.b64decode(match.group(1), validate=True).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                pass
        elif value.startswith(_RFC2047_PREFIX) and value.endswith("?="):
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
