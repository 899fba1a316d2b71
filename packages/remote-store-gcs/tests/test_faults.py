"""Injected faults between `GCSBackend` and fake-gcs-server (`testing.faults.FaultProxy`), per operation class.

Each call succeeds after transient faults (resets, lost answers, stalls past the read
timeout, 503s) within its retry budget, or raises `BackendUnavailable` within
``retry_budget`` plus a small slack; a failed overwrite keeps the old object, and a lost
answer of an exclusive create is resolved by checking the object's MD5.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError, ContentChanged
from remote_store_gcs import GCSBackend
from testing.faults import FaultProxy, FaultTally, fault_tally
from testing.servers.gcs import FakeGCSServer

__all__ = ["fault_tally"]

KiB = 1024
NAME = "gcs"
#: Seconds a persistent failure may take beyond ``retry_budget`` (the last attempt's own
#: timeouts plus scheduling noise on a loaded 2-core machine).
SLACK = 2.5  # the last attempt may start just inside the budget; 2 xdist workers on 2 cores slow it
_BUSY = b'{"error": {"code": 503, "message": "injected: backend busy", "errors": [{"reason": "backendError"}]}}'


@pytest.fixture
def proxy(gcs_server: FakeGCSServer) -> Iterator[FaultProxy]:
    port = urllib.parse.urlsplit(gcs_server.endpoint).port
    assert port is not None
    with FaultProxy(port) as p:
        yield p


@pytest.fixture
def raw(gcs_server: FakeGCSServer, gcs_bucket: str) -> Any:
    return gcs_server.client().bucket(gcs_bucket)


def _backend(gcs_server: FakeGCSServer, proxy: FaultProxy, bucket: str, **extra: Any) -> GCSBackend:
    options = gcs_server.backend_options(
        bucket,
        endpoint=proxy.url,
        retries=3,
        retry_backoff=0.0,
        retry_backoff_max=0.0,
        retry_budget=10.0,
        connect_timeout=1.0,
        read_timeout=1.0,
        chunk_size=256 * KiB,
        multipart_threshold=256 * KiB,
    )
    options.update(extra)
    return GCSBackend(**options)


def _busy(proxy: FaultProxy, method: str, path: str, *, times: int = 1, query: str = "") -> None:
    proxy.respond(
        method, path, status=503, headers={"Content-Type": "application/json"}, body=_BUSY, times=times, query=query
    )


def _obj(bucket: str, name: str) -> str:
    return rf"/b/{bucket}/o/{urllib.parse.quote(name, safe='')}$"


# ---------------------------------------------------------------------- (a) transient faults are survived
@pytest.mark.parametrize("fault", ["reset", "busy", "stall"])
def test_read_whole_survives_a_transient_fault(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, fault: str
) -> None:
    data = bytes(range(256)) * 1000
    raw.blob("r.bin").upload_from_string(data)
    path = "^/download/storage/v1" + _obj(gcs_bucket, "r.bin")
    if fault == "reset":
        proxy.reset("GET", path)
    elif fault == "busy":
        _busy(proxy, "GET", path, times=2)
    else:
        proxy.stall("GET", path, seconds=3.0)
    with _backend(gcs_server, proxy, gcs_bucket, read_timeout=0.5) as b:
        assert Store(b).read_bytes("r.bin") == data
    assert proxy.injected and proxy.count("GET", path) == len(proxy.injected) + 1
    fault_tally.survived_call(NAME, proxy)


def _read(store: Store, key: str, how: str) -> bytes:
    if how == "read_bytes":
        return store.read_bytes(key)
    with store.read(key) as f:
        return b"".join(iter(lambda: f.read(64 * KiB), b""))


@pytest.mark.parametrize("how", ["read_bytes", "stream"])
def test_body_cut_mid_stream_resumes_pinned_to_the_generation(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, how: str
) -> None:
    """A reset after part of the body: the read resumes with a ranged GET of the same
    generation from the byte reached, and returns every byte once."""
    data = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4
    raw.blob("cut.bin").upload_from_string(data)
    path = "^/download/storage/v1" + _obj(gcs_bucket, "cut.bin")
    proxy.cut("GET", path, after_bytes=100_000, times=2)
    with _backend(gcs_server, proxy, gcs_bucket) as b:
        assert _read(Store(b), "cut.bin", how) == data
    assert len(proxy.injected) == 2
    assert proxy.count("GET", path) == 3
    assert proxy.count("GET", path, "generation=") == 2  # both resumes were pinned
    fault_tally.survived_call(NAME, proxy)


def test_object_replaced_between_cut_and_resume_is_content_changed(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    data = bytes(range(256)) * 4096
    raw.blob("swap.bin").upload_from_string(data)
    proxy.cut("GET", "^/download/storage/v1" + _obj(gcs_bucket, "swap.bin"), after_bytes=200_000)
    with _backend(gcs_server, proxy, gcs_bucket, read_block_size=16 * KiB) as b:
        with Store(b).read("swap.bin") as f:
            assert f.read(50_000) == data[:50_000]
            raw.blob("swap.bin").upload_from_string(data[::-1])
            with pytest.raises(ContentChanged):
                while f.read(64 * KiB):
                    pass
    assert len(proxy.injected) == 1
    fault_tally.failed_call(NAME, proxy)


@pytest.mark.parametrize("how", ["read_bytes", "stream"])
def test_cut_persisting_past_the_budget_is_backend_unavailable(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, how: str
) -> None:
    raw.blob("cut.bin").upload_from_string(bytes(range(256)) * 4096)
    proxy.cut("GET", "^/download/storage/v1" + _obj(gcs_bucket, "cut.bin"), after_bytes=1_000, times=1000)
    budget = 1.0
    tuning = {"retries": 100, "retry_backoff": 0.2, "retry_backoff_max": 0.2, "retry_budget": budget}
    with _backend(gcs_server, proxy, gcs_bucket, **tuning) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            _read(Store(b), "cut.bin", how)
        took = time.monotonic() - start
    fault_tally.failed_call(NAME, proxy)
    fault_tally.budget_used(NAME, took, budget)
    assert took <= budget + SLACK, took
    assert 3 <= len(proxy.injected) < 100  # it resumed, then the budget (not ``retries``) stopped it


def test_small_write_survives_busy_and_reset(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    path = rf"/upload/storage/v1/b/{gcs_bucket}/o$"
    _busy(proxy, "POST", path, query="uploadType=multipart")
    proxy.reset("POST", path, query="uploadType=multipart")
    with _backend(gcs_server, proxy, gcs_bucket) as b:
        assert Store(b).write("w.txt", b"made it", overwrite=False).size == 7
    assert proxy.count("POST", path) == 3
    assert raw.blob("w.txt").download_as_bytes() == b"made it"
    fault_tally.survived_call(NAME, proxy)


def test_resumable_write_survives_a_reset_chunk_and_a_busy_chunk(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    data = bytes(range(256)) * (3 * 1024 + 7)  # ~768 KiB: 4 chunks of 256 KiB
    path = rf"/upload/storage/v1/b/{gcs_bucket}/o$"
    proxy.reset("PUT", path, query="upload_id=")
    _busy(proxy, "PUT", path, query="upload_id=")
    with _backend(gcs_server, proxy, gcs_bucket) as b:
        Store(b).write("big.bin", data, overwrite=True)
    assert [a for a, _, _ in proxy.injected] == ["reset", "status"]
    assert raw.blob("big.bin").download_as_bytes() == data
    fault_tally.survived_call(NAME, proxy)


def test_list_copy_move_delete_and_info_survive_transient_faults(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    raw.blob("d/src.txt").upload_from_string(b"payload")
    raw.blob("d/gone.txt").upload_from_string(b"x")
    _busy(proxy, "GET", rf"/storage/v1/b/{gcs_bucket}/o$", times=2)  # objects.list
    _busy(proxy, "POST", r"/rewriteTo/")  # objects.rewrite (copy)
    proxy.reset("DELETE", _obj(gcs_bucket, "d/src.txt"))  # the move's delete, never seen by the server
    proxy.stall("GET", rf"/storage/v1{_obj(gcs_bucket, 'd/moved.txt')}", seconds=3.0)  # objects.get
    proxy.drop("DELETE", _obj(gcs_bucket, "d/gone.txt"))  # deleted, answer lost: the resend sees 404
    with _backend(gcs_server, proxy, gcs_bucket, read_timeout=0.5) as b:
        store = Store(b)
        assert sorted(f.name for f in store.list_files("d")) == ["gone.txt", "src.txt"]
        store.copy("d/src.txt", "d/copy.txt")
        store.move("d/src.txt", "d/moved.txt")
        assert store.get_file_info("d/moved.txt").size == 7
        store.delete("d/gone.txt")
    assert sorted(blob.name for blob in raw.client.list_blobs(gcs_bucket)) == ["d/copy.txt", "d/moved.txt"]
    assert len(proxy.injected) == 6
    fault_tally.survived_call(NAME, proxy)


# ---------------------------------------------------------------------- (b, c) persistent faults
@pytest.mark.parametrize("fault", ["busy", "reset"])
def test_persistent_faults_end_in_backend_unavailable_within_the_budget(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, fault: str
) -> None:
    raw.blob("kept.txt").upload_from_string(b"old")
    path = rf"/upload/storage/v1/b/{gcs_bucket}/o$"
    if fault == "busy":
        _busy(proxy, "POST", path, times=1000)
    else:
        proxy.reset("POST", path, times=1000)
    budget = 1.5
    tuning = {"retries": 100, "retry_backoff": 0.1, "retry_backoff_max": 0.2, "retry_budget": budget}
    with _backend(gcs_server, proxy, gcs_bucket, read_timeout=0.3, **tuning) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            Store(b).write("kept.txt", b"new", overwrite=True)
        took = time.monotonic() - start
    fault_tally.failed_call(NAME, proxy)
    fault_tally.budget_used(NAME, took, budget)
    assert took <= budget + SLACK, took
    assert len(proxy.injected) >= 2  # it retried until the budget stopped it
    assert raw.blob("kept.txt").download_as_bytes() == b"old"


def test_failed_resumable_write_cancels_its_session_and_keeps_the_old_object(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    raw.blob("mp.bin").upload_from_string(b"previous")
    path = rf"/upload/storage/v1/b/{gcs_bucket}/o$"
    _busy(proxy, "PUT", path, query="upload_id=", times=100)  # every chunk refused
    with _backend(gcs_server, proxy, gcs_bucket, retries=2) as b:
        with pytest.raises(BackendUnavailable):
            Store(b).write("mp.bin", bytes(range(256)) * (3 * 1024), overwrite=True)
        assert not b._sessions and not b._held  # nothing left to resume or abort
    assert proxy.count("DELETE", path, "upload_id=") == 1  # the session was cancelled on the service
    assert raw.blob("mp.bin").download_as_bytes() == b"previous"
    fault_tally.failed_call(NAME, proxy)


# ---------------------------------------------------------------------- (e) lost answers of exclusive creates
def test_lost_answer_of_an_exclusive_put_is_our_success(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    path = rf"/upload/storage/v1/b/{gcs_bucket}/o$"
    proxy.drop("POST", path)
    with _backend(gcs_server, proxy, gcs_bucket) as b:
        assert Store(b).write("mine.txt", b"mine", overwrite=False).size == 4
    assert proxy.count("POST", path) == 2
    assert raw.blob("mine.txt").download_as_bytes() == b"mine"
    fault_tally.survived_call(NAME, proxy)


def test_lost_answer_then_someone_else_wrote_is_already_exists(
    gcs_server: FakeGCSServer, gcs_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    path = rf"/upload/storage/v1/b/{gcs_bucket}/o$"
    proxy.drop("POST", path)

    def replace_before_the_resend(method: str, target: str, rule: object) -> None:
        if method == "POST" and rule is None and proxy.dropped:
            raw.blob("race.txt").upload_from_string(b"someone else")

    proxy.on_request = replace_before_the_resend
    with _backend(gcs_server, proxy, gcs_bucket) as b:
        with pytest.raises(AlreadyExists):
            Store(b).write("race.txt", b"mine", overwrite=False)
    assert raw.blob("race.txt").download_as_bytes() == b"someone else"
    fault_tally.failed_call(NAME, proxy)


# ---------------------------------------------------------------------- the options reach google-api-core
def test_retry_options_reach_the_google_retry(gcs_server: FakeGCSServer, gcs_bucket: str) -> None:
    tuning = {"retries": 4, "retry_backoff": 0.25, "retry_backoff_max": 3, "retry_deadline": 9}
    retry = GCSBackend(**gcs_server.backend_options(gcs_bucket, **tuning))._retry()
    assert retry is not None
    assert (retry._initial, retry._maximum, retry._multiplier, retry._timeout) == (0.25, 3.0, 2.0, 9.0)
    from google.api_core import exceptions as gex

    picky = GCSBackend(**gcs_server.backend_options(gcs_bucket, retry_on="server"))._retry()
    assert picky is not None
    assert picky._predicate(gex.InternalServerError("x")) and not picky._predicate(gex.ServiceUnavailable("x"))
    assert not picky._predicate(gex.NotFound("x"))


@pytest.mark.parametrize(
    ("option", "value"),
    [("retry_budget", -1), ("retry_deadline", "soon"), ("retry_backoff", -0.5), ("retry_on", "weather")],
)
def test_bad_retry_options_are_config_errors(option: str, value: object) -> None:
    with pytest.raises(ConfigError, match="retry_"):
        GCSBackend("bkt", anonymous=True, **{option: value})
