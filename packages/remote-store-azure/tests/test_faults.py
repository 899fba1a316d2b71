"""Injected faults between the backend and Azurite (`FaultProxy`): 5xx answers, lost and stalled
responses. Each call either succeeds within its ``retries`` budget or raises
`BackendUnavailable`; nothing partial is ever visible and the previous content survives."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError
from remote_store_azure import AzureBackend
from testing.faults import FaultTally, fault_tally
from testing.servers.azure import AzuriteServer, FaultProxy

__all__ = ["fault_tally"]

KiB = 1024
NAME = "azure"
#: Seconds a persistent failure may take beyond ``retry_budget`` (the last attempt's timeouts
#: plus scheduling noise on a loaded 2-core machine).
SLACK = 2.5  # the last attempt may start just inside the budget; 2 xdist workers on 2 cores slow it


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

        def replace_after_the_drop(method: str, target: str, rule: object) -> None:
            if rule is None and method == "PUT" and "/race.txt" in target and azure_fault_proxy.dropped:
                raw.upload_blob("race.txt", b"someone else", overwrite=True)

        azure_fault_proxy.on_request = replace_after_the_drop
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


# ---------------------------------------------------------------------- every operation class, tallied
@pytest.mark.parametrize("fault", ["reset", "drop", "busy"])
def test_read_whole_survives_a_transient_fault(
    azurite: AzuriteServer,
    azure_container: str,
    azure_fault_proxy: FaultProxy,
    raw: ContainerClient,
    fault_tally: FaultTally,
    fault: str,
) -> None:
    data = bytes(range(256)) * 1000
    raw.upload_blob("r.bin", data)
    path = rf"/{azure_container}/r\.bin$"
    if fault == "reset":
        azure_fault_proxy.reset("GET", path)
    elif fault == "drop":
        azure_fault_proxy.drop("GET", path)
    else:
        azure_fault_proxy.fail_request("GET", "/r.bin", status=503, times=2)
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        assert Store(b).read_bytes("r.bin") == data
    assert azure_fault_proxy.injected
    fault_tally.survived_call(NAME, azure_fault_proxy)


def test_body_cut_mid_stream_is_resumed_or_raised_never_short(
    azurite: AzuriteServer,
    azure_container: str,
    azure_fault_proxy: FaultProxy,
    raw: ContainerClient,
    fault_tally: FaultTally,
) -> None:
    """azure-storage's downloader re-requests a chunk whose body broke off: the read succeeds."""
    data = bytes(range(256)) * 4096  # 1 MiB
    raw.upload_blob("cut.bin", data)
    azure_fault_proxy.cut("GET", rf"/{azure_container}/cut\.bin$", after_bytes=100_000)
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        assert Store(b).read_bytes("cut.bin") == data
    assert [a for a, _, _ in azure_fault_proxy.injected] == ["cut"]
    fault_tally.survived_call(NAME, azure_fault_proxy)


def test_list_copy_move_and_info_survive_transient_faults(
    azurite: AzuriteServer,
    azure_container: str,
    azure_fault_proxy: FaultProxy,
    raw: ContainerClient,
    fault_tally: FaultTally,
) -> None:
    raw.upload_blob("d/src.txt", b"payload")
    azure_fault_proxy.fail_request("GET", f"/{azure_container}", status=503, query_contains="comp=list", times=2)
    azure_fault_proxy.fail_request("PUT", "/d/copy.txt", status=500)
    azure_fault_proxy.drop_response("DELETE", "/d/src.txt")
    azure_fault_proxy.reset("HEAD", r"/d/moved\.txt$")
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        store = Store(b)
        assert [f.name for f in store.list_files("d")] == ["src.txt"]
        store.copy("d/src.txt", "d/copy.txt")
        store.move("d/src.txt", "d/moved.txt")
        assert store.get_file_info("d/moved.txt").size == 7
    assert sorted(n.name for n in raw.list_blobs()) == ["d/copy.txt", "d/moved.txt"]
    assert len(azure_fault_proxy.injected) == 5
    fault_tally.survived_call(NAME, azure_fault_proxy)


def test_lost_answer_of_an_exclusive_put_is_our_success(
    azurite: AzuriteServer,
    azure_container: str,
    azure_fault_proxy: FaultProxy,
    raw: ContainerClient,
    fault_tally: FaultTally,
) -> None:
    azure_fault_proxy.drop_response("PUT", "/mine.txt")
    with _backend(azurite, azure_fault_proxy, azure_container) as b:
        assert Store(b).write("mine.txt", b"mine", overwrite=False).size == 4
    assert _count(azure_fault_proxy, "PUT", "/mine.txt") == 2
    assert raw.download_blob("mine.txt").readall() == b"mine"
    fault_tally.survived_call(NAME, azure_fault_proxy)


@pytest.mark.parametrize("fault", ["busy", "reset"])
def test_persistent_faults_end_in_backend_unavailable_within_the_budget(
    azurite: AzuriteServer,
    azure_container: str,
    azure_fault_proxy: FaultProxy,
    raw: ContainerClient,
    fault_tally: FaultTally,
    fault: str,
) -> None:
    raw.upload_blob("kept.txt", b"old")
    if fault == "busy":
        azure_fault_proxy.fail_request("PUT", "/kept.txt", status=503, times=1000)
    else:
        azure_fault_proxy.reset("PUT", r"/kept\.txt$", times=1000)
    budget = 1.5
    tuning = {"retries": 100, "retry_backoff": 0.1, "retry_backoff_max": 0.2, "retry_budget": budget}
    with _backend(azurite, azure_fault_proxy, azure_container, read_timeout=0.3, **tuning) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            Store(b).write("kept.txt", b"new", overwrite=True)
        took = time.monotonic() - start
    fault_tally.failed_call(NAME, azure_fault_proxy)
    fault_tally.budget_used(NAME, took, budget)
    assert took <= budget + SLACK, took
    assert len(azure_fault_proxy.injected) >= 2  # it retried until the budget stopped it
    assert raw.download_blob("kept.txt").readall() == b"old"


def test_retry_on_without_throttling_gives_up_at_the_first_server_busy(
    azurite: AzuriteServer, azure_container: str, azure_fault_proxy: FaultProxy, fault_tally: FaultTally
) -> None:
    azure_fault_proxy.fail_request("PUT", "/once.txt", status=503)
    with _backend(azurite, azure_fault_proxy, azure_container, retry_on="connection,timeout,server") as b:
        with pytest.raises(BackendUnavailable):
            Store(b).write("once.txt", b"x")
    assert _count(azure_fault_proxy, "PUT", "/once.txt") == 1
    fault_tally.failed_call(NAME, azure_fault_proxy)


def test_retry_options_reach_the_sync_and_async_policies() -> None:
    from remote_store_azure._aio_client import AsyncBackoff, client_kwargs
    from remote_store_azure._options import AzureOptions
    from remote_store_azure._retry import Backoff

    tuning = {"retries": 5, "retry_backoff": 0.0, "retry_backoff_max": 2, "retry_budget": 7, "retry_on": "timeout"}
    b = AzureBackend("c-one", account_url="http://127.0.0.1:1/acct", account_key="a2V5", **tuning)
    policy = b._cc()._config.retry_policy
    assert isinstance(policy, Backoff)
    assert (policy.total_retries, policy.connect_retries, policy.read_retries, policy.status_retries) == (5, 5, 5, 5)
    assert (policy.policy.budget, policy.policy.retry_on, policy.get_backoff_time({"count": 3})) == (
        7.0,
        frozenset({"timeout"}),
        0.0,
    )
    b.close()
    opts = AzureOptions("c-one", account_url="http://127.0.0.1:1/acct", account_key="a2V5", **tuning)
    aio = client_kwargs(opts)["retry_policy"]
    assert isinstance(aio, AsyncBackoff) and aio.total_retries == 5 and aio.policy.budget == 7.0
    assert aio.policy.retry_on == frozenset({"timeout"})


@pytest.mark.parametrize(
    ("option", "value"),
    [("retry_budget", -1), ("retry_backoff", "soon"), ("retry_backoff_max", float("nan")), ("retry_on", "weather")],
)
def test_bad_retry_options_are_config_errors(option: str, value: object) -> None:
    with pytest.raises(ConfigError, match=option):
        AzureBackend("c-one", account_name="acct", **{option: value})


def test_failed_staged_create_leaves_nothing_visible(
    azurite: AzuriteServer,
    azure_container: str,
    azure_fault_proxy: FaultProxy,
    raw: ContainerClient,
    fault_tally: FaultTally,
) -> None:
    """Put Block List refused for good: no blob appears. (The staged blocks stay uncommitted on
    the service, invisible, until it discards them after 7 days: Azure has no call that drops
    uncommitted blocks without touching the blob, so there is no upload to abort.)"""
    azure_fault_proxy.fail_request("PUT", "/fresh.bin", status=500, times=100, query_contains="comp=blocklist")
    with _backend(azurite, azure_fault_proxy, azure_container, retries=1) as b:
        store = Store(b)
        with pytest.raises(BackendUnavailable):
            store.write("fresh.bin", b"y" * (200 * KiB), overwrite=False)
        assert not store.exists("fresh.bin") and list(store.list_files("")) == []
    assert [n.name for n in raw.list_blobs()] == []
    fault_tally.failed_call(NAME, azure_fault_proxy)
