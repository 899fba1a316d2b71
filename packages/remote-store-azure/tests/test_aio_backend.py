"""`AsyncAzureBackend` against Azurite: every method, staged uploads, pinned reads, cancellation.

Each test drives the backend inside ``asyncio.run`` (no pytest async plugin needed) and checks
what really is in the container with the raw synchronous SDK client.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import pickle
import tracemalloc
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient

from remote_store import Capability
from remote_store.errors import (
    AlreadyExists,
    ConfigError,
    ContentChanged,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    RemoteStoreError,
)
from remote_store_azure._aio_backend import AsyncAzureBackend
from testing.servers.azure import AzuriteServer, FaultProxy

KiB = 1024
MiB = 1024 * KiB
T = TypeVar("T")
Factory = Callable[..., AsyncAzureBackend]


@pytest.fixture
def raw(azurite: AzuriteServer, azure_container: str) -> Iterator[ContainerClient]:
    """The raw sync SDK container client, to see what the service really holds."""
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    yield service.get_container_client(azure_container)
    service.close()


@pytest.fixture
def make(azurite: AzuriteServer, azure_container: str) -> Factory:
    """Build an `AsyncAzureBackend` on the test's container (small blocks: staging is cheap to reach)."""

    def factory(**kwargs: Any) -> AsyncAzureBackend:
        options: dict[str, Any] = {
            "account_url": azurite.account_url,
            "account_key": azurite.account_key,
            "max_single_put_size": 256 * KiB,
            "block_size": 256 * KiB,
            "max_concurrency": 3,
            "retry_total": 1,
            "retry_backoff": 0.1,
        }
        options.update(kwargs)
        return AsyncAzureBackend(options.pop("container", azure_container), **options)

    return factory


def run(make: Factory, body: Callable[[AsyncAzureBackend], Awaitable[T]], **kwargs: Any) -> T:
    """Run ``body(backend)`` on a fresh event loop; close the backend afterwards."""

    async def main() -> T:
        backend = make(**kwargs)
        try:
            return await body(backend)
        finally:
            await backend.aclose()

    return asyncio.run(main())


async def chunks(total: int, size: int = 100 * KiB, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """``total`` deterministic bytes in ``size`` chunks; raises OSError once ``fail_after`` bytes went out."""
    sent = 0
    while sent < total:
        if fail_after is not None and sent >= fail_after:
            raise OSError("source broke mid-upload")
        n = min(size, total - sent)
        yield bytes([(sent // size) % 251]) * n
        sent += n
        await asyncio.sleep(0)


async def collect(total: int, size: int = 100 * KiB) -> bytes:
    return b"".join([c async for c in chunks(total, size)])


async def fails(b: AsyncAzureBackend, cls: type[RemoteStoreError], call: Awaitable[Any], match: str = "") -> None:
    """Await ``call``; assert it raises ``cls``, typed by the backend or by its `translate_error`
    (the mapping `AsyncStore` applies to native errors)."""
    try:
        await call
    except RemoteStoreError as exc:
        err = exc
    except Exception as exc:
        mapped = b.translate_error(exc, None)
        assert mapped is not None, f"native error without a translation: {exc!r}"
        err = mapped
    else:
        pytest.fail(f"expected {cls.__name__}")
    assert isinstance(err, cls), f"expected {cls.__name__}, got {err!r}"
    assert match in str(err)


def blob_names(raw: ContainerClient) -> list[str]:
    return sorted(b.name for b in raw.list_blobs())


# ---------------------------------------------------------------------- identity
def test_identity_repr_options_pickle_and_capabilities(make: Factory, azurite: AzuriteServer) -> None:
    backend = make(prefix="base/dir")
    assert azurite.account_key not in repr(backend)
    assert "account_key" in repr(backend)
    assert backend.options["account_key"].reveal() == azurite.account_key
    assert backend.native_path("a/b.txt").endswith("/base/dir/a/b.txt")
    assert backend.to_key(backend.native_path("a/b.txt")) == "a/b.txt"
    with pytest.raises(InvalidPath):
        backend.to_key("az://other/x")
    clone = pickle.loads(pickle.dumps(backend))
    assert isinstance(clone, AsyncAzureBackend) and clone.options == backend.options
    assert Capability.HIERARCHICAL not in backend.capabilities
    assert Capability.ATOMIC_MOVE not in backend.capabilities
    assert Capability.HIERARCHICAL in make(hierarchical=True).capabilities
    with pytest.raises(ConfigError, match="container"):
        make(container="Bad_Name")
    with pytest.raises(ConfigError, match="no_such_option"):
        make(no_such_option=1)


def test_sync_token_credential_is_refused_with_config_error(make: Factory) -> None:
    class SyncCredential:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise AssertionError("never called")

    async def body(b: AsyncAzureBackend) -> None:
        with pytest.raises(ConfigError, match="async token credential"):
            await b.exists("x")

    run(make, body, account_key=None, account_url="https://acct.blob.core.windows.net", credential=SyncCredential())


# ---------------------------------------------------------------------- single-put writes and metadata
def test_small_write_round_trip_with_metadata(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        result = await b.write("a/b.txt", b"hello azure", overwrite=False, metadata={"owner": "me"})
        assert result.path == "a/b.txt" and result.size == 11
        assert result.digest is not None
        assert result.digest.value == hashlib.md5(b"hello azure", usedforsecurity=False).hexdigest()
        assert await b.read_bytes("a/b.txt") == b"hello azure"
        assert await b.exists("a/b.txt") and not await b.exists("a")
        assert await b.is_folder("a") and await b.is_folder("") and not await b.is_folder("a/b.txt")
        info = await b.stat("a/b.txt")
        assert (info.path, info.name, info.size, info.content_type) == ("a/b.txt", "b.txt", 11, "text/plain")
        assert dict(info.metadata) == {"owner": "me"} and info.etag == result.etag
        await fails(b, AlreadyExists, b.write("a/b.txt", b"again", overwrite=False, metadata={}))
        with pytest.raises(InvalidPath, match="C# identifiers"):
            await b.write("m.txt", b"x", overwrite=True, metadata={"bad-name": "v"})

    run(make, body)
    props = raw.get_blob_client("a/b.txt").get_blob_properties()
    assert props.metadata == {"owner": "me"}
    assert blob_names(raw) == ["a/b.txt"]


# ---------------------------------------------------------------------- staged uploads
def test_staged_upload_from_async_iterator_with_bounded_memory(make: Factory, raw: ContainerClient) -> None:
    total = 16 * MiB
    expected = hashlib.md5(asyncio.run(collect(total)), usedforsecurity=False).hexdigest()

    async def body(b: AsyncAzureBackend) -> Any:
        await b.exists("warm-up")  # client set up before measuring
        tracemalloc.start()
        try:
            result = await b.write("big.bin", chunks(total), overwrite=False, metadata={})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # 256 KiB blocks, 3 in flight (+ 256 KiB single-put buffer): nowhere near 16 MiB.
        assert peak < 6 * MiB, f"upload held {peak} bytes"
        return result

    result = run(make, body, compute_md5=True)
    assert result.size == total and result.etag
    assert result.digest is not None and result.digest.value == expected
    committed, uncommitted = raw.get_blob_client("big.bin").get_block_list("all")
    assert len(committed) == total // (256 * KiB) and not uncommitted
    props = raw.get_blob_client("big.bin").get_blob_properties()
    assert bytes(props.content_settings.content_md5).hex() == expected
    assert hashlib.md5(raw.download_blob("big.bin").readall(), usedforsecurity=False).hexdigest() == expected


def test_large_bytes_write_is_staged_and_conditional(make: Factory, raw: ContainerClient) -> None:
    data = bytes(range(256)) * (4 * 1024 + 3)  # ~1 MiB: four blocks and a tail

    async def body(b: AsyncAzureBackend) -> None:
        await b.write("x.bin", data, overwrite=False, metadata={"k": "v"})
        await fails(b, AlreadyExists, b.write("x.bin", data[::-1], overwrite=False, metadata={}))
        assert await b.read_bytes("x.bin") == data

    run(make, body)
    committed, _ = raw.get_blob_client("x.bin").get_block_list("committed")
    assert len(committed) == 5
    assert raw.get_blob_client("x.bin").get_blob_properties().metadata == {"k": "v"}


def test_failed_staged_upload_commits_nothing_and_keeps_old_content(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        with pytest.raises(OSError, match="source broke"):
            await b.write("new.bin", chunks(4 * MiB, fail_after=2 * MiB), overwrite=True, metadata={})
        await b.write("keep.bin", b"previous", overwrite=True, metadata={})
        with pytest.raises(OSError, match="source broke"):
            await b.write("keep.bin", chunks(4 * MiB, fail_after=2 * MiB), overwrite=True, metadata={})
        assert await b.read_bytes("keep.bin") == b"previous"
        assert not await b.exists("new.bin")

    run(make, body)
    assert blob_names(raw) == ["keep.bin"]
    with pytest.raises(ResourceNotFoundError):
        raw.get_blob_client("new.bin").get_blob_properties()


def test_open_atomic_streams_commits_and_aborts(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        with pytest.raises(RuntimeError):
            async with await b.open_atomic("atomic.bin", overwrite=True, metadata={}) as w:
                for _ in range(5):
                    await w.write(b"x" * (200 * KiB))
                raise RuntimeError("caller failed")
        assert not await b.exists("atomic.bin")
        writer = await b.open_atomic("atomic.bin", overwrite=False, metadata={})
        for i in range(4):
            await writer.write(bytes([i]) * (300 * KiB))
        result = await writer.commit()
        assert result.size == 1200 * KiB
        with pytest.raises(RemoteStoreError, match="finished"):
            await writer.write(b"late")
        await writer.abort()  # idempotent after commit: does not touch the blob
        assert await b.read_bytes("atomic.bin") == b"".join(bytes([i]) * (300 * KiB) for i in range(4))

    run(make, body)
    assert blob_names(raw) == ["atomic.bin"]


def test_cancelled_write_leaves_no_blob_and_no_running_tasks(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("keep.bin", b"old", overwrite=True, metadata={})
        staged = asyncio.Event()

        async def slow(total_blocks: int) -> AsyncIterator[bytes]:
            for i in range(total_blocks):
                if i == 4:
                    staged.set()  # a few blocks are staged or in flight by now
                yield bytes([i]) * (256 * KiB)
                await asyncio.sleep(0.05)

        for key in ("keep.bin", "new.bin"):
            staged.clear()
            task = asyncio.create_task(b.write(key, slow(40), overwrite=True, metadata={}))
            await staged.wait()
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert others == [], f"tasks left running after a cancelled write: {others}"
        assert await b.read_bytes("keep.bin") == b"old"
        assert not await b.exists("new.bin")

    run(make, body)
    assert blob_names(raw) == ["keep.bin"]
    committed, _ = raw.get_blob_client("keep.bin").get_block_list("committed")
    assert len(committed) <= 1


def test_cancelled_open_atomic_commit_aborts(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        staged = asyncio.Event()

        async def write_all() -> None:
            async with await b.open_atomic("c.bin", overwrite=True, metadata={}) as w:
                for i in range(60):
                    await w.write(bytes([i]) * (256 * KiB))
                    if i == 29:  # 7.5 MiB written: blocks are staged, nothing committed
                        staged.set()
                        await asyncio.Event().wait()  # the caller is still producing data

        task = asyncio.create_task(write_all())
        await asyncio.wait_for(staged.wait(), timeout=60)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not await b.exists("c.bin")
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    run(make, body)
    assert blob_names(raw) == []


# ---------------------------------------------------------------------- hierarchical placement
def test_hierarchical_mode_refuses_file_folder_clashes_before_publishing(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        assert b.hierarchical
        await b.write("a/b/file.txt", b"1", overwrite=False, metadata={})
        with pytest.raises(InvalidPath, match="folder exists"):
            await b.write("a/b", b"2", overwrite=True, metadata={})
        with pytest.raises(InvalidPath, match="parent of the path is a file"):
            await b.write("a/b/file.txt/below", b"3", overwrite=True, metadata={})
        with pytest.raises(InvalidPath, match="parent of the path is a file"):
            await b.write("a/b/file.txt/deep/er.bin", chunks(MiB), overwrite=True, metadata={})
        with pytest.raises(InvalidPath, match="folder"):
            await b.delete("a/b")
        with pytest.raises(InvalidPath):
            await b.copy("a/b/file.txt", "a", overwrite=True)

    run(make, body, hierarchical=True)
    assert blob_names(raw) == ["a/b/file.txt"]


def test_flat_mode_sends_no_placement_requests(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("f", b"file", overwrite=True, metadata={})
        await b.write("f/below", b"below a file is allowed in flat mode", overwrite=True, metadata={})

    run(make, body)
    assert blob_names(raw) == ["f", "f/below"]


# ---------------------------------------------------------------------- reads
def test_open_read_is_lazy_seekable_and_iterable(make: Factory) -> None:
    data = bytes(range(256)) * (8 * 1024)  # 2 MiB: several ranges and read-ahead

    async def body(b: AsyncAzureBackend) -> None:
        await b.write("r.bin", data, overwrite=True, metadata={})
        async with await b.open_read("r.bin") as s:
            assert s.seekable() and s.tell() == 0
            assert await s.read(10) == data[:10]
            assert await s.seek(MiB + 3) == MiB + 3
            assert await s.read(5) == data[MiB + 3 : MiB + 8]
            assert await s.seek(-4, 2) == len(data) - 4
            assert await s.read() == data[-4:]
            assert await s.read(1) == b""
            await s.seek(0)
            assert b"".join([chunk async for chunk in s]) == data
            with pytest.raises(InvalidPath):
                await s.seek(-1)
        assert s.closed
        with pytest.raises(RemoteStoreError, match="closed"):
            await s.read(1)
        s2 = await b.open_read_seekable("r.bin")
        assert await s2.read() == data
        await s2.aclose()
        await s2.aclose()  # idempotent

    run(make, body)


def test_reads_of_missing_keys_and_folders_raise_typed_errors(make: Factory) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("dir/f.txt", b"x", overwrite=True, metadata={})
        for call in (b.read_bytes, b.open_read, b.stat):
            with pytest.raises(NotFound):
                await call("nope.txt")
            with pytest.raises(InvalidPath, match="folder"):
                await call("dir")

    run(make, body)


def test_read_is_pinned_to_the_etag_seen_at_open(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("moving.bin", b"a" * MiB, overwrite=True, metadata={})
        async with await b.open_read("moving.bin") as s:
            assert await s.read(10) == b"a" * 10
            raw.upload_blob("moving.bin", b"b" * MiB, overwrite=True)
            with pytest.raises(ContentChanged):
                await s.seek(600 * KiB)
                await s.read(10)

    run(make, body)


def test_blob_replaced_before_any_byte_is_followed(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("v.bin", b"old" * 1000, overwrite=True, metadata={})
        s = await b.open_read("v.bin")
        raw.upload_blob("v.bin", b"new!" * 5000, overwrite=True)
        assert await s.read() == b"new!" * 5000  # one version, the new one: nothing was returned before
        await s.aclose()
        s = await b.open_read("v.bin")
        raw.upload_blob("v.bin", b"third" * 10, overwrite=True)
        assert await s.read(7) == b"thirdth"
        await s.aclose()

    run(make, body)


def test_cancelled_read_stops_its_downloads(make: Factory) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("big.bin", chunks(8 * MiB), overwrite=True, metadata={})
        s = await b.open_read("big.bin")

        async def read_all() -> None:
            async with s:
                while await s.read(64 * KiB):
                    await asyncio.sleep(0.01)  # a slow consumer: 128 chunks take > 1 s

        task = asyncio.create_task(read_all())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert s.closed
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        assert len(await b.read_bytes("big.bin")) == 8 * MiB  # the backend still works

    run(make, body, max_concurrency=4)


# ---------------------------------------------------------------------- delete, listings, glob, folders
def test_delete(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("d/x.txt", b"x", overwrite=True, metadata={})
        await b.write("y.txt", b"y", overwrite=True, metadata={})
        await b.delete("y.txt")
        with pytest.raises(NotFound):
            await b.delete("y.txt")
        await b.delete("y.txt", missing_ok=True)
        with pytest.raises(InvalidPath):
            await b.delete("d", missing_ok=True)

    run(make, body)
    assert blob_names(raw) == ["d/x.txt"]


def test_listings_glob_and_folder_info(make: Factory, raw: ContainerClient, caplog: pytest.LogCaptureFixture) -> None:
    raw.upload_blob("odd//name.txt", b"unaddressable")
    raw.upload_blob("marker/", b"")

    async def body(b: AsyncAzureBackend) -> None:
        for key in ("top.txt", "a/one.txt", "a/two.log", "a/b/three.txt", "c/four.txt"):
            await b.write(key, key.encode(), overwrite=True, metadata={})
        recursive = sorted([f.path async for f in b.iter_files("", recursive=True)])
        assert recursive == ["a/b/three.txt", "a/one.txt", "a/two.log", "c/four.txt", "top.txt"]
        assert sorted([f.path async for f in b.iter_files("a", recursive=False)]) == ["a/one.txt", "a/two.log"]
        assert [f.path async for f in b.iter_files("missing", recursive=True)] == []
        assert [f.path async for f in b.iter_files("top.txt", recursive=True)] == []
        assert sorted([k async for k in b.iter_folders("")]) == ["a", "c", "marker", "odd"]
        assert [k async for k in b.iter_folders("a")] == ["a/b"]
        assert sorted([f.path async for f in b.glob("a/*.txt")]) == ["a/one.txt"]
        assert sorted([f.path async for f in b.glob("**/*.txt")]) == [
            "a/b/three.txt",
            "a/one.txt",
            "c/four.txt",
            "top.txt",
        ]
        children = sorted([c.path async for c in b.iter_children("a")])
        assert children == ["a/b", "a/one.txt", "a/two.log"]
        info = await b.folder_info("a")
        assert info.file_count == 3 and info.total_size == len(b"a/one.txta/two.loga/b/three.txt")
        assert b.unaddressable_count >= 1

    with caplog.at_level(logging.WARNING, logger="remote_store"):
        run(make, body)
    assert "odd//name.txt" in caplog.text


def test_delete_folder(make: Factory, raw: ContainerClient) -> None:
    raw.upload_blob("tree/marker/", b"")

    async def body(b: AsyncAzureBackend) -> None:
        for i in range(300):  # more than one Blob Batch request
            await b.write(f"tree/sub{i % 3}/f{i}.txt", b"x", overwrite=True, metadata={})
        await b.write("keep/k.txt", b"k", overwrite=True, metadata={})
        with pytest.raises(DirectoryNotEmpty):
            await b.delete_folder("tree", recursive=False)
        with pytest.raises(NotFound):
            await b.delete_folder("missing", recursive=True)
        with pytest.raises(InvalidPath):
            await b.delete_folder("keep/k.txt", recursive=True)
        await b.delete_folder("tree", recursive=True)
        assert not await b.is_folder("tree")

    run(make, body)
    assert blob_names(raw) == ["keep/k.txt"]


# ---------------------------------------------------------------------- copy / move
def test_copy_and_move(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("src.txt", b"payload", overwrite=True, metadata={"m": "1"})
        await b.copy("src.txt", "dst.txt", overwrite=False)
        assert await b.read_bytes("dst.txt") == b"payload"
        assert dict((await b.stat("dst.txt")).metadata) == {"m": "1"}
        await fails(b, AlreadyExists, b.copy("src.txt", "dst.txt", overwrite=False))
        with pytest.raises(NotFound):
            await b.copy("nope.txt", "x.txt", overwrite=True)
        await b.move("src.txt", "moved/src.txt", overwrite=False)
        assert not await b.exists("src.txt")

    run(make, body)
    assert blob_names(raw) == ["dst.txt", "moved/src.txt"]


# ---------------------------------------------------------------------- errors, secrets, clients
def test_native_errors_translate_without_secrets(make: Factory, azurite: AzuriteServer) -> None:
    wrong_key = "d3Jvbmcta2V5LW5vdC1hLXJlYWwtc2VjcmV0LXZhbHVlLXh4eHh4eHh4eHh4eHh4eA=="

    async def body(b: AsyncAzureBackend) -> None:
        with pytest.raises(Exception) as info:
            await b.write("x.txt", b"x", overwrite=True, metadata={})
        err = b.translate_error(info.value, "x.txt")  # what AsyncStore maps a native error with
        assert isinstance(err, PermissionDenied)
        assert wrong_key not in str(err) and wrong_key not in repr(b)

    run(make, body, account_key=wrong_key)

    async def missing_container(b: AsyncAzureBackend) -> None:
        with pytest.raises(NotFound, match="does not exist"):
            await b.read_bytes("x.txt")
        with pytest.raises(RemoteStoreError, match="ping failed"):
            await b.ping()

    run(make, missing_container, container="no-such-container")


def test_no_secret_in_debug_logs(make: Factory, azurite: AzuriteServer, caplog: pytest.LogCaptureFixture) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("s.bin", chunks(MiB), overwrite=True, metadata={})
        assert await b.read_bytes("s.bin")

    with caplog.at_level(logging.DEBUG):
        run(make, body)
    assert caplog.records, "debug logging produced nothing to check"
    assert azurite.account_key not in caplog.text


def test_aclose_closes_the_transport_and_reconnects_later(make: Factory) -> None:
    def unclosed_sessions(close: bool) -> list[str]:
        async def body() -> None:
            b = make()
            await b.write("t.txt", b"t", overwrite=True, metadata={})
            if close:
                await b.aclose()
                await b.aclose()  # idempotent

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            asyncio.run(body())
            gc.collect()
        return [str(w.message) for w in caught if "nclosed" in str(w.message)]

    assert unclosed_sessions(close=True) == []
    assert unclosed_sessions(close=False), "the check cannot see an unclosed session"

    async def reconnect(b: AsyncAzureBackend) -> None:
        await b.write("r.txt", b"r", overwrite=True, metadata={})
        await b.aclose()
        assert await b.read_bytes("r.txt") == b"r"

    run(make, reconnect)


def test_one_backend_serves_two_event_loops(make: Factory) -> None:
    backend = make()

    async def first() -> None:
        await backend.write("loop.txt", b"one", overwrite=True, metadata={})

    async def second() -> bytes:
        try:
            return await backend.read_bytes("loop.txt")
        finally:
            await backend.aclose()

    asyncio.run(first())  # the first loop's session is dropped with its loop
    assert asyncio.run(second()) == b"one"


def test_concurrent_first_calls_share_one_setup(make: Factory, raw: ContainerClient) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        results = await asyncio.gather(
            *(b.write(f"c/{i}.txt", b"%d" % i, overwrite=True, metadata={}) for i in range(20))
        )
        assert len({r.path for r in results}) == 20

    run(make, body)
    assert len(blob_names(raw)) == 20


# ---------------------------------------------------------------------- retried requests (lost responses)
@pytest.fixture
def proxied(azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy) -> Factory:
    """Backends whose requests pass the fault proxy (retries on, quick back-off)."""

    def factory(**kwargs: Any) -> AsyncAzureBackend:
        options: dict[str, Any] = {
            "account_url": azure_fault_proxy.account_url,
            "account_key": azurite.account_key,
            "retry_total": 2,
            "retry_backoff": 0.05,
        }
        options.update(kwargs)
        return AsyncAzureBackend(azure_container, **options)

    return factory


@pytest.mark.parametrize("size", [10 * KiB, 700 * KiB], ids=["put-blob", "block-list"])
def test_retried_conditional_create_that_had_succeeded_is_a_success(
    proxied: Factory, azure_fault_proxy: FaultProxy, raw: ContainerClient, size: int
) -> None:
    staged = size > 256 * KiB
    azure_fault_proxy.drop_response("PUT", "/created.bin", query_contains="comp=blocklist" if staged else "")
    data = bytes(range(256)) * (size // 256)

    async def body(b: AsyncAzureBackend) -> Any:
        return await b.write("created.bin", data, overwrite=False, metadata={})

    result = run(proxied, body, max_single_put_size=256 * KiB, block_size=256 * KiB)
    assert azure_fault_proxy.dropped, "the proxy dropped nothing"
    assert result.size == len(data)
    assert result.etag == raw.get_blob_client("created.bin").get_blob_properties().etag.strip('"')
    assert raw.download_blob("created.bin").readall() == data


def test_retried_conditional_create_over_another_writers_blob_is_already_exists(
    proxied: Factory, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("taken.bin", b"someone else's")
    azure_fault_proxy.drop_response("PUT", "/taken.bin")

    async def body(b: AsyncAzureBackend) -> None:
        await fails(b, AlreadyExists, b.write("taken.bin", b"mine", overwrite=False, metadata={}))

    run(proxied, body)
    assert raw.download_blob("taken.bin").readall() == b"someone else's"


def test_retried_copy_and_delete_that_had_succeeded_are_successes(
    proxied: Factory, azure_fault_proxy: FaultProxy, raw: ContainerClient, azure_container: str
) -> None:
    raw.upload_blob("orig.bin", b"copied once")
    raw.upload_blob("other.bin", b"not a copy")

    async def body(b: AsyncAzureBackend) -> None:
        azure_fault_proxy.drop_response("PUT", "/copied.bin")
        await b.copy("orig.bin", "copied.bin", overwrite=False)
        assert azure_fault_proxy.dropped
        azure_fault_proxy.drop_response("PUT", "/other.bin")
        await fails(b, AlreadyExists, b.copy("orig.bin", "other.bin", overwrite=False))
        azure_fault_proxy.drop_response("DELETE", "/orig.bin")
        await b.delete("orig.bin")

    run(proxied, body)
    assert ("DELETE", f"/devstoreaccount1/{azure_container}/orig.bin") in azure_fault_proxy.dropped
    assert blob_names(raw) == ["copied.bin", "other.bin"]
    assert raw.download_blob("copied.bin").readall() == b"copied once"
    assert raw.download_blob("other.bin").readall() == b"not a copy"


# ---------------------------------------------------------------------- concurrent writers, HNS accounts
@pytest.mark.parametrize("hierarchical", [False, True], ids=["flat", "hierarchical"])
def test_concurrent_staged_writers_of_one_blob_all_succeed_last_commit_wins(
    make: Factory, raw: ContainerClient, hierarchical: bool
) -> None:
    payloads = [bytes([65 + i]) * (400 * KiB + i) for i in range(6)]

    async def body(b: AsyncAzureBackend) -> bytes:
        async def writer(i: int) -> None:
            for _ in range(3):
                await b.write("same.bin", payloads[i], overwrite=True, metadata={})

        await asyncio.gather(*(writer(i) for i in range(len(payloads))))  # raises if any write failed
        return await b.read_bytes("same.bin")

    final = run(make, body, max_single_put_size=64 * KiB, block_size=64 * KiB, hierarchical=hierarchical)
    assert final in payloads
    committed, _ = raw.get_blob_client("same.bin").get_block_list("committed")
    assert sum(block.size for block in committed) == len(final)


def test_concurrent_staged_creates_have_one_winner(make: Factory) -> None:
    async def body(b: AsyncAzureBackend) -> list[str]:
        async def create(i: int) -> str:
            try:
                await b.write("once.bin", bytes([i]) * 300_000, overwrite=False, metadata={})
            except Exception as exc:
                err = exc if isinstance(exc, RemoteStoreError) else b.translate_error(exc, "once.bin")
                assert isinstance(err, AlreadyExists), repr(exc)
                return "lost"
            return "won"

        outcomes = await asyncio.gather(*(create(i) for i in range(6)))
        assert len(set(await b.read_bytes("once.bin"))) == 1
        return list(outcomes)

    outcomes = run(make, body, max_single_put_size=64 * KiB, block_size=64 * KiB)
    assert outcomes.count("won") == 1, outcomes


def test_account_reporting_a_hierarchical_namespace_is_treated_as_hierarchical(
    proxied: Factory, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    azure_fault_proxy.add_response_header("comp=properties", "x-ms-is-hns-enabled: true")

    async def body(b: AsyncAzureBackend) -> None:
        await b.write("dir/f.txt", b"f", overwrite=True, metadata={})
        assert b.hierarchical and Capability.HIERARCHICAL in b.capabilities
        with pytest.raises(InvalidPath):
            await b.write("dir/f.txt/below", b"refused", overwrite=True, metadata={})
        with pytest.raises(InvalidPath):
            await b.write("dir", b"refused", overwrite=True, metadata={})
        for i in range(3):
            await b.write(f"dir/sub/{i}.txt", b"x", overwrite=True, metadata={})
        await b.delete_folder("dir", recursive=True)

    run(proxied, body)
    assert blob_names(raw) == []
    assert not [t for _, t in azure_fault_proxy.requests if "comp=batch" in t]  # HNS accounts take no Blob Batch


def test_flat_account_is_detected_as_flat(make: Factory) -> None:
    async def body(b: AsyncAzureBackend) -> None:
        await b.write("x.txt", b"x", overwrite=True, metadata={})
        assert not b.hierarchical and Capability.HIERARCHICAL not in b.capabilities

    run(make, body)
