"""The shared retry vocabulary on botocore's retry machinery (``standard`` / ``adaptive`` modes).

botocore's ``standard`` mode registers one ``needs-retry`` handler per client that decides
whether a failed attempt is retried (its standard conditions: connection errors, timeouts,
throttling codes, transient 5xx, modeled retryable errors, at most ``total_max_attempts``)
and how long to wait (its own exponential backoff, base 1 s, cap 20 s). `install` replaces
that handler with `BudgetedRetry`, which keeps botocore's decision and adds ours:

* the failure's category (`classify`) must be in ``retry_on``;
* the wait is ``retry_backoff`` doubling up to ``retry_backoff_max`` (±20 % jitter);
* every retry charges its cost (the failed attempt plus the wait) to the `RetryBudget` of
  the Store operation running (``retry_budget`` seconds for all its requests: multipart
  parts, listing pages, stream resumes), or of the request outside one; no retry starts
  that would pass it (a ``before-call`` handler stamps the start and the budget into
  botocore's request context).

`classify_exception` sorts what a response body's ``read`` raises, for the resume of a body
cut mid-stream (`remote_store.kit.ResumingBody`).

``legacy`` mode is left to botocore (only ``retries`` applies there).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Final

import urllib3.exceptions
from botocore import exceptions as bce
from botocore.retries import standard

from remote_store.kit import RetryBudget, RetryPolicy, current_budget

#: Key of the current attempt's start in botocore's per-call request context.
_STARTED: Final = "remote_store_started"
#: Key of the `RetryBudget` the request charges, in the same context.
_BUDGET: Final = "remote_store_budget"
#: Error codes that are throttling, whatever their HTTP status.
THROTTLING_CODES: Final = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
_TIMEOUT_CODES: Final = frozenset({"RequestTimeout", "RequestTimeoutException"})
_TIMEOUTS: Final = (bce.ConnectTimeoutError, bce.ReadTimeoutError)


def classify(context: standard.RetryContext) -> str:
    """The `remote_store.kit.RETRY_CATEGORIES` name of one failed attempt.

    Args:
        context: botocore's view of the attempt (caught exception, HTTP response, parsed error).

    Returns:
        ``"timeout"`` (connect/read timeout, ``RequestTimeout``), ``"connection"`` (other
        transport errors), ``"throttling"`` (429, 503, throttling error codes) or
        ``"server"`` (other 5xx and the remaining retryable answers).
    """
    exc = context.caught_exception
    if exc is not None:
        return "timeout" if isinstance(exc, _TIMEOUTS) else "connection"
    code = context.get_error_code()
    status = context.http_response.status_code if context.http_response is not None else None
    if code in _TIMEOUT_CODES:
        return "timeout"
    if code in THROTTLING_CODES or status in (429, 503):
        return "throttling"
    return "server"


_STREAM_TIMEOUTS: Final = (bce.ReadTimeoutError, urllib3.exceptions.ReadTimeoutError, TimeoutError)
_STREAM_CONNECTION: Final = (
    bce.ResponseStreamingError,
    bce.IncompleteReadError,
    bce.ConnectionError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.HTTPError,
    ConnectionError,
)


def classify_exception(exc: BaseException) -> str | None:
    """The category of a failure while reading a ``GetObject`` body (None: not transient).

    ``"timeout"`` for read timeouts, ``"connection"`` for resets and truncated bodies.
    """
    if isinstance(exc, _STREAM_TIMEOUTS):
        return "timeout"
    if isinstance(exc, _STREAM_CONNECTION):
        return "connection"
    return None


class BudgetedRetry:
    """A botocore ``needs-retry`` handler: botocore's retry conditions, our policy.

    Args:
        policy: The backend's `RetryPolicy` (``retries``, backoff, budget, ``retry_on``).
        clock: Monotonic seconds (tests pass a fake).

    Attributes:
        retried: Number of retries this handler has granted (all requests of the client).
    """

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._adapter = standard.RetryEventAdapter()
        self._checker = standard.StandardRetryConditions(max_attempts=policy.retries + 1)
        self.retried = 0

    def stamp(self, context: dict[str, Any], **_: Any) -> None:
        """``before-call`` handler: remember when the request began and which budget it
        charges (returns None, so the call goes on)."""
        context.setdefault(_STARTED, self._clock())
        if _BUDGET not in context:
            context[_BUDGET] = current_budget() or RetryBudget(self.policy.budget)

    def needs_retry(self, **kwargs: Any) -> float | None:
        """``needs-retry`` handler: seconds to wait before the next attempt, or None for none."""
        context = self._adapter.create_retry_context(**kwargs)
        if not self._checker.is_retryable(context):
            return None
        if classify(context) not in self.policy.retry_on:
            return None
        wait = self.policy.delay(context.attempt_number)
        if self.policy.jitter and wait:
            wait *= 1.0 + random.uniform(-self.policy.jitter, self.policy.jitter)
        request_context = (kwargs.get("request_dict") or {}).get("context")
        if request_context is None:
            request_context = {}
        now = self._clock()
        started = request_context.get(_STARTED, now)
        budget = request_context.get(_BUDGET) or current_budget() or RetryBudget(self.policy.budget)
        if not budget.charge(now - started + wait):
            return None
        request_context[_STARTED] = now + wait  # the next attempt starts after the wait
        self.retried += 1
        return wait


def install(client: Any, policy: RetryPolicy) -> BudgetedRetry:
    """Replace botocore's standard retry handler of ``client`` by a `BudgetedRetry`.

    Args:
        client: A botocore S3 client built with retry mode ``standard`` or ``adaptive``.
        policy: The backend's retry policy.

    Returns:
        The installed handler (its ``policy`` is what the client now obeys).
    """
    handler = BudgetedRetry(policy)
    events = client.meta.events
    name = client.meta.service_model.service_id.hyphenize()
    unique_id = f"retry-config-{name}"
    events.unregister(f"needs-retry.{name}", unique_id=unique_id)
    events.register(f"needs-retry.{name}", handler.needs_retry, unique_id=unique_id)
    events.register(f"before-call.{name}", handler.stamp, unique_id=f"remote-store-retry-start-{name}")
    return handler
