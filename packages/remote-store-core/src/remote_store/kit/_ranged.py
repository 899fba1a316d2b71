"""One read-ahead ranged reader for every service with ranged GETs, pinned to the first version,
and the one resume hook for bodies cut mid-stream (`ResumingBody`)."""

from __future__ import annotations

import contextlib
import io
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from remote_store._streams import SeekableReader
from remote_store.errors import ContentChanged, NotFound
from remote_store.kit._retry import RetryBudget, RetryPolicy, current_budget

__all__ = ["Fetch", "FetchResult", "PinnedRangeReader", "ResumingBody", "open_pinned_reader", "resuming"]

log = logging.getLogger("remote_store.kit")


class _Body(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one ranged GET returned.

    Attributes:
        body: A readable binary stream of the bytes from ``start`` to the end of the requested
            range (an SDK's streaming body); read sequentially, closed when no longer needed.
            None only for the ``first`` result given to `PinnedRangeReader` from a HEAD.
        size: Size of the *whole* object in bytes (not of the range).
        etag: The object's entity tag (or any version token) as the service reports it, or
            None when the service has none (the reader then cannot pin and never raises
            `ContentChanged`).
    """

    body: Any
    size: int
    etag: str | None


Fetch = Callable[[int, "int | None", "str | None"], FetchResult]
"""``fetch(start, end, if_match) -> FetchResult``: one ranged GET of bytes ``start`` ..
``end - 1`` (``end`` None = to the end of the object). With ``if_match`` set, the service
must refuse a different version: raise `ContentChanged` (S3/Azure ``If-Match`` → 412).
Raise `NotFound` when the object is gone.
"""


#: Largest piece a `ResumingBody` asks its body for at once (so a cut loses at most this).
RESUME_CHUNK = 1024 * 1024


class ResumingBody:
    """A response body that survives being cut mid-stream: it resumes with a ranged GET.

    Reads pass through to ``body``. When a read fails with a failure ``classify`` puts in a
    category of ``policy.retry_on`` (``connection``: reset, truncated body; ``timeout``: read
    timeout), the body is reopened with ``fetch(offset, end, etag)`` — the bytes not yet
    delivered, pinned to the version read so far (S3 ``If-Match`` + ``Range``; GCS
    ``generation`` + ``Range``) — after the policy's backoff, at most ``policy.retries``
    times per body and within the retry budget (`RetryBudget`: the Store operation's when
    one is running as the body is made, else ``policy.budget`` for this body). A failing
    resume request counts as one more retry. Bytes before the cut are never read twice and
    the caller never sees short data.

    Args:
        body: The open body (``read(n)``, ``close()``) of bytes ``start`` .. ``end - 1``.
        fetch: The ranged GET that reopens it (see `Fetch`); it must raise `ContentChanged`
            (or `NotFound`) when ``etag`` no longer names the object.
        start: Offset of the body's first byte in the object.
        end: Exclusive end of the body's range, None = the end of the object.
        size: Size of the whole object in bytes.
        etag: The version token the resume is pinned to; None = cannot pin: a cut is raised.
        policy: Retries, backoff, budget and ``retry_on``.
        classify: Maps a read failure to a `RETRY_CATEGORIES` name, or None (not retried).
        key: Key named in errors.
        sleep: Waits that many seconds (tests pass a fake).

    Raises:
        ContentChanged: (from ``read``) the object was replaced or deleted before the resume.
        Exception: The read failure itself when it is not retried (category, ``retries`` or
            budget); the backend's error boundary maps it (`BackendUnavailable`).
    """

    def __init__(
        self,
        body: Any,
        fetch: Fetch,
        *,
        start: int,
        end: int | None,
        size: int,
        etag: str | None,
        policy: RetryPolicy,
        classify: Callable[[BaseException], str | None],
        key: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._body = body
        self._fetch = fetch
        self._pos = start
        self._end = size if end is None else min(end, size)
        self._etag = etag
        self._policy = policy
        self._classify = classify
        self._key = key
        self._sleep = sleep
        self._budget: RetryBudget = current_budget() or RetryBudget(policy.budget)
        self._retries = 0
        #: Resumes made (ranged GETs after a cut).
        self.resumes = 0

    def _resume(self, exc: BaseException, started: float) -> None:
        """Reopen after ``exc``, or raise it when the policy says no."""
        category = self._classify(exc)
        policy = self._policy
        while True:
            if self._etag is None or category is None or category not in policy.retry_on:
                raise exc
            if self._retries >= policy.retries:
                raise exc
            self._retries += 1
            wait = policy.delay(self._retries)
            if policy.jitter and wait:
                wait *= 1.0 + random.uniform(-policy.jitter, policy.jitter)
            if not self._budget.charge(time.monotonic() - started + wait):
                raise exc
            with contextlib.suppress(Exception):
                self._body.close()
            log.info(
                "%r: body cut at byte %d (%s); resuming (retry %d)",
                self._key,
                self._pos,
                type(exc).__name__,
                self._retries,
            )
            if wait:
                self._sleep(wait)
            started = time.monotonic()
            self.resumes += 1
            try:
                result = self._fetch(self._pos, None if self._end is None else self._end, self._etag)
            except (ContentChanged, NotFound) as changed:
                raise ContentChanged(
                    f"file changed while being read ({type(changed).__name__}); retry the whole read", path=self._key
                ) from changed
            except Exception as again:
                exc, category = again, self._classify(again)
                continue
            if result.etag is not None and result.etag != self._etag:
                with contextlib.suppress(Exception):
                    result.body.close()
                raise ContentChanged("file changed while being read; retry the whole read", path=self._key)
            body = result.body
            self._body = body._body if isinstance(body, ResumingBody) else body  # one level of resuming
            return

    def read(self, n: int | None = -1) -> bytes:
        """Up to ``n`` bytes (all that is left when negative or None); b"" at the end."""
        if n is None or n < 0:
            chunks: list[bytes] = []
            while True:
                chunk = self.read(RESUME_CHUNK)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        n = min(n, max(0, self._end - self._pos))
        if n == 0:
            return b""
        started = time.monotonic()
        while True:
            try:
                data: bytes = self._body.read(n)
            except Exception as exc:
                self._resume(exc, started)
                started = time.monotonic()
                continue
            self._pos += len(data)
            return data

    def close(self) -> None:
        """Close the current body."""
        with contextlib.suppress(Exception):
            self._body.close()


def resuming(
    result: FetchResult,
    fetch: Fetch,
    *,
    start: int,
    end: int | None,
    policy: RetryPolicy,
    classify: Callable[[BaseException], str | None],
    key: str | None = None,
) -> FetchResult:
    """``result`` with its body wrapped in a `ResumingBody` (a backend's ``get_object`` returns this).

    Nothing is wrapped when ``policy.retries`` is 0, the result has no body or no version
    token to pin a resume to.

    Args:
        result: What the GET of bytes ``start`` .. ``end - 1`` returned.
        fetch: The ranged GET a resume sends (pinned by its third argument).
        start: First byte of the GET.
        end: Exclusive end of the GET's range, None = to the end.
        policy: The backend's retry policy.
        classify: The backend's failure classifier for body reads.
        key: Key named in errors.
    """
    if result.body is None or result.etag is None or policy.retries == 0 or start >= result.size:
        return result
    body = ResumingBody(
        result.body,
        fetch,
        start=start,
        end=end,
        size=result.size,
        etag=result.etag,
        policy=policy,
        classify=classify,
        key=key,
    )
    return FetchResult(body, result.size, result.etag)


#: Default read-ahead of a ranged read after a seek (bytes beyond what the caller asked for).
READ_AHEAD = 1024 * 1024
#: Forward seeks of at most this many bytes inside the open range read and discard instead
#: of sending a new request.
SKIP_LIMIT = 256 * 1024


class PinnedRangeReader(SeekableReader):
    """A lazy, seekable stream over ``fetch`` that sends bounded ranged GETs after seeks.

    Requests, by access pattern (prior art: fsspec's ``readahead`` cache, PyArrow's read
    coalescing):

    - **sequential** from where the open body stands: served by that body, no request;
    - **a seek**: one bounded GET ``fetch(pos, pos + max(n, read_ahead), etag)`` where ``n``
      is what the read asked for (``Range: bytes=pos-(pos+max(n, read_ahead)-1)``), clipped
      to the object; a forward seek of at most ``skip_limit`` bytes inside the open range reads
      and discards instead;
    - **a read that continues exactly where a bounded range ended** (a sequential scan
      after a seek): one open-ended GET from there, which the service streams.

    ``first`` is the result of an opening GET (its body serves the first reads) or of a
    ``HEAD`` (``body=None``: nothing is requested until the first read).

    Every fetch is pinned to the first result's ``etag``. If the object was replaced: while
    no byte has reached the caller the reader restarts on the new version (new size and
    etag); once bytes were delivered it raises `remote_store.errors.ContentChanged`, so a
    caller never holds a mix of two versions. An object deleted or shrunk after bytes were
    delivered raises `ContentChanged` too; deleted before, `NotFound`.

    Args:
        fetch: The ranged GET (see `Fetch`).
        first: The first GET's result (``fetch(0, None, None)``), or a HEAD's
            (``FetchResult(None, size, etag)``); its size and etag define the version read.
        key: Key named in errors.
        read_ahead: Least bytes fetched by the GET after a seek (≥ 0; default 1 MiB): a
            smaller read still fetches this much, a larger one exactly what it asks for.
        skip_limit: Largest forward seek (bytes) served by discarding from the open body.

    Raises:
        ContentChanged: See above (from ``read``/``readinto``).
        NotFound: The object is gone before any byte was delivered.
    """

    def __init__(
        self,
        fetch: Fetch,
        first: FetchResult,
        *,
        key: str | None = None,
        read_ahead: int = READ_AHEAD,
        skip_limit: int = SKIP_LIMIT,
    ) -> None:
        if read_ahead < 0 or skip_limit < 0:
            raise ValueError("read_ahead and skip_limit must be >= 0")
        self._fetch = fetch
        self._key = key
        self._pos = 0
        self._size = first.size
        self._etag = first.etag
        self._body: _Body | None = first.body
        self._body_pos = 0
        self._body_end: int | None = None  # exclusive end of the open body's range; None = object end
        self._delivered = 0
        self._read_ahead = read_ahead
        self._skip_limit = skip_limit
        self._requests = 0 if first.body is None else 1

    @property
    def etag(self) -> str | None:
        """The entity tag the stream is pinned to."""
        return self._etag

    @property
    def requests(self) -> int:
        """GET requests made so far (the opening one included)."""
        return self._requests

    def _drop(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            with contextlib.suppress(Exception):
                body.close()

    def _open(self, start: int, end: int | None) -> None:
        self._drop()
        self._requests += 1
        try:
            result = self._fetch(start, end, self._etag)
        except (ContentChanged, NotFound) as exc:
            if self._delivered:
                raise ContentChanged(
                    f"file changed while being read ({type(exc).__name__}); retry the whole read", path=self._key
                ) from exc
            if isinstance(exc, NotFound):
                raise
            log.debug("%r changed before any byte was read: restarting on the new version", self._key)
            self._requests += 1
            result = self._fetch(start, end, None)
        self._body = result.body
        self._body_pos = start
        self._body_end = None if end is None or end >= result.size else end
        if self._delivered == 0:
            self._size = result.size
            self._etag = result.etag

    def _position(self, want: int) -> None:
        """Make the open body stand at ``self._pos`` (skip forward, or open a range)."""
        pos = self._pos
        body_end = self._body_end
        if self._body is not None:
            if self._body_pos == pos and (body_end is None or pos < body_end):
                return
            gap = pos - self._body_pos
            if 0 < gap <= self._skip_limit and (body_end is None or pos < body_end):
                while gap:
                    skipped = len(self._body.read(min(gap, 64 * 1024)))
                    if not skipped:
                        break
                    gap -= skipped
                    self._body_pos += skipped
                if not gap:
                    return
        if body_end is not None and pos == body_end:
            self._open(pos, None)  # a scan continuing past its range: stream the rest
            return
        if pos == 0 and self._requests == 0:
            self._open(0, None)  # the first read of a lazy stream starts at 0: a whole-object GET
            return
        self._open(pos, pos + max(want, self._read_ahead))

    def readinto(self, b: Any) -> int:
        """Fill ``b`` from the current position; 0 at the end of the object."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size:
            return 0
        for attempt in range(2):
            want = min(len(b), self._size - self._pos)
            self._position(want)
            if self._pos >= self._size:
                return 0
            want = min(len(b), self._size - self._pos)
            if self._body_end is not None:
                want = min(want, self._body_end - self._pos)
            n = self._fill(b, want)
            if n:
                break
            # The body ended early: the object shrank (replaced) under us.
            self._drop()
            if self._delivered or attempt:
                raise ContentChanged("file changed while being read (it shrank); retry the whole read", path=self._key)
            self._etag = None  # restart on whatever is there now
        self._advance(n)
        return n

    def _fill(self, b: Any, want: int) -> int:
        """Up to ``want`` bytes of the open body into ``b``: straight into it where the body
        has ``readinto`` (PyArrow's streams, botocore's), else one ``read`` and one copy."""
        body = self._body
        assert body is not None
        readinto = getattr(body, "readinto", None)
        if readinto is not None:
            with memoryview(b) as view:
                return int(readinto(view[:want]) or 0)
        data = body.read(want)
        n = len(data)
        b[:n] = data
        return n

    def _advance(self, n: int) -> None:
        self._pos += n
        self._body_pos += n
        self._delivered += n

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all to the end when negative or None); short only at the end.

        Unlike a plain raw read, a read that crosses the end of a ranged GET continues with
        the next one, so an unbuffered caller (PyArrow's ``read_at``) gets whole reads.
        """
        if size is None or size < 0:
            return self.readall()
        if self.closed:
            raise ValueError("I/O operation on closed file")
        want = min(size, max(0, self._size - self._pos))
        if not want:
            return b""
        # One body read that yields the whole request is handed over as it is (no copy).
        self._position(want)
        want = min(want, max(0, self._size - self._pos))
        if want and self._body is not None:
            if self._body_end is not None:
                want = min(want, self._body_end - self._pos)
            data = self._body.read(want)
            if data:
                self._advance(len(data))
                head = data if type(data) is bytes else bytes(data)
                rest = min(size - len(head), max(0, self._size - self._pos))
                return head + self._read_copy(rest) if rest else head
        return self._read_copy(min(size, max(0, self._size - self._pos)))

    def _read_copy(self, size: int) -> bytes:
        """``size`` bytes (fewer only at the end) through `readinto`."""
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < len(buf):
            n = self.readinto(view[got:])
            if not n:
                break
            got += n
        view.release()
        del buf[got:]
        return bytes(buf)

    def readall(self) -> bytes:
        """Read from the current position to the end."""
        chunks = []
        while self._pos < self._size:
            chunk = self.read(self._size - self._pos)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        if not self.closed:
            try:
                self._drop()
            finally:
                super().close()


def open_pinned_reader(
    fetch: Fetch,
    first: FetchResult,
    *,
    key: str | None = None,
    block_size: int = 1024 * 1024,
    read_ahead: int = READ_AHEAD,
) -> IO[bytes]:
    """Return ``io.BufferedReader(PinnedRangeReader(fetch, first, read_ahead=...), block_size)``.

    Args:
        fetch: The ranged GET (see `Fetch`).
        first: The first fetch's result, or a HEAD's with ``body=None`` (the object's size and
            etag come from it).
        key: Key named in errors.
        block_size: Read buffer in bytes (small reads are served from it).
        read_ahead: Bytes fetched beyond each read after a seek (see `PinnedRangeReader`).
    """
    raw = PinnedRangeReader(fetch, first, key=key, read_ahead=read_ahead)
    return io.BufferedReader(raw, buffer_size=block_size)  # type: ignore[return-value]
