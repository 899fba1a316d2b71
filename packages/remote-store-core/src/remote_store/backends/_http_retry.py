"""Retries and timeouts of `HttpBackend`: the shared vocabulary and `RetryPolicy.call`.

The stdlib transport has no retry machinery of its own (it only resends once on a kept-alive
connection the server had closed), so every request of the backend — all ``GET`` / ``HEAD``,
hence idempotent — runs inside `RetryPolicy.call` with `classify` below. A retried attempt
is the whole unit (request *and* body read): a body cut short is fetched again, never
returned short.
"""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Mapping
from typing import Any, Final

from remote_store.backends._http_errors import HttpStatusError
from remote_store.kit._options import CONNECT_TIMEOUT, READ_TIMEOUT, OptionTable
from remote_store.kit._retry import RETRY_OPTIONS

#: The retry / timeout rows `HttpBackend` accepts (validated like every backend's options).
OPTIONS: Final = OptionTable("http", [CONNECT_TIMEOUT, READ_TIMEOUT, *RETRY_OPTIONS])
_BY_STATUS: Final = {408: "timeout", 429: "throttling", 503: "throttling"}


def parse(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validate the retry / timeout options given (None = not given), defaults filled in.

    Raises:
        ConfigError: A value out of range or of the wrong type; the message names the option.
    """
    return OPTIONS.parse({name: value for name, value in given.items() if value is not None})


def classify(exc: BaseException) -> str | None:
    """The `remote_store.kit.RETRY_CATEGORIES` name of a failed attempt, or None when it is
    not retried (4xx answers, TLS certificate errors, a file that changed while read)."""
    if isinstance(exc, HttpStatusError):
        if exc.status in _BY_STATUS:
            return _BY_STATUS[exc.status]
        return "server" if exc.status >= 500 and exc.status not in (501, 505) else None
    if isinstance(exc, ssl.SSLError):
        return None
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, (OSError, http.client.IncompleteRead, http.client.BadStatusLine)):
        return "connection"
    module = type(exc).__module__
    if module.startswith(("requests", "urllib3")):
        name = type(exc).__name__
        if "SSL" in name:
            return None
        if "Timeout" in name:
            return "timeout"
        if "Connection" in name or "ChunkedEncoding" in name or "Protocol" in name:
            return "connection"
    return None
