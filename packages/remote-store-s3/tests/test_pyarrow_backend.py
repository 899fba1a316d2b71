"""``type = "s3-pyarrow"`` beyond the conformance suite: how it is found, what it leaves in the
bucket, and its error mapping (moto's S3 server)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

pytest.importorskip("pyarrow.fs")

from remote_store import Store, open_store
from remote_store.errors import BackendUnavailable, ConfigError, NotFound
from remote_store_s3._pyarrow_backend import S3PyArrowBackend
from testing.servers.s3 import MotoS3Server


def pyarrow_options(server: MotoS3Server, bucket: str) -> dict[str, object]:
    """``S3PyArrowBackend`` options for the moto server."""
    return {
        "bucket": bucket,
        "endpoint_url": server.endpoint_url,
        "region": server.region,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
        "max_attempts": 8,
    }


def _keys(server: MotoS3Server, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in server.client().list_objects_v2(Bucket=bucket).get("Contents", []))


def test_found_by_type_and_class_name(s3_server: MotoS3Server, s3_bucket: str) -> None:
    from remote_store.backends import S3PyArrowBackend as by_name

    assert by_name is S3PyArrowBackend
    config = {
        "backends": {"arrow": {"type": "s3-pyarrow", "options": pyarrow_options(s3_server, s3_bucket)}},
        "stores": {"lake": {"backend": "arrow", "root_path": "lake"}},
    }
    with open_store("lake", config=config) as store:
        assert isinstance(store.backend, S3PyArrowBackend)
        store.write("a/b.txt", b"hello")
        assert store.read_bytes("a/b.txt") == b"hello"
        assert store.native_path("a/b.txt") == f"s3://{s3_bucket}/lake/a/b.txt"
        assert s3_server.secret_access_key not in repr(store.resolve("a/b.txt"))
    assert _keys(s3_server, s3_bucket) == ["lake/a/b.txt"]


def test_delete_leaves_no_folder_marker(s3_server: MotoS3Server, s3_bucket: str) -> None:
    store = Store(S3PyArrowBackend(**pyarrow_options(s3_server, s3_bucket)))
    store.write("x/y/z.bin", b"1")
    store.write("x/y/w.bin", b"2")
    store.delete("x/y/z.bin")
    store.move("x/y/w.bin", "v.bin")
    assert _keys(s3_server, s3_bucket) == ["v.bin"]  # PyArrow's delete_file would leave "x/y/"
    assert not store.is_folder("x")
    with pytest.raises(NotFound):
        store.delete("x/y/z.bin")
    store.close()


def test_unknown_option_and_missing_bucket(s3_server: MotoS3Server) -> None:
    with pytest.raises(ConfigError, match="unknown s3-pyarrow option 'buckett'"):
        S3PyArrowBackend(buckett="b")
    with pytest.raises(ConfigError, match="required"):
        S3PyArrowBackend()
    backend = S3PyArrowBackend(**pyarrow_options(s3_server, "no-such-bucket-here"))
    with pytest.raises(ConfigError, match="does not exist"):
        Store(backend).ping()


def test_unreachable_endpoint_is_backend_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = S3PyArrowBackend(
        bucket="b",
        endpoint_url=f"http://127.0.0.1:{port}",
        region="us-east-1",
        access_key_id="k",
        secret_access_key="s",
        max_attempts=1,
        connect_timeout=1,
    )
    store = Store(backend)
    with pytest.raises(BackendUnavailable):
        store.read_bytes("x")
    with pytest.raises(BackendUnavailable):
        store.exists("x")


def test_read_sends_the_requests_pyarrow_sends_alone(s3_server: MotoS3Server, s3_bucket: str) -> None:
    """``Store.read`` on s3-pyarrow: the HEAD and the GETs PyArrow's own stream sends, nothing
    more (counted by an HTTP proxy in front of moto; PyArrow's C++ client bypasses botocore)."""
    import collections

    import pyarrow.fs as pafs

    from testing.faults import FaultProxy

    size, chunk = 5 * 1024 * 1024 + 123, 2 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    s3_server.client().put_object(Bucket=s3_bucket, Key="big.bin", Body=payload)
    with FaultProxy(int(s3_server.endpoint_url.rsplit(":", 1)[1])) as proxy:
        store = Store(S3PyArrowBackend(**{**pyarrow_options(s3_server, s3_bucket), "endpoint_url": proxy.url}))
        fs = pafs.S3FileSystem(
            access_key=s3_server.access_key_id,
            secret_key=s3_server.secret_access_key,
            region=s3_server.region,
            endpoint_override=proxy.url.split("://", 1)[1],
            scheme="http",
        )

        def counted(read: Any) -> dict[str, int]:
            proxy.requests.clear()
            stream = read()
            got = b""
            while part := stream.read(chunk):
                got += part
            stream.close()
            assert got == payload
            return dict(collections.Counter(m for m, _ in proxy.requests))

        ours = counted(lambda: store.read("big.bin"))
        alone = counted(lambda: fs.open_input_stream(f"{s3_bucket}/big.bin"))
        assert ours == alone, (ours, alone)
        assert ours == {"HEAD": 1, "GET": 3}, ours  # one HEAD, one GET per 2 MiB read
        proxy.requests.clear()
        with store.read_seekable("big.bin") as f:
            f.seek(size - 10)
            assert f.read(10) == payload[-10:]
        assert collections.Counter(m for m, _ in proxy.requests) == {"HEAD": 1, "GET": 1}
        store.close()
