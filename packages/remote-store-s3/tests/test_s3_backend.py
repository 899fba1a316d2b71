"""S3-specific behaviour the conformance suite cannot express, against a real moto S3 server."""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import pickle
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import remote_store
from remote_store import Capability, Secret, Store
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    ContentChanged,
    InvalidPath,
    NotFound,
)
from remote_store_s3 import S3Backend
from testing.servers.s3 import MotoS3Server

MiB = 1024 * 1024


def _data(size: int, seed: int = 1) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


@pytest.fixture
def backend(s3_server: MotoS3Server, s3_bucket: str) -> Iterator[S3Backend]:
    b = S3Backend(**s3_server.backend_options(s3_bucket))
    yield b
    b.close()


@pytest.fixture
def raw(s3_server: MotoS3Server) -> Any:
    return s3_server.client()


class _Calls:
    """Counts S3 API calls (and their parameters) made by one backend's client."""

    def __init__(self, backend: S3Backend) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        backend._client().meta.events.register("provide-client-params.s3.*", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def named(self, name: str) -> list[dict[str, Any]]:
        return [p for n, p in self.calls if n == name]


def _pending_uploads(raw: Any, bucket: str) -> list[Any]:
    return list(raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


class _FailingStream(io.RawIOBase):
    """Yields ``fail_after`` bytes, then raises OSError."""

    def __init__(self, fail_after: int) -> None:
        self._left = fail_after

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._left <= 0:
            raise OSError("source broke")
        n = min(len(b), self._left)
        b[:n] = b"z" * n
        self._left -= n
        return n


# ---------------------------------------------------------------------- multipart / streaming
def test_multipart_20_mib_roundtrip_without_dangling_uploads(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    data = _data(20 * MiB)
    calls = _Calls(backend)
    result = Store(backend).write("big/blob.bin", io.BytesIO(data))
    assert result.size == len(data)
    assert result.etag is not None and result.etag.endswith("-3")  # 8 MiB parts: 8 + 8 + 4
    assert len(calls.named("UploadPart")) == 3
    assert len(calls.named("CompleteMultipartUpload")) == 1
    assert raw.get_object(Bucket=s3_bucket, Key="big/blob.bin")["Body"].read() == data
    assert _pending_uploads(raw, s3_bucket) == []


def test_small_write_is_one_put(backend: S3Backend) -> None:
    calls = _Calls(backend)
    Store(backend).write("small.txt", b"x" * 1000)
    assert [n for n, _ in calls.calls if n in ("PutObject", "CreateMultipartUpload")] == ["PutObject"]


def test_stream_error_aborts_multipart_and_keeps_old_object(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    store = Store(backend)
    store.write("f.bin", b"old content")
    calls = _Calls(backend)
    with pytest.raises(OSError, match="source broke"):  # the caller's own error propagates unchanged
        store.write("f.bin", io.BufferedReader(_FailingStream(19 * MiB)), overwrite=True)
    assert len(calls.named("CreateMultipartUpload")) == 1
    assert len(calls.named("AbortMultipartUpload")) == 1
    assert _pending_uploads(raw, s3_bucket) == []
    assert store.read_bytes("f.bin") == b"old content"


def test_stream_error_leaves_no_object(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    store = Store(backend)
    with pytest.raises(OSError, match="source broke"):
        store.write_atomic("new.bin", io.BufferedReader(_FailingStream(17 * MiB)))
    assert not store.exists("new.bin")
    assert raw.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0
    assert _pending_uploads(raw, s3_bucket) == []


def test_open_atomic_streams_parts_and_aborts_on_exception(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    store = Store(backend)
    calls = _Calls(backend)
    with pytest.raises(KeyError), store.open_atomic("a.bin") as f:
        for _ in range(3):
            f.write(b"q" * (4 * MiB))
        # Parts go out while the caller writes: a part thread sends one before the close,
        # though on a loaded machine it may take a moment to start.
        deadline = time.monotonic() + 30
        while not calls.named("UploadPart") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(calls.named("UploadPart")) >= 1
        raise KeyError("caller failed")
    assert len(calls.named("AbortMultipartUpload")) == 1
    assert not store.exists("a.bin")
    assert _pending_uploads(raw, s3_bucket) == []
    with store.open_atomic("a.bin") as f:
        for i in range(3):
            f.write(bytes([i]) * (4 * MiB))
    assert f.result is not None and f.result.size == 12 * MiB
    assert store.read_bytes("a.bin") == b"".join(bytes([i]) * (4 * MiB) for i in range(3))


def test_multipart_exclusive_create_raises_already_exists_and_aborts(
    backend: S3Backend, raw: Any, s3_bucket: str
) -> None:
    store = Store(backend)
    store.write("x.bin", b"first")
    raw_before = raw.head_object(Bucket=s3_bucket, Key="x.bin")["ETag"]
    # Skip the store's own exists() shortcut: go straight to the backend so the server's 412 decides.
    with pytest.raises(AlreadyExists):
        backend.write("x.bin", io.BytesIO(_data(9 * MiB)), overwrite=False, metadata={})
    assert raw.head_object(Bucket=s3_bucket, Key="x.bin")["ETag"] == raw_before
    assert _pending_uploads(raw, s3_bucket) == []


def test_upload_memory_is_bounded_by_part_size_and_concurrency(s3_server: MotoS3Server, s3_bucket: str) -> None:
    b = S3Backend(
        **s3_server.backend_options(s3_bucket, part_size=5 * MiB, multipart_threshold=5 * MiB, max_concurrency=2)
    )
    chunk = b"m" * MiB

    def chunks() -> Iterator[bytes]:
        for _ in range(60):
            yield chunk

    tracemalloc.start()
    try:
        result = Store(b).write("mem.bin", chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        b.close()
    assert result.size == 60 * MiB
    # part_size x (max_concurrency + 1) = 15 MiB, plus copies made while sending; far below 60 MiB.
    assert peak < 35 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"


# ---------------------------------------------------------------------- reads
def test_reads_are_lazy_ranged_and_pinned_to_the_etag(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    data = _data(6 * MiB)
    raw.put_object(Bucket=s3_bucket, Key="r.bin", Body=data)
    calls = _Calls(backend)
    with Store(backend).read("r.bin") as f:
        assert f.read(10) == data[:10]
        f.seek(5 * MiB)
        assert f.read(100) == data[5 * MiB : 5 * MiB + 100]
        gets = calls.named("GetObject")
        assert len(gets) == 2
        assert "Range" not in gets[0]
        first, _, last = gets[1]["Range"].removeprefix("bytes=").partition("-")
        assert int(first) == 5 * MiB and last, "a seek must send a bounded range"
        assert int(last) == 5 * MiB + backend.s3_options.read_block_size - 1  # one buffer-sized read
        assert gets[1]["IfMatch"].strip('"') == hashlib.md5(data).hexdigest()
        # The object is replaced: the next ranged read must fail, not mix versions.
        raw.put_object(Bucket=s3_bucket, Key="r.bin", Body=b"other" * 100)
        f.seek(1 * MiB)
        with pytest.raises(ContentChanged):
            f.read(10)


def test_read_restarts_on_the_new_version_before_any_byte(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    raw.put_object(Bucket=s3_bucket, Key="v.bin", Body=b"a" * 4 * MiB)
    with Store(backend).read("v.bin") as f:
        f.seek(2 * MiB)  # nothing delivered yet
        raw.put_object(Bucket=s3_bucket, Key="v.bin", Body=b"b" * 3 * MiB)
        assert f.read() == b"b" * MiB  # the new version, from the same offset


def test_read_of_folder_and_missing(backend: S3Backend) -> None:
    store = Store(backend)
    store.write("d/f.txt", b"x")
    with pytest.raises(InvalidPath):
        store.read_bytes("d")
    with pytest.raises(NotFound):
        store.read("nope.txt")


# ---------------------------------------------------------------------- conditional writes / checks
def test_head_check_fallback_without_conditional_writes(s3_server: MotoS3Server, s3_bucket: str) -> None:
    b = S3Backend(**s3_server.backend_options(s3_bucket, conditional_writes=False))
    calls = _Calls(b)
    b.write("k.txt", io.BytesIO(b"1"), overwrite=False, metadata={})
    with pytest.raises(AlreadyExists):
        b.write("k.txt", io.BytesIO(b"2"), overwrite=False, metadata={})
    assert all("IfNoneMatch" not in p for p in calls.named("PutObject"))
    assert Store(b).read_bytes("k.txt") == b"1"


def test_conditional_write_sends_if_none_match(backend: S3Backend) -> None:
    calls = _Calls(backend)
    backend.write("c.txt", io.BytesIO(b"1"), overwrite=False, metadata={})
    backend.write("c.txt", io.BytesIO(b"2"), overwrite=True, metadata={})
    puts = calls.named("PutObject")
    assert puts[0].get("IfNoneMatch") == "*"
    assert "IfNoneMatch" not in puts[1]


@pytest.mark.parametrize("options", [{}, {"path_checks": False}, {"hierarchical": "false"}])
def test_flat_default_gives_plain_object_semantics(
    s3_server: MotoS3Server, s3_bucket: str, options: dict[str, Any]
) -> None:
    b = S3Backend(**s3_server.backend_options(s3_bucket, **options))
    assert Capability.HIERARCHICAL not in b.capabilities
    store = Store(b)
    store.write("a", b"file")
    calls = _Calls(b)
    store.write("a/b", b"below a file")  # allowed: no extra requests
    assert [n for n, _ in calls.calls] == ["PutObject"]
    calls.calls.clear()
    store.delete("missing", missing_ok=True)  # one DeleteObject, nothing else
    assert [n for n, _ in calls.calls] == ["DeleteObject"]
    with pytest.raises(NotFound):
        store.delete("missing")  # missing_ok=False: one HeadObject more
    assert store.read_bytes("a/b") == b"below a file"


def test_one_request_per_put_get_head_delete_at_defaults(backend: S3Backend) -> None:
    store = Store(backend)
    calls = _Calls(backend)
    store.write("one/k.txt", b"x" * 1024, overwrite=True)
    store.read_bytes("one/k.txt")
    store.head("one/k.txt")
    store.delete("one/k.txt", missing_ok=True)
    assert [n for n, _ in calls.calls] == ["PutObject", "GetObject", "HeadObject", "DeleteObject"]


@pytest.mark.parametrize("flag", ["hierarchical", "path_checks"])
def test_hierarchical_enforces_placement_before_publishing(
    s3_server: MotoS3Server, s3_bucket: str, raw: Any, flag: str
) -> None:
    b = S3Backend(**s3_server.backend_options(s3_bucket, **{flag: True}))
    assert Capability.HIERARCHICAL in b.capabilities and b.hierarchical
    store = Store(b)
    store.write("f", b"file")
    store.write("d/x", b"old")
    with pytest.raises(InvalidPath):
        store.write("f/below", b"y")
    with pytest.raises(InvalidPath):
        store.write("d", _data(9 * MiB))  # multipart-sized: refused before any upload starts
    with pytest.raises(InvalidPath):
        store.delete("d", missing_ok=True)
    assert _pending_uploads(raw, s3_bucket) == []
    assert store.read_bytes("f") == b"file" and store.read_bytes("d/x") == b"old"
    assert raw.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 2


def test_folder_markers_are_folders_not_files(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    raw.put_object(Bucket=s3_bucket, Key="m/", Body=b"")
    raw.put_object(Bucket=s3_bucket, Key="n/sub/", Body=b"")
    store = Store(backend)
    assert store.is_folder("m") and not store.exists("m")
    assert list(store.list_files("", recursive=True)) == []
    assert sorted(store.list_folders("")) == ["m", "n"]
    with pytest.raises(InvalidPath):
        Store(S3Backend(**{**backend.options, "hierarchical": True})).write("m", b"x")
    store.delete_folder("m")  # only the marker: not "non-empty"
    assert raw.list_objects_v2(Bucket=s3_bucket, Prefix="m").get("KeyCount", 0) == 0


# ---------------------------------------------------------------------- listing / bulk delete
@pytest.mark.conformance_heavy
def test_2500_keys_listing_streams_pages_and_bulk_delete(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    keys = [f"many/{i // 100:02d}/{i:05d}.txt" for i in range(2500)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: raw.put_object(Bucket=s3_bucket, Key=k, Body=b"x"), keys))
    store = Store(backend)
    calls = _Calls(backend)
    it = store.list_files("many", recursive=True)
    first = next(it)
    assert first.path.startswith("many/")
    assert len(calls.named("ListObjectsV2")) == 1  # one page fetched for the first item
    rest = list(it)
    assert sorted([first.path, *(i.path for i in rest)]) == keys
    assert len(calls.named("ListObjectsV2")) == 3  # 1,000 keys per page
    assert len(list(store.list_folders("many"))) == 25
    calls.calls.clear()
    store.delete_folder("many", recursive=True)
    assert len(calls.named("DeleteObjects")) == 3
    assert all(len(p["Delete"]["Objects"]) <= 1000 for p in calls.named("DeleteObjects"))
    assert raw.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0


def test_glob_pushes_literal_prefix_to_server(backend: S3Backend) -> None:
    store = Store(backend)
    for k in ("logs/2024-01.txt", "logs/2024-02.csv", "logs/2025-01.txt", "logs/old/2024-03.txt", "x.txt"):
        store.write(k, b"1")
    calls = _Calls(backend)
    assert sorted(i.path for i in store.glob("logs/2024-*.txt")) == ["logs/2024-01.txt"]
    lists = calls.named("ListObjectsV2")
    assert [(p["Prefix"], p.get("Delimiter")) for p in lists] == [("logs/2024-", "/")]
    calls.calls.clear()
    assert sorted(i.path for i in store.glob("logs/**/2024-*.txt")) == ["logs/2024-01.txt", "logs/old/2024-03.txt"]
    assert [p["Prefix"] for p in calls.named("ListObjectsV2")] == ["logs/"]


# ---------------------------------------------------------------------- results and metadata
def test_versioned_bucket_reports_version_ids(s3_server: MotoS3Server) -> None:
    bucket = s3_server.create_bucket(versioned=True)
    b = S3Backend(**s3_server.backend_options(bucket))
    try:
        store = Store(b)
        r1 = store.write("v.txt", b"1")
        r2 = store.write("v.txt", b"2", overwrite=True)
        assert r1.version_id and r2.version_id and r1.version_id != r2.version_id
        assert store.get_file_info("v.txt").version_id == r2.version_id
        assert r2.source is remote_store.WriteSource.NATIVE
        r3 = store.write("big.bin", io.BytesIO(_data(9 * MiB)))
        assert r3.version_id
        versions = s3_server.client().list_object_versions(Bucket=bucket, Prefix="v.txt")["Versions"]
        assert {v["VersionId"] for v in versions} == {r1.version_id, r2.version_id}
    finally:
        b.close()
        s3_server.delete_bucket(bucket)


def test_checksum_when_asked_and_sse(s3_server: MotoS3Server, s3_bucket: str, raw: Any) -> None:
    b = S3Backend(**s3_server.backend_options(s3_bucket, checksum_algorithm="SHA256", sse="AES256"))
    data = b"checksum me"
    result = Store(b).write("c.txt", data)
    assert result.digest == remote_store.ContentDigest("sha256", hashlib.sha256(data).hexdigest())
    assert raw.head_object(Bucket=s3_bucket, Key="c.txt")["ServerSideEncryption"] == "AES256"
    b.close()


def test_metadata_roundtrips_exactly(backend: S3Backend, raw: Any, s3_bucket: str) -> None:
    store = Store(backend)
    meta = {
        "owner": "Zoë",
        "plain": "v",
        "spaced": "  padded value  ",
        "multi": "line\nbreak",
        "looks-encoded": "=?UTF-8?B?eA==?=",
        "empty": "",
    }
    result = store.write("m.txt", b"x", metadata=meta)
    assert dict(result.metadata) == meta
    assert dict(store.get_file_info("m.txt").metadata) == meta
    store.copy("m.txt", "m2.txt")
    assert dict(store.get_file_info("m2.txt").metadata) == meta
    with store.open_atomic("m3.bin", metadata=meta) as f:
        f.write(_data(9 * MiB))  # multipart: metadata set on CreateMultipartUpload
    assert dict(store.get_file_info("m3.bin").metadata) == meta
    assert raw.head_object(Bucket=s3_bucket, Key="m.txt")["Metadata"]["plain"] == "v"  # plain values stay plain


@pytest.mark.parametrize(
    ("metadata", "rule"),
    [
        ({"Owner": "a"}, "lower-cased"),
        ({"with space": "a"}, "token characters"),
        ({"": "a"}, "token characters"),
        ({"big": "v" * 3000}, "2048 bytes"),
    ],
)
def test_metadata_that_cannot_roundtrip_is_refused(backend: S3Backend, metadata: dict[str, str], rule: str) -> None:
    with pytest.raises(InvalidPath, match=rule):
        Store(backend).write("m.txt", b"x", metadata=metadata)
    assert not backend.exists("m.txt")


def test_content_type_is_guessed_from_the_name_unless_disabled(
    s3_server: MotoS3Server, s3_bucket: str, raw: Any
) -> None:
    store = Store(S3Backend(**s3_server.backend_options(s3_bucket)))
    store.write("page.html", b"<p>")
    store.write("data.csv", b"a,b")
    store.write("noext", b"x")
    with store.open_atomic("big.json") as f:
        f.write(_data(9 * MiB))
    assert raw.head_object(Bucket=s3_bucket, Key="page.html")["ContentType"] == "text/html"
    assert raw.head_object(Bucket=s3_bucket, Key="data.csv")["ContentType"] == "text/csv"
    assert raw.head_object(Bucket=s3_bucket, Key="big.json")["ContentType"] == "application/json"
    assert store.get_file_info("page.html").content_type == "text/html"
    assert raw.head_object(Bucket=s3_bucket, Key="noext")["ContentType"] in (
        "binary/octet-stream",
        "application/octet-stream",
    )
    off = Store(S3Backend(**s3_server.backend_options(s3_bucket, guess_content_type="false")))
    off.write("plain.html", b"<p>")
    assert raw.head_object(Bucket=s3_bucket, Key="plain.html")["ContentType"] != "text/html"


# ---------------------------------------------------------------------- keys a store cannot address
def test_unaddressable_keys_are_reported_not_confused(
    backend: S3Backend, raw: Any, s3_bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    raw.put_object(Bucket=s3_bucket, Key="ds/same.txt", Body=b"real")
    foreign = ["ds//same.txt", "ds/./x.txt", "ds/../y.txt", "ds/full/"]
    for k in foreign:
        raw.put_object(Bucket=s3_bucket, Key=k, Body=b"foreign")
    store = Store(backend)
    with pytest.raises(InvalidPath, match=r"ds//same\.txt"):
        backend.read_bytes("ds//same.txt")
    with pytest.raises(InvalidPath):
        backend.to_key("s3://" + s3_bucket + "/ds//same.txt")
    with caplog.at_level(logging.WARNING, logger="remote_store.kit"):
        files = sorted(i.path for i in store.list_files("", recursive=True))
        sorted(i.path for i in store.list_files("", recursive=True))
    assert files == ["ds/same.txt"]
    assert sorted(backend.unreachable.snapshot().keys) == sorted(foreign)
    assert len([r for r in caplog.records if "cannot address" in r.getMessage()]) == len(foreign)
    assert sorted(store.list_folders("ds")) == ["ds/full"]  # never "ds" itself (from "ds//")
    store.delete_folder("ds", recursive=True)
    assert raw.list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0  # foreign keys deleted too
    assert backend.unreachable.snapshot().deleted == len(foreign)


def test_multipart_copy_above_threshold(s3_server: MotoS3Server, s3_bucket: str, raw: Any) -> None:
    b = S3Backend(
        **s3_server.backend_options(s3_bucket, multipart_copy_threshold=5 * MiB, multipart_copy_part_size=5 * MiB)
    )
    store = Store(b)
    data = _data(12 * MiB, seed=3)
    store.write("src.bin", data, metadata={"k": "v"})
    calls = _Calls(b)
    store.move("src.bin", "dst.bin")
    assert len(calls.named("UploadPartCopy")) == 3
    assert not store.exists("src.bin")
    assert store.read_bytes("dst.bin") == data
    assert dict(store.get_file_info("dst.bin").metadata) == {"k": "v"}
    assert _pending_uploads(raw, s3_bucket) == []
    b.close()


# ---------------------------------------------------------------------- errors
def test_missing_bucket_is_config_error(s3_server: MotoS3Server) -> None:
    store = Store(S3Backend(**s3_server.backend_options("no-such-bucket-here")))
    with pytest.raises(ConfigError, match="does not exist"):
        store.ping()
    with pytest.raises(ConfigError, match="NoSuchBucket"):
        list(store.list_files("", recursive=True))


def test_unreachable_endpoint_is_backend_unavailable() -> None:
    from testing.servers._common import free_port

    b = S3Backend(
        "bucket",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id="a",
        secret_access_key="b",
        max_attempts=1,
        connect_timeout=2,
    )
    with pytest.raises(BackendUnavailable):
        Store(b).read_bytes("x")
    with pytest.raises(BackendUnavailable):
        Store(b).ping()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, remote_store.PermissionDenied),
        ("SlowDown", 503, BackendUnavailable),
        ("InternalError", 500, BackendUnavailable),
        ("PreconditionFailed", 412, AlreadyExists),
        ("NoSuchKey", 404, NotFound),
        ("NoSuchBucket", 404, ConfigError),
        ("InvalidBucketName", 400, ConfigError),
        ("KeyTooLongError", 400, InvalidPath),
        ("WeirdNewCode", 400, remote_store.RemoteStoreError),
    ],
)
def test_error_mapping(code: str, status: int, expected: type[Exception]) -> None:
    from botocore.exceptions import ClientError

    b = S3Backend("bucket", access_key_id="AKIDSECRETID", secret_access_key="verysecret")
    exc = ClientError(
        {"Error": {"Code": code, "Message": "msg verysecret"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )
    err = b.translate_error(exc, "k")
    assert type(err) is expected
    assert err is not None and "verysecret" not in str(err)


def test_credentials_never_in_repr_logs_or_errors(
    s3_server: MotoS3Server, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    key_id, secret, token = "AKIDLEAKCHECK123", "SECRETLEAKCHECK456", "TOKENLEAKCHECK789"
    b = S3Backend(
        "no-such-bucket-for-leaks",
        endpoint_url=s3_server.endpoint_url,
        region="us-east-1",
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=token,
    )
    store = Store(b)
    texts = [repr(b), repr(store), repr(store.resolve("x")), str(b.options), repr(pickle.loads(pickle.dumps(b)))]
    with caplog.at_level(logging.DEBUG, logger="remote_store"):
        for call in (lambda: store.read_bytes("x"), store.ping, lambda: store.write("a", b"1")):
            with pytest.raises(remote_store.RemoteStoreError) as info:
                call()
            texts += [str(info.value), repr(info.value)]
    texts.append(caplog.text)
    for text in texts:
        for value in (key_id, secret, token):
            assert value not in text
    assert isinstance(b.options["secret_access_key"], Secret)


# ---------------------------------------------------------------------- options / config / plugin
@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"part_size": 1024}, "part_size"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"retry_mode": "sometimes"}, "retry_mode"),
        ({"addressing_style": "weird"}, "addressing_style"),
        ({"endpoint_url": "ftp://x"}, "endpoint_url"),
        ({"sse": "rot13"}, "sse"),
        ({"sse_kms_key_id": "k"}, "sse_kms_key_id"),
        ({"checksum_algorithm": "MD4"}, "checksum_algorithm"),
        ({"access_key_id": "a"}, "secret_access_key"),
        ({"prefix": "a/../b"}, "prefix"),
        ({"max_attempts": "many"}, "max_attempts"),
        ({"verify": 3}, "verify"),
        ({"read_timeout": -1}, "read_timeout"),
    ],
)
def test_bad_options_raise_config_error_naming_the_key(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'"):
        S3Backend("bucket", **kwargs)


def test_bad_bucket_name() -> None:
    with pytest.raises(ConfigError, match="'bucket'"):
        S3Backend("a")


def test_options_roundtrip_and_string_coercion() -> None:
    as_text: dict[str, Any] = {"max_attempts": "7", "path_checks": "true", "verify": "false"}
    b = S3Backend("bucket", prefix="/p/q/", access_key_id="a", secret_access_key="s", **as_text)
    opts = b.options
    assert opts["prefix"] == "p/q" and opts["retries"] == 6 and opts["hierarchical"] is True  # max_attempts - 1
    assert opts["verify"] is False
    assert S3Backend(**opts).options == opts
    assert b.native_path("x/y") == "s3://bucket/p/q/x/y"
    assert b.to_key("s3://bucket/p/q/x/y") == "x/y"
    with pytest.raises(InvalidPath):
        b.to_key("s3://other/p/q/x")


def test_open_store_from_config_and_url(s3_server: MotoS3Server, s3_bucket: str) -> None:
    config = {
        "backends": {
            "lake": {
                "type": "s3",
                "options": {
                    "bucket": s3_bucket,
                    "prefix": "data",
                    "endpoint_url": s3_server.endpoint_url,
                    "region": s3_server.region,
                    "access_key_id": s3_server.access_key_id,
                    "secret_access_key": s3_server.secret_access_key,
                },
            }
        },
        "stores": {"reports": {"backend": "lake", "root_path": "reports"}},
    }
    with remote_store.open_store("reports", config=config) as store:
        assert isinstance(store.backend, S3Backend)
        store.write_text("r.txt", "hello")
    raw = s3_server.client()
    assert raw.get_object(Bucket=s3_bucket, Key="data/reports/r.txt")["Body"].read() == b"hello"
    url = (
        f"s3://{s3_bucket}/data?endpoint_url={s3_server.endpoint_url}&region={s3_server.region}"
        f"&access_key_id={s3_server.access_key_id}&secret_access_key={s3_server.secret_access_key}&max_attempts=2"
    )
    with remote_store.open_store(url) as store:
        assert store.read_text("reports/r.txt") == "hello"
        assert store.backend.options["retries"] == 1  # the former max_attempts=2
    with pytest.raises(ConfigError, match="unknown S3 option 'colour'"):
        remote_store.open_store(f"s3://{s3_bucket}/?colour=blue")
    with pytest.raises(ConfigError, match="'part_size'"):
        remote_store.open_store(f"s3://{s3_bucket}/?part_size=12")


def test_readme_config_spellings_work(s3_server: MotoS3Server, s3_bucket: str, monkeypatch: Any) -> None:
    """The README's ``options.access_key = "${AWS_ACCESS_KEY_ID}"`` config (aliases + env substitution)."""
    monkeypatch.setenv("RS_TEST_AK", s3_server.access_key_id)
    monkeypatch.setenv("RS_TEST_SK", s3_server.secret_access_key)
    config = {
        "backends": {
            "primary": {
                "type": "s3",
                "options": {
                    "bucket": s3_bucket,
                    "endpoint_url": s3_server.endpoint_url,
                    "region": s3_server.region,
                    "access_key": "${RS_TEST_AK}",
                    "secret_key": "${RS_TEST_SK}",
                },
            }
        },
        "stores": {"reports": {"backend": "primary", "root_path": "reports"}},
    }
    with remote_store.open_store("reports", config=config) as store:
        store.write_text("r.txt", "hi")
        assert store.read_text("r.txt") == "hi"
        assert s3_server.secret_access_key not in repr(store.backend)
    with pytest.raises(ConfigError, match="given twice"):
        S3Backend("b", access_key="a", access_key_id="a", secret_key="s")


def test_public_surface_and_lazy_sdk_import() -> None:
    import remote_store_s3

    assert remote_store_s3.__all__ == ["S3Backend", "S3Options"]
    code = (
        "import sys, remote_store_s3, remote_store_s3._plugin\n"
        "from remote_store import get_plugin_host\n"
        "assert get_plugin_host().backend_types()['s3'].package == 'remote-store-s3'\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'SDK imported eagerly'\n"
        "remote_store_s3.S3Backend\n"
        "assert 'boto3' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------- threads / processes
def test_one_client_shared_by_threads(backend: S3Backend) -> None:
    store = Store(backend)
    made: list[int] = []
    original = backend._make_client

    def counting() -> Any:
        made.append(1)
        return original()

    backend.close()
    backend._make_client = counting  # type: ignore[method-assign]
    barrier = threading.Barrier(8)

    def work(i: int) -> bytes:
        barrier.wait()
        store.write(f"t/{i}.txt", str(i).encode())
        return store.read_bytes(f"t/{i}.txt")

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(8))) == [str(i).encode() for i in range(8)]
    assert len(made) == 1


def _child_write(backend: S3Backend, q: Any) -> None:
    import os

    try:
        inherited = id(backend._client_obj)
        Store(backend).write("from-child.txt", b"child")
        q.put((inherited, id(backend._client_obj), backend._pid == os.getpid()))
    except Exception as exc:
        q.put(repr(exc))


@pytest.mark.skipif(sys.platform == "win32", reason="fork start method is POSIX-only")
def test_client_is_rebuilt_after_fork(backend: S3Backend) -> None:
    store = Store(backend)
    store.write("parent.txt", b"parent")
    parent_client = id(backend._client())
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_write, args=(backend, q))
    p.start()
    got = q.get(timeout=60)
    p.join(60)
    assert isinstance(got, tuple), got
    inherited, used, pid_matches = got
    assert inherited == parent_client  # the child started with the parent's client object...
    assert used != inherited and pid_matches  # ...and built its own before the first request
    assert store.read_bytes("from-child.txt") == b"child"
    assert id(backend._client()) == parent_client  # the parent keeps its own client


def test_s3_options_value_and_from_options() -> None:
    from remote_store_s3 import S3Options

    opts = S3Options(bucket="bucket", prefix="a", secret_access_key="s", access_key_id="k", part_size="6291456")  # type: ignore[arg-type]
    assert opts.part_size == 6 * MiB
    assert isinstance(opts.secret_access_key, Secret) and "s" not in repr(opts.secret_access_key)
    b = S3Backend.from_options(opts)
    assert b.s3_options == opts
    with pytest.raises(ConfigError, match="'part_size'"):
        S3Options(bucket="bucket", part_size=6 * 1024**3)


def test_url_without_bucket_or_with_credentials_in_netloc() -> None:
    with pytest.raises(ConfigError, match="bucket"):
        remote_store.open_store("s3:///prefix")
    with pytest.raises(ConfigError, match="credentials") as info:
        remote_store.open_store("s3://key:HUSHHUSH@bucket/prefix")
    assert "HUSHHUSH" not in str(info.value)
