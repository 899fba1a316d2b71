"""One place that builds a fresh, empty `Store` for every backend kind over the real test servers.

Every call gets its own isolated namespace (a new bucket, container, server-side folder, table
prefix, temp folder or in-memory root), so two stores built in one test never see each other's
files, and everything is removed when the test ends. The servers themselves come from the
session fixtures in ``testing/servers/``: a missing server skips with the reason, or fails under
``REMOTE_STORE_TEST_REQUIRE_SERVERS=1``.

Use it three ways:

- ``any_store`` (fixture, parametrized over `STORE_KINDS`, ids are the kind names): one fresh
  `Store` per kind.
- ``store_factory`` (fixture): ``make(kind) -> Store``, for a test that needs several stores or
  picks its kinds itself.
- `open_backend` / `open_store` (plain functions taking the pytest ``request``): for helpers and
  fixtures outside this module.

Kinds: ``memory`` (`MemoryBackend`), ``local`` (`LocalBackend` in a temp folder), ``s3`` (moto),
``sftp`` (OpenSSH sshd, asyncssh outside CI), ``azure`` (Azurite), ``gcs`` (fake-gcs-server),
``sqlite`` / ``postgres`` / ``mysql`` (``sql-blob``), ``fsspec-memory`` (`FsspecBackend` on
fsspec's memory file system). ``http`` is not a kind: the HTTP backend is read-only and the
test HTTP server (``testing/servers/http.py``) serves static files only, so there is no
writable HTTP store to build.

This module is loaded as a pytest plugin by ``tests/conftest.py``; other conftests can import
the fixtures the same way (``from testing.backends import any_store, store_factory``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from remote_store import Backend, Store

__all__ = [
    "STORE_KINDS",
    "TornPayload",
    "any_store",
    "make_payload",
    "open_backend",
    "open_store",
    "parse_payload",
    "store_factory",
]

#: Every backend kind `open_backend` can build, in the order `any_store` runs them.
STORE_KINDS: tuple[str, ...] = (
    "memory",
    "local",
    "s3",
    "sftp",
    "azure",
    "gcs",
    "sqlite",
    "postgres",
    "mysql",
    "fsspec-memory",
)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _closing(request: pytest.FixtureRequest, backend: Backend, cleanup: Callable[[], None] | None = None) -> Backend:
    """Register ``backend.close()`` (and then ``cleanup``) to run when the test ends."""

    def finish() -> None:
        try:
            backend.close()
        finally:
            if cleanup is not None:
                cleanup()

    request.addfinalizer(finish)
    return backend


def _memory(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store.backends import MemoryBackend

    return _closing(request, MemoryBackend(**options))


def _local(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store.backends import LocalBackend

    if "root" not in options:
        options = {"root": os.path.join(request.getfixturevalue("tmp_path"), _unique("local")), **options}
    return _closing(request, LocalBackend(**options))


def _s3(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store_s3 import S3Backend

    server = request.getfixturevalue("s3_server")
    if "bucket" in options:  # the caller's bucket: not created, not removed here
        return _closing(request, S3Backend(**server.backend_options(**options)))
    bucket = server.create_bucket()
    backend = S3Backend(**server.backend_options(bucket, **options))
    return _closing(request, backend, lambda: server.delete_bucket(bucket))


def _sftp(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store_sftp import SFTPBackend

    srv = request.getfixturevalue("sftp_server_session")
    defaults: dict[str, Any] = {
        "host": srv.host,
        "port": srv.port,
        "username": srv.username,
        "private_key": srv.client_key,
        "known_hosts": srv.known_hosts,
    }
    if "base_path" not in options:
        defaults["base_path"] = srv.unique_base("any")
    return _closing(request, SFTPBackend(**{**defaults, **options}))


def _azure(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from azure.storage.blob import BlobServiceClient

    from remote_store_azure import AzureBackend

    server = request.getfixturevalue("azurite")
    defaults = {"account_url": server.account_url, "account_key": server.account_key}
    if "container" in options:  # the caller's container: not created, not removed here
        return _closing(request, AzureBackend(**{**defaults, **options}))
    container = f"t{uuid.uuid4().hex[:20]}"
    with BlobServiceClient.from_connection_string(server.connection_string) as service:
        service.create_container(container)

    def drop() -> None:
        with (
            BlobServiceClient.from_connection_string(server.connection_string) as service,
            contextlib.suppress(Exception),
        ):
            service.delete_container(container)

    backend = AzureBackend(**{**defaults, "container": container, **options})
    return _closing(request, backend, drop)


def _gcs(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store_gcs import GCSBackend

    server = request.getfixturevalue("gcs_server")
    if "bucket" in options:  # the caller's bucket: not created, not removed here
        return _closing(request, GCSBackend(**server.backend_options(**options)))
    bucket = server.create_bucket()
    backend = GCSBackend(**server.backend_options(bucket, **options))
    return _closing(request, backend, lambda: server.delete_bucket(bucket))


def _sql(url: str, request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store_sql import SQLBlobBackend
    from testing.servers.sql import unique_prefix

    backend = SQLBlobBackend(url, **{"table_prefix": unique_prefix(), **options})

    def finish() -> None:
        try:
            backend.drop_tables()
        finally:
            backend.close()

    request.addfinalizer(finish)
    return backend


def _sqlite(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    base = request.getfixturevalue("tmp_path")
    return _sql(f"sqlite:///{os.path.join(base, _unique('store') + '.db')}", request, options)


def _postgres(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    return _sql(request.getfixturevalue("postgres_url"), request, options)


def _mysql(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    return _sql(request.getfixturevalue("mysql_url"), request, options)


def _fsspec_memory(request: pytest.FixtureRequest, options: dict[str, Any]) -> Backend:
    from remote_store_ext.fsspec_backend import FsspecBackend

    if "root" in options:  # the caller's folder: not removed here
        return _closing(request, FsspecBackend(**{"protocol": "memory", **options}))
    root = "/" + _unique("any")
    backend = FsspecBackend(**{"protocol": "memory", "root": root, **options})

    def drop() -> None:
        with contextlib.suppress(FileNotFoundError):
            backend.fs.rm(root, recursive=True)

    return _closing(request, backend, drop)


_BUILDERS: dict[str, Callable[[pytest.FixtureRequest, dict[str, Any]], Backend]] = {
    "memory": _memory,
    "local": _local,
    "s3": _s3,
    "sftp": _sftp,
    "azure": _azure,
    "gcs": _gcs,
    "sqlite": _sqlite,
    "postgres": _postgres,
    "mysql": _mysql,
    "fsspec-memory": _fsspec_memory,
}
assert tuple(_BUILDERS) == STORE_KINDS


def open_backend(kind: str, request: pytest.FixtureRequest, **options: Any) -> Backend:
    """Build a fresh, empty backend of ``kind`` on the session's test server; closed (and its
    bucket / container / tables / folder removed) when the test that owns ``request`` ends.

    Args:
        kind: One of `STORE_KINDS`.
        request: The pytest ``request`` of the test or fixture (its finalizers do the cleanup,
            its ``getfixturevalue`` starts the server).
        **options: Keyword arguments for the backend's constructor (e.g. ``chunk_size`` for
            ``sql-blob``, ``fsync`` for local). Any of them overrides the value picked here,
            the namespace included: ``root`` (local, fsspec-memory), ``base_path`` (sftp),
            ``bucket`` (s3, gcs), ``container`` (azure), ``table_prefix`` (sql kinds),
            ``name`` (memory), and the connection options (``endpoint_url``, ``host`` …). A
            namespace the caller names is the caller's: it is neither created nor removed
            here (the backend is still closed when the test ends).

    Returns:
        The backend, rooted in a namespace no other call uses.

    Raises:
        ValueError: ``kind`` is not in `STORE_KINDS`.
        pytest.skip.Exception: The server is missing (a failure instead under
            ``REMOTE_STORE_TEST_REQUIRE_SERVERS=1``).
    """
    try:
        build = _BUILDERS[kind]
    except KeyError:
        raise ValueError(f"unknown backend kind {kind!r}; expected one of {', '.join(STORE_KINDS)}") from None
    return build(request, options)


def open_store(kind: str, request: pytest.FixtureRequest, **options: Any) -> Store:
    """`Store` over a fresh `open_backend` of ``kind`` (same arguments, cleanup and errors)."""
    return Store(open_backend(kind, request, **options))


@pytest.fixture(params=[pytest.param(kind, id=kind) for kind in STORE_KINDS])
def any_store(request: pytest.FixtureRequest) -> Store:
    """A fresh, empty `Store`, once per backend kind in `STORE_KINDS` (test ids are the kinds)."""
    kind: str = request.param
    return open_store(kind, request)


@pytest.fixture
def store_factory(request: pytest.FixtureRequest) -> Callable[[str], Store]:
    """``make(kind) -> Store``: a fresh, empty store of that kind per call, cleaned up after the test."""

    def make(kind: str) -> Store:
        return open_store(kind, request)

    return make


# ---------------------------------------------------------------------- self-describing payloads
_MAGIC = b"RSP1"


class TornPayload(AssertionError):
    """Bytes read back are not one whole payload written by `make_payload` (torn, mixed, truncated)."""


def make_payload(label: str, version: int, size: int) -> bytes:
    """Content that describes itself, so a reader can tell a whole version from a torn one.

    The first line is ``RSP1 <label> <version> <size> <sha256 of the body>``; the body is
    ``size`` pseudo-random bytes seeded by ``(label, version)`` (two versions never share a
    byte pattern, so a mix of two writes fails the digest).

    Args:
        label: Who wrote it (no spaces or newlines), e.g. the key or the thread.
        version: Version number (int ≥ 0).
        size: Body length in bytes.

    Returns:
        The payload bytes (header plus body).
    """
    if not label or any(c in label for c in " \n"):
        raise ValueError(f"label must be a non-empty word, got {label!r}")
    body = random.Random(f"{label}/{version}").randbytes(size)
    header = b"%s %s %d %d %s\n" % (_MAGIC, label.encode(), version, size, hashlib.sha256(body).hexdigest().encode())
    return header + body


def parse_payload(data: bytes) -> tuple[str, int]:
    """Check that ``data`` is one whole `make_payload` result; return its ``(label, version)``.

    Raises:
        TornPayload: The header is missing or malformed, the length is wrong, or the digest of
            the body does not match (a torn, truncated or mixed write).
    """
    head, sep, body = data.partition(b"\n")
    fields = head.split(b" ")
    if not sep or len(fields) != 5 or fields[0] != _MAGIC:
        raise TornPayload(f"no payload header in {len(data)} bytes starting {data[:40]!r}")
    _, label, version, size, digest = fields
    if not (version.isdigit() and size.isdigit()):
        raise TornPayload(f"malformed payload header {head[:120]!r}")
    if len(body) != int(size):
        raise TornPayload(
            f"payload {label.decode()}/{int(version)}: body is {len(body)} bytes, header says {int(size)}"
        )
    if hashlib.sha256(body).hexdigest().encode() != digest:
        raise TornPayload(f"payload {label.decode()}/{int(version)}: body digest does not match its header")
    return label.decode(), int(version)
