"""The shared test helpers: `testing.backends.open_backend` overrides, the HTTP test server's answers."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store
from testing.backends import open_backend
from testing.servers.http import run_http_server


def test_local_root_override(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    Store(open_backend("local", request, root=str(mine))).write("a.txt", b"x")
    assert (mine / "a.txt").read_bytes() == b"x"


def test_sftp_base_path_override(request: pytest.FixtureRequest) -> None:
    srv: Any = request.getfixturevalue("sftp_server_session")
    base = srv.unique_base("mine")
    Store(open_backend("sftp", request, base_path=base)).write("a.txt", b"x")
    with open(os.path.join(srv.local_path(base), "a.txt"), "rb") as f:
        assert f.read() == b"x"


def test_s3_bucket_override_is_not_removed(request: pytest.FixtureRequest) -> None:
    server: Any = request.getfixturevalue("s3_server")
    bucket = server.create_bucket()
    request.addfinalizer(lambda: server.delete_bucket(bucket))
    Store(open_backend("s3", request, bucket=bucket)).write("a.txt", b"x")
    assert server.client().get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"x"


def test_azure_container_override(request: pytest.FixtureRequest) -> None:
    from azure.storage.blob import BlobServiceClient

    server: Any = request.getfixturevalue("azurite")
    container = f"m{uuid.uuid4().hex[:20]}"
    service = BlobServiceClient.from_connection_string(server.connection_string)
    request.addfinalizer(service.close)
    service.create_container(container)
    request.addfinalizer(lambda: service.delete_container(container))
    Store(open_backend("azure", request, container=container)).write("a.txt", b"x")
    assert service.get_blob_client(container, "a.txt").download_blob().readall() == b"x"


def test_fsspec_root_override(request: pytest.FixtureRequest) -> None:
    root = f"/mine-{uuid.uuid4().hex[:12]}"
    backend: Any = open_backend("fsspec-memory", request, root=root)
    request.addfinalizer(lambda: backend.fs.rm(root, recursive=True))
    Store(backend).write("a.txt", b"x")
    assert backend.fs.cat_file(f"{root}/a.txt") == b"x"


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown backend kind"):
        open_backend("nope", None)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/" + "n" * 300, "/d/" + "n" * 300 + "/x.txt", "/" + "n" * 300 + "/"])
def test_http_server_answers_404_quietly_for_an_over_long_name(path: str, capfd: pytest.CaptureFixture[str]) -> None:
    with run_http_server() as server:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.url.rstrip("/") + path, timeout=10)
        assert info.value.code == 404
        info.value.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "File name too long" not in err
