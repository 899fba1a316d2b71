"""Azure-specific behaviour the conformance suite cannot express, against Azurite."""

from __future__ import annotations

import hashlib
import io
import logging
import pickle
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from remote_store import Capability, Store, open_url
from remote_store.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    ContentChanged,
    InvalidPath,
    NotFound,
    PermissionDenied,
)
from remote_store_azure import AzureBackend
from testing.servers._common import free_port
from testing.servers.azure import AzuriteServer, FaultProxy

MiB = 1024 * 1024
_PATTERN = bytes(range(251)) * 1045  # ~256 KiB, period 251 so blocks differ


@pytest.fixture
def raw(azurite: AzuriteServer, azure_container: str) -> Iterator[ContainerClient]:
    """The raw SDK container client, to check what really is in the container."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    yield service.get_container_client(azure_container)
    service.close()


@pytest.fixture
def backend(azurite: AzuriteServer, azure_container: str) -> Iterator[AzureBackend]:
    b = AzureBackend(
        azure_container,
        account_url=azurite.account_url,
        account_key=azurite.account_key,
        max_single_put_size=1 * MiB,
        block_size=1 * MiB,
        max_concurrency=4,
    )
    yield b
    b.close()


class _Source(io.RawIOBase):
    """A non-seekable stream of ``size`` deterministic bytes that raises after ``fail_after`` bytes."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self._size = size
        self._pos = 0
        self._fail_after = fail_after
        self.md5 = hashlib.md5(usedforsecurity=False)

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._fail_after is not None and self._pos >= self._fail_after:
            raise OSError("source broke mid-upload")
        n = min(len(b), self._size - self._pos, len(_PATTERN))
        block = _PATTERN[:n]
        b[:n] = block
        self.md5.update(block)
        self._pos += n
        return n


# ---------------------------------------------------------------------- staged uploads
def test_64_mib_staged_upload_round_trip_with_bounded_memory(
    azurite: AzuriteServer, azure_container: str, raw: ContainerClient
) -> None:
    backend = AzureBackend(
        azure_container,
        connection_string=azurite.connection_string,
        max_single_put_size=1 * MiB,
        block_size=1 * MiB,
        max_concurrency=4,
        compute_md5=True,
    )
    store = Store(backend)
    source = _Source(64 * MiB)
    tracemalloc.start()
    try:
        result = store.write("big/64.bin", source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.size == 64 * MiB
    # 1 MiB blocks, 4 in flight: far below the 64 MiB payload.
    assert peak < 24 * MiB, f"upload held {peak} bytes"
    committed, uncommitted = raw.get_blob_client("big/64.bin").get_block_list("all")
    assert len(committed) == 64 and not uncommitted
    props = raw.get_blob_client("big/64.bin").get_blob_properties()
    assert props.size == 64 * MiB
    assert result.digest is not None and result.digest.algorithm == "md5"
    assert result.digest.value == source.md5.hexdigest() == bytes(props.content_settings.content_md5).hex()
    assert result.etag == props.etag.strip('"')
    digest = hashlib.md5(usedforsecurity=False)
    with store.read("big/64.bin") as f:
        while chunk := f.read(3 * MiB + 5):
            digest.update(chunk)
    assert digest.hexdigest() == source.md5.hexdigest()
    backend.close()


def test_staged_upload_without_compute_md5_reports_no_client_digest(backend: AzureBackend) -> None:
    result = Store(backend).write("nomd5.bin", _Source(3 * MiB))
    assert result.size == 3 * MiB
    # Put Block List gives no whole-blob MD5 (its Content-MD5 is of the block list itself).
    assert result.digest is None
    assert result.etag and result.last_modified is not None


def test_failed_staged_upload_leaves_nothing(backend: AzureBackend, raw: ContainerClient) -> None:
    store = Store(backend)
    with pytest.raises(OSError, match="source broke"):
        store.write("half.bin", _Source(8 * MiB, fail_after=5 * MiB))
    blob = raw.get_blob_client("half.bin")
    with pytest.raises(ResourceNotFoundError):
        blob.get_blob_properties()
    assert [b.name for b in raw.list_blobs()] == []
    assert not store.exists("half.bin")
    try:
        committed, _ = blob.get_block_list("committed")
    except ResourceNotFoundError:
        committed = []
    assert committed == []


def test_failed_overwrite_keeps_previous_content(backend: AzureBackend, raw: ContainerClient) -> None:
    store = Store(backend)
    store.write("keep.bin", b"previous")
    with pytest.raises(OSError, match="source broke"):
        store.write("keep.bin", _Source(6 * MiB, fail_after=3 * MiB), overwrite=True)
    assert store.read_bytes("keep.bin") == b"previous"
    committed, _ = raw.get_blob_client("keep.bin").get_block_list("committed")
    assert len(committed) <= 1


def test_aborted_open_atomic_commits_nothing(backend: AzureBackend, raw: ContainerClient) -> None:
    store = Store(backend)
    with pytest.raises(RuntimeError), store.open_atomic("atomic.bin") as f:
        for _ in range(5):
            f.write(b"x" * MiB)
        raise RuntimeError("caller failed")
    with pytest.raises(ResourceNotFoundError):
        raw.get_blob_client("atomic.bin").get_blob_properties()
    with store.open_atomic("atomic.bin") as f:
        for i in range(3):
            f.write(bytes([i]) * MiB)
    assert f.result is not None and f.result.size == 3 * MiB
    assert store.read_bytes("atomic.bin") == b"".join(bytes([i]) * MiB for i in range(3))


def test_overwrite_false_is_a_conditional_create_for_staged_uploads(backend: AzureBackend) -> None:
    store = Store(backend)
    store.write("cond.bin", b"first")
    with pytest.raises(AlreadyExists):
        store.write("cond.bin", _Source(3 * MiB))
    assert store.read_bytes("cond.bin") == b"first"


def test_write_result_is_native(backend: AzureBackend, raw: ContainerClient) -> None:
    result = Store(backend).write("small.txt", b"hello azure")
    props = raw.get_blob_client("small.txt").get_blob_properties()
    assert result.source.value == "native"
    assert result.etag == props.etag.strip('"')
    assert result.last_modified == props.last_modified
    assert result.digest is not None
    assert result.digest.value == hashlib.md5(b"hello azure", usedforsecurity=False).hexdigest()
    assert props.content_settings.content_type == "text/plain"


# ---------------------------------------------------------------------- reads
def test_read_is_pinned_to_the_etag_seen_at_open(backend: AzureBackend) -> None:
    store = Store(backend).child("root")
    store.write("moving.bin", b"a" * (2 * MiB))
    with store.read("moving.bin") as f:
        assert f.read(10) == b"a" * 10
        store.write("moving.bin", b"b" * (2 * MiB), overwrite=True)
        with pytest.raises(ContentChanged) as info:
            f.seek(MiB + 500_000)
            f.read(10)
    assert info.value.path == "moving.bin"  # store-relative, without the store root


@pytest.mark.parametrize("how", ["read", "read-chunks", "readall-after-seek"])
def test_read_that_returned_nothing_follows_a_replaced_blob(backend: AzureBackend, how: str) -> None:
    store = Store(backend)
    old, new = b"a" * (3 * MiB), b"b" * (2 * MiB + 7)
    store.write("moving.bin", old)
    with store.read("moving.bin") as f:
        store.write("moving.bin", new, overwrite=True)  # replaced between open and the first read
        if how == "read":
            assert f.read() == new
        elif how == "read-chunks":
            got = b""
            while chunk := f.read(300_000):
                got += chunk
            assert got == new
        else:
            f.seek(MiB)
            assert f.read() == new[MiB:]


def test_read_bytes_downloads_again_when_the_blob_changes_between_ranges(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy
) -> None:
    """``read_bytes`` of a multi-range blob returns nothing until the end, so a blob replaced
    between its ranges (the SDK pins them with ``If-Match``) is downloaded again, whole."""
    with _proxied(azurite, azure_fault_proxy, azure_container, block_size=MiB, max_concurrency=2) as b:
        store = Store(b)
        store.write("mid.bin", b"a" * (40 * MiB))  # > the SDK's 32 MiB first range: ranged chunks follow
        replaced = threading.Event()
        original = azure_fault_proxy._match

        def replace_on_the_second_range(method: str, target: str) -> bool:
            seen = original(method, target)
            if method == "GET" and "mid.bin" in target and not replaced.is_set():
                gets = [t for m, t in azure_fault_proxy.requests if m == "GET" and "mid.bin" in t]
                if len(gets) == 2:
                    replaced.set()
                    Store(b).write("mid.bin", b"c" * (3 * MiB), overwrite=True)
            return seen

        azure_fault_proxy._match = replace_on_the_second_range  # type: ignore[method-assign]
        assert store.read_bytes("mid.bin") == b"c" * (3 * MiB)
        assert replaced.is_set()


def test_streaming_read_of_a_large_blob_uses_growing_ranges(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy
) -> None:
    data = bytes(range(256)) * (24 * 4096)  # 24 MiB
    with _proxied(azurite, azure_fault_proxy, azure_container, block_size=8 * MiB) as b:
        store = Store(b)
        store.write("ahead.bin", data)
        with store.read("ahead.bin") as f:
            out = bytearray()
            while chunk := f.read(MiB):
                out += chunk
    assert bytes(out) == data
    gets = [t for m, t in azure_fault_proxy.requests if m == "GET" and "ahead.bin" in t]
    # 256 KiB, then doubling ranges up to block_size: far fewer requests than 1 MiB reads.
    assert 4 <= len(gets) <= 9, gets


# ---------------------------------------------------------------------- metadata
def test_metadata_is_stored_as_given_and_refused_when_azure_cannot(backend: AzureBackend, raw: ContainerClient) -> None:
    store = Store(backend)
    meta = {"plain_key": "plain value", "Case": "v"}
    store.write("m.txt", b"m", metadata=meta)
    assert dict(store.get_file_info("m.txt").metadata) == meta
    assert raw.get_blob_client("m.txt").get_blob_properties().metadata == meta
    store.copy("m.txt", "copy.txt")
    assert dict(store.get_file_info("copy.txt").metadata) == meta
    for bad in ({"x-dashed": "v"}, {"k": "ünïcode"}, {"k": " spaced "}):
        with pytest.raises(InvalidPath, match="Azure"):
            store.write("m.txt", b"other", metadata=bad, overwrite=True)
    assert store.read_bytes("m.txt") == b"m"


# ---------------------------------------------------------------------- copy
def test_copy_is_server_side(backend: AzureBackend, raw: ContainerClient) -> None:
    store = Store(backend)
    store.write("src.bin", b"payload" * 1000)
    store.copy("src.bin", "dst.bin")
    props = raw.get_blob_client("dst.bin").get_blob_properties()
    assert props.copy.status == "success"
    assert props.copy.source is not None and props.copy.source.endswith("/src.bin")
    with pytest.raises(AlreadyExists):
        store.copy("src.bin", "dst.bin")
    with pytest.raises(NotFound):
        store.copy("missing.bin", "other.bin")


# ---------------------------------------------------------------------- auth
def test_sas_token_auth(azurite: AzuriteServer, azure_container: str) -> None:
    expiry = datetime.now(UTC) + timedelta(hours=1)
    full = generate_container_sas(
        azurite.account_name,
        azure_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, list=True, create=True),
        expiry=expiry,
    )
    with AzureBackend(azure_container, account_url=azurite.account_url, sas_token=full) as b:
        store = Store(b)
        store.write("sas/a.txt", b"via sas")
        store.copy("sas/a.txt", "sas/b.txt")
        assert store.read_bytes("sas/b.txt") == b"via sas"
        assert [i.path for i in store.list_files("sas")] == ["sas/a.txt", "sas/b.txt"]
        assert full.split("sig=")[1].split("&")[0] not in repr(b)
    read_only = generate_container_sas(
        azurite.account_name,
        azure_container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=expiry,
    )
    with AzureBackend(azure_container, account_url=azurite.account_url, sas_token="?" + read_only) as b:
        store = Store(b)
        assert store.read_bytes("sas/a.txt") == b"via sas"
        with pytest.raises(PermissionDenied) as info:
            store.write("sas/c.txt", b"refused")
        signature = read_only.split("sig=")[1].split("&")[0]
        assert signature not in str(info.value)
        assert "sig=" not in str(info.value) or "sig=REDACTED" in str(info.value)


def test_connection_string_auth(azurite: AzuriteServer, azure_container: str) -> None:
    with AzureBackend(azure_container, connection_string=azurite.connection_string) as b:
        store = Store(b)
        store.write("cs.txt", b"conn")
        assert store.read_bytes("cs.txt") == b"conn"
        assert azurite.account_key not in repr(b)


def test_connection_string_from_environment_and_az_url(
    azurite: AzuriteServer, azure_container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    store = open_url(f"az://{azure_container}/some/prefix")
    try:
        assert store.backend.type_name == "azure"
        assert store.root_path == "some/prefix"
        store.write("f.txt", b"from url")
        assert store.backend.native_path("some/prefix/f.txt") == f"az://{azure_container}/some/prefix/f.txt"
        other = open_url(f"azure://{azure_container}")
        assert other.read_bytes("some/prefix/f.txt") == b"from url"
        other.close()
    finally:
        store.close()


def test_wrong_key_is_permission_denied_without_secrets(
    azurite: AzuriteServer, azure_container: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad_key = "QUJD" + azurite.account_key[4:]
    caplog.set_level(logging.DEBUG)
    with AzureBackend(azure_container, account_url=azurite.account_url, account_key=bad_key) as b:
        with pytest.raises(PermissionDenied) as info:
            Store(b).read_bytes("x.txt")
        text = f"{info.value}|{info.value!r}|{b!r}|{b.options!r}|{Store(b).resolve('x.txt')!r}"
        assert bad_key not in text
        assert bad_key not in caplog.text
        with pytest.raises(BackendUnavailable) as ping:
            b.ping()
        assert bad_key not in str(ping.value)


def test_secret_options_are_masked_and_pickle_by_configuration(backend: AzureBackend, azurite: AzuriteServer) -> None:
    assert azurite.account_key not in repr(backend)
    assert "**********" in repr(backend)
    Store(backend).write("p.txt", b"pickled")
    clone = pickle.loads(pickle.dumps(backend))
    assert isinstance(clone, AzureBackend)
    assert Store(clone).read_bytes("p.txt") == b"pickled"
    clone.close()


def test_default_credential_requires_identity_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    b = AzureBackend("somecontainer", account_name="someaccount")
    with pytest.raises(ConfigError, match=r"remote-store-azure\[identity\]"):
        Store(b).exists("x")


# ---------------------------------------------------------------------- errors
def test_unreachable_service_is_backend_unavailable() -> None:
    port = free_port()
    b = AzureBackend(
        "container",
        account_url=f"http://127.0.0.1:{port}/devstoreaccount1",
        account_key="a2V5",
        retries=0,
        connect_timeout=2,
    )
    with pytest.raises(BackendUnavailable):
        Store(b).read_bytes("x")
    with pytest.raises(BackendUnavailable):
        b.ping()


def test_missing_container_is_not_found_naming_it(azurite: AzuriteServer) -> None:
    with AzureBackend("no-such-container", account_url=azurite.account_url, account_key=azurite.account_key) as b:
        with pytest.raises(NotFound, match="no-such-container"):
            Store(b).read_bytes("x")
        with pytest.raises(BackendUnavailable, match="no-such-container"):
            b.ping()


@pytest.mark.parametrize("spelling", ["create_root", "create_container"])
def test_create_root_option(azurite: AzuriteServer, raw: ContainerClient, spelling: str) -> None:
    name = raw.container_name + "x"
    with AzureBackend(name, connection_string=azurite.connection_string, **{spelling: True}) as b:
        Store(b).write("a.txt", b"a")
        b.ping()
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.delete_container(name)
    service.close()


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"container": "Bad_Name"}, "container"),
        ({"container": "ok-name", "block_size": 0}, "block_size"),
        ({"container": "ok-name", "max_concurrency": 0}, "max_concurrency"),
        ({"container": "ok-name", "max_concurrency": "four"}, "max_concurrency"),
        ({"container": "ok-name", "credential": "a-string"}, "credential"),
        ({"container": "ok-name", "api_version": "latest"}, "api_version"),
        ({"container": "ok-name", "account_url": "ftp://x"}, "account_url"),
        ({"container": "ok-name", "retries": -1}, "retries"),
        ({"container": "ok-name", "retry_total": -1}, "retries"),  # the former name, reported canonically
        ({"container": "ok-name", "retry_backoff": -1}, "retry_backoff"),
        ({"container": "ok-name", "retry_budget": "forever"}, "retry_budget"),
        ({"container": "ok-name", "retry_on": "sometimes"}, "retry_on"),
        ({"container": "ok-name", "connect_timeout": "soon"}, "connect_timeout"),
        ({"container": "ok-name", "read_timeout": -1}, "read_timeout"),
        ({"container": "ok-name", "verify": ""}, "verify"),
        ({"container": "ok-name", "hierarchical": "maybe"}, "hierarchical"),
        ({"container": "ok-name", "strict_paths": 1}, "hierarchical"),
        ({"container": "ok-name", "hierarchical": True, "strict_paths": False}, "hierarchical"),
        ({"container": "ok-name", "create_root": True, "create_container": True}, "create_root"),
        ({"container": "ok-name", "no_such_option": 1}, "no_such_option"),
    ],
)
def test_bad_options_raise_config_error_naming_the_key(options: dict[str, object], key: str) -> None:
    kwargs: dict[str, object] = {"account_name": "acct", **options}
    with pytest.raises(ConfigError) as info:
        AzureBackend(**kwargs)  # type: ignore[arg-type]
    assert info.value.path == key
    assert f"'{key}'" in info.value.message


def test_shared_option_names_and_their_former_aliases() -> None:
    """The shared vocabulary (retries, connect/read timeouts, verify, create_root, hierarchical)
    and the former Azure names give the same options; query-string strings are converted."""
    new = AzureBackend(
        "c-one",
        account_name="acct",
        retries="5",
        connect_timeout="2.5",
        read_timeout=7,
        verify="false",
        create_root="true",
        hierarchical="yes",
    )
    old = AzureBackend(
        "c-one",
        account_name="acct",
        retry_total=5,
        connection_timeout=2.5,
        read_timeout=7,
        connection_verify=False,
        create_container=True,
        strict_paths=True,
    )
    assert (
        new.options
        == old.options
        == {
            "container": "c-one",
            "account_name": "acct",
            "retries": 5,
            "connect_timeout": 2.5,
            "read_timeout": 7.0,
            "verify": False,
            "create_root": True,
            "hierarchical": True,
        }
    )
    o = old.azure_options
    assert (o.retry_total, o.connection_timeout, o.connection_verify, o.create_container) == (5, 2.5, False, True)


def test_retry_and_timeout_options_reach_the_sdk_pipeline() -> None:
    from remote_store_azure._client import Backoff

    b = AzureBackend(
        "c-one",
        account_url="http://127.0.0.1:1/acct",
        account_key="a2V5",
        retries=4,
        retry_backoff=0.25,
        retry_backoff_max=1.0,
        connect_timeout=3,
        read_timeout=9,
    )
    cc = b._cc()
    retry = cc._config.retry_policy  # the SDK's own retry policy object
    assert isinstance(retry, Backoff) and retry.total_retries == 4
    delays = [retry.get_backoff_time({"count": n}) for n in (1, 2, 3, 4)]
    assert 0.2 <= delays[0] <= 0.3 and 0.4 <= delays[1] <= 0.6 and 0.8 <= delays[2] <= 1.2
    assert delays[3] <= 1.2  # capped by retry_backoff_max (+ jitter)
    config = cc._pipeline._transport._transport.connection_config  # azure-core RequestsTransport
    assert config.timeout == 3 and config.read_timeout == 9
    b.close()


def test_no_account_is_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="account_name"):
        AzureBackend("container")


# ---------------------------------------------------------------------- folders
def test_recursive_delete_folder_uses_batches_beyond_256(backend: AzureBackend, raw: ContainerClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: raw.upload_blob(f"bulk/{i % 3}/{i:04d}.txt", b"x"), range(300)))
    raw.upload_blob("bulk-sibling.txt", b"keep")
    store = Store(backend)
    assert store.get_folder_info("bulk").file_count == 300
    store.delete_folder("bulk", recursive=True)
    assert [b.name for b in raw.list_blobs()] == ["bulk-sibling.txt"]


def test_folder_markers_count_as_folders_not_files(backend: AzureBackend, raw: ContainerClient) -> None:
    raw.upload_blob("marked/", b"")
    raw.upload_blob("marked/sub/", b"")
    raw.upload_blob("marked/sub/f.txt", b"f")
    store = Store(backend)
    assert store.is_folder("marked") and store.is_folder("marked/sub")
    assert not store.exists("marked")
    assert [i.path for i in store.list_files("marked", recursive=True)] == ["marked/sub/f.txt"]
    assert list(store.list_folders("marked")) == ["marked/sub"]
    store.delete_folder("marked", recursive=True)
    assert [b.name for b in raw.list_blobs()] == []


def test_glob_pushes_the_literal_prefix(backend: AzureBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store(backend)
    for name in ("logs/2024-01.txt", "logs/2024-02.csv", "logs/2023-12.txt", "logs/deep/2024-03.txt"):
        store.write(name, b"x")
    seen: list[str | None] = []
    cc = backend._cc()
    original = type(cc).walk_blobs

    def spy(self: ContainerClient, name_starts_with: str | None = None, **kwargs: object) -> object:
        seen.append(name_starts_with)
        return original(self, name_starts_with=name_starts_with, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(type(cc), "walk_blobs", spy)
    assert sorted(i.path for i in store.glob("logs/2024-*.txt")) == ["logs/2024-01.txt"]
    assert seen == ["logs/2024-"]


# ---------------------------------------------------------------------- flat vs hierarchical
def test_strict_paths_is_an_alias_of_hierarchical() -> None:
    assert AzureBackend("c-one", account_name="acct", strict_paths=True).options["hierarchical"] is True
    assert AzureBackend("c-one", account_name="acct", strict_paths=True).hierarchical
    flat = AzureBackend("c-one", account_name="acct", strict_paths=False)
    assert not flat.hierarchical and "strict_paths" not in flat.options and "hierarchical" not in flat.options
    assert Capability.HIERARCHICAL not in AzureBackend("c-one", account_name="acct").capabilities
    assert Capability.HIERARCHICAL in AzureBackend("c-one", account_name="acct", hierarchical=True).capabilities


def _proxied(azurite: AzuriteServer, proxy: FaultProxy, container: str, **extra: object) -> AzureBackend:
    return AzureBackend(
        container,
        account_url=proxy.account_url,
        account_key=azurite.account_key,
        **{"retries": 2, "retry_backoff": 0.05, **extra},  # type: ignore[arg-type]
    )


def _sent(proxy: FaultProxy, key: str) -> list[str]:
    return [m for m, target in proxy.requests if key in target]


@pytest.mark.parametrize(("retries", "ok"), [(1, False), (2, True)])
def test_retries_option_is_the_number_of_resends(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, retries: int, ok: bool
) -> None:
    """Two lost responses of an idempotent Get Blob Properties: 1 retry is not enough, 2 are."""
    with _proxied(azurite, azure_fault_proxy, azure_container) as setup:
        Store(setup).write("r.txt", b"r")
    azure_fault_proxy.drop_response("HEAD", "/r.txt", times=2)
    with _proxied(azurite, azure_fault_proxy, azure_container, retries=retries) as b:
        if ok:
            assert Store(b).get_file_info("r.txt").size == 1
        else:
            with pytest.raises(BackendUnavailable):
                Store(b).get_file_info("r.txt")
    assert len(azure_fault_proxy.dropped) == 2
    assert _sent(azure_fault_proxy, "r.txt").count("HEAD") == (3 if ok else 2)


def test_flat_mode_sends_one_request_per_put_and_delete(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy
) -> None:
    with _proxied(azurite, azure_fault_proxy, azure_container) as b:
        store = Store(b)
        store.write("one.txt", b"1 KiB" * 200, overwrite=True)
        assert _sent(azure_fault_proxy, "one.txt") == ["PUT"]
        store.delete("one.txt", missing_ok=True)
        assert _sent(azure_fault_proxy, "one.txt") == ["PUT", "DELETE"]
        store.write("two.txt", b"x")
        store.delete("two.txt")
        assert _sent(azure_fault_proxy, "two.txt") == ["PUT", "DELETE"]
        store.delete("missing.txt", missing_ok=True)
        assert _sent(azure_fault_proxy, "missing.txt")[0] == "DELETE"
        with pytest.raises(NotFound):
            store.delete("missing2.txt")
        assert len(_sent(azure_fault_proxy, "missing2.txt")) <= 2  # Delete Blob + at most one listing


def test_hierarchical_mode_checks_before_publishing(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy
) -> None:
    with _proxied(azurite, azure_fault_proxy, azure_container, hierarchical=True) as b:
        Store(b).write("a/b.txt", b"x")
    sent = [m for m, t in azure_fault_proxy.requests if "b.txt" in t or "restype=container" in t or "/a" in t]
    assert sent[-1] == "PUT" and len(sent) >= 3  # listing + parent HEAD, then Put Blob


@pytest.mark.parametrize("size", [100, 3 * MiB], ids=["put-blob", "staged"])
def test_failed_placement_check_keeps_the_previous_content(
    azurite: AzuriteServer, raw: ContainerClient, size: int
) -> None:
    raw.upload_blob("both", b"previous content")
    raw.upload_blob("both/child.txt", b"makes 'both' a folder too")
    raw.upload_blob("file.txt", b"a file")
    with AzureBackend(
        raw.container_name,
        connection_string=azurite.connection_string,
        hierarchical=True,
        max_single_put_size=1 * MiB,
        block_size=1 * MiB,
    ) as b:
        store = Store(b)
        with pytest.raises(InvalidPath):
            store.write("both", _Source(size), overwrite=True)
        with pytest.raises(InvalidPath):
            store.write("file.txt/below.bin", _Source(size))
    assert raw.download_blob("both").readall() == b"previous content"
    assert sorted(n.name for n in raw.list_blobs()) == ["both", "both/child.txt", "file.txt"]


# ---------------------------------------------------------------------- retried non-idempotent calls
@pytest.mark.parametrize("size", [100, 3 * MiB], ids=["put-blob", "staged"])
def test_retried_create_that_had_succeeded_is_a_success(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient, size: int
) -> None:
    staged = size > MiB
    azure_fault_proxy.drop_response("PUT", "/created.bin", query_contains="comp=blocklist" if staged else "")
    with _proxied(azurite, azure_fault_proxy, azure_container, max_single_put_size=MiB, block_size=MiB) as b:
        source = _Source(size)
        result = Store(b).write("created.bin", source)
    assert azure_fault_proxy.dropped, "the proxy dropped nothing"
    assert result.size == size
    props = raw.get_blob_client("created.bin").get_blob_properties()
    assert result.etag == props.etag.strip('"')
    assert hashlib.md5(raw.download_blob("created.bin").readall(), usedforsecurity=False).digest() == (
        source.md5.digest()
    )


def test_a_real_conflict_after_a_retry_is_still_already_exists(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("taken.bin", b"someone else's")
    azure_fault_proxy.drop_response("PUT", "/taken.bin")
    with _proxied(azurite, azure_fault_proxy, azure_container) as b, pytest.raises(AlreadyExists):
        Store(b).write("taken.bin", b"mine")
    assert raw.download_blob("taken.bin").readall() == b"someone else's"


def test_retried_conditional_copy_that_had_succeeded_is_a_success(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("orig.bin", b"copied once")
    raw.upload_blob("other.bin", b"not a copy")
    azure_fault_proxy.drop_response("PUT", "/copied.bin")
    with _proxied(azurite, azure_fault_proxy, azure_container) as b:
        store = Store(b)
        store.copy("orig.bin", "copied.bin")
        assert azure_fault_proxy.dropped
        assert store.read_bytes("copied.bin") == b"copied once"
        azure_fault_proxy.drop_response("PUT", "/other.bin")
        with pytest.raises(AlreadyExists):
            store.copy("orig.bin", "other.bin")  # retried, but other.bin is no copy of orig.bin
    assert raw.download_blob("other.bin").readall() == b"not a copy"


def test_retried_delete_inside_move_is_a_success(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("src.bin", b"moving")
    azure_fault_proxy.drop_response("DELETE", "/src.bin")
    with _proxied(azurite, azure_fault_proxy, azure_container) as b:
        Store(b).move("src.bin", "dst.bin")
    assert azure_fault_proxy.dropped == [("DELETE", f"/devstoreaccount1/{azure_container}/src.bin")]
    assert sorted(n.name for n in raw.list_blobs()) == ["dst.bin"]


# ---------------------------------------------------------------------- concurrent writers of one blob
@pytest.mark.parametrize("hierarchical", [False, True], ids=["flat", "hierarchical"])
def test_concurrent_staged_writers_of_one_blob_all_succeed_last_commit_wins(
    azurite: AzuriteServer, raw: ContainerClient, hierarchical: bool
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    payloads = [bytes([65 + i]) * (400 * 1024 + i) for i in range(8)]
    with AzureBackend(
        raw.container_name,
        connection_string=azurite.connection_string,
        max_single_put_size=64 * 1024,
        block_size=64 * 1024,
        hierarchical=hierarchical,
    ) as b:
        store = Store(b)
        barrier = threading.Barrier(len(payloads))

        def write(i: int) -> None:
            barrier.wait()
            for _ in range(3):
                store.write("same.bin", payloads[i], overwrite=True)

        with ThreadPoolExecutor(len(payloads)) as pool:
            list(pool.map(write, range(len(payloads))))  # raises if any call failed
        final = store.read_bytes("same.bin")
    assert final in payloads
    committed, _ = raw.get_blob_client("same.bin").get_block_list("committed")
    assert sum(b.size for b in committed) == len(final)


def test_concurrent_staged_creates_have_one_winner(azurite: AzuriteServer, raw: ContainerClient) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with AzureBackend(
        raw.container_name,
        connection_string=azurite.connection_string,
        max_single_put_size=64 * 1024,
        block_size=64 * 1024,
    ) as b:
        store = Store(b)
        barrier = threading.Barrier(6)

        def create(i: int) -> str:
            barrier.wait()
            try:
                store.write("once.bin", bytes([i]) * 300_000)
            except AlreadyExists:
                return "lost"
            return "won"

        with ThreadPoolExecutor(6) as pool:
            outcomes = list(pool.map(create, range(6)))
        assert outcomes.count("won") == 1, outcomes
        assert len(set(store.read_bytes("once.bin"))) == 1


# ---------------------------------------------------------------------- hierarchical namespace accounts
def test_flat_account_is_detected_as_flat(backend: AzureBackend) -> None:
    Store(backend).write("x.txt", b"x")
    assert not backend.hierarchical  # Azurite reports no hierarchical namespace
    assert Capability.HIERARCHICAL not in backend.capabilities


def test_account_reporting_a_hierarchical_namespace_is_treated_as_hierarchical(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    azure_fault_proxy.add_response_header("comp=properties", "x-ms-is-hns-enabled: true")
    with _proxied(azurite, azure_fault_proxy, azure_container) as b:
        store = Store(b)
        store.write("dir/f.txt", b"f")
        assert b.hierarchical and Capability.HIERARCHICAL in b.capabilities
        with pytest.raises(InvalidPath):
            store.write("dir/f.txt/below", b"refused")
        with pytest.raises(InvalidPath):
            store.write("dir", b"refused", overwrite=True)
        for i in range(3):
            store.write(f"dir/sub/{i}.txt", b"x")
        store.delete_folder("dir", recursive=True)
    assert [n.name for n in raw.list_blobs()] == []
    assert not [t for m, t in azure_fault_proxy.requests if "comp=batch" in t]  # HNS accounts take no Blob Batch
