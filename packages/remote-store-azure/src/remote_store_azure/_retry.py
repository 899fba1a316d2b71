"""The shared retry vocabulary on azure-storage's retry policy (sync `Backoff`, async twin in `_aio_client`).

azure-storage's ``ExponentialRetry`` decides *whether* an answer is retryable (connection
errors, timeouts, 408, 5xx but 501/505, copy-source busy codes) and rewinds request bodies;
the helpers here add what the shared options ask for:

* the failure's category (`classify`) must be in ``retry_on``;
* the delay before retry ``n`` is ``min(retry_backoff_max, retry_backoff * 2**(n-1))`` ±20 %;
* no retry starts whose delay would end more than ``retry_budget`` seconds after the
  request began (`configure` stamps the start into the policy's per-request settings);
* ``retries`` bounds every kind of retry (connect, read and status counters alike).
"""

from __future__ import annotations

import random
import time
from typing import Any, Final

from azure.core.exceptions import AzureError, ServiceRequestTimeoutError, ServiceResponseTimeoutError
from azure.storage.blob import ExponentialRetry

from remote_store.kit import RETRY_CATEGORIES, RetryPolicy

#: Fraction of a retry delay added or removed at random (spreads retries of many clients).
JITTER: Final = 0.2
_STARTED: Final = "remote_store_started"
_WAIT: Final = "remote_store_wait"
_THROTTLING_CODES: Final = frozenset({"ServerBusy", "OperationTimedOut"})


def _is_timeout(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ServiceRequestTimeoutError, ServiceResponseTimeoutError, TimeoutError)):
            return True
        if "Timeout" in type(current).__name__:
            return True
        inner = getattr(current, "inner_exception", None)
        current = inner if isinstance(inner, BaseException) else current.__cause__ or current.__context__
    return False


def classify(response: Any = None, error: BaseException | None = None) -> str:
    """The `remote_store.kit.RETRY_CATEGORIES` name of one failed attempt.

    Args:
        response: The azure-core HTTP response (status, headers) of a retryable answer, or None.
        error: The azure-core error of an attempt that got no answer, or None.

    Returns:
        ``"timeout"`` (connect/read timeouts, 408), ``"connection"`` (other transport
        errors), ``"throttling"`` (429, 503, ``ServerBusy``) or ``"server"`` (other 5xx,
        and checksum mismatches of a downloaded range).
    """
    if error is not None:
        if _is_timeout(error):
            return "timeout"
        return "connection"  # ServiceRequestError, ServiceResponseError, other transport errors
    status = int(getattr(response, "status_code", 0) or 0)
    headers = getattr(response, "headers", None) or {}
    code = headers.get("x-ms-error-code") or headers.get("x-ms-copy-source-error-code")
    if status == 408:
        return "timeout"
    if status in (429, 503) or code in _THROTTLING_CODES:
        return "throttling"
    return "server"


def configure(settings: dict[str, Any], clock: Any = time.monotonic) -> dict[str, Any]:
    """Stamp the request's start into azure-storage's per-request retry ``settings``."""
    settings[_STARTED] = clock()
    return settings


def delay(policy: RetryPolicy, settings: dict[str, Any]) -> float:
    """Seconds before the next attempt: the one `admit` chose, else computed from ``count``."""
    if _WAIT in settings:
        return float(settings.pop(_WAIT))
    count = max(1, int(settings.get("count", 1)))
    wait = policy.delay(count)
    return max(0.0, wait * random.uniform(1 - policy.jitter, 1 + policy.jitter)) if policy.jitter else wait


def admit(policy: RetryPolicy, settings: dict[str, Any], response: Any, error: BaseException | None) -> bool:
    """Whether the shared options allow the retry azure-storage wants (category, then budget).

    Call it after the stock ``increment`` said yes: ``settings["count"]`` is the retry
    number. The chosen delay is kept for `delay`, so the wait that is checked is the one slept.
    """
    if classify(response, error) not in policy.retry_on:
        return False
    wait = delay(policy, {"count": settings.get("count", 1)})
    started = settings.get(_STARTED)
    if started is not None and time.monotonic() - float(started) + wait > policy.budget:
        return False
    settings[_WAIT] = wait
    return True


def stock_kwargs(policy: RetryPolicy) -> dict[str, Any]:
    """Constructor arguments of an azure-storage ``ExponentialRetry`` for ``policy``."""
    return {
        "initial_backoff": 0,
        "increment_base": 2,
        "retry_total": policy.retries,
        "retry_connect": policy.retries,
        "retry_read": policy.retries,
        "retry_status": policy.retries,
        "random_jitter_range": 0,
    }


class Backoff(ExponentialRetry):
    """azure-storage's `ExponentialRetry` obeying the shared retry options (see the module).

    Args:
        retries: Retries after the first attempt (azure-core ``retry_total``; also the
            connect, read and status limits).
        first: Seconds before the first retry (doubles each retry).
        cap: Longest wait in seconds.
        budget: Seconds one request may spend, retries and waits included.
        retry_on: Retried failure categories (`remote_store.kit.RETRY_CATEGORIES`).

    Attributes:
        policy: The `RetryPolicy` in force.
    """

    def __init__(
        self,
        retries: int,
        first: float,
        cap: float,
        *,
        budget: float = 120.0,
        retry_on: frozenset[str] = frozenset(RETRY_CATEGORIES),
    ) -> None:
        self.policy = RetryPolicy(
            retries=retries, backoff=first, backoff_max=cap, budget=budget, retry_on=retry_on, jitter=JITTER
        )
        super().__init__(**stock_kwargs(self.policy))
        self.first = first
        self.cap = cap

    def configure_retries(self, request: Any) -> dict[str, Any]:
        """The stock settings plus the request's start time."""
        return configure(super().configure_retries(request))

    def increment(
        self, settings: dict[str, Any], request: Any, response: Any = None, error: AzureError | None = None
    ) -> bool:
        """The stock decision, narrowed by ``retry_on`` and ``retry_budget``."""
        return super().increment(settings, request, response, error) and admit(self.policy, settings, response, error)

    def get_backoff_time(self, settings: dict[str, Any]) -> float:
        """Seconds to wait before the next attempt (``settings["count"]`` retries so far)."""
        return delay(self.policy, settings)
