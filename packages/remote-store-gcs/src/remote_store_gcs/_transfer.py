"""The two transfers the SDK has no streaming primitive for, on the client's authorized session:
a lazy ranged media download and the chunk requests of a resumable upload."""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from google.api_core.retry import Retry

from remote_store.errors import ConfigError, ContentChanged, NotFound
from remote_store.kit import FetchResult
from remote_store_gcs import _errors

log = logging.getLogger("remote_store.gcs")

_RANGE_RE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_PERSISTED_RE = re.compile(r"bytes=0-(\d+)")


class Body:
    """The streaming body of one media download (a ``requests`` response read raw, undecoded)."""

    def __init__(self, response: Any) -> None:
        self._resp = response
        self._raw = response.raw

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all the rest when ``n`` < 0); ``b""`` at the end."""
        data: bytes = self._raw.read(None if n is None or n < 0 else n)
        return data

    def close(self) -> None:
        """Release the connection."""
        self._resp.close()


class Empty:
    """Body of an empty range (a read at or past the end)."""

    def read(self, n: int = -1, /) -> bytes:
        return b""

    def close(self) -> None:
        return None


def media_url(base: str, bucket: str, name: str, generation: str | None) -> str:
    """``{base}/download/storage/v1/b/{bucket}/o/{name}?alt=media[&generation=N]`` (JSON API media GET)."""
    url = f"{base}/download/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o/{urllib.parse.quote(name, safe='')}"
    url += "?alt=media"
    if generation:
        url += f"&generation={urllib.parse.quote(generation)}"
    return url


def download(
    session: Any,
    url: str,
    *,
    name: str,
    start: int,
    end: int | None,
    generation: str | None,
    timeout: tuple[float, float],
    retry: Retry | None,
) -> FetchResult:
    """Open a streaming media GET of bytes ``start`` .. ``end - 1`` (``Range`` only when needed).

    Returns:
        `FetchResult` whose ``etag`` is the object *generation* (the version token reads are
        pinned to: a later fetch asks for ``generation=N``, which no other content has).

    Raises:
        NotFound: No object ``name``.
        ContentChanged: ``generation`` given and that generation is gone (replaced or deleted).
        google.api_core.exceptions.GoogleAPICallError: Any other refusal (translated by the backend).
    """
    # "gzip": objects stored with Content-Encoding gzip come as stored (no decompressive
    # transcoding, which would ignore Range); the body is read raw, never decoded.
    headers = {"Accept-Encoding": "gzip"}
    if start or end is not None:
        headers["Range"] = f"bytes={start}-" + (str(end - 1) if end is not None else "")

    def send() -> Any:
        resp = session.get(url, headers=headers, stream=True, timeout=timeout)
        if resp.status_code >= 500 or resp.status_code == 429:
            exc = _errors.from_response(resp)
            resp.close()
            raise exc
        return resp

    resp = retry(send)() if retry is not None else send()
    status = resp.status_code
    if status == 404:
        native = _errors.from_response(resp)  # the SDK's NotFound, kept as the cause
        resp.close()
        if generation:
            raise ContentChanged("object was replaced or deleted (generation gone)", path=name) from native
        raise NotFound("file not found", path=name) from native
    if status == 416:
        gen = resp.headers.get("X-Goog-Generation") or generation
        resp.close()
        return FetchResult(Empty(), start, gen)
    if status not in (200, 206):
        exc = _errors.from_response(resp)
        resp.close()
        raise exc
    size = int(resp.headers.get("Content-Length", 0) or 0) + start
    match = _RANGE_RE.match(resp.headers.get("Content-Range", ""))
    if match and match.group(3) != "*":
        size = int(match.group(3))
    elif status == 200:
        stored = resp.headers.get("X-Goog-Stored-Content-Length")
        size = int(stored) if stored and stored.isdigit() else int(resp.headers.get("Content-Length", 0) or 0)
    return FetchResult(Body(resp), size, resp.headers.get("X-Goog-Generation") or generation)


class ResumableSession:
    """One resumable upload: chunks are PUT at increasing offsets to the session URL.

    Every chunk but the last must be a multiple of 256 KiB; the last one declares the total
    size, which finalizes the object. A transient failure (5xx, 429, connection error) asks
    the service how much it kept (``Content-Range: bytes */*``) and resends the rest, up to
    the retry policy's limit.

    Args:
        session: The authorized ``requests`` session.
        url: The session URI from ``Blob.create_resumable_upload_session``.
        timeout: ``(connect, read)`` seconds per request.
        retry: google-api-core retry policy for transient errors, or None.
    """

    def __init__(self, session: Any, url: str, *, timeout: tuple[float, float], retry: Retry | None) -> None:
        self.url = url
        self.offset = 0
        self._s = session
        self._timeout = timeout
        self._retry = retry

    def _put(self, data: bytes | bytearray | memoryview, total: int | None) -> Any:
        n = len(data)
        size = "*" if total is None else str(total)
        rng = f"bytes {self.offset}-{self.offset + n - 1}/{size}" if n else f"bytes */{size}"
        resp = self._s.put(
            self.url,
            data=bytes(data) if isinstance(data, memoryview) else data,
            headers={"Content-Range": rng},
            timeout=self._timeout,
        )
        return resp

    def _persisted(self) -> int:
        resp = self._s.put(self.url, data=b"", headers={"Content-Range": "bytes */*"}, timeout=self._timeout)
        if resp.status_code in (200, 201):
            return -1  # already finalized
        match = _PERSISTED_RE.match(resp.headers.get("Range", ""))
        return int(match.group(1)) + 1 if match else 0

    def _resync(self, start: int, n: int) -> None:
        """After a failed chunk: continue from what the service kept (never before ``start``)."""
        try:
            kept = self._persisted()
        except Exception:
            return  # the retry resends the whole chunk
        if kept >= 0:
            self.offset = min(max(start, kept), start + n)

    def send(self, data: bytes | bytearray, *, total: int | None) -> dict[str, Any] | None:
        """PUT ``data`` at the current offset; with ``total`` it is the final chunk.

        Returns:
            The object resource (JSON) after the final chunk, else None.

        Raises:
            google.api_core.exceptions.GoogleAPICallError: The service refused (412 on a failed
                ``ifGenerationMatch=0`` finalize), or transient errors outlasted the retries.
        """
        view = memoryview(data)
        start = self.offset

        def attempt() -> Any:
            try:
                resp = self._put(data if self.offset == start else view[self.offset - start :], total)
                if resp.status_code >= 500 or resp.status_code == 429:
                    raise _errors.from_response(resp)
            except Exception:
                if self._retry is not None:
                    self._resync(start, len(data))
                raise
            return resp

        call: Callable[[], Any] = self._retry(attempt) if self._retry is not None else attempt
        resp = call()
        if total is None:
            if resp.status_code != 308:
                raise _errors.from_response(resp)
            self.offset = start + len(data)
            return None
        if resp.status_code not in (200, 201):
            raise _errors.from_response(resp)
        self.offset = start + len(data)
        result: dict[str, Any] = resp.json()
        return result

    def cancel(self) -> None:
        """DELETE the session URI: the service discards every byte sent (HTTP 499 is success)."""
        resp = self._s.delete(self.url, timeout=self._timeout)
        if resp.status_code not in (204, 404, 410, 499) and not 200 <= resp.status_code < 300:
            raise _errors.from_response(resp)
        log.debug("resumable upload session cancelled (HTTP %d)", resp.status_code)


#: Only the listing fields a `FileInfo` needs (a smaller response to send and parse).
LIST_FIELDS = "items(name,size,updated,etag,generation,contentType),prefixes,nextPageToken"


def list_pages(
    session: Any,
    base: str,
    bucket: str,
    *,
    prefix: str,
    delimiter: bool,
    max_results: int | None,
    timeout: tuple[float, float],
    retry: Retry | None,
) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    """``objects.list`` page by page (JSON API), lazily: each page is fetched when the previous
    one was consumed. Yields ``(items, prefixes)`` as the service returns them.

    Raises:
        ConfigError: The bucket does not exist.
        google.api_core.exceptions.GoogleAPICallError: The service refused otherwise.
    """
    url = f"{base}/storage/v1/b/{urllib.parse.quote(bucket, safe='')}/o"
    left = max_results
    params: dict[str, Any] = {"fields": LIST_FIELDS, "projection": "noAcl"}
    if prefix:
        params["prefix"] = prefix
    if delimiter:
        params["delimiter"] = "/"
    token: str | None = None
    while True:
        params["maxResults"] = min(left, 1000) if left is not None else 1000
        if token:
            params["pageToken"] = token

        def send() -> Any:
            resp = session.get(url, params=params, timeout=timeout)
            if resp.status_code == 404:  # a listing names no object: the bucket is missing
                raise ConfigError(f"GCS bucket {bucket!r} does not exist (objects.list: 404)")
            if resp.status_code != 200:
                raise _errors.from_response(resp)
            return resp.json()

        body = retry(send)() if retry is not None else send()
        items: list[dict[str, Any]] = body.get("items") or []
        if left is not None:
            items = items[:left]
            left -= len(items)
        yield items, list(body.get("prefixes") or ())
        token = body.get("nextPageToken")
        if not token or (left is not None and left <= 0):
            return
