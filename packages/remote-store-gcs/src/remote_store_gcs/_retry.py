"""The shared retry vocabulary as a google-api-core ``Retry``.

``Retry(predicate, initial=retry_backoff, maximum=retry_backoff_max, multiplier=2,
timeout=retry_budget)``; the predicate retries what google-cloud-storage's own default
predicate calls transient (408, 429, 5xx but 501, connection errors, timeouts, truncated
bodies) when its category (`classify`) is in ``retry_on``, at most ``retries`` times.
The budget is the Store operation's (`remote_store.kit.RetryBudget`, shared by all its
requests): ``Retry(timeout=...)`` is what is left of it when the request starts, and each
retry the predicate grants charges the failed attempt and the nominal wait to it; past it
google-api-core starts no retry (it raises ``RetryError``, which the error boundary maps to
`BackendUnavailable`) or the predicate refuses.
"""

from __future__ import annotations

import http.client
import time
from typing import Final

import requests
import urllib3
from google.api_core import exceptions as gex
from google.api_core.retry import Retry
from google.auth import exceptions as gauth

from remote_store.kit import RetryPolicy

_TIMEOUTS: Final = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
_CONNECTION: Final = (
    ConnectionError,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    http.client.BadStatusLine,
    http.client.IncompleteRead,
    http.client.ResponseNotReady,
    urllib3.exceptions.PoolError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.SSLError,
)
_BY_STATUS: Final = {408: "timeout", 429: "throttling", 503: "throttling", 500: "server", 502: "server", 504: "server"}


def classify(exc: BaseException) -> str | None:
    """The `remote_store.kit.RETRY_CATEGORIES` name of a failed request, or None when it is
    not transient (a 404, a refused credential, a failed precondition).

    Args:
        exc: What the request raised (google-api-core, requests, urllib3 or google-auth error).
    """
    if isinstance(exc, _TIMEOUTS):  # before _CONNECTION: requests' ConnectTimeout is both
        return "timeout"
    if isinstance(exc, _CONNECTION):
        return "connection"
    if isinstance(exc, gex.GoogleAPICallError):
        return _BY_STATUS.get(int(exc.code or 0))
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return _BY_STATUS.get(status)
    if isinstance(exc, gauth.TransportError):
        inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        return classify(inner) if inner is not None else "connection"
    return None


def build(policy: RetryPolicy, granted: list[int] | None = None) -> Retry | None:
    """A fresh ``Retry`` for one request under ``policy``; None when ``retries`` is 0.

    Each request needs its own: the predicate counts the retries it granted, in
    ``granted[0]`` when a list is passed (to tell afterwards whether a request was resent).
    """
    if not policy.retries:
        return None
    granted = granted if granted is not None else [0]
    budget = policy.budget_now()
    mark = [time.monotonic()]

    def predicate(exc: Exception) -> bool:
        category = classify(exc)
        if category is None or category not in policy.retry_on or granted[0] >= policy.retries:
            return False
        now = time.monotonic()
        wait = policy.delay(granted[0] + 1)
        if not budget.charge(now - mark[0] + wait):
            return False
        mark[0] = now + wait
        granted[0] += 1
        return True

    return Retry(
        predicate=predicate,
        initial=policy.backoff,
        maximum=max(policy.backoff_max, policy.backoff),
        multiplier=2.0,
        timeout=budget.remaining,
    )
