"""Azurite (Azure Blob emulator) server fixture.

`azurite_server` starts ``node .../azurite/dist/src/blob/main.js`` on a free 127.0.0.1
port with a private temp location and yields an `AzuriteServer` (usable from
benchmarks too). The pytest fixtures are:

* ``azurite`` (session): the running server, or a skip/fail via `server_missing`.
* ``azure_container`` (function): a fresh, empty container name, deleted afterwards.
* ``azure_fault_proxy`` (function): a `FaultProxy` (the shared `testing.faults.FaultProxy`
  with Azure helpers) in front of the session's Azurite: lost answers (the service did the
  work, the client never hears), injected 5xx / ``ServerBusy``, stalls, resets, cut bodies.

Azurite is looked up at ``$REMOTE_STORE_AZURITE`` (path of ``main.js``), then under
``$REMOTE_STORE_TOOLS`` (as the other tool lookups), then ``<repo>/.tools/azurite/node_modules/azurite/dist/src/blob/main.js`` and
``/opt/remote-store-tools/azurite/node_modules/azurite/dist/src/blob/main.js``
(``npm install --prefix <dir> azurite@3.35.0`` installs it there). Node is started
directly, never through ``npx``, so stopping the recorded PID stops the server.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testing import faults
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
        str(Path(os.environ.get("REMOTE_STORE_TOOLS") or _REPO / ".tools") / "azurite" / _MAIN_JS),
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


class FaultProxy(faults.FaultProxy):
    """The shared `testing.faults.FaultProxy` in front of Azurite, with Azure-flavoured helpers.

    Matching here is by substring (``path_contains`` / ``query_contains``), not regex; the
    shared proxy's own methods (`add`, `cut`, `reset`, …) take regular expressions.

    Args:
        upstream: The Azurite server to forward to.
    """

    def __init__(self, upstream: AzuriteServer) -> None:
        super().__init__(upstream.port)
        self._account = upstream.account_name

    @property
    def account_url(self) -> str:
        """Blob endpoint through the proxy."""
        return f"http://127.0.0.1:{self.port}/{self._account}"

    def drop_response(self, method: str, path_contains: str, *, times: int = 1, query_contains: str = "") -> None:
        """Forward the next ``times`` matching requests to Azurite (which processes them) and
        lose their answers, so azure-core retries a request whose first attempt succeeded."""
        self.drop(method, re.escape(path_contains), query=re.escape(query_contains), times=times)

    def fail_request(
        self, method: str, path_contains: str, *, status: int = 503, times: int = 1, query_contains: str = ""
    ) -> None:
        """Answer the next ``times`` matching requests with HTTP ``status`` (503 = ``ServerBusy``,
        otherwise ``InternalError``) *without* forwarding them: the service never sees them."""
        code = "ServerBusy" if status == 503 else "InternalError"
        body = faults.AZURE_SERVER_BUSY if status == 503 else b""
        self.respond(
            method,
            re.escape(path_contains),
            status=status,
            headers={"x-ms-error-code": code, "Content-Type": "application/xml"},
            body=body,
            query=re.escape(query_contains),
            times=times,
        )

    def stall_response(
        self, method: str, path_contains: str, *, seconds: float, times: int = 1, query_contains: str = ""
    ) -> None:
        """Forward the next ``times`` matching requests, then hold their answers for ``seconds``
        (past the client's read timeout) and reset the connection."""
        self.stall(method, re.escape(path_contains), seconds=seconds, query=re.escape(query_contains), times=times)

    def add_response_header(self, query: str, header: str) -> None:
        """Add ``header`` (``"Name: value"``) to every response to a request whose query string
        contains ``query`` — e.g. to make Get Account Information report a hierarchical
        namespace, which Azurite never does."""
        super().add_response_header(re.escape(query), header)


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
