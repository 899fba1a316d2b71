"""The per-Store-call retry budget (`RetryBudget`, `retry_operation`, `budget_per_operation`)
and the resume of a cut body (`ResumingBody`), with fake clocks and in-process bodies.

The fault-proxy tests against moto and fake-gcs-server (``packages/remote-store-s3/tests/
test_faults.py``, ``packages/remote-store-gcs/tests/test_faults.py``) check the same on
real services; these pin the rules down exactly.
"""

from __future__ import annotations

import contextvars
import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from remote_store.errors import ContentChanged, NotFound
from remote_store.kit import (
    FetchResult,
    ResumingBody,
    RetryBudget,
    RetryPolicy,
    budget_per_operation,
    current_budget,
    resuming,
    retry_operation,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _failing(times: int, clock: FakeClock, cost: float = 0.0) -> Any:
    left = [times]

    def fn() -> str:
        clock.now += cost
        if left[0]:
            left[0] -= 1
            raise ConnectionError("reset")
        return "ok"

    return fn


def _call(policy: RetryPolicy, fn: Any, clock: FakeClock) -> Any:
    return policy.call(fn, classify=lambda e: "connection", idempotent=True, clock=clock, sleep=clock.sleep)


POLICY = RetryPolicy(retries=10, backoff=1.0, backoff_max=1.0, budget=2.5, jitter=0.0)


def test_budget_charges_and_refuses_past_its_seconds() -> None:
    budget = RetryBudget(2.0)
    assert budget.charge(1.5) and budget.spent == 1.5
    assert not budget.charge(0.6) and budget.spent == 1.5  # refused: nothing charged
    assert budget.remaining == 0.5 and "spent=1.500" in repr(budget)


def test_outside_an_operation_each_call_has_its_own_budget() -> None:
    clock = FakeClock()
    for _ in range(3):  # 2 retries x 1 s each = 2 s, within 2.5, every time
        assert _call(POLICY, _failing(2, clock), clock) == "ok"
    assert current_budget() is None


def test_calls_inside_one_operation_share_its_budget() -> None:
    clock = FakeClock()
    with retry_operation(2.5) as budget:
        assert _call(POLICY, _failing(2, clock), clock) == "ok"  # 2 s charged
        with pytest.raises(ConnectionError):
            _call(POLICY, _failing(1, clock), clock)  # one more second would pass 2.5
    assert budget.spent == 2.0


def test_the_failed_attempt_counts_as_well_as_the_wait() -> None:
    clock = FakeClock()
    with retry_operation(2.5) as budget:
        with pytest.raises(ConnectionError):
            _call(POLICY, _failing(5, clock, cost=0.5), clock)
    assert budget.spent == 1.5  # (0.5 + 1) once; (0.5 + 1) more would be 3.0 > 2.5


def test_nested_operations_share_the_outer_budget() -> None:
    with retry_operation(5.0) as outer, retry_operation(1.0) as inner:
        assert inner is outer and current_budget() is outer
    assert current_budget() is None


def test_worker_threads_see_the_budget_through_copy_context() -> None:
    seen: list[RetryBudget | None] = []
    with retry_operation(3.0) as budget:
        t = threading.Thread(target=contextvars.copy_context().run, args=(lambda: seen.append(current_budget()),))
        t.start()
        t.join()
    assert seen == [budget]


@budget_per_operation(lambda self: self.seconds)
class _Backend:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def write(self) -> RetryBudget | None:
        return current_budget()

    def iter_files(self) -> Iterator[RetryBudget | None]:
        for _ in range(3):
            yield current_budget()

    def other(self) -> RetryBudget | None:
        return current_budget()


def test_budget_per_operation_wraps_the_named_methods_and_their_iterators() -> None:
    b = _Backend(7.0)
    first, second = b.write(), b.write()
    assert first is not None and first.seconds == 7.0 and second is not first  # one per call
    pages = list(b.iter_files())
    assert pages[0] is not None and all(p is pages[0] for p in pages)  # one per listing
    assert b.other() is None and current_budget() is None


# ------------------------------------------------------------------ ResumingBody
DATA = bytes(range(256)) * 64  # 16 KiB


class _CutBody(io.BytesIO):
    """Serves ``data`` and raises ConnectionResetError once ``cut_at`` bytes were read."""

    def __init__(self, data: bytes, cut_at: int | None) -> None:
        super().__init__(data)
        self.cut_at = cut_at

    def read(self, n: int | None = -1) -> bytes:
        if self.cut_at is not None and self.tell() >= self.cut_at:
            raise ConnectionResetError("cut")
        limit = n if n is not None and n >= 0 else len(self.getbuffer())
        if self.cut_at is not None:
            limit = min(limit, self.cut_at - self.tell())
        return super().read(limit)


class _Service:
    """Answers ranged GETs of ``data`` (version ``etag``), cutting each body after ``cut`` bytes."""

    def __init__(self, cut: int | None, cuts: int) -> None:
        self.data, self.etag, self.cut, self.cuts = DATA, "v1", cut, cuts
        self.gets: list[tuple[int, int | None, str | None]] = []

    def fetch(self, start: int, end: int | None, etag: str | None) -> FetchResult:
        self.gets.append((start, end, etag))
        if etag is not None and etag != self.etag:
            raise ContentChanged("412", path="k")
        part = self.data[start:end]
        cut = self.cut if self.cuts > 0 else None
        self.cuts -= 1
        return FetchResult(_CutBody(part, cut), len(self.data), self.etag)


FAST = RetryPolicy(retries=5, backoff=0.0, backoff_max=0.0, budget=10.0, jitter=0.0)


def _body(service: _Service, policy: RetryPolicy = FAST) -> Any:
    return resuming(service.fetch(0, None, None), service.fetch, start=0, end=None, policy=policy, classify=_classify)


def _classify(exc: BaseException) -> str | None:
    return "connection" if isinstance(exc, ConnectionError) else None


@pytest.mark.parametrize("n", [-1, 1000, 5000])
def test_a_cut_body_resumes_pinned_and_returns_every_byte_once(n: int) -> None:
    service = _Service(cut=3000, cuts=3)
    body = _body(service)
    assert isinstance(body.body, ResumingBody)
    got = body.body.read() if n < 0 else b"".join(iter(lambda: body.body.read(n), b""))
    assert got == DATA
    assert body.body.resumes == 3
    assert service.gets == [(0, None, None), (3000, len(DATA), "v1"), (6000, len(DATA), "v1"), (9000, len(DATA), "v1")]


def test_a_replaced_object_is_content_changed_at_the_resume() -> None:
    service = _Service(cut=3000, cuts=1)
    body = _body(service).body
    assert body.read(3000) == DATA[:3000]
    service.etag = "v2"
    with pytest.raises(ContentChanged):
        body.read(100)


def test_a_deleted_object_is_content_changed_at_the_resume() -> None:
    service = _Service(cut=3000, cuts=1)
    body = _body(service).body
    body.read(3000)

    def gone(start: int, end: int | None, etag: str | None) -> FetchResult:
        raise NotFound("gone", path="k")

    body._fetch = gone
    with pytest.raises(ContentChanged):
        body.read(100)


def test_resumes_stop_at_retries_with_the_read_failure() -> None:
    service = _Service(cut=1000, cuts=100)
    body = _body(service, RetryPolicy(retries=2, backoff=0.0, budget=10.0, jitter=0.0)).body
    with pytest.raises(ConnectionResetError):
        body.read()
    assert len(service.gets) == 3  # the first GET and two resumes


def test_resumes_charge_the_operation_budget() -> None:
    service = _Service(cut=1000, cuts=100)
    policy = RetryPolicy(retries=100, backoff=0.01, backoff_max=0.01, budget=10.0, jitter=0.0)
    with retry_operation(0.035) as budget:
        body = _body(service, policy).body
    with pytest.raises(ConnectionResetError):
        body.read()  # read after the call returned: still the call's budget
    assert 3 <= len(service.gets) <= 4 and budget.spent <= 0.035


def test_a_failure_outside_retry_on_is_raised_at_once() -> None:
    service = _Service(cut=1000, cuts=1)
    policy = RetryPolicy(retries=5, backoff=0.0, budget=10.0, retry_on=frozenset({"timeout"}), jitter=0.0)
    with pytest.raises(ConnectionResetError):
        _body(service, policy).body.read()
    assert len(service.gets) == 1


def test_nothing_is_wrapped_without_retries_or_a_version() -> None:
    service = _Service(cut=None, cuts=0)
    first = service.fetch(0, None, None)
    none = RetryPolicy(retries=0)
    assert resuming(first, service.fetch, start=0, end=None, policy=none, classify=_classify) is first
    unpinned = FetchResult(first.body, first.size, None)
    assert resuming(unpinned, service.fetch, start=0, end=None, policy=FAST, classify=_classify) is unpinned
