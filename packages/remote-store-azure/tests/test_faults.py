"""Injected faults between the backend and Azurite (`FaultProxy`): 5xx answers, lost and stalled
responses. Each call either succeeds within its ``retries`` budget or raises
`BackendUnavailable`; nothing partial is ever visible and the previous content survives."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable
from remote_store_azure import AzureBackend
from testing.servers.azure import AzuriteServer, FaultProxy

KiB = 1024


@pytest.fixture
def raw(azurite: AzuriteServer, azure_container: str) -> Iterator[ContainerClient]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    yield service.get_container_client(azure_container)
    service.close()


def _backend(azurite: AzuriteServer, proxy: FaultProxy, container: str, **extra: object) -> AzureBackend:
    options: dict[str, object] = {
        "account_url": proxy.account_url,
        "account_key": azurite.account_key,
        "retries": 2,
        "retry_backoff": 0.05,
        "retry_backoff_max": 0.2,
        "max_single_put_size": 64 * KiB,
        "block_size": 64 * KiB,
        **extra,
    }
    return AzureBackend(container, **options)


def _count(proxy: FaultProxy, method: str, path: str, query: str = "") -> int:
    return sum(1 for m, t in proxy.requests if m == method and path in t.partition("?")[0] and query in t)


@pytest.mark.parametrize("status", [500, 503])
def test_put_blob_survives_transient_5xx(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient, status: int
) -> None:
    azure_fault_proxy.fail_request("PUT", "/busy.txt", status=status, times=2)
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        result = Store(b).write("busy.txt", b"made it", overwrite=False)
    assert result.size == 7
    assert len(azure_fault_proxy.injected) == 2
    assert _count(azure_fault_proxy, "PUT", "/busy.txt") == 3  # 2 refused + 1 that landed
    assert raw.download_blob("busy.txt").readall() == b"made it"


def test_persistent_5xx_is_backend_unavailable_and_keeps_the_old_content(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("kept.txt", b"old")
    azure_fault_proxy.fail_request("PUT", "/kept.txt", status=503, times=50)
    with _backend(azurite, azure_fault_proxy, azure_container, retries=1) as b:
        with pytest.raises(BackendUnavailable):
            Store(b).write("kept.txt", b"new", overwrite=True)
    assert _count(azure_fault_proxy, "PUT", "/kept.txt") == 2  # the first attempt + retries=1
    assert raw.download_blob("kept.txt").readall() == b"old"


def test_staged_upload_survives_a_refused_block_and_a_lost_commit_answer(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    payload = bytes(range(256)) * (1024 + 3)  # ~256 KiB: 5 blocks of 64 KiB
    azure_fault_proxy.fail_request("PUT", "/staged.bin", status=503, query_contains="comp=block&")
    azure_fault_proxy.drop_response("PUT", "/staged.bin", query_contains="comp=blocklist")
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        Store(b).write("staged.bin", payload, overwrite=False)  # a create: the lost commit is checked after
    assert [a for a, _, _ in azure_fault_proxy.injected] == ["status", "drop"]
    assert raw.download_blob("staged.bin").readall() == payload
    committed, uncommitted = raw.get_blob_client("staged.bin").get_block_list("all")
    assert len(committed) == 5 and not uncommitted


def test_refused_commit_publishes_nothing(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("commit.bin", b"previous")
    azure_fault_proxy.fail_request("PUT", "/commit.bin", status=500, times=50, query_contains="comp=blocklist")
    with _backend(azurite, azure_fault_proxy, azure_container, retries=1) as b:
        with pytest.raises(BackendUnavailable):
            Store(b).write("commit.bin", b"x" * (200 * KiB), overwrite=True)
    assert raw.download_blob("commit.bin").readall() == b"previous"
    committed, _ = raw.get_blob_client("commit.bin").get_block_list("committed")
    assert len(committed) <= 1  # the raw single-put blob; none of the refused upload's blocks


def test_lost_answer_of_a_create_that_then_really_conflicts_is_already_exists(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    """The first attempt landed, its answer was lost; meanwhile another writer replaced the
    blob: the resend's 409 is no success of ours (content differs) and stays AlreadyExists."""
    azure_fault_proxy.drop_response("PUT", "/race.txt")
    with _backend(azurite, azure_fault_proxy, azure_container, retries=1) as b:
        original = azure_fault_proxy._match

        def replace_after_the_drop(method: str, target: str) -> object:
            rule = original(method, target)
            if rule is None and method == "PUT" and "/race.txt" in target and azure_fault_proxy.dropped:
                raw.upload_blob("race.txt", b"someone else", overwrite=True)
            return rule

        azure_fault_proxy._match = replace_after_the_drop  # type: ignore[method-assign]
        with pytest.raises(AlreadyExists):
            Store(b).write("race.txt", b"mine", overwrite=False)
    assert raw.download_blob("race.txt").readall() == b"someone else"


def test_stalled_download_is_retried_after_the_read_timeout(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("slow.txt", b"eventually")
    azure_fault_proxy.stall_response("GET", "/slow.txt", seconds=3.0)
    with _backend(azurite, azure_fault_proxy, azure_container, read_timeout=0.5) as b:
        start = time.monotonic()
        assert Store(b).read_bytes("slow.txt") == b"eventually"
        took = time.monotonic() - start
    assert azure_fault_proxy.injected == [("stall", "GET", f"/devstoreaccount1/{azure_container}/slow.txt")]
    assert took < 2.5  # the read timeout fired; the stall was not waited out


def test_stalls_past_the_budget_are_backend_unavailable(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("stuck.txt", b"never")
    azure_fault_proxy.stall_response("HEAD", "/stuck.txt", seconds=3.0, times=10)
    with _backend(azurite, azure_fault_proxy, azure_container, read_timeout=0.3, retries=1) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            Store(b).get_file_info("stuck.txt")
        took = time.monotonic() - start
    assert len(azure_fault_proxy.injected) == 2
    assert took < 2.5


def test_delete_survives_a_transient_500(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, raw: ContainerClient
) -> None:
    raw.upload_blob("gone.txt", b"x")
    azure_fault_proxy.fail_request("DELETE", "/gone.txt", status=500)
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        Store(b).delete("gone.txt")
    assert _count(azure_fault_proxy, "DELETE", "/gone.txt") == 2
    assert [n.name for n in raw.list_blobs()] == []
