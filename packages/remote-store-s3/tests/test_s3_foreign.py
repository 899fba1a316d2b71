"""Dangling multipart uploads (collect_garbage) and the native escape hatch, on a real moto server."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from remote_store import Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_s3 import S3Backend
from testing.servers.s3 import MotoS3Server

MiB = 1024 * 1024


@pytest.fixture
def backend(s3_server: MotoS3Server, s3_bucket: str) -> Iterator[S3Backend]:
    # max_attempts=2: botocore's own retries of the injected connection fault stay short
    options = s3_server.backend_options(s3_bucket, part_size=5 * MiB, multipart_threshold=5 * MiB, max_attempts=2)
    b = S3Backend(**options)
    yield b
    b.close()


@pytest.fixture
def raw(s3_server: MotoS3Server) -> Any:
    return s3_server.client()


def _uploads(raw: Any, bucket: str) -> list[tuple[str, str]]:
    return [(u["Key"], u["UploadId"]) for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


class _Breaks(io.RawIOBase):
    """Yields ``size`` bytes, then raises OSError (a caller's stream failing mid-upload)."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if not self._left:
            raise OSError("source broke")
        n = min(len(b), self._left)
        b[:n] = b"\x07" * n
        self._left -= n
        return n


class _DropAborts:
    """A network fault for exactly one operation: every AbortMultipartUpload request is lost
    before it reaches the server (the connection fails), everything else goes through."""

    def __init__(self, backend: S3Backend) -> None:
        self.dropped = 0
        self._events = backend._client().meta.events
        self._events.register("before-send.s3.AbortMultipartUpload", self._drop)

    def _drop(self, request: Any, **_: Any) -> None:
        self.dropped += 1
        raise EndpointConnectionError(endpoint_url=request.url)

    def heal(self) -> None:
        self._events.unregister("before-send.s3.AbortMultipartUpload", self._drop)


# ---------------------------------------------------------------------- dangling uploads
def test_a_failed_abort_is_recorded_and_collect_garbage_aborts_it(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    store = Store(backend)
    store.write("keep.bin", b"old")
    fault = _DropAborts(backend)
    with pytest.raises(OSError, match="source broke"):
        store.write("keep.bin", _Breaks(12 * MiB), overwrite=True)
    assert fault.dropped >= 2  # the abort was retried, and every attempt was lost
    left = _uploads(raw, s3_bucket)
    assert [k for k, _ in left] == ["keep.bin"], "the fault must leave a real upload behind"
    assert backend.abandoned_uploads == {left[0][1]: "keep.bin"}
    assert store.read_bytes("keep.bin") == b"old"

    with pytest.raises(Exception):  # while the network still drops aborts, gc fails loudly ...
        store.collect_garbage("", older_than=3600)
    assert backend.abandoned_uploads  # ... and keeps the record
    fault.heal()
    # recorded as abandoned: aborted whatever older_than says (1e12 s: no listed upload is that old)
    assert store.collect_garbage("", older_than=1e12) == 1
    assert _uploads(raw, s3_bucket) == []
    assert backend.abandoned_uploads == {}
    assert store.collect_garbage("", older_than=0) == 0


def test_collect_garbage_aborts_old_uploads_under_the_prefix_only(
    s3_server: MotoS3Server, raw: Any, s3_bucket: str
) -> None:
    mine = raw.create_multipart_upload(Bucket=s3_bucket, Key="tenant/a/d/x.bin")["UploadId"]
    sibling = raw.create_multipart_upload(Bucket=s3_bucket, Key="tenant/a/e/y.bin")["UploadId"]
    outside = raw.create_multipart_upload(Bucket=s3_bucket, Key="tenant/ab/z.bin")["UploadId"]
    b = S3Backend(**s3_server.backend_options(s3_bucket, prefix="tenant/a"))
    store = Store(b)
    # moto reports a fixed "Initiated" time (2010-11-10); measure ages from what it reports
    initiated = raw.list_multipart_uploads(Bucket=s3_bucket)["Uploads"][0]["Initiated"].timestamp()
    age = time.time() - initiated
    assert store.collect_garbage("d", older_than=age + 3600) == 0  # younger than the cut-off: kept
    assert len(_uploads(raw, s3_bucket)) == 3
    assert store.collect_garbage("d", older_than=age - 3600) == 1
    left = {u for _, u in _uploads(raw, s3_bucket)}
    assert left == {sibling, outside} and mine not in left
    assert store.collect_garbage("", older_than=0) == 1  # the whole backend root, not "tenant/ab"
    assert {u for _, u in _uploads(raw, s3_bucket)} == {outside}
    b.close()


def test_cli_gc_aborts_dangling_uploads(s3_server: MotoS3Server, raw: Any, s3_bucket: str, tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    raw.create_multipart_upload(Bucket=s3_bucket, Key="g/x.bin")
    cfg = tmp_path / "remote-store.toml"
    cfg.write_text(
        f'[backends.b]\ntype = "s3"\noptions.bucket = "{s3_bucket}"\n'
        f'options.endpoint_url = "{s3_server.endpoint_url}"\noptions.region = "{s3_server.region}"\n'
        f'options.access_key_id = "{s3_server.access_key_id}"\n'
        f'options.secret_access_key = "{s3_server.secret_access_key}"\n'
        '[stores.s]\nbackend = "b"\n'
    )
    env = {**os.environ, "REMOTE_STORE_CONFIG": str(cfg)}
    out = subprocess.run(
        [sys.executable, "-m", "remote_store._cli", "gc", "s:g", "--older-than", "0"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert _uploads(raw, s3_bucket) == []


# ---------------------------------------------------------------------- native escape hatch
_FOREIGN = {
    "ds//same.txt": b"double slash",
    "ds/same.txt": b"plain",
    "/lead.txt": b"leading slash",
    "ds/./dot.txt": b"dot segment",
    "ds/../up.txt": b"dotdot segment",
    "ds/full/": b"non-empty folder key",
}


def test_native_escape_hatch_lists_reads_and_deletes_unreachable_keys(
    backend: S3Backend, raw: Any, s3_bucket: str
) -> None:
    for key, body in _FOREIGN.items():
        raw.put_object(Bucket=s3_bucket, Key=key, Body=body)
    store = Store(backend)
    assert [f.path for f in store.list_files("ds", recursive=True)] == ["ds/same.txt"]
    assert backend.unreachable.count >= 1
    native = {f.path: f for f in backend.iter_native()}
    assert set(native) == set(_FOREIGN)
    for key, body in _FOREIGN.items():
        assert native[key].size == len(body)
        assert backend.read_native(key) == body  # the exact object, never a normalised twin
    assert {f.path for f in backend.iter_native("ds//")} == {"ds//same.txt"}
    backend.delete_native("ds//same.txt")
    assert store.read_bytes("ds/same.txt") == b"plain"  # its twin is untouched
    with pytest.raises(NotFound):
        backend.read_native("ds//same.txt")
    for bad in ("", "\x00x"):
        with pytest.raises(InvalidPath):
            backend.read_native(bad)


def test_native_keys_stay_inside_the_backend_prefix(s3_server: MotoS3Server, raw: Any, s3_bucket: str) -> None:
    raw.put_object(Bucket=s3_bucket, Key="t/a//x", Body=b"in")
    raw.put_object(Bucket=s3_bucket, Key="t/ab", Body=b"sibling")
    raw.put_object(Bucket=s3_bucket, Key="secret", Body=b"outside")
    b = S3Backend(**s3_server.backend_options(s3_bucket, prefix="t/a"))
    assert [f.path for f in b.iter_native()] == ["t/a//x"]
    assert b.read_native("t/a//x") == b"in"
    for outside in ("secret", "t/ab", "t/a", "../secret"):
        with pytest.raises(InvalidPath):
            b.read_native(outside)
        with pytest.raises(InvalidPath):
            b.delete_native(outside)
    assert raw.get_object(Bucket=s3_bucket, Key="secret")["Body"].read() == b"outside"
    b.close()


def test_strict_keys_refuse_the_twin_that_normalising_would_read(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    raw.put_object(Bucket=s3_bucket, Key="ds//same.txt", Body=b"double slash")
    raw.put_object(Bucket=s3_bucket, Key="ds/same.txt", Body=b"plain")
    assert Store(backend).read_bytes("ds//same.txt") == b"plain"  # the default: the reference's path rules
    strict = Store(backend, strict_keys=True)
    with pytest.raises(InvalidPath) as info:
        strict.read_bytes("ds//same.txt")
    assert "'ds/same.txt'" in str(info.value)  # names what it would have read
    with pytest.raises(InvalidPath):
        strict.write("ds//same.txt", b"x", overwrite=True)
    assert raw.get_object(Bucket=s3_bucket, Key="ds/same.txt")["Body"].read() == b"plain"
    assert strict.read_bytes("ds/same.txt") == b"plain"
    assert backend.read_native("ds//same.txt") == b"double slash"
