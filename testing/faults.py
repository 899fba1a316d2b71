"""An HTTP-aware fault-injecting proxy on 127.0.0.1, for moto, Azurite, fake-gcs-server and the HTTP test server.

`FaultProxy` listens on a free loopback port and forwards each request to one upstream
server, one request per connection (it rewrites ``Connection: close`` both ways), so it can
tell requests apart without parsing keep-alive streams. Rules armed with `FaultProxy.add`
(or the helpers named after what they do) match a request by method and regular
expressions on its path and query string, and fire on the next ``times`` matches:

==============  ============================================================  ==============
action          what the client sees                                          server saw it
==============  ============================================================  ==============
``reset``       a connection reset before any answer                          no
``drop``        a connection reset once the server started answering           yes
``cut``         the status line, headers and ``after_bytes`` body bytes, then  yes
                a reset (a body cut mid-stream)
``stall``       nothing for ``seconds`` (past its read timeout), then a reset  yes
``status``      an answer the proxy made up (``status``, ``headers``,           no
                ``body``): 500, 503, S3 ``SlowDown``, Azure ``ServerBusy`` …
==============  ============================================================  ==============

``Location`` headers that name the upstream are rewritten to name the proxy (so a
resumable-upload session URL stays behind it). Every request is logged in `FaultProxy.requests` (``(method, path?query)``, arrival order);
every injected fault in `FaultProxy.injected` (``(action, method, path)``). `FaultTally`
counts faults injected and survived per backend and prints one summary line per backend
at the end of the run (the ``fault_tally`` fixture).

Example::

    proxy = FaultProxy(moto_port)
    proxy.respond("PUT", r"/bucket/key$", status=503, body=S3_SLOW_DOWN, times=2)
    s3 = S3Backend("bucket", endpoint_url=proxy.url, ...)
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

#: S3's throttling answer (HTTP 503).
S3_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>injected</RequestId></Error>"
)
#: S3's internal error answer (HTTP 500).
S3_INTERNAL_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message><RequestId>injected</RequestId></Error>"
)
#: Azure Storage's throttling answer body (HTTP 503, header ``x-ms-error-code: ServerBusy``).
AZURE_SERVER_BUSY = (
    b'<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>'
    b"<Message>The server is busy.</Message></Error>"
)

ACTIONS = ("reset", "drop", "cut", "stall", "status")


@dataclass
class Rule:
    """One armed fault; see the module table for the actions.

    Attributes:
        action: One of `ACTIONS`.
        method: HTTP method to match (upper case), or None for any.
        path: Regular expression searched in the request path.
        query: Regular expression searched in the query string (``""`` matches any).
        times: Matches left before the rule stops firing.
        status: Status of a ``status`` answer.
        headers: Extra headers of a ``status`` answer.
        body: Body of a ``status`` answer.
        after_bytes: Body bytes a ``cut`` lets through before the reset.
        seconds: How long a ``stall`` holds the connection.
        fired: How often the rule fired.
    """

    action: str
    method: str | None
    path: re.Pattern[str]
    query: re.Pattern[str]
    times: int
    status: int = 503
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    after_bytes: int = 0
    seconds: float = 0.0
    fired: int = 0

    def matches(self, method: str, path: str, query: str) -> bool:
        """Whether the rule fires for this request (and has matches left)."""
        return (
            self.times > 0
            and (self.method is None or self.method == method)
            and self.path.search(path) is not None
            and self.query.search(query) is not None
        )


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP RST (SO_LINGER 0), not an orderly FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _read_head(sock: socket.socket) -> tuple[bytes, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _read_chunked(sock: socket.socket, body: bytes) -> bytes | None:
    """Read a chunked request body (``body`` holds what already arrived); return it raw."""
    pos = 0
    while True:
        while b"\r\n" not in body[pos:]:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
        line_end = body.index(b"\r\n", pos)
        size = int(body[pos:line_end].split(b";")[0].strip() or b"0", 16)
        need = line_end + 2 + size + 2
        if size == 0:  # the last chunk: the (possibly empty) trailer section ends with an empty line
            while b"\r\n\r\n" not in body[line_end:]:
                chunk = sock.recv(65536)
                if not chunk:
                    return None
                body += chunk
            return body
        while len(body) < need:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
        pos = need


class FaultProxy:
    """A fault-injecting HTTP proxy on 127.0.0.1 in front of one upstream server.

    Args:
        upstream_port: Port of the server on ``upstream_host``.
        upstream_host: Its address (loopback).

    Attributes:
        port: The proxy's own port on 127.0.0.1.
        requests: ``(method, path?query)`` of every request that reached the proxy.
        injected: ``(action, method, path)`` of every fault injected.
        dropped: ``(method, path)`` of every ``drop`` (answers the server gave that were lost).
        on_request: Called as ``on_request(method, target, rule)`` for every request, after
            the rule look-up and before anything is forwarded (to stage a race).
    """

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._rules: list[Rule] = []
        self._headers: list[tuple[re.Pattern[str], str]] = []
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.injected: list[tuple[str, str, str]] = []
        self.dropped: list[tuple[str, str]] = []
        self.on_request: Callable[[str, str, Rule | None], None] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="fault-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the proxy."""
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ arming
    def add(
        self,
        action: str,
        method: str | None = None,
        path: str = "",
        *,
        query: str = "",
        times: int = 1,
        status: int = 503,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        after_bytes: int = 0,
        seconds: float = 0.0,
    ) -> Rule:
        """Arm a fault for the next ``times`` requests matching ``method`` / ``path`` / ``query``.

        Args:
            action: One of `ACTIONS`.
            method: HTTP method, or None for any.
            path: Regular expression searched in the path (``""`` = any path).
            query: Regular expression searched in the query string (``""`` = any).
            times: How many matching requests get the fault.
            status: Status of a ``status`` answer.
            headers: Extra headers of a ``status`` answer.
            body: Body of a ``status`` answer.
            after_bytes: Body bytes a ``cut`` forwards before it resets the connection.
            seconds: Length of a ``stall``.

        Returns:
            The armed `Rule` (its ``fired`` counts the faults it injected).

        Raises:
            ValueError: An unknown action.
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown fault action {action!r} (known: {', '.join(ACTIONS)})")
        rule = Rule(
            action,
            method.upper() if method else None,
            re.compile(path),
            re.compile(query),
            times,
            status=status,
            headers=tuple((headers or {}).items()),
            body=body,
            after_bytes=after_bytes,
            seconds=seconds,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def reset(self, method: str | None, path: str = "", **kw: Any) -> Rule:
        """Reset the next matching requests before forwarding them (the server never sees them)."""
        return self.add("reset", method, path, **kw)

    def drop(self, method: str | None, path: str = "", **kw: Any) -> Rule:
        """Forward the next matching requests and lose their answers (the work is done)."""
        return self.add("drop", method, path, **kw)

    def cut(self, method: str | None, path: str = "", *, after_bytes: int, **kw: Any) -> Rule:
        """Forward the next matching requests and reset after ``after_bytes`` body bytes."""
        return self.add("cut", method, path, after_bytes=after_bytes, **kw)

    def stall(self, method: str | None, path: str = "", *, seconds: float, **kw: Any) -> Rule:
        """Forward the next matching requests, send nothing for ``seconds``, then reset."""
        return self.add("stall", method, path, seconds=seconds, **kw)

    def respond(self, method: str | None, path: str = "", *, status: int, **kw: Any) -> Rule:
        """Answer the next matching requests with ``status`` without forwarding them."""
        return self.add("status", method, path, status=status, **kw)

    def add_response_header(self, query: str, header: str) -> None:
        """Add ``header`` (``"Name: value"``) to every answer to a request whose query string
        matches the regular expression ``query``."""
        with self._lock:
            self._headers.append((re.compile(query), header))

    def clear(self) -> None:
        """Disarm every rule (the logs stay)."""
        with self._lock:
            self._rules.clear()

    def count(self, method: str, path: str = "", query: str = "") -> int:
        """Requests logged whose method is ``method`` and whose path / query match the regexes."""
        p, q = re.compile(path), re.compile(query)
        return sum(
            1
            for m, t in list(self.requests)
            if m == method and p.search(t.partition("?")[0]) and q.search(t.partition("?")[2])
        )

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ serving
    def _match(self, method: str, target: str) -> Rule | None:
        """Log the request and return the rule that fires for it (consuming one match), if any."""
        path, _, query = target.partition("?")
        with self._lock:
            self.requests.append((method, target))
            for rule in self._rules:
                if rule.matches(method, path, query):
                    rule.times -= 1
                    rule.fired += 1
                    self.injected.append((rule.action, method, path))
                    if rule.action == "drop":
                        self.dropped.append((method, path))
                    return rule
        return None

    def _serve(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            self._exchange(client)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                client.close()

    def _exchange(self, client: socket.socket) -> None:
        got = _read_head(client)
        if got is None:
            return
        head, body = got
        lines = head.decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        headers = [h for h in lines[1:] if not h.lower().startswith(("connection:", "keep-alive:", "expect:"))]
        if any(h.lower().replace(" ", "") == "expect:100-continue" for h in lines[1:]) and not body:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # answer it here: the body follows at once
        length, chunked = 0, False
        for h in headers:
            name, _, value = h.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            full = _read_chunked(client, body)
            if full is None:
                return
            body = full
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                return
            body += chunk
        rule = self._match(method, target)
        if self.on_request is not None:
            self.on_request(method, target, rule)
        if rule is not None and rule.action == "reset":
            _reset(client)
            return
        if rule is not None and rule.action == "status":
            extra = "".join(f"{k}: {v}\r\n" for k, v in rule.headers)
            answer = (
                f"HTTP/1.1 {rule.status} Injected\r\n{extra}Content-Length: {len(rule.body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode("latin-1")
            client.sendall(answer + (rule.body if method != "HEAD" else b""))
            return
        with socket.create_connection(self._upstream) as upstream:
            request = "\r\n".join([lines[0], *headers, "Connection: close"]).encode("latin-1") + b"\r\n\r\n" + body
            upstream.sendall(request)
            if rule is not None and rule.action in ("drop", "stall"):
                upstream.recv(1)  # the server has processed the request and started answering
                if rule.action == "stall":
                    time.sleep(rule.seconds)
                _reset(client)
                return
            self._relay(client, upstream, target, rule)

    def _rewrite_location(self, header: bytes) -> bytes:
        """A ``Location`` naming the upstream names the proxy instead (resumable-upload
        session URLs, redirects), so follow-up requests pass through the proxy too."""
        if not header.lower().startswith(b"location:"):
            return header
        host, port = self._upstream
        upstream = f"{host}:{port}".encode()
        return header.replace(upstream, f"127.0.0.1:{self.port}".encode())

    def _relay(self, client: socket.socket, upstream: socket.socket, target: str, rule: Rule | None) -> None:
        query = target.partition("?")[2]
        with self._lock:
            extra = [h for q, h in self._headers if q.search(query)]
        got = _read_head(upstream)
        if got is None:
            return
        head, rest = got
        status_line, _, header_text = head.partition(b"\r\n")
        kept = [
            self._rewrite_location(h)
            for h in header_text.split(b"\r\n")
            if h and not h.lower().startswith(b"connection:")
        ]
        new_head = b"\r\n".join([status_line, *kept, *(h.encode("latin-1") for h in extra), b"Connection: close"])
        client.sendall(new_head + b"\r\n\r\n")
        budget = rule.after_bytes if rule is not None and rule.action == "cut" else None
        sent = 0
        while True:
            if rest:
                if budget is not None and sent + len(rest) >= budget:
                    client.sendall(rest[: budget - sent])
                    _reset(client)
                    return
                client.sendall(rest)
                sent += len(rest)
            rest = upstream.recv(65536)
            if not rest:
                break
        if budget is not None:
            _reset(client)  # the body was shorter than after_bytes: still end with a reset


@dataclass
class FaultTally:
    """Faults injected and survived per backend, for the summary line of the note.

    Attributes:
        injected: Faults injected, by backend.
        survived: Faults after which the call still succeeded, by backend.
        failed_typed: Faults that ended the call with the expected typed error, by backend.
        over_budget: Largest ``took - retry_budget`` (seconds) of a persistent-fault call, by backend.
    """

    injected: dict[str, int] = field(default_factory=dict)
    survived: dict[str, int] = field(default_factory=dict)
    failed_typed: dict[str, int] = field(default_factory=dict)
    over_budget: dict[str, float] = field(default_factory=dict)

    def budget_used(self, backend: str, took: float, budget: float) -> None:
        """Record how long a call that exhausted its ``budget`` took (``took`` seconds)."""
        self.over_budget[backend] = max(self.over_budget.get(backend, float("-inf")), took - budget)

    def survived_call(self, backend: str, proxy: FaultProxy, before: int = 0) -> None:
        """Count the faults ``proxy`` injected since ``before`` as survived (the call succeeded)."""
        n = len(proxy.injected) - before
        self.injected[backend] = self.injected.get(backend, 0) + n
        self.survived[backend] = self.survived.get(backend, 0) + n

    def failed_call(self, backend: str, proxy: FaultProxy, before: int = 0) -> None:
        """Count the faults ``proxy`` injected since ``before`` as ending in the typed error."""
        n = len(proxy.injected) - before
        self.injected[backend] = self.injected.get(backend, 0) + n
        self.failed_typed[backend] = self.failed_typed.get(backend, 0) + n

    def lines(self) -> list[str]:
        """One summary line per backend."""
        return [
            f"faults[{name}]: injected={self.injected[name]} survived={self.survived.get(name, 0)} "
            f"typed_failures={self.failed_typed.get(name, 0)}"
            + (f" max_over_budget={self.over_budget[name]:+.2f}s" if name in self.over_budget else "")
            for name in sorted(self.injected)
        ]


@pytest.fixture(scope="module")
def fault_tally(request: pytest.FixtureRequest) -> Iterator[FaultTally]:
    """A `FaultTally` for one test module; its summary lines go to the terminal at the end
    (past output capture, so they show in every run)."""
    tally = FaultTally()
    yield tally
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        for line in tally.lines():
            if reporter is not None:
                reporter.write_line(line)
            else:  # pragma: no cover - running without the terminal reporter
                print(line)
