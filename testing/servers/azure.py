"""Azurite (Azure Blob emulator) server fixture.

`azurite_server` starts ``node .../azurite/dist/src/blob/main.js`` on a free 127.0.0.1
port with a private temp location and yields an `AzuriteServer` (usable from
benchmarks too). The pytest fixtures are:

* ``azurite`` (session): the running server, or a skip/fail via `server_missing`.
* ``azure_container`` (function): a fresh, empty container name, deleted afterwards.

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
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
