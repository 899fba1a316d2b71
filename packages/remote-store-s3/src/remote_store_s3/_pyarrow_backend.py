"""`S3PyArrowBackend`: ``type = "s3-pyarrow"``, S3 through PyArrow's C++ ``S3FileSystem`` (extra ``pyarrow``).

Whole-object reads, writes, listings, heads and server-side copies go through
`pyarrow.fs.S3FileSystem` (the AWS C++ SDK). Two things go through boto3 (a dependency of
this package anyway): ranged and pinned reads (after a seek), one ``GetObject`` with
``Range`` and ``If-Match`` where PyArrow's random-access file sends a HEAD and then an
unpinned ranged GET; and deletes, because PyArrow's ``delete_file`` re-creates a zero-byte
``parent/`` marker when it removes the last file below a prefix, which a flat key store must
not do.

Differences from `S3Backend`, all declared or documented: no user metadata (PyArrow
sends only standard headers), every write is spooled (memory, then a temp file) and then
sent as one PyArrow output stream (PyArrow switches to a multipart upload itself; the object
appears only when the stream closes, so writes are atomic), and PyArrow has no conditional create, so
``overwrite=False`` checks and publishes under this backend instance's lock: exactly one of
several threads sharing the backend wins, but two processes can both create a key.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from remote_store import (
    AtomicWriter,
    Capability,
    CapabilitySet,
    FileInfo,
    RemoteStoreError,
    SpooledAtomicWriter,
    WriteResult,
    WriteSource,
)
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError, ContentChanged, InvalidPath, NotFound
from remote_store.kit import SPOOL_MAX_MEMORY, FetchResult, FlatKeyBackend, ListPage, unreachable_reason
from remote_store_s3._pyarrow_options import OPTIONS, endpoint_parts, revealed


class S3PyArrowBackend(FlatKeyBackend):
    """Amazon S3 and S3-compatible stores through ``pyarrow.fs.S3FileSystem``.

    Args:
        bucket: Bucket name.
        prefix: Key prefix that is the backend root (``""``: the bucket root).
        endpoint_url: Service URL (``http://127.0.0.1:9000``) for S3-compatible servers.
        region: AWS region.
        access_key_id: Access key id (`Secret` or str); None: the SDK's credential chain.
        secret_access_key: Secret access key.
        session_token: Session token of temporary credentials.
        hierarchical: Enforce "a key is a file or a folder, never both" (extra requests).
        max_attempts: Attempts per request (PyArrow's standard retry strategy and boto3's).
        connect_timeout: Connection timeout in seconds (None: the SDK's).

    Raises:
        ConfigError: An unknown option, a missing bucket, or an invalid value.
    """

    TYPE = "s3-pyarrow"
    CAPABILITIES = FlatKeyBackend.CAPABILITIES
    MULTIPART = False
    #: Bytes read from a source (and written to PyArrow) per call.
    CHUNK = 8 * 1024 * 1024

    def __init__(self, **options: Any) -> None:
        self._o = OPTIONS.parse(options)
        super().__init__(root_prefix=self._o["prefix"], hierarchical=self._o["hierarchical"])
        self._bucket: str = self._o["bucket"]
        self._lock = threading.Lock()
        self._create_lock = threading.Lock()
        self._fs_obj: Any = None
        self._boto: Any = None
        self._pid = os.getpid()

    # ------------------------------------------------------------------ identity
    @property
    def options(self) -> dict[str, Any]:
        """Constructor kwargs that rebuild this backend (``bucket`` plus non-defaults; secrets stay `Secret`)."""
        return OPTIONS.changed(self._o, keep=["bucket"])

    @property
    def capabilities(self) -> CapabilitySet:
        """The kit's object-store capabilities (no USER_METADATA), HIERARCHICAL when enabled."""
        return super().capabilities - {Capability.USER_METADATA}

    def native_path(self, key: str) -> str:
        """``s3://bucket/prefix/key`` for ``key``."""
        return f"s3://{self._bucket}/{self.object_key(key)}"

    def to_key(self, native: str) -> str:
        """Inverse of `native_path` (an ``s3://bucket/...`` URL or a plain object key in the prefix).

        Raises:
            InvalidPath: Another bucket, outside the prefix, or a key a `Store` cannot address.
        """
        rest = native
        if rest.startswith("s3://"):
            bucket, _, rest = rest[len("s3://") :].partition("/")
            if bucket != self._bucket:
                raise InvalidPath(f"object is in bucket {bucket!r}, not {self._bucket!r}", path=native)
        root = self.root_prefix
        if root:
            if rest.strip("/") == root:
                return ""
            if not rest.startswith(root + "/"):
                raise InvalidPath("object key is outside the backend prefix", path=native)
            rest = rest[len(root) + 1 :]
        key = rest.strip("/")
        reason = unreachable_reason(key) if key else None
        if reason is not None:
            raise InvalidPath(f"object key {native!r} cannot be addressed by a store ({reason})", path=native)
        return key

    def _path(self, name: str) -> str:
        return f"{self._bucket}/{name}"

    # ------------------------------------------------------------------ clients
    def _fs(self) -> Any:
        fs = self._fs_obj
        if fs is not None and self._pid == os.getpid():
            return fs
        self._after_fork()
        with self._lock:
            if self._fs_obj is None:
                import pyarrow.fs as pafs

                scheme, host = endpoint_parts(self._o["endpoint_url"])
                kwargs: dict[str, Any] = {
                    "access_key": revealed(self._o["access_key_id"]),
                    "secret_key": revealed(self._o["secret_access_key"]),
                    "session_token": revealed(self._o["session_token"]),
                    "region": self._o["region"],
                    "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=self._o["max_attempts"]),
                }
                if host is not None:
                    kwargs.update(endpoint_override=host, scheme=scheme)
                if self._o["connect_timeout"] is not None:
                    kwargs["connect_timeout"] = self._o["connect_timeout"]
                self._fs_obj = pafs.S3FileSystem(**{k: v for k, v in kwargs.items() if v is not None})
            return self._fs_obj

    def _after_fork(self) -> None:
        if self._pid != os.getpid():  # a forked child: the parent's clients and lock are not usable here
            self._lock = threading.Lock()
            self._create_lock = threading.Lock()
            self._fs_obj = self._boto = None
            self._pid = os.getpid()

    def _client(self) -> Any:
        client = self._boto
        if client is not None and self._pid == os.getpid():
            return client
        self._after_fork()
        with self._lock:
            if self._boto is None:
                import boto3
                from botocore.config import Config

                config = Config(
                    retries={"max_attempts": self._o["max_attempts"], "mode": "standard"},
                    connect_timeout=self._o["connect_timeout"] or 60,
                )
                self._boto = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self._o["endpoint_url"],
                    region_name=self._o["region"],
                    aws_access_key_id=revealed(self._o["access_key_id"]),
                    aws_secret_access_key=revealed(self._o["secret_access_key"]),
                    aws_session_token=revealed(self._o["session_token"]),
                    config=config,
                )
            return self._boto

    def close(self) -> None:
        """Drop the PyArrow filesystem and the boto3 client; the next call creates new ones."""
        super().close()
        with self._lock:
            client, self._boto, self._fs_obj = self._boto, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def ping(self) -> None:
        """One ``HeadBucket``-like look-up of the bucket (`S3FileSystem.get_file_info`).

        Raises:
            ConfigError: The bucket does not exist. BackendUnavailable: The service is unreachable.
        """
        import pyarrow.fs as pafs

        if self._fs().get_file_info(self._bucket).type == pafs.FileType.NotFound:
            raise ConfigError(f"bucket {self._bucket!r} does not exist")

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        """Map PyArrow's ``OSError`` texts (AWS error names) and botocore errors; no credentials in messages."""
        from remote_store_s3._pyarrow_errors import translate

        return translate(exc, key, bucket=self._bucket, secrets=self._secrets())

    def _secrets(self) -> list[str]:
        return [s for s in (revealed(self._o[n]) for n in ("access_key_id", "secret_access_key", "session_token")) if s]

    # ------------------------------------------------------------------ kit primitives
    def head_object(self, name: str) -> FileInfo | None:
        """``HeadObject`` (PyArrow opens the object for random access, which sends only the HEAD)."""
        try:
            handle = self._fs().open_input_file(self._path(name))
        except (FileNotFoundError, IsADirectoryError):
            return None
        try:
            meta = _metadata(handle)
            size = int(handle.size())
        finally:
            handle.close()
        return FileInfo(path=name, name="", size=size, modified_at=_modified(meta), etag=_etag(meta))

    def get_object(
        self, name: str, start: int = 0, end: int | None = None, *, if_match: str | None = None
    ) -> FetchResult:
        """The whole object: one PyArrow input stream (its HEAD, then one GET per read).
        A range or a pinned read: one boto3 ``GetObject`` with ``Range`` and ``If-Match``.

        PyArrow's random-access file would send a HEAD before every ranged GET and cannot send
        ``If-Match``; the boto3 GET is one request and the service itself refuses another version.

        Raises:
            NotFound: No object. ContentChanged: ``if_match`` differs from the object's etag (412).
        """
        if start == 0 and end is None and if_match is None:
            try:
                stream = self._fs().open_input_stream(self._path(name))
            except (FileNotFoundError, IsADirectoryError) as exc:
                raise NotFound("no such object", path=name) from exc
            meta = _metadata(stream)
            return FetchResult(stream, int(meta.get("Content-Length", "0")), _etag(meta))
        return self._ranged_get(name, start, end, if_match)

    def _ranged_get(self, name: str, start: int, end: int | None, if_match: str | None) -> FetchResult:
        from botocore.exceptions import ClientError

        from remote_store_s3 import _errors

        args: dict[str, Any] = {"Range": f"bytes={start}-" + (str(end - 1) if end is not None else "")}
        if if_match:
            args["IfMatch"] = f'"{if_match}"'
        try:
            resp = self._client().get_object(Bucket=self._bucket, Key=name, **args)
        except ClientError as exc:
            if _errors.is_not_found(exc):
                raise NotFound("no such object", path=name) from exc
            if if_match and _errors.is_precondition_failed(exc):
                raise ContentChanged("the object was replaced", path=name) from None
            if _errors.error_code(exc) == "InvalidRange":  # start at or past the end
                return FetchResult(io.BytesIO(), start, if_match)
            raise
        size = int(resp.get("ContentLength", 0))
        total = (resp.get("ContentRange") or "").rpartition("/")[2]
        if total.isdigit():
            size = int(total)
        tag = resp.get("ETag")
        return FetchResult(resp["Body"], size, tag.strip('"') if tag else None)

    def put_object(
        self, name: str, data: bytes | bytearray, *, key: str, overwrite: bool, metadata: Mapping[str, str]
    ) -> WriteResult:
        """One PyArrow output stream (a multipart upload inside PyArrow for large data).

        Raises:
            AlreadyExists: ``overwrite`` is False and the object exists (checked under the instance lock).
        """
        if overwrite:
            self._put(name, data)
        else:
            with self._create_lock:
                if self.head_object(name) is not None:
                    raise AlreadyExists("file exists", path=key)
                self._put(name, data)
        return WriteResult(key, len(data), WriteSource.BASIC)

    def _put(self, name: str, data: bytes | bytearray) -> None:
        with self._fs().open_output_stream(self._path(name)) as out:
            out.write(bytes(data))

    # ------------------------------------------------------------------ writes
    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Spool ``stream`` (memory up to `SPOOL_MAX_MEMORY`, then a temp file), then one PyArrow upload.

        The source is read in `CHUNK` pieces; nothing is sent until it is read to the end, so a
        failing source leaves the previous object intact, and the object appears only when
        PyArrow's stream closes (its own multipart upload for large data).

        Raises:
            AlreadyExists: ``overwrite`` is False and the object exists.
            InvalidPath: With ``hierarchical``: ``key`` is a folder or below a file.
        """
        reason = unreachable_reason(key)
        if reason is not None or key.endswith("/"):
            raise InvalidPath(f"not a valid key ({reason or 'trailing /'}); the store cannot address it", path=key)
        self.before_write(key, overwrite=overwrite)
        name = self.object_key(key)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY) as spool:
            size = 0
            while chunk := stream.read(self.CHUNK):
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            if overwrite:
                self._upload(name, spool)
            else:
                with self._create_lock:
                    if self.head_object(name) is not None:
                        raise AlreadyExists("file exists", path=key)
                    self._upload(name, spool)
        return WriteResult(key, size, WriteSource.BASIC)

    def open_atomic(self, key: str, *, overwrite: bool, metadata: Mapping[str, str]) -> AtomicWriter:
        """A `SpooledAtomicWriter` whose commit is one `write`. Raises as `write` (placement first)."""
        self.before_write(key, overwrite=overwrite)
        return SpooledAtomicWriter(self, key, overwrite=overwrite, metadata=metadata)

    def _upload(self, name: str, source: IO[bytes]) -> None:
        with self._fs().open_output_stream(self._path(name)) as out:
            while chunk := source.read(self.CHUNK):
                out.write(chunk)

    def copy_object(self, src: str, dst: str, *, source: FileInfo, overwrite: bool, key: str) -> None:
        """Server-side ``CopyObject`` (`S3FileSystem.copy_file`).

        Raises:
            NotFound: ``src`` vanished. AlreadyExists: ``dst`` exists and not ``overwrite``.
        """
        fs = self._fs()
        try:
            if overwrite:
                fs.copy_file(self._path(src), self._path(dst))
                return
            with self._create_lock:
                if self.head_object(dst) is not None:
                    raise AlreadyExists("file exists", path=key)
                fs.copy_file(self._path(src), self._path(dst))
        except FileNotFoundError as exc:
            raise NotFound("no such object", path=src) from exc

    def list_objects(self, prefix: str, *, delimiter: bool, max_keys: int | None = None) -> Iterator[ListPage]:
        """One PyArrow listing (``ListObjectsV2`` pages inside PyArrow) of the folder holding ``prefix``.

        A ``prefix`` that ends mid-segment (glob push-down) lists its folder and keeps the
        keys that start with it.
        """
        import pyarrow.fs as pafs

        folder = prefix.rpartition("/")[0]
        base = f"{self._bucket}/{folder}" if folder else self._bucket
        selector = pafs.FileSelector(base, recursive=not delimiter, allow_not_found=True)
        cut = len(self._bucket) + 1
        objects: list[FileInfo] = []
        prefixes: list[str] = []
        for info in self._fs().get_file_info(selector):
            name = info.path[cut:]
            if not name.startswith(prefix):
                continue
            if info.type == pafs.FileType.File:
                mtime = info.mtime
                modified = mtime.astimezone(UTC) if mtime is not None else None
                objects.append(FileInfo(path=name, name="", size=int(info.size or 0), modified_at=modified))
            elif delimiter:
                prefixes.append(name + "/")
            if max_keys is not None and len(objects) + len(prefixes) >= max_keys:
                break
        yield ListPage(objects, prefixes)

    def delete_object(self, name: str) -> None:
        """``DeleteObject`` through boto3 (succeeds for a missing key; leaves no folder marker)."""
        self._client().delete_object(Bucket=self._bucket, Key=name)

    def delete_objects(self, names: Sequence[str]) -> None:
        """``DeleteObjects`` through boto3 for up to 1,000 keys; the first per-key error is raised."""
        resp = self._client().delete_objects(
            Bucket=self._bucket, Delete={"Objects": [{"Key": n} for n in names], "Quiet": True}
        )
        errors = resp.get("Errors") or []
        if errors:
            first = errors[0]
            raise BackendUnavailable(f"DeleteObjects failed for {first.get('Key')!r}: {first.get('Code')}")


def _metadata(handle: Any) -> dict[str, str]:
    raw = handle.metadata() or {}
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()
    }


def _modified(meta: Mapping[str, str]) -> datetime | None:
    text = meta.get("Last-Modified")
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _etag(meta: Mapping[str, str]) -> str | None:
    tag = meta.get("ETag")
    return tag.strip('"') if tag else None
