"""Fixtures of the GCS tests: a raw SDK bucket handle on the emulator and backends in both modes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from remote_store_gcs import GCSBackend
from testing.servers.gcs import FakeGCSServer


@pytest.fixture
def raw(gcs_server: FakeGCSServer, gcs_bucket: str) -> Any:
    """The test bucket as a raw ``google.cloud.storage.Bucket`` (what other tools write with)."""
    return gcs_server.client().bucket(gcs_bucket)


@pytest.fixture(params=[False, True], ids=["flat", "hierarchical"])
def backend(request: pytest.FixtureRequest, gcs_server: FakeGCSServer, gcs_bucket: str) -> Iterator[GCSBackend]:
    """A backend on the test bucket with small (256 KiB) chunks, so resumable uploads are cheap."""
    b = GCSBackend(
        **gcs_server.backend_options(
            gcs_bucket, hierarchical=request.param, chunk_size=256 * 1024, multipart_threshold=256 * 1024
        )
    )
    yield b
    b.close()
