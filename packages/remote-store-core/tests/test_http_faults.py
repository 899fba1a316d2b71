"""Injected faults between `HttpBackend` and the HTTP test server (`testing.faults.FaultProxy`).

The backend is read-only, so the operation classes are reads (whole, ranged/seekable,
streamed from a server without ``Range``) and metadata (``exists`` / ``get_file_info``).
Every unit is a ``GET`` / ``HEAD`` retried by `RetryPolicy.call` together with its body:
transient faults are survived, a body cut mid-way is fetched again (never returned short),
and persistent faults end in `BackendUnavailable` within ``retry_budget`` plus a small slack.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from remote_store import Store
from remote_store.backends import HttpBackend
from remote_store.errors import BackendUnavailable, ConfigError, NotFound
from testing.faults import FaultProxy, FaultTally, fault_tally
from testing.servers.http import HttpSite

__all__ = ["fault_tally"]

NAME = "http"
#: Seconds a persistent failure may take beyond ``retry_budget`` (the last attempt's own
#: timeouts plus scheduling noise on a loaded 2-core machine).
SLACK = 1.5
TRANSPORTS = ["stdlib", "requests"]


def _proxy_for(site: HttpSite) -> FaultProxy:
    port = urllib.parse.urlsplit(site.url).port
    assert port is not None
    return FaultProxy(port)


@pytest.fixture
def proxy(http_site: HttpSite) -> Iterator[FaultProxy]:
    with _proxy_for(http_site) as p:
        yield p


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _backend(site: HttpSite, proxy: FaultProxy, transport: str = "stdlib", **extra: Any) -> HttpBackend:
    options: dict[str, Any] = {
        "retries": 3,
        "retry_backoff": 0.0,
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "use_requests": transport == "requests",
        **extra,
    }
    return HttpBackend(f"{proxy.url}/{site.name}/", **options)


def _data(n: int) -> bytes:
    return bytes(range(256)) * (n // 256)


@pytest.mark.parametrize("fault", ["reset", "drop", "busy", "stall", "cut"])
def test_read_whole_survives_a_transient_fault(
    http_site: HttpSite, proxy: FaultProxy, fault_tally: FaultTally, transport: str, fault: str
) -> None:
    data = _data(256 * 1024)
    http_site.write("r.bin", data)
    path = r"/r\.bin$"
    if fault == "reset":
        proxy.reset("GET", path)
    elif fault == "drop":
        proxy.drop("GET", path)
    elif fault == "busy":
        proxy.respond("GET", path, status=503, times=2)
    elif fault == "stall":
        proxy.stall("GET", path, seconds=3.0)
    else:
        proxy.cut("GET", path, after_bytes=10_000)
    with _backend(http_site, proxy, transport, read_timeout=0.5) as b:
        start = time.monotonic()
        assert Store(b).read_bytes("r.bin") == data
        took = time.monotonic() - start
    assert proxy.count("GET", path) == len(proxy.injected) + 1 and proxy.injected
    assert took < 2.5  # a stall is cut short by the read timeout
    fault_tally.survived_call(NAME, proxy)


def test_ranged_stream_resumes_a_block_cut_mid_body(
    http_site: HttpSite, proxy: FaultProxy, fault_tally: FaultTally, transport: str
) -> None:
    data = _data(1024 * 1024)
    http_site.write("seek.bin", data)
    with _backend(http_site, proxy, transport, block_size=64 * 1024) as b:
        with Store(b).read_seekable("seek.bin") as f:
            f.seek(300_000)
            proxy.cut("GET", r"/seek\.bin$", after_bytes=5_000, times=2)
            proxy.reset("GET", r"/seek\.bin$")
            assert f.read() == data[300_000:]
    assert [a for a, _, _ in proxy.injected] == ["cut", "cut", "reset"]
    fault_tally.survived_call(NAME, proxy)


def test_stream_without_ranges_cut_mid_body_raises_never_short(
    http_site_no_ranges: HttpSite, fault_tally: FaultTally
) -> None:
    """A server without ``Range`` cannot resume a stream: the read raises, it never ends short."""
    data = _data(2 * 1024 * 1024)
    http_site_no_ranges.write("s.bin", data)
    with _proxy_for(http_site_no_ranges) as proxy:
        with _backend(http_site_no_ranges, proxy, ranges=False) as b:
            store = Store(b)
            proxy.cut("GET", r"/s\.bin$", after_bytes=300_000)
            got = b""
            with pytest.raises(BackendUnavailable), store.read("s.bin") as f:
                while chunk := f.read(64 * 1024):
                    got += chunk
            assert data.startswith(got) and len(got) < len(data)
            fault_tally.failed_call(NAME, proxy)
            assert store.read_bytes("s.bin") == data  # the next read is whole


@pytest.mark.parametrize("fault", ["reset", "busy", "stall"])
def test_exists_and_info_survive_a_transient_fault(
    http_site: HttpSite, proxy: FaultProxy, fault_tally: FaultTally, fault: str
) -> None:
    http_site.write("here.txt", b"abc")
    path = r"/here\.txt$"
    for _ in range(2):
        if fault == "reset":
            proxy.reset("HEAD", path)
        elif fault == "busy":
            proxy.respond("HEAD", path, status=429)
        else:
            proxy.stall("HEAD", path, seconds=3.0)
    with _backend(http_site, proxy, read_timeout=0.5) as b:
        store = Store(b)
        assert store.exists("here.txt")
        assert store.get_file_info("here.txt").size == 3
        with pytest.raises(NotFound):
            store.get_file_info("missing.txt")  # a 404 is an answer, not retried
    assert len(proxy.injected) == 2 and proxy.count("HEAD", r"/missing\.txt$") == 1
    fault_tally.survived_call(NAME, proxy)


@pytest.mark.parametrize("fault", ["busy", "reset", "stall"])
def test_persistent_faults_end_in_backend_unavailable_within_the_budget(
    http_site: HttpSite, proxy: FaultProxy, fault_tally: FaultTally, fault: str
) -> None:
    http_site.write("down.txt", b"x")
    path = r"/down\.txt$"
    if fault == "busy":
        proxy.respond(None, path, status=503, times=1000)
    elif fault == "reset":
        proxy.reset(None, path, times=1000)
    else:
        proxy.stall(None, path, seconds=2.0, times=1000)
    budget = 1.5
    tuning = {"retries": 100, "retry_backoff": 0.1, "retry_backoff_max": 0.2, "retry_budget": budget}
    with _backend(http_site, proxy, read_timeout=0.3, **tuning) as b:
        start = time.monotonic()
        with pytest.raises(BackendUnavailable):
            Store(b).read_bytes("down.txt")
        took = time.monotonic() - start
    fault_tally.failed_call(NAME, proxy)
    fault_tally.budget_used(NAME, took, budget)
    assert took <= budget + SLACK, took
    assert len(proxy.injected) >= 2  # it retried until the budget stopped it


def test_retry_options_reach_the_policy_and_bad_values_are_config_errors() -> None:
    b = HttpBackend(
        "http://127.0.0.1:1/", retries=5, retry_backoff=0.25, retry_backoff_max=2, retry_budget=9, retry_on="timeout"
    )
    policy = b.retry_policy
    assert (policy.retries, policy.backoff, policy.backoff_max, policy.budget) == (5, 0.25, 2.0, 9.0)
    assert policy.retry_on == frozenset({"timeout"})
    assert b.options["retries"] == 5 and b.options["retry_on"] == ["timeout"]
    assert HttpBackend(**b.options).retry_policy == policy
    legacy = HttpBackend("http://127.0.0.1:1/", timeout=4)
    assert (legacy.options["connect_timeout"], legacy.options["read_timeout"]) == (4.0, 4.0)
    for bad in (
        {"retries": -1},
        {"retry_budget": "soon"},
        {"retry_on": "weather"},
        {"read_timeout": 0},
        {"timeout": 3, "read_timeout": 2},
    ):
        with pytest.raises(ConfigError):
            HttpBackend("http://127.0.0.1:1/", **bad)  # type: ignore[arg-type]
