"""The full conformance suite against ``type = "s3-pyarrow"`` on moto's S3 server (fresh bucket per test)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pyarrow.fs")

from remote_store_conformance import BackendConformance
from remote_store_s3._pyarrow_backend import S3PyArrowBackend
from testing.servers.s3 import MotoS3Server


def pyarrow_options(server: MotoS3Server, bucket: str, **extra: Any) -> dict[str, Any]:
    """``S3PyArrowBackend`` options for the moto server (8 attempts, as the boto3 suites use)."""
    return {
        "bucket": bucket,
        "endpoint_url": server.endpoint_url,
        "region": server.region,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
        "max_attempts": 8,
        **extra,
    }


class TestS3PyArrowConformance(BackendConformance):
    """Default options: flat keys."""

    @pytest.fixture
    def backend(self, s3_server: MotoS3Server, s3_bucket: str) -> Iterator[S3PyArrowBackend]:
        b = S3PyArrowBackend(**pyarrow_options(s3_server, s3_bucket))
        yield b
        b.close()
