"""One multipart / staged-block writer for every service that uploads an object in parts."""

from __future__ import annotations

import contextvars
import io
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import IO, Any, Protocol

from remote_store._backend import AtomicWriter
from remote_store._models import WriteResult
from remote_store.errors import RemoteStoreError

__all__ = ["BufferReader", "MultipartPolicy", "MultipartTarget", "MultipartWriter"]

log = logging.getLogger("remote_store.kit")

MiB = 1024 * 1024

#: Attempts of an ``abort`` before the upload id is logged as left behind.
_ABORT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class MultipartPolicy:
    """How a `MultipartWriter` splits content.

    Attributes:
        part_size: Bytes per part (every part but the last has exactly this size).
        threshold: Content shorter than this many bytes is sent as one single-request put;
            at least ``part_size`` (a smaller value is raised to it).
        concurrency: Parts uploaded at once (≥ 1). Memory held by one writer is at most
            ``part_size x (concurrency + 1)`` bytes.
        max_parts: Most parts the service accepts in one upload (S3: 10,000).
    """

    part_size: int = 8 * MiB
    threshold: int = 8 * MiB
    concurrency: int = 8
    max_parts: int = 10_000

    def __post_init__(self) -> None:
        if self.part_size < 1 or self.concurrency < 1 or self.max_parts < 1:
            raise ValueError("part_size, concurrency and max_parts must be >= 1")


class MultipartTarget(Protocol):
    """The service calls a `MultipartWriter` drives for one object (bound to its key).

    Every method may raise the service's native exceptions; the backend's
    ``translate_error`` maps them. ``data`` arguments are ``bytes`` or ``bytearray`` that the
    target must not keep after returning.
    """

    def put(self, data: bytes | bytearray, size: int) -> WriteResult:
        """Store ``data`` (the whole content, ``size`` bytes) with one request (S3 ``PutObject``)."""

    def create(self) -> str:
        """Start a multipart upload and return its id (S3 ``CreateMultipartUpload``)."""

    def upload_part(self, upload_id: str, number: int, data: bytes | bytearray) -> Any:
        """Upload part ``number`` (1-based) and return the token `complete` needs (S3 ``UploadPart`` → ETag)."""

    def complete(self, upload_id: str, parts: Sequence[Any], size: int) -> WriteResult:
        """Publish the object from ``parts`` (tokens in part order) (S3 ``CompleteMultipartUpload``)."""

    def abort(self, upload_id: str) -> None:
        """Discard the upload and its parts (S3 ``AbortMultipartUpload``)."""


class MultipartWriter(AtomicWriter):
    """A streaming `AtomicWriter` over a `MultipartTarget`.

    Content below ``policy.threshold`` becomes one `MultipartTarget.put`. Longer content starts
    a multipart upload as soon as the threshold is reached; each full part is uploaded by a
    worker thread while the caller keeps writing, at most ``policy.concurrency`` at once (a
    write blocks while that many are in flight). Memory is bounded by
    ``part_size x (concurrency + 1)`` bytes; each byte is copied once, into its part buffer
    (`write_from` reads straight into it).

    Nothing is visible until `commit` completes the upload. Any error — a failed part, the
    caller's stream raising, `complete` refused — aborts the upload: the previous object (if
    any) stays intact and no parts are left behind. An abort that fails is retried; when
    every attempt fails the upload id is logged at ERROR, kept in `abandoned_upload_id`
    and passed to ``on_abandoned`` (`FlatKeyBackend` records it, and its
    ``collect_garbage`` aborts it later; for S3 a lifecycle rule
    ``AbortIncompleteMultipartUpload`` also removes it).

    Args:
        target: The service calls for this object.
        policy: Part size, threshold, concurrency, part limit.
        key: Key named in errors and log lines.
        on_abandoned: Called with the upload id when every abort attempt failed.

    Raises:
        RemoteStoreError: The content needs more than ``policy.max_parts`` parts (raise the part size).
    """

    def __init__(
        self,
        target: MultipartTarget,
        policy: MultipartPolicy,
        *,
        key: str,
        on_abandoned: Callable[[str], None] | None = None,
    ) -> None:
        self._t = target
        self._on_abandoned = on_abandoned
        self._abandoned: str | None = None
        self._p = policy
        self._key = key
        self._part_size = policy.part_size
        self._threshold = max(policy.threshold, policy.part_size)
        self._head: list[bytes] = []  # content before the upload starts (< threshold)
        self._head_len = 0
        self._buf: bytearray | None = None
        self._fill = 0
        self._size = 0
        self._upload_id: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: deque[Future[tuple[int, Any]]] = deque()
        self._parts: dict[int, Any] = {}
        self._next = 1
        self._done = False

    @property
    def upload_id(self) -> str | None:
        """The multipart upload id once one was started, else None."""
        return self._upload_id

    @property
    def abandoned_upload_id(self) -> str | None:
        """The upload id left behind because every abort failed, else None."""
        return self._abandoned

    @property
    def size(self) -> int:
        """Bytes taken so far."""
        return self._size

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Take ``data``; may block while ``concurrency`` parts are in flight.

        Raises:
            ValueError: The writer was committed or aborted.
            RemoteStoreError: A part upload failed (the upload is then aborted), or too many parts.
        """
        if self._done:
            raise ValueError("upload already finished")
        n = len(data)
        if not n:
            return 0
        try:
            self._take(data)
        except BaseException:
            self.abort()
            raise
        return n

    def _take(self, data: bytes | bytearray | memoryview) -> None:
        n = len(data)
        self._size += n
        if self._upload_id is None:
            if self._head_len + n < self._threshold:
                self._head.append(data if isinstance(data, bytes) else bytes(data))
                self._head_len += n
                return
            self._start()
            head, self._head, self._head_len = self._head, [], 0
            while head:
                self._copy_in(head.pop(0))
        self._copy_in(data)

    def _copy_in(self, data: bytes | bytearray | memoryview) -> None:
        part = self._part_size
        if self._buf is None and isinstance(data, bytes) and len(data) == part:
            self._submit(data)  # a caller writing whole parts as bytes: no copy at all
            return
        view = memoryview(data).cast("B")
        while len(view):
            if self._buf is None:
                self._buf = bytearray(part)
                self._fill = 0
            take = min(part - self._fill, len(view))
            self._buf[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
            if self._fill == part:
                buf, self._buf, self._fill = self._buf, None, 0
                self._submit(buf)

    def write_from(self, stream: IO[bytes]) -> None:
        """Take everything readable from ``stream``, reading straight into part buffers.

        Raises:
            ValueError: The writer was committed or aborted.
            TypeError: ``stream`` yields text.
            RemoteStoreError: As `write`. The upload is aborted on any exception, the stream's included.
        """
        if self._done:
            raise ValueError("upload already finished")
        try:
            readinto = getattr(stream, "readinto", None)
            # Below the threshold: plain reads (a small file is one read and one put).
            while self._upload_id is None:
                data = stream.read(self._threshold - self._head_len)
                if not data:
                    return
                if isinstance(data, str):
                    raise TypeError("write() needs a binary stream, got text")
                self._take(data)
                del data  # the part buffers hold it now
            if readinto is None:
                while True:
                    data = stream.read(self._part_size)
                    if not data:
                        return
                    self._take(data)
            part = self._part_size
            while True:
                if self._buf is None:
                    self._buf = bytearray(part)
                    self._fill = 0
                view = memoryview(self._buf)
                n = readinto(view[self._fill :])
                view.release()
                if not n:
                    return
                self._fill += n
                self._size += n
                if self._fill == part:
                    buf, self._buf, self._fill = self._buf, None, 0
                    self._submit(buf)
        except BaseException:
            self.abort()
            raise

    def _start(self) -> None:
        self._upload_id = self._t.create()
        self._pool = ThreadPoolExecutor(self._p.concurrency, thread_name_prefix="rs-kit-upload")
        log.debug("multipart upload %s started for %r", self._upload_id, self._key)

    def _send(self, number: int, data: bytes | bytearray) -> tuple[int, Any]:
        assert self._upload_id is not None
        return number, self._t.upload_part(self._upload_id, number, data)

    def _submit(self, data: bytes | bytearray) -> None:
        if self._next > self._p.max_parts:
            raise RemoteStoreError(
                f"content needs more than {self._p.max_parts} parts of {self._part_size} bytes; raise part_size",
                path=self._key,
            )
        while len(self._inflight) >= self._p.concurrency:
            self._reap(FIRST_COMPLETED)
        assert self._pool is not None
        # copy_context: the part runs in the caller's Store operation (its retry budget)
        self._inflight.append(self._pool.submit(contextvars.copy_context().run, self._send, self._next, data))
        self._next += 1

    def _reap(self, mode: str) -> None:
        done, _ = wait(list(self._inflight), return_when=mode)
        for fut in done:
            self._inflight.remove(fut)
            number, token = fut.result()
            self._parts[number] = token

    # ------------------------------------------------------------------ finishing
    def commit(self) -> WriteResult:
        """Publish: one put, or the last part + ``complete``. Aborts on any error.

        Raises:
            ValueError: Already committed or aborted.
        """
        if self._done:
            raise ValueError("upload already finished")
        try:
            if self._upload_id is None:
                data = b"".join(self._head) if len(self._head) != 1 else self._head[0]
                self._head, self._head_len = [], 0
                result = self._t.put(data, self._size)
                self._done = True
                return result
            if self._buf is not None and self._fill:
                buf, self._buf = self._buf, None
                del buf[self._fill :]
                self._fill = 0
                self._submit(buf)
            self._reap("ALL_COMPLETED")
            parts = [self._parts[n] for n in sorted(self._parts)]
            result = self._t.complete(self._upload_id, parts, self._size)
            self._done = True
            self._shutdown(cancel=False)
            log.debug("multipart upload %s of %r completed: %d parts", self._upload_id, self._key, len(parts))
            self._upload_id = None
            return result
        except BaseException:
            self.abort()
            raise

    def _shutdown(self, *, cancel: bool) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=cancel)

    def abort(self) -> None:
        """Cancel queued parts, wait for running ones, abort the upload (retried). Idempotent."""
        already = self._done and self._upload_id is None
        self._done = True
        self._head, self._head_len, self._buf = [], 0, None
        if already:
            return
        for fut in self._inflight:
            fut.cancel()
        self._shutdown(cancel=True)
        self._inflight.clear()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        for attempt in range(1, _ABORT_ATTEMPTS + 1):
            try:
                self._t.abort(upload_id)
                log.debug("multipart upload %s of %r aborted", upload_id, self._key)
                return
            except Exception as exc:
                if attempt == _ABORT_ATTEMPTS:
                    log.error(
                        "could not abort multipart upload %s of %r after %d attempts (%s): its parts are left behind",
                        upload_id,
                        self._key,
                        attempt,
                        type(exc).__name__,
                    )
                    self._abandoned = upload_id
                    if self._on_abandoned is not None:
                        try:
                            self._on_abandoned(upload_id)
                        except Exception:
                            log.exception("on_abandoned callback failed for upload %s", upload_id)
                    return
                time.sleep(0.05 * attempt)


class BufferReader(io.RawIOBase):
    """A seekable, read-only binary stream over a bytes-like object, without copying it.

    ``io.BytesIO(bytearray)`` copies the whole buffer; SDKs that want a file-like request
    body (boto3 ``Body=``, which seeks back to retry or checksum) get this instead, so a
    multipart part is held once in memory.

    Args:
        data: ``bytes``, ``bytearray`` or ``memoryview`` (kept by reference; do not mutate it
            while the stream is in use).
    """

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def __len__(self) -> int:
        return len(self._view)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` (SEEK_SET, SEEK_CUR, SEEK_END); positions past the end read as EOF."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence}")
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, b: Any) -> int:
        """Copy up to ``len(b)`` bytes from the current position into ``b``."""
        chunk = self._view[self._pos : self._pos + len(b)]
        n = len(chunk)
        b[:n] = chunk
        self._pos += n
        return n

    def read(self, size: int | None = -1) -> bytes:
        """Return up to ``size`` bytes (all remaining when ``size`` is negative or None)."""
        end = len(self._view) if size is None or size < 0 else min(self._pos + size, len(self._view))
        data = self._view[self._pos : end].tobytes() if end > self._pos else b""
        self._pos = max(self._pos, end)
        return data

    def readall(self) -> bytes:
        """Return everything from the current position."""
        return self.read(-1)
