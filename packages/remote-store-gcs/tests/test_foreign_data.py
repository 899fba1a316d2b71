"""Data that other tools wrote: objects made by the raw google-cloud-storage SDK in the shapes
other tools leave behind, read and listed through a Store; and the reverse — what the Store
writes, read back by the raw SDK."""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from typing import Any

import pytest

from remote_store import Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_gcs import GCSBackend


def names(raw: Any) -> list[str]:
    return sorted(b.name for b in raw.client.list_blobs(raw.name))


@pytest.mark.parametrize("size", [3007, 600 * 1024], ids=["small", "over-256KiB"])
def test_gzip_encoded_object_reads_as_stored(backend: GCSBackend, raw: Any, size: int) -> None:
    plain = (b"compressible text " * (size // 18 + 1))[:size] if size < 10_000 else os.urandom(size)
    stored = gzip.compress(plain)
    blob = raw.blob("gz/data.json")
    blob.content_encoding = "gzip"
    blob.upload_from_string(stored, content_type="application/json")
    store = Store(backend)
    info = store.get_file_info("gz/data.json")
    assert info.size == len(stored) and info.content_type == "application/json"
    assert store.read_bytes("gz/data.json") == stored
    with store.read_seekable("gz/data.json") as f:
        f.seek(len(stored) // 2)
        assert f.read() == stored[len(stored) // 2 :]
    assert gzip.decompress(store.read_bytes("gz/data.json")) == plain


def test_trailing_slash_markers_are_folders(backend: GCSBackend, raw: Any) -> None:
    raw.blob("m/").upload_from_string(b"")
    raw.blob("m/sub/").upload_from_string(b"")
    raw.blob("m/sub/f.txt").upload_from_string(b"f")
    store = Store(backend)
    assert store.is_folder("m") and store.is_folder("m/sub") and not store.exists("m")
    assert [i.path for i in store.list_files("m", recursive=True)] == ["m/sub/f.txt"]
    assert list(store.list_folders("m")) == ["m/sub"]
    with pytest.raises(InvalidPath):
        store.read_bytes("m/sub")
    store.delete_folder("m", recursive=True)
    assert names(raw) == []


def test_metadata_and_content_type_written_by_the_sdk_read_exactly(backend: GCSBackend, raw: Any) -> None:
    meta = {"Owner": "team-a", "x-dashed": "v", "ünï": "cödé = 1; 2"}
    blob = raw.blob("meta.bin")
    blob.metadata = meta
    blob.upload_from_string(b"m", content_type="application/x-custom")
    store = Store(backend)
    info = store.get_file_info("meta.bin")
    assert dict(info.metadata) == meta and info.content_type == "application/x-custom"
    assert info.version_id == str(raw.get_blob("meta.bin").generation)


def test_what_the_store_writes_is_what_the_sdk_sees(backend: GCSBackend, raw: Any) -> None:
    meta = {"Owner": "team-a", "note": "a=b; c", "ünï": "cödé"}
    store = Store(backend)
    small = store.write("ours.csv", b"1,2\n", metadata=meta)
    big_data = os.urandom(700 * 1024)
    big = store.write("big.json", big_data, metadata=meta)
    for name, data, result in (("ours.csv", b"1,2\n", small), ("big.json", big_data, big)):
        blob = raw.get_blob(name)
        assert blob.metadata == meta, name
        assert blob.download_as_bytes() == data, name
        assert result.version_id == str(blob.generation), name
        assert result.etag == blob.etag.strip('"'), name
        assert result.digest is not None
        if result.digest.algorithm == "md5":
            assert result.digest.value == hashlib.md5(data).hexdigest(), name
    assert raw.get_blob("ours.csv").content_type == "text/csv"
    assert raw.get_blob("big.json").content_type == "application/json"


ODD = ["odd//double.txt", "odd/nonempty/", "odd/deep//x/y.txt"]


def test_unaddressable_names_are_skipped_and_reported(
    backend: GCSBackend, raw: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ODD:
        raw.blob(name).upload_from_string(b"odd")
    raw.blob("odd/fine.txt").upload_from_string(b"ok")
    store = Store(backend)
    with caplog.at_level(logging.WARNING, logger="remote_store.kit"):
        listed = sorted(i.path for i in store.list_files("odd", recursive=True))
    assert listed == ["odd/fine.txt"]
    snap = backend.unreachable.snapshot()
    assert set(snap.keys) == set(ODD) and snap.count == len(ODD)
    assert sum("cannot address" in r.getMessage() for r in caplog.records) == len(ODD)
    with pytest.raises(InvalidPath):
        store.to_key("gs://" + raw.name + "/odd//double.txt")
    store.delete_folder("odd", recursive=True)
    assert names(raw) == []


def test_sdk_object_deleted_under_a_listing_is_not_found(backend: GCSBackend, raw: Any) -> None:
    raw.blob("gone/a.txt").upload_from_string(b"a")
    store = Store(backend)
    (info,) = store.list_files("gone")
    raw.blob("gone/a.txt").delete()
    with pytest.raises(NotFound):
        store.read_bytes(info.path)
