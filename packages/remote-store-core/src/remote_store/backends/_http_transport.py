"""Transports of `HttpBackend`: a keep-alive ``http.client`` pool, or a ``requests.Session``.

Both return responses through one small `_Response` protocol, so the backend never sees
which transport is in use.
"""

from __future__ import annotations

import http.client
import os
import ssl
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any, Protocol

_IDEMPOTENT_RETRY = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


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

    def __init__(
        self, timeout: float, ssl_context: ssl.SSLContext | None, max_idle: int, read_timeout: float | None = None
    ) -> None:
        self._timeout = timeout
        self._read_timeout = timeout if read_timeout is None else read_timeout
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
                if conn.sock is None:
                    conn.connect()  # within the connect timeout; then wait for data up to the read timeout
                    if conn.sock is not None:
                        conn.sock.settimeout(self._read_timeout)
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

    def __init__(self, timeout: float | tuple[float, float], verify: bool | str) -> None:
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
