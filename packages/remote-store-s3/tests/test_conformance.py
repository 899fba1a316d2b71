"""The full remote-store conformance suite against moto's S3 server (fresh bucket per test).

It runs in both placement modes: the default flat mode (no extra requests; Capability.HIERARCHICAL
not declared, so the placement tests are skipped) and ``hierarchical=True`` (every placement
test runs), plus the flat mode below a key prefix.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remote_store_conformance import BackendConformance
from remote_store_s3 import S3Backend
from testing.servers.s3 import MotoS3Server


class TestS3Conformance(BackendConformance):
    """Default options: flat keys."""

    @pytest.fixture
    def backend(self, s3_server: MotoS3Server, s3_bucket: str) -> Iterator[S3Backend]:
        b = S3Backend(**s3_server.backend_options(s3_bucket))
        assert not b.hierarchical
        yield b
        b.close()


class TestS3HierarchicalConformance(BackendConformance):
    """``hierarchical=True``: the file/folder placement rules are enforced."""

    @pytest.fixture
    def backend(self, s3_server: MotoS3Server, s3_bucket: str) -> Iterator[S3Backend]:
        b = S3Backend(**s3_server.backend_options(s3_bucket, hierarchical=True))
        yield b
        b.close()


class TestS3PrefixedConformance(BackendConformance):
    """The same suite with a key prefix as the backend root (keys outside it must stay invisible)."""

    @pytest.fixture
    def backend(self, s3_server: MotoS3Server, s3_bucket: str) -> Iterator[S3Backend]:
        s3_server.client().put_object(Bucket=s3_bucket, Key="outside/other.txt", Body=b"not ours")
        b = S3Backend(**s3_server.backend_options(s3_bucket, prefix="tenant/a"))
        yield b
        b.close()
