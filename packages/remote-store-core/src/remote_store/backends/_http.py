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
import email.utils
import http.client
import io
import os
import ssl
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import IO, Any, Protocol

from remote_store import _path
from remote_store._backend import Backend
from remote_store._capabilities import Capability, CapabilitySet
from remote_store._log import get_logger
from remote_store._models import FileInfo, WriteResult
from remote_store._secret import Secret, is_secret_header, reveal
from remote_store._streams import RangeReader
from remote_store.errors import (
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)

log = get_logger("remote_store.http")

_FULL = CapabilitySet({Capability.READ, Capability.METADATA, Capability.LAZY_READ, Capability.SEEKABLE_READ})
_NO_RANGES = _FULL - {Capability.SEEKABLE_READ}
_MAX_REDIRECTS = 5
_CHUNK = 1024 * 1024
_IDEMPOTENT_RETRY = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


# ---------------------------------------------------------------------- errors
class HttpStatusError(Exception):
    """An HTTP status the backend does not handle itself; mapped by `translate_http_error`.

    Attributes:
        status: HTTP status code.
        reason: Reason phrase the server sent.
        key: Backend key the request was for ("" for the base URL).
    """

    def __init__(self, status: int, reason: str, key: str) -> None:
        self.status = status
        self.reason = reason
        self.key = key
        super().__init__(f"HTTP {status} {reason}".strip())


class FileChangedError(Exception):
    """The file changed on the server between two ranged reads of one open stream."""


def translate_http_error(exc: Exception, key: str | None) -> RemoteStoreError | None:
    """Map HTTP statuses and ``http.client`` / ``requests`` / TLS errors to `remote_store.errors`.

    404/410 → `NotFound`; 401/403/407 → `PermissionDenied`; 5xx, 408, 429, dropped or timed-out
    connections, truncated bodies and TLS failures → `BackendUnavailable`; a file that changed
    mid-read → `RemoteStoreError`. Returns None for anything else (the portable mapping applies).
    Messages carry the status and key, never header values or URL query strings.
    """
    if isinstance(exc, HttpStatusError):
        text = f"HTTP {exc.status} {exc.reason}".strip()
        path = key if key is not None else exc.key
        if exc.status in (404, 410):
            return NotFound(f"file not found ({text})", path=path)
        if exc.status in (401, 403, 407):
            return PermissionDenied(f"access denied ({text})", path=path)
        if exc.status >= 500 or exc.status in (408, 429):
            return BackendUnavailable(f"server error ({text})", path=path)
        if exc.status == 416:
            return RemoteStoreError(f"range not satisfiable ({text}); the file may have changed", path=path)
        return RemoteStoreError(f"unexpected HTTP status ({text})", path=path)
    if isinstance(exc, FileChangedError):
        return RemoteStoreError(f"file changed on the server while it was being read: {exc}", path=key)
    if isinstance(exc, ssl.SSLError):
        return BackendUnavailable(f"TLS error: {type(exc).__name__}: {exc.reason or exc}", path=key)
    if isinstance(exc, http.client.IncompleteRead):
        return BackendUnavailable(
            f"connection closed after {len(exc.partial)} bytes of the body (expected {exc.expected} more)", path=key
        )
    if isinstance(exc, http.client.HTTPException):
        return BackendUnavailable(f"HTTP protocol error: {type(exc).__name__}: {exc}", path=key)
    module = type(exc).__module__
    if module.startswith(("requests", "urllib3")):
        name = type(exc).__name__
        if "SSL" in name:
            return BackendUnavailable(f"TLS error: {name}", path=key)
        return BackendUnavailable(f"HTTP transport error: {name}", path=key)
    return None


# ---------------------------------------------------------------------- transports
class _Response(Protocol):
    status: int
    reason: str

    def header(self, name: str) -> str | None: ...

    def read(self, n: int = -1) -> bytes: ...

    def readinto(self, b: Any) -> int: ...

    def close(self) -> None: ...


class _ClientResponse:
    """An ``http.client`` response that hands its connection back to the pool when done."""

    def __init__(
        self, resp: http.client.HTTPResponse, conn: http.client.HTTPConnection, pool: _Pool, origin: _Origin
    ) -> None:
        self._resp = resp
        self._conn: http.client.HTTPConnection | None = conn
        self._pool = pool
        self._origin = origin
        self.status = resp.status
        self.reason = resp.reason or ""

    def header(self, name: str) -> str | None:
        return self._resp.getheader(name)

    def read(self, n: int = -1) -> bytes:
        data = self._resp.read() if n is None or n < 0 else self._resp.read(n)
        if self._resp.fp is None:
            self._release()
        return data

    def readinto(self, b: Any) -> int:
        n = self._resp.readinto(b)
        if self._resp.fp is None:
            self._release()
        return n

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # fp is None only when http.client saw the whole body: the connection is clean.
        if self._resp.fp is None and not self._resp.will_close:
            self._pool.put(self._origin, conn)
        else:
            conn.close()

    def close(self) -> None:
        if self._resp.fp is not None and self._resp.length is not None and 0 <= self._resp.length <= 65536:
            # A short unread tail: drain it so the connection can be reused.
            try:
                self._resp.read()
            except (OSError, http.client.HTTPException):
                pass
        self._release()
        self._resp.close()


_Origin = tuple[str, str, int]


class _Pool:
    """Keep-alive ``http.client`` connections, a few idle ones per (scheme, host, port)."""

    def __init__(self, timeout: float, ssl_context: ssl.SSLContext | None, max_idle: int) -> None:
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._max_idle = max_idle
        self._idle: dict[_Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _new(self, origin: _Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "https":
            ctx = self._ssl_context or ssl.create_default_context()
            return http.client.HTTPSConnection(host, port, timeout=self._timeout, context=ctx)
        return http.client.HTTPConnection(host, port, timeout=self._timeout)

    def get(self, origin: _Origin) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._pid != os.getpid():  # forked: never share sockets with the parent
                self._idle = {}
                self._pid = os.getpid()
            idle = self._idle.get(origin)
            if idle:
                return idle.pop(), True
        return self._new(origin), False

    def put(self, origin: _Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self._max_idle and self._pid == os.getpid():
                idle.append(conn)
                return
        conn.close()

    def request(self, method: str, url: str, headers: Mapping[str, str]) -> _Response:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        origin: _Origin = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        for attempt in range(2):
            conn, reused = self.get(origin)
            try:
                conn.request(method, target, headers=dict(headers))
                resp = conn.getresponse()
            except _IDEMPOTENT_RETRY:
                conn.close()
                if reused and attempt == 0:
                    continue  # the server closed an idle keep-alive connection; GET/HEAD are safe to resend
                raise
            except BaseException:
                conn.close()
                raise
            return _ClientResponse(resp, conn, self, origin)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle = {}
        for conn in conns:
            conn.close()


class _RequestsResponse:
    def __init__(self, resp: Any) -> None:
        self._resp = resp
        self.status = int(resp.status_code)
        self.reason = str(resp.reason or "")

    def header(self, name: str) -> str | None:
        value = self._resp.headers.get(name)
        return None if value is None else str(value)

    def read(self, n: int = -1) -> bytes:
        raw = self._resp.raw
        data = raw.read() if n is None or n < 0 else raw.read(n)
        return bytes(data or b"")

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._resp.close()


class _RequestsTransport:
    """A ``requests.Session`` (connection pooling by urllib3). Imported only when asked for."""

    def __init__(self, timeout: float, verify: bool | str) -> None:
        import requests

        self._requests = requests
        self._timeout = timeout
        self._verify = verify
        self._local = threading.local()
        self._sessions: list[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None or self._pid != os.getpid():
            session = self._requests.Session()
            session.trust_env = True
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
                self._pid = os.getpid()
        return session

    def request(self, method: str, url: str, headers: Mapping[str, str]) -> _Response:
        resp = self._session().request(
            method,
            url,
            headers=dict(headers),
            timeout=self._timeout,
            verify=self._verify,
            allow_redirects=False,
            stream=True,
        )
        return _RequestsResponse(resp)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()


class _Transport(Protocol):
    def request(self, method: str, url: str, headers: Mapping[str, str]) -> _Response: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------------- streams
class _BodyStream(io.RawIOBase):
    """A plain (non-seekable) streaming ``GET`` body; closing it releases the connection."""

    def __init__(self, resp: _Response) -> None:
        self._resp = resp

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return self._resp.readinto(memoryview(b).cast("B"))

    def close(self) -> None:
        if not self.closed:
            try:
                self._resp.close()
            finally:
                super().close()


class _SpoolingReader(io.RawIOBase):
    """A seekable stream over a plain streaming ``GET`` body, for servers that ignore ``Range``.

    Bytes are pulled from the body only as far as the caller reads or seeks, and kept in a
    spooled temp file (memory up to 8 MiB, then disk) so seeking back needs no new request.
    Used for the first read that reveals a server ignores ``Range`` while SEEKABLE_READ was
    still declared, so the stream keeps the promise the capability made.
    """

    def __init__(self, resp: _Response, size: int | None) -> None:
        import tempfile

        self._resp = resp
        self._size = size
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        self._have = 0
        self._eof = False
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def _pull_to(self, end: int | None) -> None:
        """Append body bytes to the spool until it holds ``end`` bytes (None = everything)."""
        while not self._eof and (end is None or self._have < end):
            want = _CHUNK if end is None else min(_CHUNK, end - self._have)
            chunk = self._resp.read(want)
            if not chunk:
                self._eof = True
                self._resp.close()
                break
            self._spool.seek(self._have)
            self._spool.write(chunk)
            self._have += len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            if self._size is None:
                self._pull_to(None)
            pos = (self._size if self._size is not None else self._have) + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        view = memoryview(b).cast("B")
        self._pull_to(self._pos + len(view))
        if self._pos >= self._have:
            return 0
        self._spool.seek(self._pos)
        n = self._spool.readinto(view[: self._have - self._pos])  # type: ignore[attr-defined]
        self._pos += n
        return int(n)

    def close(self) -> None:
        if not self.closed:
            try:
                self._resp.close()
                self._spool.close()
            finally:
                super().close()


class _SizedResponse:
    """A closed ranged response standing in for a ``HEAD`` answer: ``Content-Length`` is the full size."""

    def __init__(self, resp: _Response, size: int, status: int | None = None) -> None:
        self._resp = resp
        self._size = size
        self.status = status if status is not None else 200
        self.reason = resp.reason

    def header(self, name: str) -> str | None:
        if name.lower() == "content-length":
            return str(self._size)
        return self._resp.header(name)

    def read(self, n: int = -1) -> bytes:
        return b""

    def readinto(self, b: Any) -> int:
        return 0

    def close(self) -> None:
        return None


class _PrefetchedReader(io.BufferedReader):
    """`RangeReader` in a buffer; ``size`` exposes the object size (bytes)."""

    size: int


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _content_range_total(value: str | None) -> tuple[int, int, int | None] | None:
    """Parse ``bytes start-end/total`` (total may be ``*``) or ``bytes */total``."""
    if not value or not value.startswith("bytes "):
        return None
    spec, _, total = value[6:].partition("/")
    total_n = int(total) if total.strip().isdigit() else None
    if spec.strip() == "*":
        return (-1, -1, total_n)
    start, _, end = spec.partition("-")
    try:
        return (int(start), int(end), total_n)
    except ValueError:
        return None


def _strip_etag(etag: str | None) -> str | None:
    if not etag:
        return None
    tag = etag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip('"') or None


# ---------------------------------------------------------------------- backend
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
        timeout: Connect and read timeout in seconds, per request.
        verify: Verify the server's TLS certificate (True) or not (False).
        ca_file: PEM file of CA certificates to trust instead of the system store.
        block_size: Bytes fetched per ranged request (the read-ahead of `read` streams).
        use_requests: Send requests through a ``requests.Session`` (needs ``requests``;
            honours its proxy and ``.netrc`` settings) instead of the stdlib.
        ranges: True: the server supports ``Range``; False: never send ``Range``; None
            (default): assume it does until a response shows otherwise.
        max_idle_connections: Idle keep-alive connections kept per host (stdlib transport).

    Raises:
        ConfigError: ``base_url`` is not an absolute http(s) URL, ``block_size`` < 1,
            ``timeout`` <= 0, or ``use_requests`` without ``requests`` installed.
    """

    TYPE = "http"
    CAPABILITIES = _FULL

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str | Secret] | None = None,
        timeout: float = 30.0,
        verify: bool = True,
        ca_file: str | None = None,
        block_size: int = _CHUNK,
        use_requests: bool = False,
        ranges: bool | None = None,
        max_idle_connections: int = 8,
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
        if timeout <= 0:
            raise ConfigError("timeout must be > 0 seconds")
        self._base = urllib.parse.urlunsplit(parts)
        self._parts = parts
        self._headers = hdrs
        self._timeout = float(timeout)
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
        opts.update(
            timeout=self._timeout,
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
    def _get_transport(self) -> _Transport:
        transport = self._transport
        if transport is not None:
            return transport
        with self._lock:
            if self._transport is None:
                if self._use_requests:
                    verify: bool | str = self._ca_file if (self._verify and self._ca_file) else self._verify
                    self._transport = _RequestsTransport(self._timeout, verify)
                else:
                    self._transport = _Pool(self._timeout, self._ssl_context(), self._max_idle)
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
        return self._head(key, missing_ok=True) is not None

    def is_folder(self, key: str) -> bool:
        """Best effort: ``""`` is a folder; otherwise ``HEAD key/`` answering 2xx.

        Servers without folder indexes answer 403/404 there, so False is not proof that no
        file lies below ``key``. Raises `BackendUnavailable` on 5xx / network errors.
        """
        if not key:
            return True
        resp = self._request("HEAD", key, url=self.url_for(key) + "/")
        resp.close()
        if 200 <= resp.status < 300:
            return True
        if resp.status >= 500 or resp.status in (408, 429):
            raise HttpStatusError(resp.status, resp.reason, key)
        return False

    def stat(self, key: str) -> FileInfo:
        """``HEAD`` the key: size (``Content-Length``), ``ETag``, ``Last-Modified``, ``Content-Type``.

        Raises:
            NotFound: 404/410, or the URL is a folder.
            PermissionDenied: 401/403.
            BackendUnavailable: 5xx / network errors.
        """
        resp = self._head(key, missing_ok=False)
        assert resp is not None
        self._learn_ranges(resp)
        length = resp.header("Content-Length")
        size = int(length) if length is not None and length.strip().isdigit() else self._size_by_range(key)
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
        resp = self._request("HEAD", "", url=self._base)
        resp.close()
        if resp.status in (401, 403, 407) or resp.status >= 500:
            raise HttpStatusError(resp.status, resp.reason, "")

    # ------------------------------------------------------------------ reads
    def read_bytes(self, key: str) -> bytes:
        """One plain ``GET`` of the whole file.

        Raises:
            NotFound: 404/410. InvalidPath: the URL is a folder.
            BackendUnavailable: 5xx, network errors, or a body shorter than ``Content-Length``.
        """
        resp = self._request("GET", key)
        if resp.status != 200:
            raise self._fail(resp, key)
        try:
            return resp.read()
        finally:
            resp.close()

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
