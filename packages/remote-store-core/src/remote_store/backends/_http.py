"""`HttpBackend`: read-only files from any HTTP(S) server, with ``Range`` requests.

Keys become URLs below ``base_url`` (each key is percent-quoted, so no key can leave it).
Metadata comes from ``HEAD`` (``Content-Length``, ``ETag``, ``Last-Modified``,
``Content-Type``); reads are lazy and seekable through ``Range: bytes=start-end`` requests
guarded by ``If-Range``, so a file replaced on the server while it is being read raises an
error instead of mixing bytes of two versions. A server that ignores ``Range`` (answers
``200``) is detected and read with one streaming ``GET``.

Transport: the stdlib (``http.client`` connections kept alive in a small pool per host),
or a ``requests.Session`` when ``use_requests=True`` and ``requests`` is installed.
"""

from __future__ import annotations

import base64
import http.client
import io
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, TypeVar

from remote_store import _path
from remote_store._backend import Backend
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._log import get_logger
from remote_store._models import FileInfo, WriteResult
from remote_store._secret import Secret, is_secret_header, reveal
from remote_store._streams import RangeReader
from remote_store.backends import _http_retry
from remote_store.backends._http_errors import FileChangedError, HttpStatusError, translate_http_error
from remote_store.backends._http_streams import (
    _CHUNK,
    _BodyStream,
    _content_range_total,
    _parse_http_date,
    _PrefetchedReader,
    _SizedResponse,
    _SpoolingReader,
    _strip_etag,
)
from remote_store.backends._http_transport import _Pool, _RequestsTransport, _Response, _Transport
from remote_store.errors import (
    CapabilityNotSupported,
    ConfigError,
    InvalidPath,
    NotFound,
    RemoteStoreError,
)
from remote_store.kit._options import to_seconds
from remote_store.kit._retry import RetryPolicy

log = get_logger("remote_store.http")
T = TypeVar("T")

_FULL = CapabilitySet({Capability.READ, Capability.METADATA, Capability.LAZY_READ, Capability.SEEKABLE_READ})
_NO_RANGES = _FULL - {Capability.SEEKABLE_READ}
_MAX_REDIRECTS = 5


class HttpBackend(Backend):
    """Read-only files served over HTTP(S); keys are URL paths below ``base_url``.

    ``exists``/``is_file``/``get_file_info`` send ``HEAD``; ``read`` sends ranged ``GET``
    requests of ``block_size`` bytes (lazy and seekable) validated with ``If-Range``;
    ``read_bytes`` sends one plain ``GET``. ``is_folder`` is best effort: ``HEAD key/``
    answering 2xx means a folder. There is no listing (HTTP has no portable one), so LIST,
    GLOB and every write capability are absent and `Store` refuses those calls with
    `CapabilityNotSupported`.

    Capabilities: READ, METADATA, LAZY_READ, SEEKABLE_READ. With ``ranges=False``, or once
    a response shows the server ignores ``Range`` (it answers ``200`` to a ranged request),
    SEEKABLE_READ is dropped and reads are one streaming ``GET`` (still lazy: closing the
    stream early stops the download; `Store.read_seekable` then spools a copy). The read
    that discovers it still returns a seekable stream, spooling only what it reads.

    Args:
        base_url: ``http://`` or ``https://`` URL of the folder the keys live in. A path
            without a trailing ``/`` gets one. ``user:password@`` in it becomes a Basic
            ``Authorization`` header (kept as a `Secret`).
        headers: Extra request headers (``{"Authorization": "Bearer …"}``). Credential
            headers (Authorization, Proxy-Authorization, Cookie, X-Api-Key, any name
            containing token/secret/auth/key) are held as `Secret` and masked in reprs
            and logs; values may already be `Secret`. They are dropped on redirects to another host.
        timeout: The former single timeout: when given, both ``connect_timeout`` and
            ``read_timeout`` (seconds, > 0).
        connect_timeout: Seconds to wait for a TCP (and TLS) connection (> 0; default 10).
        read_timeout: Seconds to wait for data on an open connection (> 0; default 60).
        retries: Retries after a failed first attempt (0-100; default 2). Every request of
            this backend is a ``GET`` or ``HEAD`` (idempotent), retried through
            `remote_store.kit.RetryPolicy.call` together with reading its body, so a body
            cut short is fetched again (a block of a ranged read with ``If-Range``), never
            returned short. A stream of a server without ``Range`` cannot resume and raises
            `BackendUnavailable` instead.
        retry_backoff: Seconds before the first retry (≥ 0; default 0.5), doubling.
        retry_backoff_max: Longest wait between attempts in seconds (≥ 0; default 10).
        retry_budget: Seconds one call may spend, attempts and waits included (≥ 0; default 120).
        retry_on: Failure categories retried: ``connection``, ``timeout`` (and 408),
            ``throttling`` (429, 503), ``server`` (other 5xx but 501/505); a set, a
            comma-separated string, ``"all"`` (default) or ``"none"``.
        verify: Verify the server's TLS certificate (True) or not (False).
        ca_file: PEM file of CA certificates to trust instead of the system store.
        block_size: Bytes fetched per ranged request (the read-ahead of `read` streams).
        use_requests: Send requests through a ``requests.Session`` (needs ``requests``;
            honours its proxy and ``.netrc`` settings) instead of the stdlib.
        ranges: True: the server supports ``Range``; False: never send ``Range``; None
            (default): assume it does until a response shows otherwise.
        max_idle_connections: Idle keep-alive connections kept per host (stdlib transport).

    Raises:
        ConfigError: ``base_url`` is not an absolute http(s) URL, ``block_size`` < 1, a
            timeout <= 0, a retry option out of range, or ``use_requests`` without
            ``requests`` installed.
    """

    TYPE = "http"
    CAPABILITIES = _FULL

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str | Secret] | None = None,
        timeout: float | None = None,
        verify: bool = True,
        ca_file: str | None = None,
        block_size: int = _CHUNK,
        use_requests: bool = False,
        ranges: bool | None = None,
        max_idle_connections: int = 8,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        retries: int | None = None,
        retry_backoff: float | None = None,
        retry_backoff_max: float | None = None,
        retry_budget: float | None = None,
        retry_on: str | Iterable[str] | None = None,
    ) -> None:
        base = reveal(base_url)
        if not isinstance(base, str):
            raise ConfigError("HttpBackend needs a 'base_url' string")
        parts = urllib.parse.urlsplit(base)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base_url must be an absolute http:// or https:// URL, got scheme {parts.scheme!r}")
        hdrs: dict[str, str | Secret] = {}
        for name, value in (headers or {}).items():
            if not isinstance(name, str) or not isinstance(value, (str, Secret)):
                raise ConfigError("headers must map header names (str) to str or Secret values")
            hdrs[name] = Secret(value) if is_secret_header(name) and not isinstance(value, Secret) else value
        if parts.username is not None:
            userinfo = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            basic = "Basic " + base64.b64encode(userinfo.encode()).decode()
            hdrs.setdefault("Authorization", Secret(basic))
            netloc = parts.hostname if ":" not in (parts.hostname or "") else f"[{parts.hostname}]"
            if parts.port:
                netloc = f"{netloc}:{parts.port}"
            parts = parts._replace(netloc=netloc)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        parts = parts._replace(path=path, fragment="")
        if block_size < 1:
            raise ConfigError("block_size must be >= 1 byte")
        if timeout is not None:
            if connect_timeout is not None or read_timeout is not None:
                raise ConfigError("give 'timeout' or 'connect_timeout' / 'read_timeout', not both", path="timeout")
            connect_timeout = read_timeout = to_seconds("timeout", timeout)
        tuning = _http_retry.parse(
            {
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "retries": retries,
                "retry_backoff": retry_backoff,
                "retry_backoff_max": retry_backoff_max,
                "retry_budget": retry_budget,
                "retry_on": retry_on,
            }
        )
        self._tuning = tuning
        self._policy = RetryPolicy.from_options(tuning)
        self._base = urllib.parse.urlunsplit(parts)
        self._parts = parts
        self._headers = hdrs
        self._connect_timeout = float(tuning["connect_timeout"])
        self._read_timeout = float(tuning["read_timeout"])
        self._verify = bool(verify)
        self._ca_file = ca_file
        self._block_size = int(block_size)
        self._use_requests = bool(use_requests)
        self._ranges_opt = ranges
        self._ranges_ok: bool | None = ranges
        self._max_idle = int(max_idle_connections)
        if use_requests:
            try:
                import requests  # noqa: F401
            except ImportError:
                raise ConfigError(
                    "use_requests=True needs the requests package: pip install 'remote-store-core[requests]'"
                ) from None
        self._transport: _Transport | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ identity
    @property
    def base_url(self) -> str:
        """The normalised base URL (with trailing ``/``, without credentials)."""
        return self._base

    @property
    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"base_url": self._base}
        if self._headers:
            opts["headers"] = dict(self._headers)
        for name, value in self._tuning.items():
            row = _http_retry.OPTIONS.rows[name]
            if value != row.default:
                opts[name] = sorted(value) if name == "retry_on" else value
        opts.update(
            verify=self._verify,
            ca_file=self._ca_file,
            block_size=self._block_size,
            use_requests=self._use_requests,
            ranges=self._ranges_opt,
            max_idle_connections=self._max_idle,
        )
        return opts

    @property
    def capabilities(self) -> CapabilitySet:
        """READ, METADATA, LAZY_READ and — unless the server ignores ``Range`` — SEEKABLE_READ."""
        return _NO_RANGES if self._ranges_ok is False else _FULL

    def url_for(self, key: str) -> str:
        """The URL of ``key``: ``base_url`` + the percent-quoted key (``/`` kept). No I/O."""
        return self._base_for(key, self._base)

    def _base_for(self, key: str, base: str) -> str:
        parts = urllib.parse.urlsplit(base)
        return urllib.parse.urlunsplit(parts._replace(path=parts.path + urllib.parse.quote(key, safe="/")))

    def native_path(self, key: str) -> str:
        return self.url_for(key)

    def to_key(self, native: str) -> str:
        parts = urllib.parse.urlsplit(native)
        if not parts.scheme:
            return native
        base_path = self._parts.path
        same = (parts.scheme.lower(), parts.hostname, parts.port) == (
            self._parts.scheme.lower(),
            self._parts.hostname,
            self._parts.port,
        )
        if not same or not parts.path.startswith(base_path):
            raise InvalidPath("URL is outside this backend's base_url", path=native)
        return urllib.parse.unquote(parts.path[len(base_path) :])

    # ------------------------------------------------------------------ transport
    @property
    def retry_policy(self) -> RetryPolicy:
        """The `RetryPolicy` every request of this backend runs under (see the class docstring)."""
        return self._policy

    def _retrying(self, attempt: Callable[[], T]) -> T:
        """Run one idempotent unit (request and body read) under the retry policy."""
        return self._policy.call(attempt, classify=_http_retry.classify, idempotent=True)

    def _get_transport(self) -> _Transport:
        transport = self._transport
        if transport is not None:
            return transport
        with self._lock:
            if self._transport is None:
                if self._use_requests:
                    verify: bool | str = self._ca_file if (self._verify and self._ca_file) else self._verify
                    self._transport = _RequestsTransport((self._connect_timeout, self._read_timeout), verify)
                else:
                    self._transport = _Pool(
                        self._connect_timeout, self._ssl_context(), self._max_idle, read_timeout=self._read_timeout
                    )
            return self._transport

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self._parts.scheme.lower() != "https":
            return None
        ctx = ssl.create_default_context(cafile=self._ca_file)
        if not self._verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def close(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def _request(
        self, method: str, key: str, extra: Mapping[str, str] | None = None, *, url: str | None = None
    ) -> _Response:
        """Send ``method`` for ``key``, following up to 5 redirects.

        Credential headers are sent only to the base URL's origin. A redirect from ``key``
        to ``key/`` (how static servers answer a folder) raises `InvalidPath`.
        """
        url = url or self.url_for(key)
        origin = (self._parts.scheme.lower(), self._parts.hostname, self._parts.port)
        transport = self._get_transport()
        for _ in range(_MAX_REDIRECTS + 1):
            parts = urllib.parse.urlsplit(url)
            same_origin = (parts.scheme.lower(), parts.hostname, parts.port) == origin
            headers = {"Accept-Encoding": "identity", "User-Agent": "remote-store"}
            for name, value in self._headers.items():
                if same_origin or not isinstance(value, Secret):
                    headers[name] = reveal(value) or ""
            headers.update(extra or {})
            resp = transport.request(method, url, headers)
            if resp.status not in (301, 302, 303, 307, 308):
                return resp
            location = resp.header("Location")
            resp.close()
            if not location:
                raise HttpStatusError(resp.status, "redirect without Location", key)
            new_url = urllib.parse.urljoin(url, location)
            if key and urllib.parse.urlsplit(new_url).path == parts.path + "/":
                raise InvalidPath("is a folder (the server redirects it to a folder URL)", path=key)
            url = new_url
        raise HttpStatusError(310, "too many redirects", key)

    @staticmethod
    def _fail(resp: _Response, key: str) -> HttpStatusError:
        resp.close()
        return HttpStatusError(resp.status, resp.reason, key)

    # ------------------------------------------------------------------ metadata
    def _head(self, key: str, *, missing_ok: bool) -> _Response | None:
        """HEAD ``key``: the response on 2xx; None on 404/410 or a folder redirect when ``missing_ok``."""
        try:
            resp = self._request("HEAD", key)
        except InvalidPath:
            if missing_ok:
                return None
            raise NotFound("file not found (the URL is a folder)", path=key) from None
        resp.close()
        if resp.status in (405, 501):  # HEAD refused (e.g. a URL signed for GET only)
            resp = self._probe_get(key)
        if 200 <= resp.status < 300:
            return resp
        if missing_ok and resp.status in (404, 410):
            return None
        raise HttpStatusError(resp.status, resp.reason, key)

    def _probe_get(self, key: str) -> _Response:
        """Metadata without ``HEAD``: ``GET`` with ``Range: bytes=0-0``; the size comes from ``Content-Range``."""
        resp = self._request("GET", key, {"Range": "bytes=0-0"})
        resp.close()
        if resp.status == 206:
            cr = _content_range_total(resp.header("Content-Range"))
            if cr is not None and cr[2] is not None:
                return _SizedResponse(resp, cr[2])
        if resp.status == 416:
            return _SizedResponse(resp, 0, status=200)
        return resp

    def exists(self, key: str) -> bool:
        """``HEAD`` the key: True on 2xx, False on 404/410 or when the URL is a folder.

        Raises:
            PermissionDenied: 401/403.
            BackendUnavailable: 5xx, timeouts, connection errors.
        """
        return self._retrying(lambda: self._head(key, missing_ok=True)) is not None

    def is_folder(self, key: str) -> bool:
        """Best effort: ``""`` is a folder; otherwise ``HEAD key/`` answering 2xx.

        Servers without folder indexes answer 403/404 there, so False is not proof that no
        file lies below ``key``. Raises `BackendUnavailable` on 5xx / network errors.
        """
        if not key:
            return True

        def attempt() -> bool:
            resp = self._request("HEAD", key, url=self.url_for(key) + "/")
            resp.close()
            if 200 <= resp.status < 300:
                return True
            if resp.status >= 500 or resp.status in (408, 429):
                raise HttpStatusError(resp.status, resp.reason, key)
            return False

        return self._retrying(attempt)

    def stat(self, key: str) -> FileInfo:
        """``HEAD`` the key: size (``Content-Length``), ``ETag``, ``Last-Modified``, ``Content-Type``.

        Raises:
            NotFound: 404/410, or the URL is a folder.
            PermissionDenied: 401/403.
            BackendUnavailable: 5xx / network errors.
        """
        resp = self._retrying(lambda: self._head(key, missing_ok=False))
        assert resp is not None
        self._learn_ranges(resp)
        length = resp.header("Content-Length")
        if length is not None and length.strip().isdigit():
            size = int(length)
        else:
            size = self._retrying(lambda: self._size_by_range(key))
        return FileInfo(
            path=key,
            name=_path.basename(key),
            size=size,
            modified_at=_parse_http_date(resp.header("Last-Modified")),
            etag=_strip_etag(resp.header("ETag")),
            content_type=resp.header("Content-Type"),
        )

    def _size_by_range(self, key: str) -> int:
        """Size for servers whose HEAD omits ``Content-Length``: ``GET`` with ``Range: bytes=0-0``."""
        resp = self._request("GET", key, {"Range": "bytes=0-0"})
        try:
            if resp.status == 206:
                cr = _content_range_total(resp.header("Content-Range"))
                if cr is not None and cr[2] is not None:
                    return cr[2]
            if resp.status == 416:
                cr = _content_range_total(resp.header("Content-Range"))
                return cr[2] if cr is not None and cr[2] is not None else 0
            if resp.status == 200:
                total = 0
                while chunk := resp.read(_CHUNK):
                    total += len(chunk)
                return total
            raise HttpStatusError(resp.status, resp.reason, key)
        finally:
            resp.close()

    def _learn_ranges(self, resp: _Response) -> None:
        if self._ranges_opt is None and self._ranges_ok is None:
            accept = (resp.header("Accept-Ranges") or "").lower()
            if accept == "bytes":
                self._ranges_ok = True
            elif accept == "none":
                self._ranges_ok = False

    def ping(self) -> None:
        """``HEAD`` the base URL: any answer below 500 proves the server is reachable.

        Raises:
            PermissionDenied: 401/403 (the credentials are refused).
            BackendUnavailable: 5xx, timeout, connection refused, TLS failure.
        """

        def attempt() -> None:
            resp = self._request("HEAD", "", url=self._base)
            resp.close()
            if resp.status in (401, 403, 407) or resp.status >= 500:
                raise HttpStatusError(resp.status, resp.reason, "")

        self._retrying(attempt)

    # ------------------------------------------------------------------ reads
    def read_bytes(self, key: str) -> bytes:
        """One plain ``GET`` of the whole file.

        Raises:
            NotFound: 404/410. InvalidPath: the URL is a folder.
            BackendUnavailable: 5xx, network errors, or a body shorter than ``Content-Length``.
        """

        def attempt() -> bytes:
            resp = self._request("GET", key)
            if resp.status != 200:
                raise self._fail(resp, key)
            try:
                return resp.read()
            finally:
                resp.close()

        return self._retrying(attempt)

    def open_read(self, key: str) -> IO[bytes]:
        """Open a lazy stream.

        With range support: one ``GET`` of the first ``block_size`` bytes (``Range:
        bytes=0-N``) learns the size and validator; later reads fetch further blocks with
        ``If-Range`` and the stream is seekable. Without it: a streaming ``GET`` (made
        seekable by spooling when this is the read that discovers the server ignores ``Range``).

        Raises:
            NotFound: 404/410. InvalidPath: the URL is a folder.
            PermissionDenied: 401/403. BackendUnavailable: 5xx / network errors.
            RemoteStoreError: later, from ``read()``, when the file changed on the server.
        """
        return self._retrying(lambda: self._open_read(key))

    def _open_read(self, key: str) -> IO[bytes]:
        if self._ranges_ok is False:
            resp = self._request("GET", key)
            if resp.status != 200:
                raise self._fail(resp, key)
            return io.BufferedReader(_BodyStream(resp), buffer_size=min(self._block_size, _CHUNK))  # type: ignore[return-value]
        resp = self._request("GET", key, {"Range": f"bytes=0-{self._block_size - 1}"})
        if resp.status == 416:
            cr = _content_range_total(resp.header("Content-Range"))
            resp.close()
            if cr is None or not cr[2]:
                return io.BytesIO(b"")  # an empty file: no byte range is satisfiable
            raise HttpStatusError(416, "Range Not Satisfiable", key)
        if resp.status == 200 and (resp.header("Content-Length") or "").strip() == "0":
            resp.close()
            return io.BytesIO(b"")  # some servers answer 200 (not 416) for an empty file
        if resp.status == 200:
            # The server ignored Range: stop sending it. This call was made while SEEKABLE_READ
            # was declared, so keep that promise with a lazily spooling seekable stream.
            if self._ranges_opt is None:
                self._ranges_ok = False
                log.info("server ignores Range; %s reads will stream whole files", self._parts.hostname)
            length = resp.header("Content-Length")
            size = int(length) if length is not None and length.strip().isdigit() else None
            return io.BufferedReader(_SpoolingReader(resp, size), buffer_size=min(self._block_size, _CHUNK))  # type: ignore[return-value]
        if resp.status != 206:
            raise self._fail(resp, key)
        try:
            cr = _content_range_total(resp.header("Content-Range"))
            first = resp.read()
        finally:
            resp.close()
        if cr is None or cr[0] != 0 or cr[2] is None:
            raise HttpStatusError(206, "partial content without a usable Content-Range", key)
        if self._ranges_opt is None:
            self._ranges_ok = True
        size = cr[2]
        etag = resp.header("ETag")
        validator = etag if etag and not etag.startswith("W/") else resp.header("Last-Modified")
        reader = _RangedFile(self, key, size, validator, first)
        stream = _PrefetchedReader(RangeReader(reader.fetch, size), buffer_size=self._block_size)
        stream.size = size
        return stream

    def _fetch(self, key: str, start: int, length: int, size: int, validator: str | None) -> bytes:
        """``GET`` bytes ``start``…``start+length-1`` with ``If-Range``; verify the answer is that slice."""
        return self._retrying(lambda: self._fetch_once(key, start, length, size, validator))

    def _fetch_once(self, key: str, start: int, length: int, size: int, validator: str | None) -> bytes:
        end = start + length - 1
        extra = {"Range": f"bytes={start}-{end}"}
        if validator:
            extra["If-Range"] = validator
        resp = self._request("GET", key, extra)
        try:
            if resp.status == 206:
                cr = _content_range_total(resp.header("Content-Range"))
                if cr is None or cr[0] != start or (cr[2] is not None and cr[2] != size):
                    raise FileChangedError(f"expected bytes {start}-{end}/{size}, got {resp.header('Content-Range')}")
                data = resp.read()
                if len(data) != cr[1] - cr[0] + 1:
                    raise http.client.IncompleteRead(data, cr[1] - cr[0] + 1 - len(data))
                return data
            if resp.status == 200:
                if validator:
                    raise FileChangedError("If-Range no longer matches (the server sent the new version)")
                raise FileChangedError("the server stopped honouring Range requests")
            if resp.status == 416:
                raise FileChangedError(f"bytes {start}-{end} are no longer satisfiable (the file shrank)")
            if resp.status == 412:
                raise FileChangedError("precondition failed")
            raise HttpStatusError(resp.status, resp.reason, key)
        finally:
            resp.close()

    # ------------------------------------------------------------------ unsupported (gated by Store)
    def write(self, key: str, stream: IO[bytes], *, overwrite: bool, metadata: Mapping[str, str]) -> WriteResult:
        """Not supported: HTTP backends are read-only (`Store` refuses before calling it)."""
        raise CapabilityNotSupported("the http backend is read-only", path=key, backend="http", capability="WRITE")

    def delete(self, key: str, *, missing_ok: bool = False) -> None:
        """Not supported: HTTP backends are read-only."""
        raise CapabilityNotSupported("the http backend is read-only", path=key, backend="http", capability="DELETE")

    def iter_files(self, prefix: str, *, recursive: bool, max_depth: int | None = None) -> Iterator[FileInfo]:
        """Not supported: HTTP has no portable listing (no LIST capability)."""
        raise CapabilityNotSupported("HTTP has no listing", path=prefix, backend="http", capability="LIST")

    def iter_folders(self, prefix: str) -> Iterator[str]:
        """Not supported: HTTP has no portable listing (no LIST capability)."""
        raise CapabilityNotSupported("HTTP has no listing", path=prefix, backend="http", capability="LIST")

    def translate_error(self, exc: Exception, key: str | None) -> RemoteStoreError | None:
        return translate_http_error(exc, key)


class _RangedFile:
    """Fetch state of one open stream: the first block prefetched, the rest on demand."""

    def __init__(self, backend: HttpBackend, key: str, size: int, validator: str | None, first: bytes) -> None:
        self._backend = backend
        self._key = key
        self._size = size
        self._validator = validator
        self._first = first

    def fetch(self, start: int, length: int) -> bytes:
        first = self._first
        if start < len(first):
            # Serve what the opening request already fetched; fetch only the rest.
            head = first[start : start + length]
            if len(head) == length or start + len(head) >= self._size:
                return head
            return head + self._backend._fetch(
                self._key, start + len(head), length - len(head), self._size, self._validator
            )
        return self._backend._fetch(self._key, start, length, self._size, self._validator)
