"""moto's S3 server on 127.0.0.1: a context manager (tests and benchmarks) and pytest fixtures.

The server runs as its own process (``python -m moto.server``, about 30% faster than the
in-process ``ThreadedMotoServer``) on a free port, with werkzeug's request log silenced and
its output in a log file. Fixtures:

- ``s3_server`` (session): the running server (`MotoS3Server`).
- ``s3_bucket`` (function): a fresh, empty bucket name, deleted with everything in it afterwards.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testing.servers._common import free_port, server_missing, stop_process, wait_until

#: Credentials moto accepts (it does not check them); region used everywhere.
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
REGION = "us-east-1"

_LAUNCH = (
    "import logging, sys\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "from moto.server import main\n"
    "main(sys.argv[1:])\n"
)


_LOADER_LOCK = threading.Lock()
_LOADER: list[Any] = []
_ADMIN: dict[str, Any] = {}


class ServerUnavailable(RuntimeError):
    """moto is not installed or its server did not start."""


@dataclass(frozen=True)
class MotoS3Server:
    """A running moto S3 server.

    Attributes:
        endpoint_url: ``http://127.0.0.1:PORT``.
        region: Region name to use with it.
        access_key_id: Dummy access key id.
        secret_access_key: Dummy secret access key.
        log_path: File with the server's output.
    """

    endpoint_url: str
    region: str = REGION
    access_key_id: str = ACCESS_KEY
    secret_access_key: str = SECRET_KEY
    log_path: str = ""

    def backend_options(self, bucket: str, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``S3Backend`` pointing at this server.

        ``max_attempts`` defaults to 8: moto (5.x) sometimes answers 500 when one key is
        overwritten by several threads at once (it closes the old value's buffer while
        another request still reads it); retrying 500s is what the SDK does against S3 too.
        """
        return {
            "bucket": bucket,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "max_attempts": 8,
            **extra,
        }

    def client(self, **kwargs: Any) -> Any:
        """A raw boto3 S3 client for this server (for setup, assertions and baselines)."""
        import boto3
        import botocore.session
        from botocore.config import Config

        # A fresh session per client, sharing botocore's parsed service models: building a
        # client from a cold session costs ~0.2 s of JSON parsing, and tests build thousands.
        with _LOADER_LOCK:
            if not _LOADER:
                _LOADER.append(botocore.session.get_session().get_component("data_loader"))
        core = botocore.session.Session()
        core.register_component("data_loader", _LOADER[0])
        return boto3.session.Session(botocore_session=core).client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            config=Config(max_pool_connections=32, **kwargs),
        )

    def _admin(self) -> Any:
        """One cached client per server for bucket set-up and tear-down (boto3 clients are thread-safe)."""
        with _LOADER_LOCK:
            client = _ADMIN.get(self.endpoint_url)
        if client is None:
            client = self.client()
            with _LOADER_LOCK:
                client = _ADMIN.setdefault(self.endpoint_url, client)
        return client

    def create_bucket(self, name: str | None = None, *, versioned: bool = False) -> str:
        """Create a bucket (a unique ``rs-<hex>`` name by default) and return its name."""
        name = name or f"rs-{uuid.uuid4().hex[:20]}"
        client = self._admin()
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def delete_bucket(self, name: str) -> None:
        """Delete every object version, pending multipart upload, and then the bucket."""
        client = self._admin()
        try:
            for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
                for up in page.get("Uploads", ()):
                    client.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
            for _ in range(1000):
                # Delete page by page and list again: simpler than trusting pagination while deleting.
                page = client.list_objects_v2(Bucket=name)
                items = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if not items:
                    break
                client.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
            for _ in range(1000):
                page = client.list_object_versions(Bucket=name, MaxKeys=1000)
                items = [
                    {"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
                ]
                if not items:
                    break
                client.delete_objects(Bucket=name, Delete={"Objects": items, "Quiet": True})
            client.delete_bucket(Bucket=name)
        except client.exceptions.NoSuchBucket:
            pass

    def reset(self) -> None:
        """Wipe all server state (``POST /moto-api/reset``)."""
        req = urllib.request.Request(self.endpoint_url + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()


def _alive(endpoint: str) -> bool:
    with urllib.request.urlopen(endpoint + "/moto-api/", timeout=2) as resp:
        return bool(resp.status == 200)


@contextlib.contextmanager
def moto_s3_server(log_path: str | None = None, timeout: float = 60) -> Iterator[MotoS3Server]:
    """Start ``python -m moto.server`` on a free 127.0.0.1 port; stop it on exit.

    Args:
        log_path: File for the server's output (default: a temp file, removed after a clean stop).
        timeout: Seconds to wait for the server to answer.

    Raises:
        ServerUnavailable: moto (with flask) is not installed or the server did not start.
    """
    for module in ("moto", "flask", "flask_cors"):
        if importlib.util.find_spec(module) is None:
            raise ServerUnavailable(
                f"python package {module!r} is not installed (pip install 'moto[s3]' flask flask-cors)"
            )
    port = free_port()
    own_log = log_path is None
    if log_path is None:
        fd, log_path = tempfile.mkstemp(prefix="moto-s3-", suffix=".log")
        os.close(fd)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until(lambda: _alive(endpoint), timeout, "moto S3 server", proc)
        except RuntimeError as exc:
            with open(log_path, errors="replace") as f:
                tail = f.read()[-2000:]
            raise ServerUnavailable(f"{exc}; log {log_path}:\n{tail}") from exc
        yield MotoS3Server(endpoint_url=endpoint, log_path=log_path)
    finally:
        stop_process(proc)
    if own_log:  # kept only when the server failed to start (the error above names it)
        with contextlib.suppress(OSError):
            os.unlink(log_path)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoS3Server]:
    """A moto S3 server for the whole test session (skips, or fails under
    REMOTE_STORE_TEST_REQUIRE_SERVERS=1, when moto is missing)."""
    try:
        ctx = moto_s3_server()
        server = ctx.__enter__()
    except ServerUnavailable as exc:
        server_missing(str(exc))
        return
    try:
        yield server
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture
def s3_bucket(s3_server: MotoS3Server) -> Iterator[str]:
    """A fresh, empty bucket on the session's moto server; deleted (with its contents) afterwards."""
    name = s3_server.create_bucket()
    try:
        yield name
    finally:
        s3_server.delete_bucket(name)
