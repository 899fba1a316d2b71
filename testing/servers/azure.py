"""Azurite (Azure Blob emulator) server fixture.

`azurite_server` starts ``node .../azurite/dist/src/blob/main.js`` on a free 127.0.0.1
port with a private temp location and yields an `AzuriteServer` (usable from
benchmarks too). The pytest fixtures are:

* ``azurite`` (session): the running server, or a skip/fail via `server_missing`.
* ``azure_container`` (function): a fresh, empty container name, deleted afterwards.
* ``azure_fault_proxy`` (function): a `FaultProxy` in front of the session's Azurite that
  can swallow the response of chosen requests (the service did the work, the client never
  hears), to make azure-core resend a request whose first attempt succeeded.

Azurite is looked up at ``$REMOTE_STORE_AZURITE`` (path of ``main.js``), then
``<repo>/.tools/azurite/node_modules/azurite/dist/src/blob/main.js`` and
``/opt/remote-store-tools/azurite/node_modules/azurite/dist/src/blob/main.js``
(``npm install --prefix <dir> azurite@3.35.0`` installs it there). Node is started
directly, never through ``npx``, so stopping the recorded PID stops the server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing.servers._common import free_port, port_open, server_missing, stop_process, wait_until

#: Azurite's well-known development account (public, documented by Microsoft; not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_MAIN_JS = Path("node_modules") / "azurite" / "dist" / "src" / "blob" / "main.js"
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AzuriteServer:
    """A running Azurite blob service.

    Attributes:
        port: TCP port on 127.0.0.1.
        account_name: Storage account name (the dev account).
        account_key: Its shared key (base64).
    """

    port: int
    account_name: str = DEV_ACCOUNT
    account_key: str = DEV_KEY

    @property
    def account_url(self) -> str:
        """Blob endpoint, e.g. ``http://127.0.0.1:PORT/devstoreaccount1``."""
        return f"http://127.0.0.1:{self.port}/{self.account_name}"

    @property
    def connection_string(self) -> str:
        """A connection string with the account key and the blob endpoint."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.account_url};"
        )


def find_azurite() -> str | None:
    """Path of Azurite's blob ``main.js``, or None when it is not installed."""
    candidates = [
        os.environ.get("REMOTE_STORE_AZURITE", ""),
        str(_REPO / ".tools" / "azurite" / _MAIN_JS),
        str(Path("/opt/remote-store-tools/azurite") / _MAIN_JS),
    ]
    for path in candidates:
        if path and os.path.isfile(path):
            return path
    return None


@contextlib.contextmanager
def azurite_server(timeout: float = 60) -> Iterator[AzuriteServer]:
    """Start Azurite on a free port with a temp location; stop it (by PID) on exit.

    Raises:
        FileNotFoundError: node or Azurite is not installed.
        RuntimeError: Azurite did not start within ``timeout`` seconds.
    """
    main_js = find_azurite()
    node = shutil.which("node")
    if main_js is None or node is None:
        raise FileNotFoundError(
            "Azurite not found (set REMOTE_STORE_AZURITE to main.js or run "
            "`npm install --prefix /opt/remote-store-tools/azurite azurite@3.35.0`)"
            if main_js is None
            else "node is not on PATH"
        )
    location = tempfile.mkdtemp(prefix="rs-azurite-")
    port = free_port()
    cmd = [
        node,
        main_js,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        location,
        "--silent",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(port), timeout, "Azurite", proc)
        yield AzuriteServer(port=port)
    finally:
        stop_process(proc)
        shutil.rmtree(location, ignore_errors=True)


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteServer]:
    """A session-wide Azurite blob service on 127.0.0.1 (skips, or fails in CI, when missing)."""
    try:
        cm = azurite_server()
        server = cm.__enter__()
    except (FileNotFoundError, RuntimeError) as exc:
        server_missing(str(exc))
        return
    try:
        yield server
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def azure_container(azurite: AzuriteServer) -> Iterator[str]:
    """Create a fresh, uniquely named container for one test; delete it afterwards."""
    from azure.storage.blob import BlobServiceClient

    name = f"t{uuid.uuid4().hex[:20]}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.create_container(name)
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            service.delete_container(name)
        service.close()


@dataclass
class _DropRule:
    method: str
    path: str
    query: str
    times: int
    #: "drop" (forward, lose the response), "status" (answer ``status`` without forwarding),
    #: "stall" (forward, hold the response ``seconds``, then close).
    action: str = "drop"
    status: int = 503
    seconds: float = 0.0


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of Azurite that can drop chosen responses.

    Every request is forwarded with ``Connection: close`` (one request per connection), so
    requests are told apart without parsing responses. `drop_response` arms a rule: the
    next ``times`` requests whose method and path match are forwarded to Azurite, which
    processes them; the proxy then closes the client's connection as soon as Azurite starts
    answering, so the client sees a lost response (and azure-core retries the request).

    Args:
        upstream: The Azurite server to forward to.
    """

    def __init__(self, upstream: AzuriteServer) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._rules: list[_DropRule] = []
        self._lock = threading.Lock()
        #: ``(method, path)`` of every response dropped so far.
        self.dropped: list[tuple[str, str]] = []
        #: ``(action, method, path)`` of every fault injected so far (drops, statuses, stalls).
        self.injected: list[tuple[str, str, str]] = []
        #: ``(method, path?query)`` of every request forwarded, in arrival order.
        self.requests: list[tuple[str, str]] = []
        self._headers: list[tuple[str, str]] = []
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="azure-fault-proxy", daemon=True)
        self._thread.start()

    @property
    def account_url(self) -> str:
        """Blob endpoint through the proxy."""
        return f"http://127.0.0.1:{self.port}/{self._upstream.account_name}"

    def drop_response(self, method: str, path_contains: str, *, times: int = 1, query_contains: str = "") -> None:
        """Swallow the response of the next ``times`` ``method`` requests whose path contains
        ``path_contains`` (and whose query string contains ``query_contains``)."""
        with self._lock:
            self._rules.append(_DropRule(method.upper(), path_contains, query_contains, times))

    def fail_request(
        self, method: str, path_contains: str, *, status: int = 503, times: int = 1, query_contains: str = ""
    ) -> None:
        """Answer the next ``times`` matching requests with HTTP ``status`` (503 = ``ServerBusy``,
        500 = ``InternalError``) *without* forwarding them: the service never sees them."""
        with self._lock:
            self._rules.append(
                _DropRule(method.upper(), path_contains, query_contains, times, action="status", status=status)
            )

    def stall_response(
        self, method: str, path_contains: str, *, seconds: float, times: int = 1, query_contains: str = ""
    ) -> None:
        """Forward the next ``times`` matching requests, then hold their responses for ``seconds``
        (past the client's read timeout) and close the connection without answering."""
        with self._lock:
            self._rules.append(
                _DropRule(method.upper(), path_contains, query_contains, times, action="stall", seconds=seconds)
            )

    def add_response_header(self, query_contains: str, header: str) -> None:
        """Add ``header`` (``"Name: value"``) to every response to a request whose query string
        contains ``query_contains`` — e.g. to make Get Account Information report a
        hierarchical namespace, which Azurite never does."""
        with self._lock:
            self._headers.append((query_contains, header))

    def close(self) -> None:
        """Stop accepting connections."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _match(self, method: str, target: str) -> _DropRule | None:
        path, _, query = target.partition("?")
        with self._lock:
            self.requests.append((method, target))
            for rule in self._rules:
                if rule.method == method and rule.path in path and rule.query in query and rule.times > 0:
                    rule.times -= 1
                    if rule.action == "drop":
                        self.dropped.append((method, path))
                    self.injected.append((rule.action, method, path))
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
        with contextlib.ExitStack() as stack:
            stack.callback(client.close)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = client.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target = lines[0].split(" ")[:2]
            headers = [h for h in lines[1:] if not h.lower().startswith("connection:")]
            length = 0
            for h in headers:
                name, _, value = h.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            while len(body) < length:
                chunk = client.recv(65536)
                if not chunk:
                    return
                body += chunk
            rule = self._match(method, target)
            if rule is not None and rule.action == "status":
                code = "ServerBusy" if rule.status == 503 else "InternalError"
                client.sendall(
                    f"HTTP/1.1 {rule.status} Injected\r\nx-ms-error-code: {code}\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n".encode("latin-1")
                )
                return
            upstream = socket.create_connection(("127.0.0.1", self._upstream.port))
            stack.callback(upstream.close)
            request = "\r\n".join([lines[0], *headers, "Connection: close"]).encode("latin-1") + b"\r\n\r\n" + body
            upstream.sendall(request)
            if rule is not None:
                upstream.recv(1)  # Azurite has processed the request; the client never hears back
                if rule.action == "stall":
                    time.sleep(rule.seconds)
                return
            query = target.partition("?")[2]
            with self._lock:
                extra = [h for q, h in self._headers if q in query]
            if extra:
                answer = b""
                while b"\r\n" not in answer and (chunk := upstream.recv(65536)):
                    answer += chunk
                status, _, rest = answer.partition(b"\r\n")
                client.sendall(status + b"\r\n" + "".join(h + "\r\n" for h in extra).encode("latin-1") + rest)
            while chunk := upstream.recv(65536):
                client.sendall(chunk)


@pytest.fixture
def azure_fault_proxy(azurite: AzuriteServer) -> Iterator[FaultProxy]:
    """A `FaultProxy` in front of the session's Azurite, closed after the test."""
    proxy = FaultProxy(azurite)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def azure_raw(azurite: AzuriteServer, azure_container: str) -> Iterator[Any]:
    """The raw SDK `ContainerClient` of ``azure_container`` (to write or inspect blobs directly)."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    try:
        yield service.get_container_client(azure_container)
    finally:
        service.close()
