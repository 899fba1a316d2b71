"""Cross-checks with the AWS CLI on a real moto server: what it writes we read exactly, and
what we write it reads byte-identically (names with ``+ % %2F``, NFC/NFD, metadata,
Content-Type, multipart ETags).

The AWS CLI (``awscli`` 1.x from PyPI) pins botocore exactly; the suite skips, saying so,
when it is not installed next to the workspace's boto3 (``uv pip install awscli==<the
version matching the pinned botocore>``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from remote_store import Store
from remote_store_s3 import S3Backend
from testing.servers.s3 import MotoS3Server

MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("awscli") is None, reason="AWS CLI (awscli) is not installed next to boto3"
)

CAFE = "caf\u00e9"
NAMES = [
    "x/a+b.csv",
    "x/100%.json",
    "x/lit%2Fslash.txt",
    f"x/{unicodedata.normalize('NFC', CAFE)}.txt",
    f"x/{unicodedata.normalize('NFD', CAFE)}.txt",
]


def _aws(server: MotoS3Server, *args: str, stdout_bytes: bool = False) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
        "AWS_DEFAULT_REGION": server.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "--endpoint-url", server.endpoint_url, *args],
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    return out.stdout if stdout_bytes else out.stdout.decode()


def _md5_multipart(data: bytes, part: int) -> str:
    digests = [hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part)]
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def test_what_the_aws_cli_writes_we_read_exactly(s3_server: MotoS3Server, s3_bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i, name in enumerate(NAMES):
        (src / Path(name).name).write_bytes(f"content {i} of {name}".encode())
    big = os.urandom(20 * MiB)  # above the CLI's 8 MiB multipart threshold
    (tmp_path / "big.bin").write_bytes(big)
    # one recursive copy of the odd names, one multipart upload with metadata and a type
    _aws(s3_server, "s3", "cp", "--recursive", "--quiet", str(src), f"s3://{s3_bucket}/x/")
    _aws(
        s3_server,
        "s3",
        "cp",
        "--quiet",
        "--metadata",
        "owner=ops,stage=raw",
        "--content-type",
        "application/x-thing",
        str(tmp_path / "big.bin"),
        f"s3://{s3_bucket}/y/big.bin",
    )
    backend = S3Backend(**s3_server.backend_options(s3_bucket))
    store = Store(backend)
    listed = {f.path for f in store.list_files("x")}
    assert listed == set(NAMES)  # NFC and NFD stay two keys, % and + stay literal
    for i, name in enumerate(NAMES):
        assert store.read_bytes(name) == f"content {i} of {name}".encode()
    info = store.get_file_info("y/big.bin")
    assert info.size == len(big)
    assert info.metadata == {"owner": "ops", "stage": "raw"}
    assert info.content_type == "application/x-thing"
    assert info.etag == _md5_multipart(big, 8 * MiB)  # the CLI's part size
    assert store.read_bytes("y/big.bin") == big
    with store.read_seekable("y/big.bin") as f:
        f.seek(17 * MiB)
        assert f.read(1000) == big[17 * MiB : 17 * MiB + 1000]
    backend.close()


def test_what_we_write_the_aws_cli_reads_byte_identically(
    s3_server: MotoS3Server, s3_bucket: str, tmp_path: Path
) -> None:
    backend = S3Backend(**s3_server.backend_options(s3_bucket, part_size=5 * MiB, multipart_threshold=5 * MiB))
    store = Store(backend)
    for i, name in enumerate(NAMES):
        store.write(name, f"ours {i}".encode(), metadata={"n": str(i)})
    big = os.urandom(12 * MiB + 3)
    result = store.write("y/big.bin", big, metadata={"owner": "ops"})
    assert result.etag == _md5_multipart(big, 5 * MiB)

    _aws(s3_server, "s3", "cp", "--recursive", "--quiet", f"s3://{s3_bucket}/", str(tmp_path / "dl"))
    for i, name in enumerate(NAMES):
        assert (tmp_path / "dl" / name).read_bytes() == f"ours {i}".encode()
    assert (tmp_path / "dl" / "y" / "big.bin").read_bytes() == big
    assert _aws(s3_server, "s3", "cp", f"s3://{s3_bucket}/x/a+b.csv", "-", stdout_bytes=True) == b"ours 0"

    import json

    head = json.loads(_aws(s3_server, "s3api", "head-object", "--bucket", s3_bucket, "--key", "y/big.bin"))
    assert head["Metadata"] == {"owner": "ops"}
    assert head["ETag"].strip('"') == result.etag
    csv = json.loads(_aws(s3_server, "s3api", "head-object", "--bucket", s3_bucket, "--key", "x/a+b.csv"))
    assert csv["ContentType"] == "text/csv"  # guessed from the name, as `aws s3 cp` does
    assert csv["Metadata"] == {"n": "0"}
    backend.close()
