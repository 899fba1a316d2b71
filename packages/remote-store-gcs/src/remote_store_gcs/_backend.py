"""`GCSBackend`: Google Cloud Storage through google-cloud-storage, on `remote_store.kit`."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import mimetypes
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import IO, Any

import requests
from google.api_core import exceptions as gex
from google.api_core.retry import Retry
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage

from remote_store import AtomicWriter, Capability, ContentDigest, FileInfo, WriteResult, WriteSource
from remote_store.errors import AlreadyExists, ConfigError, ContentChanged, InvalidPath, NotFound, RemoteStoreError
from remote_store.kit import (
    BufferReader,
    FetchResult,
    FlatKeyBackend,
    ListPage,
    MultipartPolicy,
    MultipartWriter,
    ObjectTarget,
    RetryPolicy,
    budget_per_operation,
    resuming,
    unreachable_reason,
)
from remote_store_gcs import _errors, _retry, _transfer
from remote_store_gcs._options import GCSOptions

log = logging.getLogger("remote_store.gcs")

_SCOPES = ("https://www.googleapis.com/auth/devstorage.full_control",)
_GOOGLE = "https://storage.googleapis.com"
#: Most deletes in one JSON-API batch request.
_BATCH = 100


@budget_per_operation(lambda backend: backend.gcs_options.retry_budget)
class GCSBackend(FlatKeyBackend):
    """Files as objects in a Google Cloud Storage bucket, under an optional name prefix.

    Every keyword argument is a field of `GCSOptions` (units, defaults and limits are listed
    there) or one of its aliases; ``bucket`` is required. A service-account key given as
    ``credentials`` is kept as a `Secret`: its private key never appears in ``repr``,
    `Store.resolve`, error messages or log records.

    Built on `remote_store.kit.FlatKeyBackend`; service calls (JSON API):

    - ``stat``/``exists``: ``objects.get`` (metadata); ``read_bytes``/``open_read``: one
      media GET (``alt=media``), streamed. `open_read` is lazy and seekable: a seek opens a
      ranged GET *pinned to the generation* of the first response (``generation=N``), so a
      concurrent overwrite never mixes versions (`ContentChanged` once bytes were delivered).
    - writes below ``multipart_threshold``: one multipart ``objects.insert``; longer streams a
      resumable upload in ``chunk_size`` chunks (multiples of 256 KiB) holding at most
      about ``4 x chunk_size`` bytes (independent of the object size), cancelled (session ``DELETE``) on any error so no partial
      object appears and the old one stays intact. ``overwrite=False`` is an exclusive create
      with ``ifGenerationMatch=0`` (a conflict raises `AlreadyExists`); a resumable create
      checks with ``objects.get`` first, so a conflict fails before any chunk is sent.
    - ``copy``/``move``: server-side ``objects.rewrite`` looping on ``rewriteToken``,
      source pinned with ``ifSourceGenerationMatch``, metadata and Content-Type kept.
    - listings: ``objects.list`` with ``delimiter='/'`` when one level is asked, paginated and
      lazy; folder deletes: batch requests of 100 deletes (``batch_delete``).
    - `WriteResult`: ``version_id`` = generation, ``etag``, ``digest`` = md5 (crc32c for
      composite objects), ``last_modified``; user metadata and Content-Type are stored.

    Emulator gaps (fake-gcs-server 1.5x, which the test suite runs against): it ignores
    ``ifGenerationMatch`` on resumable finalize and on ``rewrite`` and
    ``ifSourceGenerationMatch`` (GCS enforces all three; the tests cover the checks the
    backend makes itself), completes every rewrite in one call (the ``rewriteToken`` loop
    runs only on GCS), keeps accepting chunks on a cancelled session, and answers batch
    requests with an empty body (use ``batch_delete=False`` against it).

    The client is built lazily under a lock and rebuilt after ``fork``; the backend may be
    shared by threads and pickles by its options.

    Raises:
        ConfigError: An option is unknown or invalid (the message names it).
    """

    TYPE = "gcs"
    CAPABILITIES = FlatKeyBackend.CAPABILITIES | {Capability.WRITE_RESULT_NATIVE, Capability.USER_METADATA}
    DELETE_BATCH = _BATCH

    def __init__(self, bucket: str | None = None, **options: Any) -> None:
        given = dict(options)
        if bucket is not None:
            given["bucket"] = bucket
        self._setup(GCSOptions.from_mapping(given))

    def _setup(self, opts: GCSOptions) -> None:
        self._opts = opts
        super().__init__(
            root_prefix=opts.prefix,
            hierarchical=opts.hierarchical,
            # Resumable chunks go in order, one at a time: the protocol is sequential.
            multipart=MultipartPolicy(opts.chunk_size, opts.multipart_threshold, 1, 2**40),
            read_block_size=opts.read_block_size,
        )
        self._lock = threading.Lock()
        self._state: tuple[storage.Client, AuthorizedSession, str] | None = None
        self._pid = os.getpid()
        self._sessions: dict[str, _transfer.ResumableSession] = {}
        self._held: dict[str, bytes] = {}
        self._secrets: list[str] = []
        if opts.credentials is not None:
            self._secrets.append(opts.credentials.reveal())
        self._timeout = (opts.connect_timeout, opts.read_timeout)

    @classmethod
    def from_options(cls, options: GCSOptions) -> GCSBackend:
        """Build a backend from a `GCSOptions` value (already validated)."""
        backend = cls.__new__(cls)
        backend._setup(options)
        return backend

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        """Constructor kwargs that rebuild this backend: ``bucket`` plus every non-default
        option (``credentials`` stays a `Secret`)."""
        return self._opts.changed()

    @property
    def gcs_options(self) -> GCSOptions:
        """The validated `GCSOptions` of this backend."""
        return self._opts

    @property
    def bucket(self) -> str:
        """Bucket name."""
        return self._opts.bucket

    @property
    def prefix(self) -> str:
        """Object name prefix that is this backend's root (``""`` for the bucket root)."""
        return self._opts.prefix

    def pin_token(self, info: FileInfo) -> str | None:
        """Reads are pinned to the object *generation* (``info.version_id``), not its ETag."""
        return info.version_id

    def native_path(self, key: str) -> str:
        """``gs://bucket/prefix/key`` for ``key``."""
        return f"gs://{self._opts.bucket}/{self.object_key(key)}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path`; also accepts a plain object name inside the prefix.

        Raises:
            InvalidPath: ``native`` names another bucket, lies outside the prefix, or is an
                object name a `Store` cannot address (``a//b``, ``./x`` …).
        """
        text = native
        if text.startswith("gs://"):
            bucket, _, text = text[5:].partition("/")
            if bucket != self._opts.bucket:
                raise InvalidPath(f"object is in bucket {bucket!r}, not {self._opts.bucket!r}", path=native)
        prefix = self._opts.prefix
        if prefix:
            if text.strip("/") == prefix:
                return ""
            if not text.startswith(prefix + "/"):
                raise InvalidPath("object name is outside the backend prefix", path=native)
            text = text[len(prefix) + 1 :]
        body = text[:-1] if text.endswith("/") and text.strip("/") else text
        reason = unreachable_reason(body)
        if text and reason is not None:
            raise InvalidPath(f"object name {native!r} cannot be addressed by a store ({reason})", path=native)
        return text.strip("/")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.options))

    # ------------------------------------------------------------------ client
    def _credentials(self) -> tuple[Credentials, str | None]:
        o = self._opts
        if o.anonymous:
            return AnonymousCredentials(), o.project  # type: ignore[no-untyped-call]
        if o.credentials is not None:
            from google.oauth2 import service_account

            text = o.credentials.reveal()
            try:
                if text.lstrip().startswith("{"):
                    info = json.loads(text)
                else:
                    with open(text, encoding="utf-8") as f:
                        info = json.load(f)
                creds = service_account.Credentials.from_service_account_info(info, scopes=_SCOPES)  # type: ignore[no-untyped-call]
            except FileNotFoundError:
                raise ConfigError("GCS option 'credentials': the key file does not exist", path="credentials") from None
            except (OSError, ValueError, TypeError, KeyError) as exc:
                detail = _errors.scrub(str(exc), self._secrets) if not isinstance(exc, json.JSONDecodeError) else ""
                raise ConfigError(
                    f"GCS option 'credentials': not a usable service-account JSON key ({type(exc).__name__}"
                    + (f": {detail}" if detail else "")
                    + ")",
                    path="credentials",
                ) from None
            return creds, o.project or info.get("project_id")
        import google.auth

        try:
            creds, project = google.auth.default(scopes=list(_SCOPES))
        except Exception as exc:
            raise ConfigError(
                f"GCS: no credentials given and Application Default Credentials failed ({type(exc).__name__}: "
                f"{_errors.scrub(str(exc), self._secrets)}); pass credentials=… or anonymous=true",
                path="credentials",
            ) from None
        return creds, o.project or project

    def _client(self) -> tuple[storage.Client, AuthorizedSession, str]:
        state = self._state
        if state is not None and self._pid == os.getpid():
            return state
        if self._pid != os.getpid():
            self._lock = threading.Lock()  # the parent's lock may be held by a thread that is not here
            self._sessions, self._held = {}, {}
        with self._lock:
            if self._state is None or self._pid != os.getpid():
                self._state = self._make_client()
                self._pid = os.getpid()
            return self._state

    def _make_client(self) -> tuple[storage.Client, AuthorizedSession, str]:
        o = self._opts
        creds, project = self._credentials()
        session = AuthorizedSession(creds)  # type: ignore[no-untyped-call]
        session.verify = o.verify
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        client_options = {"api_endpoint": o.endpoint} if o.endpoint else None
        client = storage.Client(
            project=project or "<none>", credentials=creds, _http=session, client_options=client_options
        )
        base = (o.endpoint or client.api_endpoint or _GOOGLE).rstrip("/")
        log.debug("created GCS client for bucket %r (endpoint %s)", o.bucket, base)
        if o.create_root:
            self._create_bucket(client, project)
        return client, session, base

    def _create_bucket(self, client: storage.Client, project: str | None) -> None:
        bucket = client.bucket(self._opts.bucket)
        try:
            if bucket.exists(timeout=self._timeout, retry=self._retry()):
                return
            client.create_bucket(bucket, project=project, timeout=self._timeout, retry=self._retry())
            log.info("created GCS bucket %r", self._opts.bucket)
        except gex.Conflict:
            pass  # created concurrently

    def _bucket(self) -> storage.Bucket:
        return self._client()[0].bucket(self._opts.bucket)

    def _retry(self) -> Retry | None:
        """A fresh google-api-core ``Retry`` for one request (see `remote_store_gcs._retry.build`)."""
        return _retry.build(RetryPolicy.from_options(self._opts))

    def close(self) -> None:
        """Drop the client and its connection pool; a later call creates new ones."""
        super().close()
        with self._lock:
            state, self._state = self._state, None
        if state is not None:
            with contextlib.suppress(Exception):
                state[1].close()  # type: ignore[no-untyped-call]

    def ping(self) -> None:
        """``buckets.get``.

        Raises:
            ConfigError: The bucket does not exist.
            PermissionDenied: The credentials are refused.
            BackendUnavailable: The service cannot be reached.
        """
        try:
            self._bucket().reload(timeout=self._timeout, retry=self._retry())
        except gex.NotFound as exc:
            raise ConfigError(f"bucket {self._opts.bucket!r} does not exist") from exc

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map the SDK stack's exceptions (see `remote_store_gcs._errors.translate`); secrets are scrubbed."""
        return _errors.translate(exc, key, bucket=self._opts.bucket, secrets=self._secrets)

    # ------------------------------------------------------------------ reads
    def head_object(self, name: str) -> FileInfo | None:
        """``objects.get`` (metadata); None on 404."""
        blob = self._bucket().get_blob(name, timeout=self._timeout, retry=self._retry())
        return None if blob is None else _info(blob)

    def get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """Media GET (``alt=media``; ``Range`` unless the whole object; ``generation=if_match``)
        whose body resumes after a cut (`remote_store.kit.ResumingBody`: a ranged GET from
        the byte reached, ``generation`` = the one read so far).

        ``if_match`` is the generation of `FetchResult.etag` (the pin token).

        Raises:
            NotFound: No object ``name``.
            ContentChanged: ``if_match`` given and that generation no longer exists.
        """
        return resuming(
            self._get_object(name, start, end, if_match=if_match),
            lambda s, e, gen: self._get_object(name, s, e, if_match=gen),
            start=start,
            end=end,
            policy=RetryPolicy.from_options(self._opts),
            classify=_retry.classify,
            key=name,
        )

    def _get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """One media GET (``alt=media``; ``Range`` unless the whole object; ``generation=if_match``).

        ``if_match`` is the generation of `FetchResult.etag` (the pin token).

        Raises:
            NotFound: No object ``name``.
            ContentChanged: ``if_match`` given and that generation no longer exists.
        """
        _, session, base = self._client()
        url = _transfer.media_url(base, self._opts.bucket, name, if_match)
        return _transfer.download(
            session,
            url,
            name=name,
            start=start,
            end=end,
            generation=if_match,
            timeout=self._timeout,
            retry=self._retry(),
        )

    # ------------------------------------------------------------------ writes
    def _new_blob(self, name: str, metadata: Mapping[str, str]) -> tuple[storage.Blob, str | None]:
        blob = self._bucket().blob(name)
        if metadata:
            blob.metadata = dict(metadata)
        content_type = None
        if self._opts.guess_content_type:
            content_type = mimetypes.guess_type(name.rpartition("/")[2], strict=False)[0]
        if content_type:
            blob.content_type = content_type
        return blob, content_type

    def put_object(
        self, name: str, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """Multipart ``objects.insert`` (``ifGenerationMatch=0`` unless ``overwrite``).

        Raises:
            AlreadyExists: HTTP 412 on the conditional create.
            ConfigError: The bucket does not exist.
        """
        _check_metadata(metadata)
        blob, content_type = self._new_blob(name, metadata)
        resent = [0]
        try:
            blob.upload_from_file(
                BufferReader(data),
                size=len(data),
                content_type=content_type,
                if_generation_match=None if overwrite else 0,
                timeout=self._timeout,
                retry=_retry.build(RetryPolicy.from_options(self._opts), resent),
            )
        except gex.PreconditionFailed:
            if overwrite:
                raise
            ours = self._ours_after_resend(name, data) if resent[0] else None
            if ours is None:
                raise AlreadyExists("file exists", path=key) from None
            blob = ours
        except gex.NotFound:  # an insert names no existing object: the bucket is missing
            raise ConfigError(f"GCS bucket {self._opts.bucket!r} does not exist (objects.insert: 404)") from None
        resource = {
            "generation": blob.generation,
            "etag": blob.etag,
            "md5Hash": blob.md5_hash,
            "crc32c": blob.crc32c,
            "updated": blob.updated,
        }
        return _result(key, len(data), resource, metadata)

    def _ours_after_resend(self, name: str, data: bytes | bytearray) -> storage.Blob | None:
        """After a refused exclusive create that was resent (its first answer was lost): the
        object when it holds our bytes (same MD5: the lost first attempt created it), else None."""
        blob = self._bucket().get_blob(name, timeout=self._timeout, retry=self._retry())
        digest = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
        return blob if blob is not None and blob.md5_hash == digest else None

    def _exclusive_writer(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> MultipartWriter:
        target = _Target(self, self.object_key(key), key, overwrite=overwrite, metadata=metadata)
        return MultipartWriter(target, self.multipart_policy, key=key)

    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """One insert below the threshold, else a resumable upload; atomic either way.

        Raises:
            AlreadyExists: ``overwrite`` is False and an object exists.
            InvalidPath: With ``hierarchical``: ``key`` is a folder or below a file; or
                metadata GCS cannot store.
        """
        self.before_write(self._checked(key), overwrite=overwrite)
        _check_metadata(metadata)
        writer = self._exclusive_writer(key, overwrite=overwrite, metadata=metadata)
        writer.write_from(stream)
        return writer.commit()

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """A streaming writer: chunks are uploaded while the caller writes.

        Raises:
            InvalidPath: With ``hierarchical``: ``key`` is a folder or below a file.
        """
        self.before_write(self._checked(key), overwrite=overwrite)
        _check_metadata(metadata)
        return self._exclusive_writer(key, overwrite=overwrite, metadata=metadata)

    def create_resumable(self, name: str, *, key: str, overwrite: bool, metadata: Mapping[str, str]) -> str:
        """Start a resumable upload (``uploadType=resumable``; ``ifGenerationMatch=0`` unless
        ``overwrite``) and return its session URI.

        Raises:
            AlreadyExists: ``overwrite`` is False and the object exists (checked with
                ``objects.get`` first, so no chunk is sent for nothing).
        """
        if not overwrite and self.head_object(name) is not None:
            raise AlreadyExists("file exists", path=key)
        blob, content_type = self._new_blob(name, metadata)
        client, session, _ = self._client()
        try:
            url = blob.create_resumable_upload_session(
                content_type=content_type,
                client=client,
                timeout=self._timeout,
                if_generation_match=None if overwrite else 0,
                retry=self._retry(),
            )
        except gex.NotFound:
            raise ConfigError(f"GCS bucket {self._opts.bucket!r} does not exist (resumable insert: 404)") from None
        with self._lock:
            self._sessions[url] = _transfer.ResumableSession(session, url, timeout=self._timeout, retry=self._retry())
        return str(url)

    def create_multipart(self, name: str, *, metadata: Mapping[str, str]) -> str:
        """A resumable upload that may overwrite (see `create_resumable`)."""
        return self.create_resumable(name, key=name, overwrite=True, metadata=metadata)

    def upload_part(self, name: str, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        """Send the chunk held from the previous call and hold ``data`` (a copy): the last chunk
        must carry the total size, known only at `complete_multipart`."""
        sess = self._sessions[upload_id]
        held = self._held.get(upload_id)
        if held is not None:
            sess.send(held, total=None)
        self._held[upload_id] = bytes(data)
        return number

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
        """Send the last chunk with the total size, which finalizes the object.

        Raises:
            AlreadyExists: HTTP 412 on the conditional create.
        """
        sess = self._sessions[upload_id]
        held = self._held.pop(upload_id, b"")
        try:
            resource = sess.send(held, total=size)
        except gex.PreconditionFailed:
            if overwrite:
                raise
            raise AlreadyExists("file exists", path=key) from None
        with self._lock:
            self._sessions.pop(upload_id, None)
        return _result(key, size, resource or {}, metadata)

    def abort_multipart(self, name: str, upload_id: str) -> None:
        """Cancel the resumable session (``DELETE`` of the session URI)."""
        self._held.pop(upload_id, None)
        sess = self._sessions.get(upload_id)
        if sess is None:
            return
        sess.cancel()
        with self._lock:
            self._sessions.pop(upload_id, None)

    # ------------------------------------------------------------------ listing / delete / copy
    def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]:
        """``objects.list`` pages of up to 1,000 (``delimiter='/'`` when asked; ``maxResults`` when
        given), fetched lazily, only the fields a `FileInfo` needs."""
        _, session, base = self._client()
        pages = _transfer.list_pages(
            session,
            base,
            self._opts.bucket,
            prefix=prefix,
            delimiter=delimiter,
            max_results=max_keys,
            timeout=self._timeout,
            retry=self._retry(),
        )
        for items, prefixes in pages:
            yield ListPage([_item(i) for i in items], sorted(prefixes))

    def delete_object(self, name: str) -> None:
        """``objects.delete``; a missing object is not an error."""
        with contextlib.suppress(gex.NotFound):
            self._bucket().delete_blob(name, timeout=self._timeout, retry=self._retry())

    def delete_objects(self, names: Sequence[str]) -> None:
        """Up to 100 ``objects.delete`` in one batch request (``batch_delete``), else 8 at once.

        Missing objects are not errors; the first other refusal is raised.

        Raises:
            RemoteStoreError: The batch response could not be read (an emulator without the
                batch endpoint: set ``batch_delete=false``).
        """
        if not self._opts.batch_delete:
            with ThreadPoolExecutor(8, thread_name_prefix="rs-gcs-delete") as pool:
                list(pool.map(self.delete_object, names))
            return
        client = self._client()[0]
        bucket = client.bucket(self._opts.bucket)
        try:
            with client.batch(raise_exception=False) as batch:
                for name in names:
                    bucket.delete_blob(name, timeout=self._timeout)
        except ValueError as exc:
            raise RemoteStoreError(
                f"GCS batch delete: unreadable batch response ({exc}); set batch_delete=false for this endpoint"
            ) from None
        for resp in getattr(batch, "_responses", ()):  # finish()'s return value, kept by the batch
            status = getattr(resp, "status_code", 200)
            if not 200 <= status < 300 and status != 404:
                raise _errors.from_response(resp)

    def copy_object(self, src: str, dst: str, *, source: FileInfo, overwrite: bool, key: str) -> None:
        """``objects.rewrite`` looping on ``rewriteToken`` (``ifSourceGenerationMatch`` = the
        source generation; ``ifGenerationMatch=0`` unless ``overwrite``); metadata kept.

        Raises:
            NotFound: The source vanished.
            ContentChanged: The source was replaced since its ``head``.
            AlreadyExists: ``dst`` exists and ``overwrite`` is False.
        """
        bucket = self._bucket()
        generation = int(source.version_id) if source.version_id else None
        src_blob = bucket.blob(src, generation=generation)
        dst_blob = bucket.blob(dst)
        token: str | None = None
        try:
            while True:
                token, _, _ = dst_blob.rewrite(
                    src_blob,
                    token=token,
                    if_generation_match=None if overwrite else 0,
                    if_source_generation_match=generation,
                    timeout=self._timeout,
                    retry=self._retry(),
                )
                if token is None:
                    return
        except gex.NotFound as exc:
            if generation is not None and self.head_object(src) is not None:
                raise ContentChanged("source was replaced during the copy", path=source.path) from None
            raise NotFound("source not found", path=source.path) from exc
        except gex.PreconditionFailed:
            if not overwrite and self.head_object(dst) is not None:
                raise AlreadyExists("destination exists", path=key) from None
            raise ContentChanged("source was replaced during the copy", path=source.path) from None


class _Target(ObjectTarget):
    """`ObjectTarget` whose resumable session carries ``ifGenerationMatch=0`` for exclusive creates."""

    def __init__(
        self, backend: GCSBackend, name: str, key: str, *, overwrite: bool, metadata: Mapping[str, str]
    ) -> None:
        super().__init__(backend, name, key, overwrite=overwrite, metadata=metadata)
        self._gcs = backend
        self._gname, self._gkey, self._gover, self._gmeta = name, key, overwrite, metadata

    def create(self) -> str:
        """`GCSBackend.create_resumable`."""
        return self._gcs.create_resumable(self._gname, key=self._gkey, overwrite=self._gover, metadata=self._gmeta)


# ---------------------------------------------------------------------- helpers
def _check_metadata(metadata: Mapping[str, str]) -> None:
    """GCS stores any UTF-8 metadata names and values; refuse only what JSON cannot carry."""
    for name, value in metadata.items():
        if not name or "\x00" in name or "\x00" in value:
            raise InvalidPath(f"metadata name {name!r} or its value is refused by GCS (empty name or NUL)")


def _etag(value: Any) -> str | None:
    """The entity tag without surrounding quotes (the JSON API and media headers differ)."""
    return str(value).strip('"') or None if value else None


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return None


def _info(blob: storage.Blob) -> FileInfo:
    return FileInfo(
        path=blob.name or "",
        name="",
        size=int(blob.size or 0),
        modified_at=_utc(blob.updated),
        etag=_etag(blob.etag),
        version_id=str(blob.generation) if blob.generation else None,
        content_type=blob.content_type,
        metadata=dict(blob.metadata or {}),
    )


def _item(item: Mapping[str, Any]) -> FileInfo:
    """A listing entry (JSON object resource) as a `FileInfo` with the native name as ``path``."""
    generation = item.get("generation")
    return FileInfo(
        path=item["name"],
        name="",
        size=int(item.get("size") or 0),
        modified_at=_utc(item.get("updated")),
        etag=_etag(item.get("etag")),
        version_id=str(generation) if generation else None,
        content_type=item.get("contentType"),
    )


def _digest(resource: Mapping[str, Any]) -> ContentDigest | None:
    for field, algorithm in (("md5Hash", "md5"), ("crc32c", "crc32c")):
        value = resource.get(field)
        if value:
            with contextlib.suppress(binascii.Error, ValueError):
                return ContentDigest(algorithm, base64.b64decode(value).hex())
    return None


def _result(key: str, size: int, resource: Mapping[str, Any], metadata: Mapping[str, str]) -> WriteResult:
    generation = resource.get("generation")
    return WriteResult(
        path=key,
        size=size,
        source=WriteSource.NATIVE,
        digest=_digest(resource),
        etag=_etag(resource.get("etag")),
        version_id=str(generation) if generation else None,
        last_modified=_utc(resource.get("updated")),
        metadata=dict(metadata),
    )


def _rebuild(cls: type[GCSBackend], options: dict[str, Any]) -> GCSBackend:
    return cls(**options)
