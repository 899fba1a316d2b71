"""Retry and timeout options of the SFTP backend and how SFTP failures map onto them.

The backend speaks the shared vocabulary of `remote_store.kit` (``retries``,
``retry_backoff``, ``retry_backoff_max``, ``retry_budget``, ``retry_on``, ``connect_timeout``,
``read_timeout``); ``operation_timeout`` is kept as an alias of ``read_timeout``.

paramiko has no retry machinery of its own, so the pool runs every call through
`remote_store.kit.RetryPolicy.call`: a failed idempotent call (a query, a read, an overwrite
restarted from scratch through a new temp file) is retried on a fresh connection; an
exclusive create or a move whose answer was lost is never repeated blindly — the backend
checks the target after the failure instead (see ``_outcome``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

import paramiko

from remote_store.kit import CONNECT_TIMEOUT, READ_TIMEOUT, RETRY_OPTIONS, Option, OptionTable, RetryPolicy, to_seconds
from remote_store_sftp._errors import is_connection_error

#: Validates the retry and timeout options (``operation_timeout`` is an alias of ``read_timeout``).
TABLE = OptionTable(
    "sftp",
    [
        *RETRY_OPTIONS,
        CONNECT_TIMEOUT,
        READ_TIMEOUT.with_aliases("operation_timeout"),
        Option("banner_timeout", to_seconds, 10.0, doc="seconds to wait for the server's SSH banner"),
        Option("auth_timeout", to_seconds, 10.0, doc="seconds to wait for an authentication reply"),
    ],
)


def classify(exc: BaseException) -> str | None:
    """The `remote_store.kit.RETRY_CATEGORIES` category of an SFTP failure, or None (not retried).

    - socket / channel timeouts → ``"timeout"``;
    - refused, reset or dropped connections, ``EOFError``, ``SSHException`` (handshake,
      channel) → ``"connection"``;
    - authentication failures, host-key refusals, SFTP status replies (``ENOENT`` …),
      typed `remote_store.errors` raised by the backend → None.
    """
    if isinstance(exc, (paramiko.AuthenticationException, paramiko.BadHostKeyException)):
        return None
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(exc, (socket.gaierror, socket.herror)):
        return None
    if is_connection_error(exc):
        return "connection"
    return None


def build_policy(
    *,
    retries: Any,
    retry_backoff: Any,
    retry_backoff_max: Any,
    retry_budget: Any,
    retry_on: str | Iterable[str],
) -> RetryPolicy:
    """Validate the retry options and build the policy.

    Raises:
        ConfigError: A value the shared vocabulary refuses (negative, not a number, unknown
            ``retry_on`` category).
    """
    given = {
        "retries": retries,
        "retry_backoff": retry_backoff,
        "retry_backoff_max": retry_backoff_max,
        "retry_budget": retry_budget,
        "retry_on": retry_on,
    }
    return RetryPolicy.from_options({name: TABLE.check(name, value) for name, value in given.items()})


def check_timeout(name: str, value: Any, *, optional: bool) -> float | None:
    """A validated timeout in seconds (None allowed when ``optional``: wait forever).

    Raises:
        ConfigError: Not a positive number of seconds.
    """
    if value is None and optional:
        return None
    return float(TABLE.check(name, value))
