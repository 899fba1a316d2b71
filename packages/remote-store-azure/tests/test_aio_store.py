"""`AsyncAzureBackend` as users reach it: ``remote_store.aio`` import, `open_store_async`, `AsyncStore` errors."""

from __future__ import annotations

import asyncio

import pytest
from azure.storage.blob import BlobServiceClient

from remote_store.aio import AsyncStore, open_store_async
from remote_store.errors import AlreadyExists, ContentChanged, InvalidPath, NotFound, PermissionDenied
from remote_store_azure._aio_backend import AsyncAzureBackend
from testing.servers.azure import AzuriteServer

_WRONG_KEY = "d3Jvbmcta2V5LW5vdC1hLXJlYWwtc2VjcmV0LXZhbHVlLXh4eHh4eHh4eHh4eHh4eA=="


def test_reference_import_path_is_the_native_class() -> None:
    from remote_store import aio

    assert aio.AsyncAzureBackend is AsyncAzureBackend


def test_open_store_async_builds_the_native_backend(azurite: AzuriteServer, azure_container: str) -> None:
    async def main() -> None:
        store = open_store_async(
            f"az://{azure_container}/base", account_url=azurite.account_url, account_key=azurite.account_key
        )
        async with store:
            assert isinstance(store.backend, AsyncAzureBackend)
            result = await store.write("a/b.txt", b"through the url")
            assert result.path == "a/b.txt"
            assert await store.read_bytes("a/b.txt") == b"through the url"
            assert [f.path async for f in store.list_files("", recursive=True)] == ["a/b.txt"]

    asyncio.run(main())
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    assert [b.name for b in service.get_container_client(azure_container).list_blobs()] == ["base/a/b.txt"]
    service.close()


def test_store_raises_typed_errors_with_store_paths(azurite: AzuriteServer, azure_container: str) -> None:
    async def main() -> None:
        backend = AsyncAzureBackend(azure_container, account_url=azurite.account_url, account_key=azurite.account_key)
        async with AsyncStore(backend, "root") as store:
            await store.write("f.txt", b"1" * 600_000)
            with pytest.raises(AlreadyExists):
                await store.write("f.txt", b"2")
            with pytest.raises(AlreadyExists):
                async with store.open_atomic("f.txt") as w:
                    await w.write(b"3" * 300_000)
            with pytest.raises(NotFound) as missing:
                await store.read_bytes("nope.txt")
            assert missing.value.path == "nope.txt"
            with pytest.raises(InvalidPath):
                await store.read_bytes("..")
            await store.write("g.txt", b"x")
            with pytest.raises(AlreadyExists):
                await store.copy("f.txt", "g.txt")
            async with store.read("f.txt") as f:
                assert await f.read(5) == b"11111"
                raw = BlobServiceClient.from_connection_string(azurite.connection_string)
                raw.get_blob_client(azure_container, "root/f.txt").upload_blob(b"changed" * 100_000, overwrite=True)
                raw.close()
                with pytest.raises(ContentChanged) as changed:
                    await f.seek(400_000)
                    await f.read(10)
                assert changed.value.path == "f.txt"

    asyncio.run(main())


def test_native_errors_from_calls_and_iterators_are_translated(azurite: AzuriteServer, azure_container: str) -> None:
    async def main() -> None:
        wrong = AsyncStore(
            AsyncAzureBackend(azure_container, account_url=azurite.account_url, account_key=_WRONG_KEY, retry_total=0)
        )
        async with wrong:
            with pytest.raises(PermissionDenied) as denied:
                await wrong.write("x.txt", b"x")
            assert _WRONG_KEY not in str(denied.value)
            with pytest.raises(PermissionDenied):
                [f async for f in wrong.list_files("", recursive=True)]
        gone = AsyncStore(
            AsyncAzureBackend("no-such-container", account_url=azurite.account_url, account_key=azurite.account_key)
        )
        async with gone:
            with pytest.raises(NotFound, match="no-such-container"):
                [f async for f in gone.list_files("", recursive=True)]

    asyncio.run(main())


def test_cancelled_store_write_leaves_the_old_file(azurite: AzuriteServer, azure_container: str) -> None:
    async def main() -> None:
        backend = AsyncAzureBackend(
            azure_container,
            account_url=azurite.account_url,
            account_key=azurite.account_key,
            max_single_put_size=128 * 1024,
            block_size=128 * 1024,
        )
        async with AsyncStore(backend) as store:
            await store.write("k.bin", b"old")

            async def endless() -> object:
                async with store.open_atomic("k.bin", overwrite=True) as w:
                    while True:
                        await w.write(b"n" * 128 * 1024)
                        await asyncio.sleep(0.01)

            task = asyncio.create_task(endless())
            await asyncio.sleep(0.5)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await store.read_bytes("k.bin") == b"old"

    asyncio.run(main())
