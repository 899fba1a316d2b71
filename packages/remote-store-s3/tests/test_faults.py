"""Injected faults between `S3Backend` and moto (`testing.faults.FaultProxy`), per operation class.

Each call either succeeds after transient faults (resets, lost answers, stalls past the read
timeout, 500 / 503 ``SlowDown``) within its retry budget, or raises `BackendUnavailable`
within ``retry_budget`` plus a small slack; a failed overwrite leaves the old object, a failed
multipart upload leaves no upload behind, and a lost answer of an exclusive create is
resolved by checking the object (ours: success; someone else's: `AlreadyExists`).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from remote_store import Store
from remote_store.errors import AlreadyExists, BackendUnavailable, ConfigError, ContentChanged
from remote_store_s3 import S3Backend
from testing.faults import S3_INTERNAL_ERROR, S3_SLOW_DOWN, FaultProxy, FaultTally, fault_tally
from testing.servers.s3 import MotoS3Server

__all__ = ["fault_tally"]

MiB = 1024 * 1024
NAME = "s3"
#: Seconds a persistent failure may take beyond ``retry_budget`` (the last attempt's own
#: timeouts plus scheduling noise on a loaded 2-core machine).
SLACK = 2.5  # the last attempt may start just inside the budget; 2 xdist workers on 2 cores slow it


@pytest.fixture
def proxy(s3_server: MotoS3Server) -> Iterator[FaultProxy]:
    port = urllib.parse.urlsplit(s3_server.endpoint_url).port
    assert port is not None
    with FaultProxy(port) as p:
        yield p


@pytest.fixture
def raw(s3_server: MotoS3Server) -> Any:
    return s3_server.client()


def _backend(s3_server: MotoS3Server, proxy: FaultProxy, bucket: str, **extra: Any) -> S3Backend:
    options: dict[str, Any] = {
        "endpoint_url": proxy.url,
        "region": s3_server.region,
        "access_key_id": s3_server.access_key_id,
        "secret_access_key": s3_server.secret_access_key,
        "retries": 3,
        "retry_backoff": 0.0,
        "retry_backoff_max": 0.0,
        "retry_budget": 10.0,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "part_size": 5 * MiB,
        "multipart_threshold": 5 * MiB,
        "max_concurrency": 2,
        **extra,
    }
    return S3Backend(bucket, **options)


def _payload(n: int) -> bytes:
    return bytes(range(256)) * (n // 256) + b"z" * (n % 256)


def _get(raw: Any, bucket: str, key: str) -> bytes:
    return bytes(raw.get_object(Bucket=bucket, Key=key)["Body"].read())


# ---------------------------------------------------------------------- (a) transient faults are survived
@pytest.mark.parametrize("action", ["reset", "slow_down", "stall", "drop"])
def test_read_whole_survives_a_transient_fault(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, action: str
) -> None:
    data = _payload(300_000)
    raw.put_object(Bucket=s3_bucket, Key="r.bin", Body=data)
    path = rf"^/{s3_bucket}/r\.bin$"
    if action == "reset":
        proxy.reset("GET", path)
    elif action == "slow_down":
        proxy.respond("GET", path, status=503, body=S3_SLOW_DOWN, times=2)
    elif action == "stall":
        proxy.stall("GET", path, seconds=3.0)
    else:
        proxy.drop("GET", path)
    with _backend(s3_server, proxy, s3_bucket, read_timeout=0.5) as b:
        assert Store(b).read_bytes("r.bin") == data
    assert proxy.injected and proxy.count("GET", path) == len(proxy.injected) + 1
    fault_tally.survived_call(NAME, proxy)


@pytest.mark.parametrize("how", ["read_bytes", "stream"])
def test_body_cut_mid_stream_resumes_with_a_pinned_ranged_get(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, how: str
) -> None:
    """A reset after part of the body: the read resumes from the byte reached (``Range`` +
    ``If-Match``) and returns every byte, once."""
    data = _payload(2 * MiB + 123)
    raw.put_object(Bucket=s3_bucket, Key="cut.bin", Body=data)
    proxy.cut("GET", rf"^/{s3_bucket}/cut\.bin$", after_bytes=100_000, times=2)
    with _backend(s3_server, proxy, s3_bucket) as b:
        store = Store(b)
        if how == "read_bytes":
            got = store.read_bytes("cut.bin")
        else:
            with store.read("cut.bin") as f:
                got = b"".join(iter(lambda: f.read(64 * 1024), b""))
    assert got == data
    assert len(proxy.injected) == 2
    assert proxy.count("GET", rf"^/{s3_bucket}/cut\.bin$") == 3  # the first GET and two resumes
    fault_tally.survived_call(NAME, proxy)


def test_ranged_stream_cut_mid_block_resumes(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    data = _payload(1 * MiB)
    raw.put_object(Bucket=s3_bucket, Key="seek.bin", Body=data)
    with _backend(s3_server, proxy, s3_bucket) as b:
        with Store(b).read_seekable("seek.bin") as f:
            f.seek(500_000)
            proxy.cut("GET", rf"^/{s3_bucket}/seek\.bin$", after_bytes=10_000)
            got = b"".join(iter(lambda: f.read(64 * 1024), b""))
    assert got == data[500_000:]
    assert len(proxy.injected) == 1
    fault_tally.survived_call(NAME, proxy)


def test_object_replaced_between_cut_and_resume_is_content_changed(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    data = _payload(1 * MiB)
    raw.put_object(Bucket=s3_bucket, Key="swap.bin", Body=data)
    proxy.cut("GET", rf"^/{s3_bucket}/swap\.bin$", after_bytes=200_000)
    with _backend(s3_server, proxy, s3_bucket, read_block_size=16 * 1024) as b:
        with Store(b).read("swap.bin") as f:
            head = f.read(50_000)
            assert head == data[:50_000]
            raw.put_object(Bucket=s3_bucket, Key="swap.bin", Body=_payload(1 * MiB)[::-1])
            with pytest.raises(ContentChanged):
                while f.read(64 * 1024):
                    pass
    assert len(proxy.injected) == 1
    fault_tally.failed_call(NAME, proxy)


@pytest.mark.parametrize("how", ["read_bytes", "stream"])
def test_cut_persisting_past_the_budget_is_backend_unavailable(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, how: str
) -> None:
    data = _payload(1 * MiB)
    raw.put_object(Bucket=s3_bucket, Key="cut.bin", Body=data)
    proxy.cut("GET", rf"^/{s3_bucket}/cut\.bin$", after_bytes=1_000, times=1000)
    budget = 1.0
    tuning = {"retries": 100, "retry_backoff": 0.2, "retry_backoff_max": 0.2, "retry_budget": budget}
    with _backend(s3_server, proxy, s3_bucket, **tuning) as b:
        store = Store(b)
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            if how == "read_bytes":
                store.read_bytes("cut.bin")
            else:
                with store.read("cut.bin") as f:
                    while f.read(64 * 1024):
                        pass
        took = time.monotonic() - start
    fault_tally.failed_call(NAME, proxy)
    fault_tally.budget_used(NAME, took, budget)
    assert took <= budget + SLACK, took
    assert 3 <= len(proxy.injected) < 100  # it resumed, then the budget (not ``retries``) stopped it


def test_retry_budget_is_per_store_call_across_multipart_parts(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    """Every part meets one transient fault. Each alone is well within ``retry_budget`` (a
    retry costs ~1 s of 2.5), but the upload as a whole is not (4 parts x >= 0.8 s): it stops
    with `BackendUnavailable` and aborts the upload. With a per-request budget every part
    would have been retried and the upload would have succeeded."""
    raw.put_object(Bucket=s3_bucket, Key="mpb.bin", Body=b"previous")
    parts = 4
    for number in range(1, parts + 1):
        proxy.reset("PUT", rf"^/{s3_bucket}/mpb\.bin$", query=rf"partNumber={number}(&|$)")
    budget = 2.5
    tuning = {"retries": 5, "retry_backoff": 1.0, "retry_backoff_max": 1.0, "retry_budget": budget}
    with _backend(s3_server, proxy, s3_bucket, max_concurrency=1, **tuning) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            Store(b).write("mpb.bin", _payload(parts * 5 * MiB), overwrite=True)
        took = time.monotonic() - start
        assert list(b.list_multipart_uploads("")) == [] and not b.abandoned_uploads
    fault_tally.failed_call(NAME, proxy)
    fault_tally.budget_used(NAME, took, budget)
    # slack: the budget, plus the parts' own transfers (4 x 5 MiB through the proxy)
    assert took <= budget + SLACK + 2.0, took
    assert 2 <= len(proxy.injected) <= parts  # some parts were retried, then one was refused
    assert proxy.count("DELETE", rf"^/{s3_bucket}/mpb\.bin$", "uploadId=") >= 1  # AbortMultipartUpload
    assert _get(raw, s3_bucket, "mpb.bin") == b"previous"


def test_separate_store_calls_each_get_the_whole_budget(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    """The budget is per call: two calls that each spend most of it both succeed."""
    tuning = {"retries": 5, "retry_backoff": 0.6, "retry_backoff_max": 0.6, "retry_budget": 1.0}
    with _backend(s3_server, proxy, s3_bucket, **tuning) as b:
        store = Store(b)
        for name in ("one.txt", "two.txt"):
            before = len(proxy.injected)
            proxy.reset("PUT", rf"^/{s3_bucket}/{name.replace('.', '[.]')}$")
            store.write(name, b"x", overwrite=True)
            fault_tally.survived_call(NAME, proxy, before)
    assert len(proxy.injected) == 2


@pytest.mark.parametrize("fault", ["slow_down", "internal_error", "reset"])
def test_small_write_survives_transient_faults(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, fault: str
) -> None:
    path = rf"^/{s3_bucket}/w\.txt$"
    if fault == "slow_down":
        proxy.respond("PUT", path, status=503, body=S3_SLOW_DOWN, times=2)
    elif fault == "internal_error":
        proxy.respond("PUT", path, status=500, body=S3_INTERNAL_ERROR, times=2)
    else:
        proxy.reset("PUT", path, times=2)
    with _backend(s3_server, proxy, s3_bucket) as b:
        result = Store(b).write("w.txt", b"made it", overwrite=False)
    assert result.size == 7 and proxy.count("PUT", path) == 3
    assert _get(raw, s3_bucket, "w.txt") == b"made it"
    fault_tally.survived_call(NAME, proxy)


def test_multipart_write_survives_a_refused_part_and_a_lost_complete(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    data = _payload(11 * MiB)  # 3 parts of 5 MiB
    path = rf"^/{s3_bucket}/big\.bin$"
    proxy.respond("PUT", path, query="partNumber=2", status=503, body=S3_SLOW_DOWN)
    proxy.reset("PUT", path, query="partNumber=3")
    proxy.drop("POST", path, query="uploadId=")  # CompleteMultipartUpload done, answer lost
    with _backend(s3_server, proxy, s3_bucket) as b:
        Store(b).write("big.bin", data, overwrite=False)
        assert list(b.list_multipart_uploads("")) == [] and not b.abandoned_uploads
    assert [a for a, _, _ in proxy.injected] == ["status", "reset", "drop"]
    assert _get(raw, s3_bucket, "big.bin") == data
    fault_tally.survived_call(NAME, proxy)


def test_list_survives_slow_down(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    for name in ("d/a", "d/b", "d/c"):
        raw.put_object(Bucket=s3_bucket, Key=name, Body=b"x")
    proxy.respond("GET", rf"^/{s3_bucket}/?$", query="list-type=2", status=503, body=S3_SLOW_DOWN, times=2)
    with _backend(s3_server, proxy, s3_bucket) as b:
        assert sorted(f.name for f in Store(b).list_files("d")) == ["a", "b", "c"]
    assert len(proxy.injected) == 2
    fault_tally.survived_call(NAME, proxy)


def test_delete_survives_a_lost_answer(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    raw.put_object(Bucket=s3_bucket, Key="gone.txt", Body=b"x")
    proxy.drop("DELETE", rf"^/{s3_bucket}/gone\.txt$")
    with _backend(s3_server, proxy, s3_bucket) as b:
        Store(b).delete("gone.txt", missing_ok=True)
    assert raw.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
    fault_tally.survived_call(NAME, proxy)


def test_copy_and_move_survive_transient_faults(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    raw.put_object(Bucket=s3_bucket, Key="src.txt", Body=b"payload")
    proxy.respond("PUT", rf"^/{s3_bucket}/copy\.txt$", status=500, body=S3_INTERNAL_ERROR)
    proxy.drop("DELETE", rf"^/{s3_bucket}/src\.txt$")
    with _backend(s3_server, proxy, s3_bucket) as b:
        store = Store(b)
        store.copy("src.txt", "copy.txt")
        store.move("src.txt", "moved.txt")
    assert _get(raw, s3_bucket, "copy.txt") == b"payload" and _get(raw, s3_bucket, "moved.txt") == b"payload"
    assert "Contents" not in raw.list_objects_v2(Bucket=s3_bucket, Prefix="src")
    assert len(proxy.injected) == 2
    fault_tally.survived_call(NAME, proxy)


def test_exists_and_info_survive_a_stall_and_a_reset(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    raw.put_object(Bucket=s3_bucket, Key="here.txt", Body=b"abc")
    path = rf"^/{s3_bucket}/here\.txt$"
    proxy.stall("HEAD", path, seconds=3.0)
    proxy.reset("HEAD", path)
    with _backend(s3_server, proxy, s3_bucket, read_timeout=0.5) as b:
        start = time.monotonic()
        assert Store(b).exists("here.txt")
        assert Store(b).get_file_info("here.txt").size == 3
        took = time.monotonic() - start
    assert len(proxy.injected) == 2 and took < 2.5  # the read timeout fired; the stall was not waited out
    fault_tally.survived_call(NAME, proxy)


# ---------------------------------------------------------------------- (b, c) persistent faults
@pytest.mark.parametrize("fault", ["slow_down", "reset", "stall"])
def test_persistent_faults_end_in_backend_unavailable_within_the_budget(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally, fault: str
) -> None:
    raw.put_object(Bucket=s3_bucket, Key="kept.txt", Body=b"old")
    path = rf"^/{s3_bucket}/kept\.txt$"
    if fault == "slow_down":
        proxy.respond("PUT", path, status=503, body=S3_SLOW_DOWN, times=1000)
    elif fault == "reset":
        proxy.reset("PUT", path, times=1000)
    else:
        proxy.stall("PUT", path, seconds=2.0, times=1000)
    budget = 1.5
    tuning = {"retries": 100, "retry_backoff": 0.1, "retry_backoff_max": 0.2, "retry_budget": budget}
    with _backend(s3_server, proxy, s3_bucket, read_timeout=0.3, **tuning) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            Store(b).write("kept.txt", b"new", overwrite=True)
        took = time.monotonic() - start
    fault_tally.failed_call(NAME, proxy)
    fault_tally.budget_used(NAME, took, budget)
    assert took <= budget + SLACK, took
    assert len(proxy.injected) >= 2  # it did retry, then the budget stopped it
    # Refused requests never reached moto: the old object is intact. Stalled ones did (their
    # answers were lost), so the object is the whole new one - never a partial write.
    assert _get(raw, s3_bucket, "kept.txt") == (b"new" if fault == "stall" else b"old")


def test_failed_multipart_write_leaves_no_upload_and_the_old_object(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    raw.put_object(Bucket=s3_bucket, Key="mp.bin", Body=b"previous")
    proxy.respond("PUT", rf"^/{s3_bucket}/mp\.bin$", query="partNumber=2", status=503, body=S3_SLOW_DOWN, times=100)
    with _backend(s3_server, proxy, s3_bucket, retries=2) as b:
        with pytest.raises(BackendUnavailable):
            Store(b).write("mp.bin", _payload(11 * MiB), overwrite=True)
        assert list(b.list_multipart_uploads("")) == [] and not b.abandoned_uploads
    assert proxy.count("DELETE", rf"^/{s3_bucket}/mp\.bin$", "uploadId=") >= 1  # AbortMultipartUpload
    assert _get(raw, s3_bucket, "mp.bin") == b"previous"
    fault_tally.failed_call(NAME, proxy)


def test_retry_on_none_gives_up_at_the_first_fault(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, fault_tally: FaultTally
) -> None:
    path = rf"^/{s3_bucket}/once\.txt$"
    proxy.respond("PUT", path, status=503, body=S3_SLOW_DOWN)
    with _backend(s3_server, proxy, s3_bucket, retry_on="connection,timeout,server") as b:
        with pytest.raises(BackendUnavailable):
            Store(b).write("once.txt", b"x")
    assert proxy.count("PUT", path) == 1  # throttling is not in retry_on
    fault_tally.failed_call(NAME, proxy)


# ---------------------------------------------------------------------- (e) lost answers of exclusive creates
def test_lost_answer_of_an_exclusive_put_is_our_success(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    path = rf"^/{s3_bucket}/mine\.txt$"
    proxy.drop("PUT", path)
    with _backend(s3_server, proxy, s3_bucket) as b:
        result = Store(b).write("mine.txt", b"mine", overwrite=False)
    assert result.size == 4 and proxy.count("PUT", path) == 2  # the resend got 412; the check found our bytes
    assert _get(raw, s3_bucket, "mine.txt") == b"mine"
    fault_tally.survived_call(NAME, proxy)


def test_lost_answer_then_someone_else_wrote_is_already_exists(
    s3_server: MotoS3Server, s3_bucket: str, proxy: FaultProxy, raw: Any, fault_tally: FaultTally
) -> None:
    path = rf"^/{s3_bucket}/race\.txt$"
    proxy.drop("PUT", path)

    def replace_before_the_resend(method: str, target: str, rule: object) -> None:
        if method == "PUT" and "/race.txt" in target and rule is None and proxy.dropped:
            raw.put_object(Bucket=s3_bucket, Key="race.txt", Body=b"someone else")

    proxy.on_request = replace_before_the_resend
    with _backend(s3_server, proxy, s3_bucket) as b:
        with pytest.raises(AlreadyExists):
            Store(b).write("race.txt", b"mine", overwrite=False)
    assert _get(raw, s3_bucket, "race.txt") == b"someone else"
    fault_tally.failed_call(NAME, proxy)


# ---------------------------------------------------------------------- the options reach botocore
def test_retry_options_reach_botocore() -> None:
    from remote_store_s3._retries import BudgetedRetry

    tuning = {"retries": 4, "retry_backoff": 0.25, "retry_backoff_max": 3, "retry_budget": 9, "retry_on": "timeout"}
    b = S3Backend("bucket", endpoint_url="http://127.0.0.1:1", region="us-east-1", **tuning)
    client = b._client()
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}
    handler = b._retry_handler
    assert isinstance(handler, BudgetedRetry)
    assert (handler.policy.retries, handler.policy.backoff, handler.policy.backoff_max) == (4, 0.25, 3.0)
    assert handler.policy.budget == 9.0 and handler.policy.retry_on == frozenset({"timeout"})
    registered = list(client.meta.events._emitter._lookup_cache.get("needs-retry.s3", ()))
    registered = registered or [h for h in client.meta.events._emitter._handlers.prefix_search("needs-retry.s3")]
    assert any(getattr(h, "__self__", None) is handler for h in registered)  # botocore's own handler is gone
    assert not any(type(getattr(h, "__self__", None)).__name__ == "RetryHandler" for h in registered)
    b.close()


def test_max_attempts_is_the_former_name_of_retries_plus_one() -> None:
    assert S3Backend("bucket", max_attempts=7).s3_options.retries == 6
    assert S3Backend("bucket", max_attempts="1").s3_options.retries == 0
    with pytest.raises(ConfigError, match="given twice"):
        S3Backend("bucket", max_attempts=3, retries=2)
    with pytest.raises(ConfigError, match="max_attempts"):
        S3Backend("bucket", max_attempts=0)


@pytest.mark.parametrize(
    ("option", "value"),
    [("retry_budget", -1), ("retry_backoff", "soon"), ("retry_backoff_max", float("inf")), ("retry_on", "weather")],
)
def test_bad_retry_options_are_config_errors(option: str, value: object) -> None:
    with pytest.raises(ConfigError, match=option):
        S3Backend("bucket", **{option: value})
