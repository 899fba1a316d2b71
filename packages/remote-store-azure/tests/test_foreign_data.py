"""Data that other tools wrote: blobs made by the raw azure-storage-blob SDK in every shape
other tools leave behind, then every Store read/listing operation on them; and the reverse —
what the Store writes, read back by the raw SDK."""

from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Iterator

import pytest
from azure.storage.blob import ContainerClient, ContentSettings

from remote_store import Store
from remote_store.errors import InvalidPath, NotFound
from remote_store_azure import AzureBackend
from testing.servers.azure import AzuriteServer

FOLDER = {"hdi_isfolder": "true"}


@pytest.fixture
def raw(azure_raw: ContainerClient) -> ContainerClient:
    return azure_raw


@pytest.fixture(params=[False, True], ids=["flat", "hierarchical"])
def backend(request: pytest.FixtureRequest, azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
    b = AzureBackend(
        azure_container,
        connection_string=azurite.connection_string,
        hierarchical=request.param,
        max_single_put_size=128 * 1024,
        block_size=64 * 1024,
    )
    yield b
    b.close()


def names(raw: ContainerClient) -> list[str]:
    return sorted(b.name for b in raw.list_blobs())


# ---------------------------------------------------------------------- Content-Encoding: gzip
@pytest.mark.parametrize("size", [3007, 600 * 1024], ids=["small", "over-256KiB"])
def test_gzip_encoded_blob_reads_as_stored(backend: AzureBackend, raw: ContainerClient, size: int) -> None:
    plain = (b"compressible text " * (size // 18 + 1))[:size] if size < 10_000 else os.urandom(size)
    stored = gzip.compress(plain)
    raw.upload_blob(
        "gz/data.json",
        stored,
        content_settings=ContentSettings(content_type="application/json", content_encoding="gzip"),
    )
    store = Store(backend)
    info = store.get_file_info("gz/data.json")
    assert info.size == len(stored)
    assert info.metadata["Content-Encoding"] == "gzip"
    assert info.content_type == "application/json"
    assert store.read_bytes("gz/data.json") == stored
    with store.read("gz/data.json") as f:
        assert f.read() == stored
    with store.read("gz/data.json") as f:
        got = b""
        while chunk := f.read(100_000):
            got += chunk
        assert got == stored
    with store.read_seekable("gz/data.json") as f:
        f.seek(len(stored) // 2)
        assert f.read() == stored[len(stored) // 2 :]
    (listed,) = store.list_files("gz")
    assert listed.size == len(stored) and listed.metadata["Content-Encoding"] == "gzip"
    assert [i.path for i in store.glob("gz/*.json")] == ["gz/data.json"]
    assert store.get_folder_info("gz").total_size == len(stored)
    assert gzip.decompress(store.read_bytes("gz/data.json")) == plain


def test_gzip_blob_copies_with_its_encoding(backend: AzureBackend, raw: ContainerClient) -> None:
    stored = gzip.compress(b"x" * 5000)
    raw.upload_blob("gz/a.txt", stored, content_settings=ContentSettings(content_encoding="gzip"))
    store = Store(backend)
    store.copy("gz/a.txt", "gz/b.txt")
    props = raw.get_blob_client("gz/b.txt").get_blob_properties()
    assert props.content_settings.content_encoding == "gzip"
    assert raw.download_blob("gz/b.txt", decompress=False).readall() == stored


# ---------------------------------------------------------------------- ADLS-style folder blobs
def _adls_tree(raw: ContainerClient) -> None:
    raw.upload_blob("adls/dir", b"", metadata=FOLDER)
    raw.upload_blob("adls/dir/file.txt", b"inside")
    raw.upload_blob("adls/dir/sub", b"", metadata={"HDI_ISFOLDER": "True"})
    raw.upload_blob("adls/empty", b"", metadata=FOLDER)
    raw.upload_blob("adls/top.txt", b"top")


def test_adls_folder_blobs_are_folders_never_files(backend: AzureBackend, raw: ContainerClient) -> None:
    _adls_tree(raw)
    store = Store(backend)
    assert sorted(i.path for i in store.list_files("adls", recursive=True)) == ["adls/dir/file.txt", "adls/top.txt"]
    assert sorted(i.path for i in store.list_files("adls")) == ["adls/top.txt"]
    assert sorted(store.list_folders("adls")) == ["adls/dir", "adls/empty"]
    assert sorted(store.list_folders("adls/dir")) == ["adls/dir/sub"]
    assert sorted(i.path for i in store.glob("adls/**")) == ["adls/dir/file.txt", "adls/top.txt"]
    assert sorted(i.path for i in store.glob("adls/*")) == ["adls/top.txt"]
    for folder in ("adls/dir", "adls/empty", "adls/dir/sub"):
        assert store.is_folder(folder), folder
        assert not store.exists(folder) and not store.is_file(folder), folder
        with pytest.raises(InvalidPath):
            store.get_file_info(folder)
        with pytest.raises(InvalidPath):
            store.read_bytes(folder)
        with pytest.raises(InvalidPath):
            store.read(folder)
        with pytest.raises(InvalidPath):
            store.read_seekable(folder)
    info = store.get_folder_info("adls")
    assert (info.file_count, info.total_size) == (2, len(b"inside") + len(b"top"))
    assert store.get_folder_info("adls/empty").file_count == 0
    children = {(type(c).__name__, c.path) for c in store.iter_children("adls")}
    assert children == {("FolderEntry", "adls/dir"), ("FolderEntry", "adls/empty"), ("FileInfo", "adls/top.txt")}


def test_delete_folder_removes_adls_folder_blobs(backend: AzureBackend, raw: ContainerClient) -> None:
    _adls_tree(raw)
    store = Store(backend)
    store.delete_folder("adls/empty")
    assert "adls/empty" not in names(raw)
    assert not store.is_folder("adls/empty")
    with pytest.raises(NotFound):
        store.delete_folder("adls/empty")
    store.delete_folder("adls", recursive=True)
    assert names(raw) == []


def test_hierarchical_mode_refuses_writes_onto_an_adls_folder_blob(
    azurite: AzuriteServer, raw: ContainerClient
) -> None:
    raw.upload_blob("d", b"", metadata=FOLDER)
    with AzureBackend(raw.container_name, connection_string=azurite.connection_string, hierarchical=True) as b:
        store = Store(b)
        with pytest.raises(InvalidPath):
            store.write("d", b"file over a folder", overwrite=True)
        with pytest.raises(InvalidPath):
            store.delete("d")
        store.write("d/child.txt", b"fine")  # below a folder blob is a normal write
    assert raw.get_blob_client("d").get_blob_properties().metadata == FOLDER


# ---------------------------------------------------------------------- name/ markers
def test_trailing_slash_markers_are_folders(backend: AzureBackend, raw: ContainerClient) -> None:
    raw.upload_blob("m/", b"")
    raw.upload_blob("m/sub/", b"")
    raw.upload_blob("m/sub/f.txt", b"f")
    store = Store(backend)
    assert store.is_folder("m") and store.is_folder("m/sub") and not store.exists("m")
    assert [i.path for i in store.list_files("m", recursive=True)] == ["m/sub/f.txt"]
    assert list(store.list_folders("m")) == ["m/sub"]
    store.delete_folder("m", recursive=True)
    assert names(raw) == []


# ---------------------------------------------------------------------- user metadata
def test_metadata_written_by_other_tools_reads_exactly(backend: AzureBackend, raw: ContainerClient) -> None:
    meta = {"Owner": "team-a", "rsmeta_6b6579": "dmFsdWU=", "x_1": "a b c"}
    raw.upload_blob("meta.txt", b"m", metadata=meta)
    store = Store(backend)
    assert dict(store.get_file_info("meta.txt").metadata) == meta
    (listed,) = store.list_files("")
    assert dict(listed.metadata) == meta


def test_metadata_we_write_is_what_the_raw_sdk_sees(backend: AzureBackend, raw: ContainerClient) -> None:
    meta = {"Owner": "team-a", "kind": "report", "note": "a=b; c"}
    store = Store(backend)
    store.write("ours.csv", b"1,2\n", metadata=meta)
    props = raw.get_blob_client("ours.csv").get_blob_properties()
    assert props.metadata == meta
    assert props.content_settings.content_type == "text/csv"
    with pytest.raises(InvalidPath, match="C# identifiers"):
        store.write("bad.txt", b"x", metadata={"x-dashed": "v"})
    with pytest.raises(InvalidPath, match="printable ASCII"):
        store.write("bad.txt", b"x", metadata={"k": "ünïcode"})
    assert "bad.txt" not in names(raw)


def test_content_encoding_we_set_is_the_blob_property(backend: AzureBackend, raw: ContainerClient) -> None:
    stored = gzip.compress(b"payload" * 100)
    Store(backend).write("enc.txt", stored, metadata={"Content-Encoding": "gzip", "v": "1"})
    props = raw.get_blob_client("enc.txt").get_blob_properties()
    assert props.content_settings.content_encoding == "gzip" and props.metadata == {"v": "1"}
    assert raw.download_blob("enc.txt", decompress=False).readall() == stored
    assert dict(Store(backend).get_file_info("enc.txt").metadata) == {"v": "1", "Content-Encoding": "gzip"}


# ---------------------------------------------------------------------- unaddressable names
#: Odd names the SDK can create (``.``/``..`` segments are normalised away by the HTTP stack
#: before they reach the service, so `unaddressable` is unit-tested for those in test_package).
ODD = ["odd//double.txt", "odd/nonempty/", "odd/deep//x/y.txt"]


def test_unaddressable_names_are_reported_not_silently_dropped(
    backend: AzureBackend, raw: ContainerClient, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ODD:
        raw.upload_blob(name, b"odd")
    raw.upload_blob("odd/fine.txt", b"fine")
    stored = [n for n in names(raw) if n != "odd/fine.txt"]
    assert stored == sorted(ODD)
    store = Store(backend)
    caplog.set_level(logging.WARNING, logger="remote_store.kit")
    assert [i.path for i in store.list_files("odd", recursive=True)] == ["odd/fine.txt"]
    assert [i.path for i in store.glob("odd/**")] == ["odd/fine.txt"]
    # "odd//" is no folder a path can name (reported); "odd/nonempty" is a folder holding only
    # the unaddressable blob "odd/nonempty/".
    assert sorted(store.list_folders("odd")) == ["odd/deep", "odd/nonempty"]
    assert list(store.list_files("odd/nonempty", recursive=True)) == []
    assert backend.unaddressable_count >= len(stored)
    warned = [r for r in caplog.records if r.levelno == logging.WARNING]
    for name in stored:
        assert sum(repr(name) in r.getMessage() for r in warned) == 1, name
    before = len(warned)
    list(store.list_files("odd", recursive=True))
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == before  # once per name
    assert backend.unaddressable_count == backend.unreachable.count >= len(stored)  # distinct names
    assert set(stored) <= set(backend.unreachable.snapshot().keys)
    store.delete_folder("odd", recursive=True)
    assert names(raw) == []


def test_leading_slash_name_is_reported(backend: AzureBackend, raw: ContainerClient) -> None:
    raw.upload_blob("/lead.txt", b"x")
    raw.upload_blob("lead.txt", b"y")
    assert names(raw) == ["/lead.txt", "lead.txt"]
    store = Store(backend)
    assert [i.path for i in store.list_files("", recursive=True)] == ["lead.txt"]
    assert backend.unaddressable_count == 1
    assert [i.path for i in store.list_files("")] == ["lead.txt"]  # "/lead.txt" is below the prefix "/"
    assert list(store.list_folders("")) == []  # ... which no path can name: reported
    assert backend.unaddressable_count == 2
    assert store.read_bytes("lead.txt") == b"y"


# ---------------------------------------------------------------------- the reverse direction
def test_what_we_write_the_raw_sdk_reads(backend: AzureBackend, raw: ContainerClient) -> None:
    store = Store(backend)
    big = os.urandom(300 * 1024)  # staged: above max_single_put_size
    store.write("rev/small bin ü.dat", b"small")
    store.write("rev/big.bin", big)
    store.write("rev/empty.txt", b"")
    with store.open_atomic("rev/atomic.bin") as f:
        f.write(big[:1000])
    assert names(raw) == ["rev/atomic.bin", "rev/big.bin", "rev/empty.txt", "rev/small bin ü.dat"]
    assert raw.download_blob("rev/small bin ü.dat").readall() == b"small"
    assert raw.download_blob("rev/big.bin").readall() == big
    assert raw.download_blob("rev/empty.txt").readall() == b""
    assert raw.download_blob("rev/atomic.bin").readall() == big[:1000]
    committed, uncommitted = raw.get_blob_client("rev/big.bin").get_block_list("all")
    assert len(committed) == 5 and not uncommitted
    for blob in raw.list_blobs(include=["metadata"]):
        assert not blob.metadata  # no private bookkeeping in other tools' view
