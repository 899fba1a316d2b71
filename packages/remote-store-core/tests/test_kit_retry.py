"""The shared retry vocabulary parses like every other option, and `RetryPolicy.call` keeps its limits."""

from __future__ import annotations

import pytest

from remote_store.errors import ConfigError
from remote_store.kit import (
    RETRY_CATEGORIES,
    RETRY_OPTIONS,
    TIMEOUT_OPTIONS,
    OptionTable,
    RetryPolicy,
)

TABLE = OptionTable("demo", [*RETRY_OPTIONS, *TIMEOUT_OPTIONS])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Flaky:
    """Fails ``failures`` times with ``exc``, then returns "ok"."""

    def __init__(self, failures: int, exc: Exception) -> None:
        self.left = failures
        self.exc = exc
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.exc
        return "ok"


def by_type(exc: BaseException) -> str | None:
    if isinstance(exc, ConnectionResetError):
        return "connection"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return None


def test_defaults_and_string_forms_parse() -> None:
    values = TABLE.parse({})
    assert values["retries"] == 2 and values["retry_backoff"] == 0.5 and values["retry_budget"] == 120.0
    assert values["retry_on"] == frozenset(RETRY_CATEGORIES)
    assert values["connect_timeout"] == 10.0 and values["read_timeout"] == 60.0
    values = TABLE.parse({"retries": "0", "retry_backoff": "0", "retry_on": "connection, timeout"})
    assert values["retries"] == 0 and values["retry_backoff"] == 0.0
    assert values["retry_on"] == frozenset({"connection", "timeout"})
    assert TABLE.parse({"retry_on": "none"})["retry_on"] == frozenset()
    assert TABLE.parse({"retry_on": ["server"]})["retry_on"] == frozenset({"server"})


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("retry_on", "connection,bogus", "unknown failure category 'bogus'"),
        ("retry_on", 5, "list of failure categories"),
        ("retry_backoff", -1, ">= 0"),
        ("retry_budget", "inf", ">= 0"),
        ("retry_backoff_max", "soon", "number of seconds"),
        ("retries", -1, "between 0 and 100"),
    ],
)
def test_bad_values_are_config_errors_naming_the_option(name: str, value: object, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        TABLE.parse({name: value})
    assert name in str(info.value) and fragment in str(info.value)


def test_retried_failures_succeed_within_the_retry_count_with_doubling_capped_delays() -> None:
    fake = FakeClock()
    policy = RetryPolicy(retries=4, backoff=1.0, backoff_max=3.0, jitter=0.0)
    fn = Flaky(4, ConnectionResetError("reset"))
    seen: list[int] = []
    out = policy.call(
        fn,
        classify=by_type,
        idempotent=True,
        on_retry=lambda n, exc: seen.append(n),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert out == "ok" and fn.calls == 5
    assert fake.sleeps == [1.0, 2.0, 3.0, 3.0]
    assert seen == [1, 2, 3, 4]


def test_one_failure_too_many_raises_the_last_failure() -> None:
    fake = FakeClock()
    fn = Flaky(3, TimeoutError("slow"))
    with pytest.raises(TimeoutError):
        RetryPolicy(retries=2, backoff=0.0).call(fn, classify=by_type, idempotent=True, sleep=fake.sleep)
    assert fn.calls == 3


def test_non_idempotent_calls_are_never_repeated() -> None:
    fn = Flaky(1, ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        RetryPolicy(retries=5, backoff=0.0).call(fn, classify=by_type, idempotent=False)
    assert fn.calls == 1


def test_unclassified_and_unselected_categories_are_not_retried() -> None:
    fn = Flaky(1, KeyError("missing"))
    with pytest.raises(KeyError):
        RetryPolicy(retries=5, backoff=0.0).call(fn, classify=by_type, idempotent=True)
    assert fn.calls == 1
    fn = Flaky(1, TimeoutError("slow"))
    policy = RetryPolicy(retries=5, backoff=0.0, retry_on=frozenset({"connection"}))
    with pytest.raises(TimeoutError):
        policy.call(fn, classify=by_type, idempotent=True)
    assert fn.calls == 1


def test_no_retry_starts_past_the_budget() -> None:
    fake = FakeClock()
    policy = RetryPolicy(retries=10, backoff=4.0, backoff_max=4.0, budget=10.0, jitter=0.0)
    fn = Flaky(10, ConnectionResetError("reset"))
    with pytest.raises(ConnectionResetError):
        policy.call(fn, classify=by_type, idempotent=True, clock=fake.clock, sleep=fake.sleep)
    assert fake.sleeps == [4.0, 4.0]  # a third 4 s wait would end at 12 s > 10 s
    assert fn.calls == 3 and fake.now <= 10.0


def test_jitter_stays_within_its_fraction() -> None:
    fake = FakeClock()
    policy = RetryPolicy(retries=50, backoff=1.0, backoff_max=1.0, budget=1000.0, jitter=0.25)
    policy.call(Flaky(50, TimeoutError()), classify=by_type, idempotent=True, clock=fake.clock, sleep=fake.sleep)
    assert len(fake.sleeps) == 50
    assert all(0.75 <= s <= 1.25 for s in fake.sleeps)
    assert len(set(fake.sleeps)) > 1


def test_from_options_reads_a_mapping_or_an_options_object() -> None:
    class Opts:
        retries = 7
        retry_backoff = 0.1
        retry_backoff_max = 2.0
        retry_budget = 30.0
        retry_on = frozenset({"server"})

    policy = RetryPolicy.from_options(Opts())
    assert (policy.retries, policy.backoff, policy.backoff_max, policy.budget) == (7, 0.1, 2.0, 30.0)
    assert policy.retry_on == frozenset({"server"})
    assert RetryPolicy.from_options(TABLE.parse({"retries": 1})).retries == 1
    assert RetryPolicy.from_options({}).retry_on == frozenset(RETRY_CATEGORIES)
